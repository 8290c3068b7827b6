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
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from tests.environments import require_environment
from tools import learner_envs
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


@pytest.mark.parametrize(("python", "chapter"), learner_envs.CHAPTER_ON.items(), ids=lambda v: v)
def test_learner_install_on(python, chapter, tmp_path, capsys):
    folder = learner_envs.env_path(python)
    if python != learner_envs.PINNED and learner_envs.find_interpreter(python) is None:
        pytest.skip(f"no Python {python} on this machine")
    builder = "`make test` (or `make learner`)"
    require_environment(folder / ".installed", builder)
    learner_python = folder / "bin" / "python"
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICRONS_", "CAVE_", "PYTHON"))}
    env.update(HOME=str(home), PATH=f"{learner_python.parent}:/usr/bin:/bin")
    out = tmp_path / "run.ipynb"
    done = subprocess.run(
        [
            str(learner_python),
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.timeout=300",
            "--output",
            str(out),
            str(REPO / "chapters" / f"{chapter}.ipynb"),
        ],
        cwd=tmp_path,  # not the repository: the installed package, not the working tree
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outputs = json.dumps(json.loads(out.read_text())["cells"])
    assert "No CAVE token found, so this notebook works offline" in outputs
    assert "Traceback" not in outputs
    version = subprocess.run(
        [str(learner_python), "--version"], capture_output=True, text=True
    ).stdout.split()[-1]
    assert version.startswith(f"{python}.")
    with capsys.disabled():  # in CI's log beside the test's name
        print(f"\n== {version}: {chapter} ran offline in the learner install ({folder.name})")


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
