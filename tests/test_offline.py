"""Without any network: replay of the documented calls, and offline mode on every caveclient.

The proof is a network namespace with only loopback (``unshare -n``), which needs root;
where the machine refuses one, the tests are skipped and say why (CI runs as root). The
home folder is an empty one, and must still be empty afterwards.

Offline runs the documentation's code at 1300 and every learner variation of
``tests/variations.py`` on the pinned caveclient and on the CI set of
``tools/caveclient_envs.py`` (5.17.2, 5.23.0, 5.31.0, 6.0.2, 7.11.1), which ``make test``
builds; the weekly workflow runs all 16 releases.
"""

from __future__ import annotations

import json
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
from tests.documented_calls import record_from_standin, run_documented_calls
from tests.environments import release_python
from tests.variations import VARIATIONS
from tools.caveclient_envs import matrix_releases

REPO = Path(__file__).resolve().parents[1]
ONLY_LOOPBACK = ["unshare", "-n", "sh", "-c", 'ip link set lo up; exec "$@"', "sh"]
COMMITTED = Path(recording.__file__).parent / "recordings"

REPLAY_SCRIPT = """
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


def empty_home_or_skip(tmp_path: Path) -> Path:
    """An empty home folder for a run with only loopback; skips where the machine refuses
    such a run (it says why)."""
    reason = namespace_refusal()
    if reason:
        pytest.skip(reason)
    home = tmp_path / "home"
    home.mkdir()
    return home


def isolated_env(home: Path, mode: str, recordings: Path = COMMITTED) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICRONS_", "CAVE_"))}
    env.update(
        MICRONS_MODE=mode,
        MICRONS_RECORDINGS=str(recordings),
        HOME=str(home),  # no token anywhere
        PYTHONPATH=str(REPO),
        # matplotlib keeps a font cache under ~/.cache and ~/.config: its own, not ours
        MPLCONFIGDIR=str(home.parent / "matplotlib"),
    )
    return env


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> Path:
    if list(COMMITTED.glob("0*.json")):
        return COMMITTED
    folder = tmp_path_factory.mktemp("recordings")
    token = "planted-" + secrets.token_hex(16)
    from microns_helpers import connect

    record_from_standin(folder, tmp_path_factory.mktemp("home"), token, connect=connect)
    return folder


def test_documented_calls_replay_with_only_loopback(recordings, tmp_path, monkeypatch):
    reason = namespace_refusal()
    if reason:
        pytest.skip(reason)
    out = tmp_path / "results.pickle"
    home = tmp_path / "home"
    home.mkdir()
    run = subprocess.run(
        [*ONLY_LOOPBACK, sys.executable, "-c", REPLAY_SCRIPT, str(out)],
        cwd=REPO,
        env=isolated_env(home, "replay", recordings),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("Replaying, no network: answers come from recordings")
    assert list(home.rglob("*")) == []
    offline = pickle.loads(out.read_bytes())

    # The same answers as a replay with the network up, and nothing empty.
    from microns_helpers import connect

    monkeypatch.setenv("MICRONS_MODE", "replay")  # what connect() reads
    with recording.using("replay", recordings):
        online = run_documented_calls(connect)
    assert offline.keys() == online.keys()
    for name, value in online.items():
        if isinstance(value, pd.DataFrame):
            assert len(value), name
            pd.testing.assert_frame_equal(offline[name], value)
        else:
            assert offline[name] == value, name


@pytest.mark.parametrize("release", ["pinned", *matrix_releases()])
def test_offline_answers_the_documented_code_and_every_variation(release, tmp_path):
    home = empty_home_or_skip(tmp_path)
    python = release_python(release)
    out = tmp_path / "result.json"
    run = subprocess.run(
        [*ONLY_LOOPBACK, str(python), str(REPO / "tests/matrix/offline_step.py"), str(out)],
        cwd=REPO,
        env=isolated_env(home, "offline"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    if release != "pinned":
        assert result["caveclient"] == release
    assert result["interfaces"] == ["lo"] and result["mode"] == "offline"
    assert "documented_error" not in result, result.get("documented_error")
    assert (
        "caveclient:outputs" in result["documented"] and "connect:outputs" in result["documented"]
    )
    outcomes = result["variations"]
    failed = {n: why for n, why in outcomes.items() if why and not why.startswith("unsupported")}
    assert not failed, failed
    answered = [n for n, why in outcomes.items() if why is None]
    assert len(outcomes) == len(VARIATIONS) and len(answered) >= 20, outcomes
    # the answers of the sample data are said once (the notice), not once per request
    assert "answered by" not in run.stderr
    # caveclient 5.27-6.3 write token files while a client is built: not in offline mode
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == []
