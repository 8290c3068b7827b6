"""The learner install: only what the chapters need, and a chapter runs offline with it.

``make test`` builds ``.venv-learner`` from ``requirements-learner.txt`` alone, in a fresh
virtual environment (the Makefile's ``learner`` target, which prints the packages it
installed). Here a chapter runs in it, with an empty home folder and no MICRONS_MODE: the
chapter's own first cell must choose offline mode, since no token is found.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.environments import require_environment

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


def test_a_chapter_runs_offline_in_the_learner_install(learner_python, tmp_path):
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
            str(REPO / "chapters" / "04_filtering.ipynb"),
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
