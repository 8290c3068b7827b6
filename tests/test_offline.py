"""The documented calls run verbatim in replay with no network at all.

The proof is a network namespace with only loopback (``unshare -n``), which needs
root; where the machine refuses one, the test is skipped and says why.

It replays the committed recordings (``microns_helpers/recordings/``) when there
are any, so it fails if the book's recordings miss a documented call; before the
first chapters are recorded it records its own from the stand-in.
"""

from __future__ import annotations

import os
import pickle
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from microns_helpers import recording
from microns_helpers._cassette import recording_files
from tests.documented_calls import record_from_standin, run_documented_calls

REPO = Path(__file__).resolve().parents[1]
ONLY_LOOPBACK = ["unshare", "-n", "sh", "-c", 'ip link set lo up; exec "$@"', "sh"]
COMMITTED = Path(recording.__file__).parent / "recordings"

OFFLINE_SCRIPT = """
import pickle, socket, sys
interfaces = [name for _, name in socket.if_nameindex()]
assert interfaces == ["lo"], f"not isolated: {interfaces}"
import microns_helpers
from tests.documented_calls import run_documented_calls
results = run_documented_calls(microns_helpers.connect)
with open(sys.argv[1], "wb") as out:
    pickle.dump(results, out)
"""


def namespace_refusal() -> str | None:
    """Why this machine cannot run a command with only loopback, or None if it can."""
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    probe = subprocess.run([*ONLY_LOOPBACK, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`unshare -n` is refused here (needs root): {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    if recording_files(COMMITTED):
        return COMMITTED
    folder = tmp_path_factory.mktemp("recordings")
    token = "planted-" + secrets.token_hex(16)
    record_from_standin(folder, tmp_path_factory.mktemp("home"), token, connect=_connect())
    return folder


def _connect():
    from microns_helpers import connect

    return connect


def test_documented_calls_replay_with_only_loopback(recordings, tmp_path, monkeypatch):
    reason = namespace_refusal()
    if reason:
        pytest.skip(reason)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICRONS_", "CAVE_"))}
    env.update(
        MICRONS_MODE="replay",
        MICRONS_RECORDINGS=str(recordings),
        HOME=str(tmp_path),  # no token anywhere
        PYTHONPATH=str(REPO),
    )
    out = tmp_path / "results.pickle"
    run = subprocess.run(
        [*ONLY_LOOPBACK, sys.executable, "-c", OFFLINE_SCRIPT, str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("Replaying recorded responses")
    offline = pickle.loads(out.read_bytes())

    # The same answers as a replay with the network up, and nothing empty.
    mode, folder = recording.active_mode(), recording._active_folder
    monkeypatch.setenv("MICRONS_MODE", "replay")  # what connect() reads
    try:
        recording.activate("replay", recordings=recordings)
        online = run_documented_calls(_connect())
    finally:
        recording.activate("live")
        if mode != "live":
            recording.activate(mode, recordings=folder)
    assert offline.keys() == online.keys()
    for name, value in online.items():
        if isinstance(value, pd.DataFrame):
            assert len(value), name
            pd.testing.assert_frame_equal(offline[name], value)
        else:
            assert offline[name] == value, name
