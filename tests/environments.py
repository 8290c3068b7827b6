"""The Python environments tests run steps in: the caveclient matrix and the learner install.

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
