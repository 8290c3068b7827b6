"""The learner install: only what the chapters need, and a chapter runs offline with it,
on every supported Python.

``make test`` builds ``.venv-learner`` from ``requirements-learner.txt`` alone, in a fresh
virtual environment (the Makefile's ``learner`` target, which prints the packages it
installed), on the pinned Python, and ``.venv-learner-<X.Y>`` on each other supported
Python this machine has (tools/learner_envs.py). Here one chapter runs in each, a
different one per Python, with an empty home folder and no MICRONS_MODE: the chapter's own
first cell must choose offline mode, since no token is found.

On Python 3.12 every chapter runs under nbval, in the learner install's own kernel (the
Neuroglancer chapter in the install with its extra): nbval's check that every stored
output is what the code gives now, made where a learner runs the chapter. ``make test``
runs nbval there and not again in the main environment (conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomllib

from tests.environments import nbval_runs, require_environment
from tests.helpers import ONLY_LOOPBACK, empty_home_or_skip, terminal_env
from tools import learner_envs, setup_cell
from tools.check_python import NEWEST, OLDEST

REPO = Path(__file__).resolve().parents[1]
LEARNER = REPO / ".venv-learner"
NOT_FOR_LEARNERS = ("jupyter-book", "sphinx", "myst-nb", "pytest", "nbval", "selenium", "ruff")


@pytest.fixture(scope="module")
def learner_python() -> Path:
    require_environment(LEARNER / ".installed", "`make test` (or `make learner`)")
    return LEARNER / "bin" / "python"


def test_the_learner_install_holds_only_what_the_chapters_need(learner_python):
    installed = {
        line.split("==")[0].lower() for line in (LEARNER / "packages.txt").read_text().split()
    }
    for package in ("caveclient", "pandas", "matplotlib", "jupyterlab", "microns_helpers"):
        assert package in installed, package
    assert not [p for p in NOT_FOR_LEARNERS if p in installed]


def chapter_runs() -> list[tuple[str, bool, str]]:
    """(Python, with the Neuroglancer extra, chapter) of each run as a learner starts it:
    one chapter on each Python of tools/learner_envs.py but the one that runs them all under
    nbval, and there the Neuroglancer chapter without its extra (it stops at once)."""
    runs = [
        (python, False, which)
        for python, which in learner_envs.CHAPTER_ON.items()
        if which != "every"
    ]
    return [*runs, (learner_envs.WITH_EXTRA, False, "12_neuroglancer")]


def run_id(run) -> str:
    python, extra, chapter = run
    return f"{python}{'+neuroglancer' if extra else ''}-{chapter}"


def stream_lines(cells, name: str) -> list[str]:
    """The lines of every ``name`` stream output (stdout, stderr) of ``cells``, as a screen
    shows them: a progress bar's redraws (carriage returns) are one line, its last."""
    lines = []
    for cell in cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == name:
                text = (
                    output["text"] if isinstance(output["text"], str) else "".join(output["text"])
                )
                lines += [line.split("\r")[-1] for line in text.split("\n") if line.strip()]
    return lines


def is_progress(line: str) -> bool:
    return bool(re.search(r"\d+%\|.*\| \d+/\d+", line))


@pytest.mark.parametrize("run", chapter_runs(), ids=run_id)
def test_every_chapter_runs_offline_on_the_learner_install_and_says_little(run, tmp_path, capsys):
    """The chapter in a learner install (no Jupyter config, an empty home, no token, no
    MICRONS_MODE), with only loopback, as ``jupyter nbconvert --execute``: its own first
    cell chooses offline mode. What it prints on stderr, in its cells and in the terminal,
    is at most one line about the sample data and the warnings the chapter shows on the site
    (its stored outputs, where the chapter explains them); nothing else. Without the
    Neuroglancer extra, the Neuroglancer chapter stops at its first cell with one line
    saying what is missing and the command."""
    python, extra, chapter = run
    folder = learner_envs.env_path(python, extra)
    if learner_envs.find_interpreter(python) is None and python != learner_envs.PINNED:
        pytest.skip(f"no Python {python} on this machine")
    require_environment(folder / ".installed", "`make test` (or `make learner-pythons`)")
    home = empty_home_or_skip(tmp_path)
    learner_python = folder / "bin" / "python"
    env = terminal_env(home, learner_python.parent)
    out = tmp_path / "run.ipynb"
    started = time.perf_counter()
    done = subprocess.run(
        [*ONLY_LOOPBACK, str(learner_python), "-m", "jupyter", "nbconvert", "--to", "notebook"]
        + ["--execute", "--allow-errors", "--ExecutePreprocessor.timeout=300"]
        # nbconvert loads no server extension: what microns_helpers_jupyter gives JupyterLab
        # (test_a_learners_jupyterlab_starts_kernels_without_the_tcp_warning)
        + ["--KernelManager.transport_encryption=auto"]
        + ["--output", str(out), str(REPO / "chapters" / f"{chapter}.ipynb")],
        cwd=tmp_path,  # not the repository: the installed package, not the working tree
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-3000:]
    # The terminal: nbconvert's own lines only (no kernel warning, no pip, no traceback).
    terminal = [line for line in done.stderr.splitlines() if line.strip()]
    assert [line for line in terminal if not line.startswith("[NbConvertApp] ")] == []
    cells = [c for c in json.loads(out.read_text())["cells"] if c["cell_type"] == "code"]
    errors = [
        (i, o) for i, c in enumerate(cells) for o in c["outputs"] if o["output_type"] == "error"
    ]
    stops = not extra and chapter in setup_cell.EXTRAS
    if stops:
        # a learner's Run All stops at the first error: the setup cell, one line
        assert errors and errors[0][0] == 0, errors[:1]
        shown = errors[0][1]["traceback"]
        assert len(shown) == 1 and shown[0].startswith("This chapter needs nglui"), shown
        assert "requirements-neuroglancer.txt" in shown[0]
        cells = cells[:1]
    else:
        assert errors == [], errors[0][1]["traceback"][-3:]
    said = stream_lines(cells, "stdout") + stream_lines(cells, "stderr")
    sample = [line for line in said if "sample data" in line]
    assert len(sample) <= 1, sample
    if not stops:
        assert sample and sample[0].startswith("No CAVE token found, so this notebook works"), said
    stored = json.loads((REPO / "chapters" / f"{chapter}.ipynb").read_text())["cells"]
    explained = set(stream_lines(stored, "stderr"))
    extra_lines = [
        line
        for line in stream_lines(cells, "stderr")
        if line not in explained and not is_progress(line)
    ]
    assert extra_lines == [], extra_lines
    assert not list(home.glob(".cloudvolume/secrets/*")), "a token file was written"
    with capsys.disabled():  # in CI's log beside the test's name
        count = len(stream_lines(cells, "stderr"))
        print(f"\n== {run_id(run)}: offline, {count} stderr lines in cells, {seconds:.0f} s")


def learner_kernel(folder: Path, jupyter_path: Path) -> str:
    """Write into ``jupyter_path`` a kernelspec that starts the kernel of the learner
    install ``folder`` (its own ipykernel's spec, with that install's interpreter), and
    return its name."""
    spec = json.loads((folder / "share/jupyter/kernels/python3/kernel.json").read_text())
    spec["argv"][0] = str(folder / "bin" / "python")  # "python" would be nbval's own
    name = "microns-learner"
    (jupyter_path / "kernels" / name).mkdir(parents=True)
    (jupyter_path / "kernels" / name / "kernel.json").write_text(json.dumps(spec))
    return name


@pytest.mark.parametrize("run", nbval_runs(), ids=run_id)
def test_every_chapter_passes_nbval_on_the_learner_install(run, tmp_path, capsys, record_property):
    """nbval, as ``make test`` runs it (strict, the sanitizer of tests/nbval_sanitize.cfg),
    on the chapter, in a kernel of the learner install, offline, with only loopback and an
    empty home: every cell's output must be the stored one. The stored outputs say at most
    one line about the sample data; and no token file is written."""
    python, extra, chapter = run
    folder = learner_envs.env_path(python, extra)
    if learner_envs.find_interpreter(python) is None:
        pytest.skip(f"no Python {python} on this machine")
    require_environment(folder / ".installed", "`make test` (or `make learner-pythons`)")
    home = empty_home_or_skip(tmp_path)
    jupyter_path = tmp_path / "jupyter"
    kernel = learner_kernel(folder, jupyter_path)
    env = terminal_env(home, JUPYTER_PATH=str(jupyter_path), MICRONS_MODE="offline")
    notebook = REPO / "chapters" / f"{chapter}.ipynb"
    started = time.perf_counter()
    done = subprocess.run(
        [*ONLY_LOOPBACK, sys.executable, "-m", "pytest", "-o", "addopts=", "-q"]
        + ["-p", "no:cacheprovider", "-p", "no:xdist", "--nbval", "--nbval-kernel-name", kernel]
        + ["--nbval-sanitize-with", "tests/nbval_sanitize.cfg", str(notebook)],
        cwd=REPO,  # nbval's kernel starts in chapters/: the installed package, not the tree
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    checked = re.search(r"(\d+) passed", done.stdout)
    assert checked and int(checked.group(1)) == len(cells), done.stdout[-2000:]
    said = stream_lines(cells, "stdout") + stream_lines(cells, "stderr")
    assert len([line for line in said if "sample data" in line]) <= 1, said
    assert not list(home.glob(".cloudvolume/secrets/*")), "a token file was written"
    record_property("nbval_cells", len(cells))  # summed at the end of the run (conftest)
    with capsys.disabled():  # beside the test's name, in a run without workers
        count = len(stream_lines(cells, "stderr"))
        print(
            f"\n== nbval {run_id(run)}: {len(cells)} cells passed on the learner install, "
            f"offline, {count} stderr lines in cells, {seconds:.0f} s"
        )


def test_the_supported_pythons_are_the_tested_ones():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert config["requires-python"] == f">={OLDEST[0]}.{OLDEST[1]}"
    tested = [tuple(int(n) for n in p.split(".")) for p in learner_envs.SUPPORTED]
    assert (min(tested), max(tested)) == (OLDEST, NEWEST)
    assert tested == [(3, minor) for minor in range(OLDEST[1], NEWEST[1] + 1)]
    assert learner_envs.PINNED in learner_envs.SUPPORTED


def test_an_unsupported_python_gets_one_line_before_pip(tmp_path):
    """tools/check_python.py, the README's first learner step: on 3.9 (this machine's, else
    this one posing as 3.9) one line saying what to do, and exit status 1."""
    script = str(REPO / "tools" / "check_python.py")
    old = learner_envs.find_interpreter("3.9")
    posing = (
        "import runpy, sys; sys.version_info = (3, 9, 18); "
        "runpy.run_path(sys.argv[1], run_name='__main__')"
    )
    command = [str(old), script] if old else [sys.executable, "-c", posing, script]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("Python 3.9.")
    assert "needs Python 3.10 to 3.13" in done.stderr and "python3.12 -m venv" in done.stderr


def readme_block(language: str) -> str:
    """The README's first ``language`` block (bash, powershell) of the learners' section."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    learners = readme.split("## For learners")[1].split("\n## ")[0]
    return re.findall(rf"```{language}\n(.*?)```", learners, flags=re.S)[0]


def test_the_readme_puts_the_learners_steps_first_and_windows_takes_any_python():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", readme, flags=re.M)
    assert headings[0].startswith("For learners"), headings
    assert headings.index("For maintainers") > 0
    windows = readme_block("powershell")
    assert not re.search(r"py -3\.\d+ -m venv", windows), windows  # the learner's own Python
    assert "py -m venv .venv" in windows and "py tools/check_python.py" in windows
    intro = (REPO / "intro.md").read_text(encoding="utf-8")
    assert "make install" not in intro  # the maintainers' environment, not a learner's


def releases(listing: str) -> dict[str, str]:
    """``name==version`` lines as {normalized name: version}, without the installers and
    the helper package (a wheel of this run, a path: not a release of the index)."""
    found = {}
    for line in listing.splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            found[re.sub(r"[-_.]+", "-", name.strip()).lower()] = version.strip()
    for name in ("pip", "setuptools", "microns-helpers"):
        found.pop(name, None)
    return found


def uv_resolves(python: Path, requirements: str) -> dict[str, str]:
    """The releases uv picks for a learner install of ``requirements`` on ``python``."""
    lines = learner_envs.installed_lines(requirements, setup_cell.run_wheel())
    compiled = subprocess.run(
        [sys.executable, "-m", "uv", "pip", "compile", "--quiet", "--no-header", "--no-annotate"]
        + ["--python", str(python), "-"],
        input="".join(f"{line}\n" for line in lines),
        capture_output=True,
        text=True,
        check=True,
    )
    return releases(compiled.stdout)


def test_uv_and_pip_agree_is_a_check_that_can_fail():
    """The comparison above sees one release that differs, and a package one side lacks."""
    pip_gave = releases("pandas==2.3.3\nTzdata==2026.6\npip==23.2.1\nmicrons_helpers==0.2.0\n")
    assert pip_gave == {"pandas": "2.3.3", "tzdata": "2026.6"}
    assert pip_gave != releases("pandas==2.3.2\ntzdata==2026.6\n")
    assert pip_gave != releases("pandas==2.3.3\n")


def test_the_readme_learner_steps_run_as_written(tmp_path, capsys):
    """The README's Linux and macOS steps, copied from it, run by bash in a copy of the
    repository (the files git knows, as a clone has them) on Python 3.12, with an empty home:
    check_python, the venv, the learner install from pip's cache, the doctor (offline: every
    line ✓ but the optional extra's neutral one), and ``jupyter lab chapters``, which must
    start a server (stopped once it says where it runs). The clone line is checked, not run:
    it names the repository of _config.yml. The releases pip installed are the ones uv, which
    builds the test environments, resolves the same requirements to."""
    python = learner_envs.find_interpreter("3.12")
    if python is None:
        pytest.skip("no Python 3.12 on this machine")
    steps = readme_block("bash").splitlines()
    clone, enter = steps[:2]
    assert clone == f"git clone {setup_cell.install_url()[len('git+') :]}", clone
    assert enter == f"cd {clone.rsplit('/', 1)[-1]}", enter
    lab = steps[-1]
    assert lab.endswith("jupyter lab chapters"), lab
    clone_dir = tmp_path / "clone"
    for name in subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines():
        if (REPO / name).is_file():
            (clone_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (clone_dir / name).write_bytes((REPO / name).read_bytes())
    home = tmp_path / "home"
    home.mkdir()
    # python3 is the learner's 3.12; the lab line's browser: none (a test has no screen)
    env = terminal_env(home, python.parent, BROWSER="true")
    # the lab line as written, in the background until it says where it runs (a free port
    # from 8888 on: Jupyter tries the next ones when one is taken)
    script = "set -e\n" + "\n".join(steps[2:-1]) + f"\n{lab} > lab.log 2>&1 &\nlab=$!\n"
    script += "for i in $(seq 120); do grep -q 'http://' lab.log && break; sleep 1; done\n"
    script += "kill $lab 2>/dev/null || true; wait $lab || true\n"
    if os.geteuid() == 0:  # a test machine's root; Jupyter refuses root unless told it may
        (home / ".jupyter").mkdir()
        (home / ".jupyter" / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"allow_root": True}})
        )
    started = time.perf_counter()
    done = subprocess.run(
        ["bash", "-c", script], cwd=clone_dir, env=env, capture_output=True, text=True, timeout=900
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    out = done.stdout.splitlines()
    assert out[0].startswith("Python 3.12.") and "is supported" in out[0], out[:2]
    doctor = [line for line in out if line[:2] in ("✓ ", "✗ ", "– ")]
    assert [line for line in doctor if not line.startswith("✓ ")] == [
        "– nglui not installed: optional, only 12_neuroglancer needs it "
        "(python -m pip install -r requirements-neuroglancer.txt)"
    ], doctor
    assert "mode: offline" in "\n".join(doctor)
    log = (clone_dir / "lab.log").read_text()
    assert re.search(r"http://(localhost|127\.0\.0\.1):\d+/lab", log), log[-2000:]
    assert "running over TCP without encryption" not in log
    # uv builds the learner installs the tests run in (tools/env_cache.py): what it resolves
    # the same requirements to, on the same Python, now, is what the learner's pip installed
    pip_gave = releases(
        subprocess.run(
            [str(clone_dir / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert pip_gave == uv_resolves(python, "requirements-learner.txt")
    with capsys.disabled():
        print(f"\n== the README's learner steps ran as written in {seconds:.0f} s")


def readme_figures() -> dict:
    """The install figures the README quotes, as bench_install writes them."""
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    found = re.search(
        r"The learner install is (\d+) packages, ([\d,]+) MB, about (\d+) s from pip's cache "
        r"\(`make bench`.*?\); with the Neuroglancer extra, (\d+) packages, ([\d,]+) MB, about "
        r"(\d+) s\.",
        readme,
    )
    assert found, "the README's sentence of the learner install's figures is not found"
    numbers = [int(value.replace(",", "")) for value in found.groups()]
    keys = ("packages", "megabytes", "seconds")
    return {
        "learner install": dict(zip(keys, numbers[:3])),
        "learner install with the Neuroglancer extra": dict(zip(keys, numbers[3:])),
    }


def test_the_readme_quotes_the_install_figures_make_bench_measured():
    """`make bench` (benchmarks/bench_install.py) writes the learner install's figures; the
    README quotes them, and the package count is that of a learner install made here."""
    measured = json.loads((REPO / "benchmarks" / "install_figures.json").read_text())
    assert readme_figures() == measured
    packages = LEARNER / "packages.txt"  # the bench's Python is the pinned one, as this one's
    if packages.exists():
        count = len(packages.read_text().split())
        assert measured["learner install"]["packages"] == count, (count, measured)


def test_a_learners_jupyterlab_starts_kernels_without_the_tcp_warning(tmp_path):
    """The package's server extension (microns_helpers_jupyter, enabled by the config file
    its wheel installs): a kernel started by the learner install's Jupyter server logs no
    "running over TCP without encryption"."""
    folder = learner_envs.env_path("3.12")
    require_environment(folder / ".installed", "`make test` (or `make learner-pythons`)")
    home = tmp_path / "home"
    home.mkdir()
    env = terminal_env(home, folder / "bin")
    probe = (
        "import asyncio, sys\n"
        "from jupyter_server.serverapp import ServerApp\n"
        "app = ServerApp.instance()\n"
        "app.initialize(['--port=0', '--no-browser', '--allow-root'])\n"
        "async def start():\n"
        "    kernel = await app.kernel_manager.start_kernel()\n"
        "    await asyncio.sleep(8)\n"
        "    await app.kernel_manager.shutdown_kernel(kernel)\n"
        "asyncio.run(start())\n"
        "loaded = 'microns_helpers_jupyter' in app.extension_manager.extensions\n"
        "print('extension loaded:', loaded)\n"
    )
    done = subprocess.run(
        [str(folder / "bin" / "python"), "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "running over TCP without encryption" not in done.stderr, done.stderr[-2000:]
    assert done.stdout.strip().endswith("extension loaded: True"), done.stdout


def test_make_builds_every_other_learner_install_as_a_target_of_its_own():
    """The Makefile's list of learner installs (one make target each, so ``make -j2``
    builds two at a time) is tools/learner_envs.py's."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    listed = re.search(r"^OTHER_LEARNER_INSTALLS := (.+)$", makefile, flags=re.M)
    assert listed, "the Makefile has no OTHER_LEARNER_INSTALLS"
    assert listed.group(1).split() == learner_envs.install_names()
