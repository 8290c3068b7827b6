"""Plain caveclient skeletons offline where cloud-volume is installed (meshparty pulls it in).

caveclient 7.7.1 and newer open the segmentation with cloud-volume before asking for a
skeleton. Offline, with an empty home and only loopback, a plain ``CAVEclient`` must get the
skeleton with no token file, with a token cloud-volume would refuse, and with a well-formed
one; the home folder keeps only what the test put there. The environment with cloud-volume
is built here on first use, once per machine and set of requirements (the cache of
tools/env_cache.py; ``.venv-cloudvolume`` in the clone links to it), from uv's cache or the
package index; where it cannot be built the test is skipped and says why.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ONLY_LOOPBACK, empty_home_or_skip, isolated_env
from tools import env_cache

REPO = Path(__file__).resolve().parents[1]
LEARNER = REPO / "requirements-learner.txt"
# What the offline mode needs from the learner install, and cloud-volume beside it.
FROM_LEARNER = ("caveclient", "pandas", "numpy", "pyarrow", "requests", "urllib3", "vcrpy")
FROM_LEARNER += ("PyYAML", "tqdm")
CLOUDVOLUME = "cloud-volume==12.15.2"
ROOT = 864691136040432126  # the neuron whose skeleton the sample serves

SCRIPT = """
import json, pathlib, sys
token, root = sys.argv[1], int(sys.argv[2])
if token != "none":
    secrets = pathlib.Path.home() / ".cloudvolume" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "cave-secret.json").write_text(json.dumps({"token": token}))
import importlib.util
assert (importlib.util.find_spec("cloudvolume") is not None) == (sys.argv[3] == "with")
import microns_helpers
from caveclient import CAVEclient
client = CAVEclient("minnie65_public")
client.materialize.version = 1300
skeleton = client.skeleton.get_skeleton(root, output_format="dict")
print(json.dumps({"vertices": len(skeleton["vertices"])}))
"""


def requirements() -> list[str]:
    """The learner install's pins of FROM_LEARNER (markers kept), and cloud-volume."""
    pins = []
    for line in LEARNER.read_text().splitlines():
        line = line.split("#")[0].strip()
        name = line.split("==")[0].split("[")[0].strip()
        if line and name in FROM_LEARNER:
            pins.append(line)
    return pins + [CLOUDVOLUME]


def cloudvolume_python() -> Path:
    """The interpreter of the environment with cloud-volume, built on first use."""
    pins = requirements()

    def install(folder: Path) -> None:
        python = str(folder / "bin" / "python")
        done = subprocess.run(
            [*env_cache.install_command(python), *pins], capture_output=True, text=True
        )
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if not line.startswith("WARNING")]
            raise RuntimeError(
                f"cannot build the cloud-volume environment ({CLOUDVOLUME}): {lines[-1:]}"
            )

    try:
        folder, _ = env_cache.ensure("cloudvolume", sys.executable, "\n".join(pins), install)
    except RuntimeError as err:
        pytest.skip(str(err))
    env_cache.link(REPO / ".venv-cloudvolume", folder)
    return REPO / ".venv-cloudvolume" / "bin" / "python"


@pytest.mark.parametrize(
    "token",
    ["none", "not a token!", "0123456789abcdef0123456789abcdef"],
    ids=["no-token-file", "malformed-token", "well-formed-token"],
)
def test_plain_caveclient_skeleton_offline_with_cloudvolume(tmp_path, token):
    home = empty_home_or_skip(tmp_path)
    python = cloudvolume_python()
    done = subprocess.run(
        [*ONLY_LOOPBACK, str(python), "-c", SCRIPT, token, str(ROOT), "with"],
        env=isolated_env(home, "offline"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["vertices"] > 1000, answer
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    expected = [] if token == "none" else [".cloudvolume/secrets/cave-secret.json"]
    assert written == expected


def test_plain_caveclient_skeleton_offline_without_cloudvolume(tmp_path):
    # the learner install: no cloud-volume, no token, no connect()
    home = empty_home_or_skip(tmp_path)
    done = subprocess.run(
        [*ONLY_LOOPBACK, sys.executable, "-c", SCRIPT, "none", str(ROOT), "without"],
        env=isolated_env(home, "offline"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["vertices"] > 1000
    assert not [p for p in home.rglob("*") if p.is_file()]
