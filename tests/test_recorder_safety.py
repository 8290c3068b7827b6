"""The recorder never replaces a good recording with a bad one.

``microns-helpers record`` is killed (SIGKILL, kernels included) at each named moment of a
run (``microns_helpers.recorder.KILL_POINTS``: the recorder kills itself there when
``MICRONS_TEST_KILL_AT`` names it, so each kill lands where it says, not where a timer
happens to fall), and made to refuse a save inside the kernel: each time the previous
recording, its manifest entry and the stored notebook must be exactly as they were (or,
killed after the last rename, all three new), and a refusal must end with a non-zero exit
and the reason on screen.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from microns_helpers.recorder import KILL_POINTS
from tests.helpers import CHAPTER, recorder, write_chapter

REPO = Path(__file__).resolve().parents[1]


def snapshot(*folders: Path) -> dict:
    return {
        p: p.read_bytes() for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()
    }


CHANGED = [*CHAPTER, "client.materialize.get_versions()"]


def state(chapters: Path, recordings: Path) -> dict:
    """The files a kill could damage, with the manifest's recording time left out."""
    files = snapshot(chapters, recordings)
    out = {}
    for path, data in files.items():
        if path.name.startswith(".") and path.name.endswith(".partial"):
            continue  # a kill cannot clean up: the next run removes these first
        if path.name == "manifest.json":
            data = re.sub(rb'"recorded_at": "[^"]*"', b'"recorded_at": ""', data)
        out[path.relative_to(path.parent.parent)] = data
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A chapter recorded once, and the state a finished re-recording of a changed chapter
    leaves."""
    base = tmp_path_factory.mktemp("recorded")
    chapters, recordings = base / "chapters", base / "recordings"
    write_chapter(chapters, CHAPTER)
    proc = recorder(chapters, recordings)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    finished = tmp_path_factory.mktemp("finished")
    shutil.copytree(recordings, finished / "recordings")
    write_chapter(finished / "chapters", CHANGED)
    proc = recorder(finished / "chapters", finished / "recordings")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    return base, state(finished / "chapters", finished / "recordings")


@pytest.mark.parametrize("moment", KILL_POINTS)
def test_a_kill_at_each_moment_keeps_the_previous_recording(recorded, tmp_path, moment):
    """Killed at any moment, the chapter is as before, or (killed after the last rename) as
    after: never a partial recording, never a recording beside the other's manifest."""
    base, finished = recorded
    chapters, recordings = tmp_path / "chapters", tmp_path / "recordings"
    shutil.copytree(base / "chapters", chapters)
    shutil.copytree(base / "recordings", recordings)
    write_chapter(chapters, CHANGED)  # a changed chapter: a finished run changes both files
    before = state(chapters, recordings)
    proc = recorder(chapters, recordings, MICRONS_TEST_KILL_AT=moment)
    proc.communicate(timeout=300)
    # killed by its own hook: the kill happened, at that moment, not a normal exit
    assert proc.returncode == -9, f"the run was not killed at {moment!r} ({proc.returncode})"
    after = state(chapters, recordings)
    expected = finished if moment == KILL_POINTS[-1] else before
    changed = sorted(str(p) for p in set(expected) | set(after) if expected.get(p) != after.get(p))
    assert after == expected, f"killed at {moment!r}, changed: {changed}"


def test_a_refused_save_fails_loudly_and_keeps_the_old_recording(recorded, tmp_path):
    base, _ = recorded
    chapters, recordings = tmp_path / "chapters", tmp_path / "recordings"
    shutil.copytree(base / "recordings", recordings)
    # a request whose body holds a loopback address: the recorder must refuse to keep it
    write_chapter(
        chapters,
        [
            *CHAPTER,
            "import requests\nfrom microns_helpers import modes\n"
            "requests.post(modes.PUBLIC_GLOBAL + '/schema/api/v2/types', "
            "json={'note': 'http://127.0.0.1:9/'}).status_code",
        ],
    )
    before = snapshot(chapters, recordings)
    proc = recorder(chapters, recordings)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1
    assert "FAILED 01_demo.ipynb: the recording was refused" in out
    assert "loopback address" in out
    assert snapshot(chapters, recordings) == before


def test_the_old_flag_says_its_new_name(capsys):
    """``--standin`` was renamed ``--sample-service``: the old flag is refused with the new
    name (exit 2, as argparse does), and nothing is recorded."""
    from microns_helpers import cli

    with pytest.raises(SystemExit) as ended:
        cli.main(["record", "--standin", "02_basics"])
    assert ended.value.code == 2
    assert "--standin is now --sample-service" in capsys.readouterr().err
