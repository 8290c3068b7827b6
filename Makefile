# The two commands of the README:  make book  and  make test.
# Both create the virtual environment on first use; nothing else is needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Tests and the site build answer offline (recordings, then the sample): no network, no
# token, the mode a learner runs, so nbval compares the outputs the recorder stored offline.
export MICRONS_MODE ?= offline
# Python writes each module's bytecode the first time it is imported, as on a machine that
# does not set PYTHONDONTWRITEBYTECODE (some images do): the environments are installed
# without compiling every file (uv's default), and nothing is compiled twice. With the
# setting, every process compiled again all it imported (a kernel's imports: 2.8 s against
# 0.9 s); compiling every file at install instead cost each learner install 13 s.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: book book-fast site site-for-tests test bench bench-quick record lint format clean clean-envs install matrix learner learner-pythons

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-learner.txt requirements-neuroglancer.txt requirements-dev.txt requirements-dev-excluded.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# uv (pinned in requirements-dev.txt) installs the rest, as it installs every test
	@# environment (tools/env_cache.py): the same releases pip would pick, in seconds, here
	@# with the bytecode compiled (.venv runs a maintainer's own commands too, under their
	@# shell's settings: see PYTHONDONTWRITEBYTECODE above); requirements-dev-excluded.txt
	@# says what is left out, and why
	$(PY) -m pip install --quiet $$(grep '^uv==' requirements-dev.txt)
	$(PY) -m uv pip install --quiet --compile-bytecode --python $(PY) -r requirements.txt \
		-r requirements-dev.txt --excludes requirements-dev-excluded.txt
	@# editable: the kernels see the working tree
	$(PY) -m uv pip install --quiet --python $(PY) --no-deps -e .
	touch $@

# The learner install, alone in a fresh environment: what a learner's laptop gets from
# requirements-learner.txt (tests/test_learner_install.py runs chapters in it, offline),
# with the run's one wheel of the package. Built once into a cache outside the clone,
# keyed by what is in it (tools/env_cache.py; README, "Where the environments live");
# .venv-learner is a link to it.
learner: $(VENV)/.installed
	@$(PY) tools/learner_envs.py --only 3.11
	@tr '\n' ' ' < .venv-learner/packages.txt; echo

# The same install on every other supported Python this machine has (pyenv's, or
# python3.X on PATH): .venv-learner-3.10, -3.12, -3.13, and 3.12 with the Neuroglancer extra.
# Each is a target of its own (learner-3.10, ...), so make -j2 builds two at a time.
OTHER_LEARNER_INSTALLS := 3.10 3.12 3.12-neuroglancer 3.13
learner-pythons: $(addprefix learner-,$(OTHER_LEARNER_INSTALLS))

learner-%: $(VENV)/.installed
	@$(PY) tools/learner_envs.py --only $*

# One environment per caveclient of the CI matrix (5.17.2, 5.23.0, 5.31.0, 6.0.2, 7.11.1):
# the offline and connect() tests run in each. tools/caveclient_envs.py says what they hold;
# cached like the learner installs (tools/env_cache.py).
matrix: $(VENV)/.installed
	$(PY) tools/caveclient_envs.py --ci

# -q: Sphinx's progress lines go (about a hundred); warnings, which -W makes errors, and
# the failure of a notebook stay.
book: $(VENV)/.installed
	@echo "Building the site from the chapters' stored outputs (make book-fast while writing)"
	$(VENV)/bin/jupyter-book build . -q -W -n --keep-going

# While writing: Sphinx's incremental build, only the changed pages read again
# (tools/book_fast.py); a prose edit rebuilds in seconds, in any copy of the book.
book-fast: $(VENV)/.installed
	$(PY) tools/book_fast.py

# The site the tests check, built once (tests/site_build.py): the stored outputs rendered,
# warnings as errors; its record (_build/site-build.json) is what the site checks read.
site: $(VENV)/.installed
	$(PY) -m tests.site_build

# make test goes on to pytest when the build fails: test_site_builds shows its log.
site-for-tests: $(VENV)/.installed
	-$(PY) -m tests.site_build

# Every check: the environments and the site first (make -j2 builds them side by side),
# then every test family, on as many pytest-xdist workers as the machine has cores,
# each notebook and each test module on one worker (conftest.py); nbval runs each chapter
# once, in the learner install's kernel. A plain `pytest` runs only the quick checks.
TEST_WORKERS ?= auto
# (The learner installs first: the longest builds, shared out while the rest wait.)
test: $(VENV)/.installed learner learner-pythons matrix site-for-tests
	@echo "== make test: environments and site ready at $$(date -u +%T) UTC; pytest starts"
	$(PY) -m pytest --every-family -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

# Re-record the chapters from the loopback sample service (ARGS=--live for the real servers,
# or chapter names), then store their replayed outputs. See microns_helpers/recorder.py.
record: $(VENV)/.installed
	MICRONS_MODE=live $(VENV)/bin/microns-helpers record $(ARGS)

# Every speed and size target in one table (benchmarks/run_all.py); a few minutes.
# bench-quick: the same table without the rows that install environments or time repeated
# runs (what CI runs on every push, so a broken target shows the day it breaks).
bench: $(VENV)/.installed
	$(PY) benchmarks/run_all.py $(ARGS)

bench-quick: $(VENV)/.installed
	$(PY) benchmarks/run_all.py --quick

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The site and the run's wheel; the cached environments stay (make clean-envs).
clean:
	rm -rf _build

# Every cached environment of tools/env_cache.py, for all clones (the next make test
# builds them again from uv's cache), and this clone's links to them.
clean-envs:
	$(PY) tools/env_cache.py --clear
	rm -f .venv-learner .venv-learner-* .venv-caveclient-* .venv-cloudvolume
