# The two commands of the README:  make book  and  make test.
# Both create the virtual environment on first use; nothing else is needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Tests and the site build replay recorded responses: no network, no token.
export MICRONS_MODE ?= replay

.PHONY: book test bench record lint format clean install matrix

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

# One environment per caveclient of the CI matrix (5.17.2, 5.23.0, 5.31.0, 6.0.2, 7.11.1):
# the offline and connect() tests run in each. tools/caveclient_envs.py says what they hold.
matrix: $(VENV)/.installed
	$(PY) tools/caveclient_envs.py --ci

book: $(VENV)/.installed
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

test: $(VENV)/.installed matrix
	$(PY) -m pytest

# Re-record the chapters from the loopback stand-in (ARGS=--live for the real servers,
# or chapter names), then store their replayed outputs. See microns_helpers/recorder.py.
record: $(VENV)/.installed
	MICRONS_MODE=live $(VENV)/bin/microns-helpers record $(ARGS)

# Every speed and size target in one table (benchmarks/run_all.py); a few minutes.
bench: $(VENV)/.installed
	$(PY) benchmarks/run_all.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf _build
