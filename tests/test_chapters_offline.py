"""Whole chapters, offline, with only loopback and an empty home, on more than one caveclient.

Each chapter of :data:`CHAPTERS` runs cell by cell (``tests/matrix/chapter_step.py``) inside
a network namespace with only loopback (``unshare -n``; skipped where the machine refuses
one, as in ``tests/test_offline.py``), with ``MICRONS_MODE=offline`` and an empty home
folder, in the caveclient environments of the matrix the chapter names. (On the pinned
caveclient every chapter runs so, under nbval, in the learner install:
tests/test_learner_install.py.)

A matrix environment holds caveclient, its numpy, pandas and pyarrow, and nothing of the
chapters' figures and space: matplotlib, scipy and standard_transform come from the main
environment, appended to the *end* of its ``sys.path``, so that its own caveclient, numpy
and pandas are the ones imported (asserted below). That tests the chapter's calls on that
caveclient; it is not a learner install of it, which ``tests/test_learner_install.py``
checks on the pinned release.
"""

from __future__ import annotations

import json
import subprocess
import sysconfig
from pathlib import Path

import pytest

from tests.environments import release_python
from tests.helpers import ONLY_LOOPBACK, empty_home_or_skip, isolated_env

REPO = Path(__file__).resolve().parents[1]
STEP = REPO / "tests" / "matrix" / "chapter_step.py"

# chapter -> the caveclient releases of the matrix it must run on.
# The skeleton chapter needs a skeleton client: caveclient 5.26.0 and newer; 5.31.0 is the
# oldest such release of the CI set (tools/caveclient_envs.py).
# The functional chapter needs only materialize queries: the oldest release of the set.
# (The Neuroglancer chapter needs nglui, so caveclient 7 and newer: tests/test_links.py runs
# it this way on the pinned one.)
CHAPTERS = {
    "11_skeletons": ("5.31.0",),
    "13_functional": ("5.17.2",),
    "14_like_to_like": ("5.17.2",),
}
CASES = [(chapter, env) for chapter, envs in CHAPTERS.items() for env in envs]


@pytest.mark.parametrize(("chapter", "release"), CASES, ids=[f"{c}-{e}" for c, e in CASES])
def test_chapter_runs_offline_with_only_loopback(chapter, release, tmp_path):
    home = empty_home_or_skip(tmp_path)
    python = release_python(release)
    out = tmp_path / "result.json"
    command = [*ONLY_LOOPBACK, str(python), str(STEP), str(REPO / "chapters" / f"{chapter}.ipynb")]
    command += [str(out), sysconfig.get_paths()["purelib"]]  # the figure and space packages
    env = isolated_env(home, "offline")
    env["IPYTHONDIR"] = str(tmp_path / "ipython")  # IPython's own profile folder, not ours
    run = subprocess.run(
        command,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["interfaces"] == ["lo"] and result["mode"] == "offline"
    assert "failed" not in result, result["failed"]
    assert result["cells_run"] == result["code_cells"] > 0
    # the sample answered, and said so once (the notice), not once per request
    assert "answered by" not in run.stderr
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == []
    assert result["caveclient"] == release
    own = str(Path(python).parent.parent)  # the environment's prefix
    for name in ("caveclient", "numpy", "pandas"):
        assert result["modules"][name].startswith(own), (name, result["modules"][name])
