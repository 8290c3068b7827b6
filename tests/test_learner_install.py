"""The learner install: only what the chapters need, and a chapter runs offline with it,
on every supported Python.

``make test`` builds ``.venv-learner`` from ``requirements-learner.txt`` alone, in a fresh
virtual environment (the Makefile's ``learner`` target, which prints the packages it
installed), on the pinned Python, and ``.venv-learner-<X.Y>`` on each other supported
Python this machine has (tools/learner_envs.py). Here one chapter runs in each, a
different one per Python, with an empty home folder and no MICRONS_MODE: the chapter's own
first cell must choose offline mode, since no token is found.
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

from tests.environments import require_environment
from tests.test_offline import ONLY_LOOPBACK, empty_home_or_skip
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
    """(Python, with the Neuroglancer extra, chapter) of each run: every chapter of
    _toc.yml on Python 3.12, one chapter on each other Python (tools/learner_envs.py), and
    the Neuroglancer chapter with its extra."""
    every = [path.stem for path in setup_cell.chapters()]
    runs = [
        (python, False, chapter)
        for python, which in learner_envs.CHAPTER_ON.items()
        for chapter in (every if which == "every" else [which])
    ]
    return [*runs, (learner_envs.WITH_EXTRA, True, "12_neuroglancer")]


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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICRONS_", "CAVE_", "PYTHON"))}
    env = {k: v for k, v in env.items() if not k.startswith(("JUPYTER", "IPYTHON", "MPL"))}
    env.update(HOME=str(home), PATH=f"{learner_python.parent}:/usr/bin:/bin")
    out = tmp_path / "run.ipynb"
    started = time.perf_counter()
    done = subprocess.run(
        [*ONLY_LOOPBACK, str(learner_python), "-m", "jupyter", "nbconvert", "--to", "notebook"]
        + ["--execute", "--allow-errors", "--ExecutePreprocessor.timeout=300"]
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
