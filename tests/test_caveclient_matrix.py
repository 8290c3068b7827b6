"""The documentation's bug and connect(), on the CI set of caveclients and the pinned one.

Each interpreter runs ``tests/matrix/connect_step.py`` in a subprocess against one sample
service serving bulk table metadata without ``nucleus_detection_v0`` (the RecursionError
trigger) and demanding a token, which CAVE_TOKEN holds: caveclient 5.27-6.3 would write it
under the home folder while the client is built, and connect() must not let them. The
interpreters are the environments of ``tools/caveclient_envs.py``, built by ``make test``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from microns_helpers.client import version_tuple
from microns_helpers.sample import SampleService
from tests.environments import release_python
from tools.caveclient_envs import matrix_releases

REPO = Path(__file__).resolve().parent.parent
STEP = REPO / "tests" / "matrix" / "connect_step.py"
# caveclient versions whose documented `client.materialize.version = N` recurses
RECURSION_BUG = ((5, 17, 1), (5, 24, 0))
TOKEN = "planted-matrix-token-0123456789abcdef"


def run_step(python: Path, step: str, url: str, home: Path) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k != "CAVE_TOKEN" and not k.startswith("MICRONS_")
    }
    env.update(PYTHONPATH=str(REPO), HOME=str(home), CAVE_TOKEN=TOKEN)
    done = subprocess.run(
        [str(python), str(STEP), step, url],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, f"{step} failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("release", [*matrix_releases(), "pinned"])
def test_documented_init_and_connect(release, tmp_path):
    python = release_python(release)
    home = tmp_path / "home"
    home.mkdir()
    with SampleService(bulk_metadata_without_reference=True, required_token=TOKEN) as s:
        raw = run_step(python, "raw", s.url, tmp_path / "raw-home")
        connected = run_step(python, "connect", s.url, home)
        expired = run_step(python, "expired", s.url, home)

    installed = version_tuple(raw["caveclient"])
    if release != "pinned":
        assert raw["caveclient"] == release
    low, high = RECURSION_BUG
    if low <= installed < high:
        assert raw == {"outcome": "RecursionError", "caveclient": raw["caveclient"]}
    else:
        assert raw["outcome"] == "ok" and raw["version"] == 1300

    assert connected["caveclient"] == raw["caveclient"]
    assert connected["version"] == 1300
    assert connected["rows"] > 0 and connected["cell_types"] == ["BC"]
    assert expired["outcome"] == "VersionExpiredError" and "1300" in expired["message"]
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == []


@pytest.mark.parametrize("release", [*matrix_releases(), "pinned"])
def test_a_limit_of_zero_or_less_is_ours_before_any_request(release, tmp_path):
    """caveclient asserts `limit > 0` without a message; connect()'s client says what to do,
    and sends nothing. CAVECLIENT_RELEASES=5.17.2,...,8.2.1 runs every release."""
    python = release_python(release)
    with SampleService(required_token=TOKEN) as s:
        result = run_step(python, "limit", s.url, tmp_path)
    assert result["sent"] == [] and result["rows"] == 3
    for call, outcome in result["limits"].items():
        assert outcome.startswith("InvalidInputError: limit="), (call, outcome)
        assert "whole number of 1 or more" in outcome
