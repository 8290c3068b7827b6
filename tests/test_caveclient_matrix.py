"""The documentation's bug and connect(), on caveclient 5.23.0 and on the current caveclient.

Each interpreter runs ``tests/matrix/connect_step.py`` in a subprocess against one stand-in
serving bulk table metadata without ``nucleus_detection_v0`` (the RecursionError trigger).
The 5.23.0 interpreter is ``.venv-caveclient523``, built by ``make test``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from microns_helpers.client import version_tuple
from microns_helpers.sample import SampleService

REPO = Path(__file__).resolve().parent.parent
STEP = REPO / "tests" / "matrix" / "connect_step.py"
OLD_PYTHON = REPO / ".venv-caveclient523" / "bin" / "python"
# caveclient versions whose documented `client.materialize.version = N` recurses
RECURSION_BUG = ((5, 17, 1), (5, 24, 0))


def run_step(python: Path, step: str, url: str, home: Path) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k != "CAVE_TOKEN" and not k.startswith("MICRONS_")
    }
    env.update(PYTHONPATH=str(REPO), HOME=str(home))
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


@pytest.mark.parametrize("interpreter", ["caveclient-5.23.0", "caveclient-pinned-newest"])
def test_documented_init_and_connect(interpreter, tmp_path):
    if interpreter == "caveclient-pinned-newest":
        python = Path(sys.executable)
    else:
        python = OLD_PYTHON
        if not python.exists():
            pytest.fail(
                f"{OLD_PYTHON.relative_to(REPO)} is missing: run `make test`, which builds it "
                "(caveclient 5.23.0, from requirements-caveclient523.txt)."
            )
    with SampleService(bulk_metadata_without_reference=True) as s:
        raw = run_step(python, "raw", s.url, tmp_path)
        connected = run_step(python, "connect", s.url, tmp_path)

    installed = version_tuple(raw["caveclient"])
    if interpreter == "caveclient-5.23.0":
        assert raw["caveclient"] == "5.23.0"
    low, high = RECURSION_BUG
    if low <= installed < high:
        assert raw == {"outcome": "RecursionError", "caveclient": raw["caveclient"]}
    else:
        assert raw["outcome"] == "ok" and raw["version"] == 1078

    assert connected["caveclient"] == raw["caveclient"]
    assert connected["version"] == 1078
    assert connected["rows"] > 0 and connected["cell_types"] == ["BC"]
    assert not list(tmp_path.rglob("cave_datastack_to_server_map.json"))
