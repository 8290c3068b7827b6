"""The Python environments tests run steps in: the caveclient matrix and the learner install
(where nbval runs the chapters, in ``make test``).

``make test`` builds every one of them before pytest starts (or links the clone to the ones
built before, tools/env_cache.py), so in CI (``CI`` set) a missing one is a failure; on a
machine where only pytest was run, it is a skip that says what builds it. A link whose
cached environment was deleted (``make clean-envs``) counts as missing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.helpers import namespace_refusal
from tools import learner_envs, setup_cell
from tools.caveclient_envs import python_of

IN_CI = bool(os.environ.get("CI"))
REPO = Path(__file__).resolve().parents[1]


def require_environment(marker: Path, builder: str) -> None:
    """Fail (CI) or skip (elsewhere) unless ``marker``, a file of the environment, exists."""
    if not marker.exists():
        where = marker.relative_to(REPO) if marker.is_relative_to(REPO) else marker.name
        message = f"{where} is missing: {builder} builds it"
        pytest.fail(message) if IN_CI else pytest.skip(message)


def release_python(release: str) -> Path:
    """The interpreter of a caveclient release of the matrix, or this one for "pinned"."""
    if release == "pinned":
        return Path(sys.executable)
    python = python_of(release)
    require_environment(python, "`make test`")
    return python


def nbval_runs() -> list[tuple[str, bool, str]]:
    """(Python, with the Neuroglancer extra, chapter) of each nbval run of
    tests/test_learner_install.py: every notebook of chapters/ (what nbval collects) on the
    Python of tools/learner_envs.py that runs them all, the ones that need an extra with it."""
    (python,) = [p for p, which in learner_envs.CHAPTER_ON.items() if which == "every"]
    return [
        (python, path.stem in setup_cell.EXTRAS, path.stem)
        for path in sorted((REPO / "chapters").glob("*.ipynb"))  # what nbval collects
    ]


def nbval_runs_here() -> bool:
    """Whether the nbval runs of tests/test_learner_install.py can run on this machine
    (their learner installs built, a run with only loopback allowed): conftest.py then
    leaves nbval's own run of the chapters, in this environment, out of ``make test``."""
    ready = all(
        (learner_envs.env_path(python, extra) / ".installed").is_file()
        for python, extra, _ in nbval_runs()
    )
    return ready and namespace_refusal() is None
