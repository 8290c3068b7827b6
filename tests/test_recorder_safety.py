"""The recorder never replaces a good recording with a bad one.

``microns-helpers record`` is killed (SIGKILL, kernels included) at several moments of a
run, and made to refuse a save inside the kernel: each time the previous recording, its
manifest entry and the stored notebook must be exactly as they were, and a refusal must
end with a non-zero exit and the reason on screen. The lost files are tallied for the
session's one-line summary (conftest.py).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tests.conftest import HOSTILE_TALLY

REPO = Path(__file__).resolve().parents[1]

CHAPTER = [
    "import microns_helpers\nfrom microns_helpers import connect\nclient = connect()",
    "len(client.materialize.get_tables())",
    "len(client.materialize.synapse_query(pre_ids=864691135808473885))",
]


def write_chapter(folder: Path, cells) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    # fixed cell ids: the same chapter written twice is the same file
    nb.cells = [nbformat.v4.new_code_cell(src, id=f"cell-{k}") for k, src in enumerate(cells)]
    path = folder / "01_demo.ipynb"
    nbformat.write(nb, str(path))
    return path


def recorder(chapters: Path, recordings: Path, **env_changes) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICRONS_", "CAVE_"))}
    env.update(PYTHONPATH=str(REPO), MICRONS_MODE="live", **env_changes)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "microns_helpers",
            "record",
            "--chapters",
            str(chapters),
            "--recordings",
            str(recordings),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # one process group: the recorder and its kernels
    )


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
        if path.name == "manifest.json":
            data = re.sub(rb'"recorded_at": "[^"]*"', b'"recorded_at": ""', data)
        out[path.relative_to(path.parent.parent)] = data
    return out


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A chapter recorded once; the state a finished re-recording of a changed chapter
    leaves; and how long a recording run takes."""
    base = tmp_path_factory.mktemp("recorded")
    chapters, recordings = base / "chapters", base / "recordings"
    write_chapter(chapters, CHAPTER)
    proc = recorder(chapters, recordings)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    finished = tmp_path_factory.mktemp("finished")
    shutil.copytree(recordings, finished / "recordings")
    write_chapter(finished / "chapters", CHANGED)
    started = time.perf_counter()
    proc = recorder(finished / "chapters", finished / "recordings")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    seconds = time.perf_counter() - started
    return base, state(finished / "chapters", finished / "recordings"), seconds


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.7, 0.9, 0.98])
def test_a_kill_at_any_moment_keeps_the_previous_recording(recorded, tmp_path, fraction):
    """Killed anywhere, the chapter is as before, or (killed after the last swap) as after:
    never a partial recording, never a recording beside the other's manifest."""
    base, finished, seconds = recorded
    chapters, recordings = tmp_path / "chapters", tmp_path / "recordings"
    shutil.copytree(base / "chapters", chapters)
    shutil.copytree(base / "recordings", recordings)
    write_chapter(chapters, CHANGED)  # a changed chapter: a finished run changes both files
    before = state(chapters, recordings)
    proc = recorder(chapters, recordings)
    time.sleep(seconds * fraction)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    after = state(chapters, recordings)
    lost = after not in (before, finished)
    HOSTILE_TALLY["lost"] += lost
    changed = sorted(str(p) for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert not lost, f"killed at {fraction:.0%} of the run, changed: {changed}"


def test_a_refused_save_fails_loudly_and_keeps_the_old_recording(recorded, tmp_path):
    base, _, _ = recorded
    chapters, recordings = tmp_path / "chapters", tmp_path / "recordings"
    shutil.copytree(base / "recordings", recordings)
    # a request whose body holds a loopback address: the recorder must refuse to keep it
    write_chapter(
        chapters,
        [
            *CHAPTER,
            "import requests\nfrom microns_helpers import recording\n"
            "requests.post(recording.PUBLIC_GLOBAL + '/schema/api/v2/types', "
            "json={'note': 'http://127.0.0.1:9/'}).status_code",
        ],
    )
    before = snapshot(chapters, recordings)
    proc = recorder(chapters, recordings)
    out, err = proc.communicate(timeout=300)
    HOSTILE_TALLY["lost"] += snapshot(chapters, recordings) != before
    assert proc.returncode == 1
    assert "FAILED 01_demo.ipynb: the recording was refused" in out
    assert "loopback address" in out
    assert snapshot(chapters, recordings) == before
