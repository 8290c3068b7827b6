"""The documentation's bug and connect(), on the CI set of caveclients and the pinned one.

Each interpreter runs ``tests/matrix/connect_step.py all`` in one subprocess (every step of
a release in one interpreter, once for both tests) against one sample service serving bulk
table metadata without ``nucleus_detection_v0`` (the RecursionError trigger) and demanding a
token, which CAVE_TOKEN holds: caveclient 5.27-6.3 would write it under the home folder
while the client is built, and connect() must not let them. The interpreters are the
environments of ``tools/caveclient_envs.py``, built by ``make test``.
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


def run_steps(python: Path, spec: dict, folder: Path) -> dict:
    """Every step of connect_step.py in one interpreter: {step: [url, home]} -> {step: result}."""
    env = {
        k: v for k, v in os.environ.items() if k != "CAVE_TOKEN" and not k.startswith("MICRONS_")
    }
    # HOME: the first step's until the step script sets each step's own
    env.update(PYTHONPATH=str(REPO), CAVE_TOKEN=TOKEN, HOME=str(spec["raw"][1]))
    spec_file = folder / "spec.json"
    spec_file.write_text(json.dumps({step: [url, str(home)] for step, (url, home) in spec.items()}))
    done = subprocess.run(
        [str(python), str(STEP), "all", str(spec_file)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, f"the steps failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", params=[*matrix_releases(), "pinned"])
def steps(request, tmp_path_factory) -> tuple[str, dict, Path]:
    """(release, every step's result, the connect() home): one subprocess per release."""
    release = request.param
    python = release_python(release)
    folder = tmp_path_factory.mktemp(f"matrix-{release}")
    homes = {step: folder / f"{step}-home" for step in ("raw", "connect", "limit")}
    for home in homes.values():
        home.mkdir()
    with (
        SampleService(bulk_metadata_without_reference=True, required_token=TOKEN) as s,
        SampleService(required_token=TOKEN) as plain,
    ):
        spec = {
            "raw": (s.url, homes["raw"]),
            "connect": (s.url, homes["connect"]),
            "expired": (s.url, homes["connect"]),
            "limit": (plain.url, homes["limit"]),
        }
        return release, run_steps(python, spec, folder), homes["connect"]


def test_documented_init_and_connect(steps):
    release, results, home = steps
    raw, connected, expired = results["raw"], results["connect"], results["expired"]
    installed = version_tuple(raw["caveclient"])
    if release != "pinned":
        assert raw["caveclient"] == release
    low, high = RECURSION_BUG
    if low <= installed < high:
        assert set(raw) == {"outcome", "caveclient", "home"}, raw
        assert raw["outcome"] == "RecursionError"
    else:
        assert raw["outcome"] == "ok" and raw["version"] == 1300

    assert connected["caveclient"] == raw["caveclient"]
    assert connected["version"] == 1300
    assert connected["rows"] > 0 and connected["cell_types"] == ["BC"]
    assert expired["outcome"] == "VersionExpiredError" and "1300" in expired["message"]
    # connect() ran with this home, and wrote nothing there
    assert connected["home"] == expired["home"] == str(home) != raw["home"]
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == []


def test_a_limit_of_zero_or_less_is_ours_before_any_request(steps):
    """caveclient asserts `limit > 0` without a message; connect()'s client says what to do,
    and sends nothing. CAVECLIENT_RELEASES=5.17.2,...,8.2.1 runs every release."""
    _, results, _ = steps
    result = results["limit"]
    assert result["sent"] == [] and result["rows"] == 3
    for call, outcome in result["limits"].items():
        assert outcome.startswith("InvalidInputError: limit="), (call, outcome)
        assert "whole number of 1 or more" in outcome
