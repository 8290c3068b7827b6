"""The Python environments tests run steps in: the caveclient matrix and the learner install.

``make test`` builds every one of them before pytest starts, so in CI (``CI`` set) a
missing one is a failure; on a machine where only pytest was run, it is a skip that says
what builds it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tools.caveclient_envs import python_of

IN_CI = bool(os.environ.get("CI"))


def require_environment(marker: Path, builder: str) -> None:
    """Fail (CI) or skip (elsewhere) unless ``marker``, a file of the environment, exists."""
    if not marker.exists():
        message = f"{marker.parent.parent.name} is missing: {builder} builds it"
        pytest.fail(message) if IN_CI else pytest.skip(message)


def release_python(release: str) -> Path:
    """The interpreter of a caveclient release of the matrix, or this one for "pinned"."""
    if release == "pinned":
        return Path(sys.executable)
    python = python_of(release)
    require_environment(python, "`make test`")
    return python
