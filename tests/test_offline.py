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
import pickle
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from microns_helpers import modes
from tests.documented_calls import run_documented_calls
from tests.environments import release_python
from tests.helpers import (
    COMMITTED,
    ONLY_LOOPBACK,
    empty_home_or_skip,
    isolated_env,
    namespace_refusal,
)
from tests.variations import VARIATIONS
from tools.caveclient_envs import matrix_releases

REPO = Path(__file__).resolve().parents[1]
# The variations a release's environment cannot run, exactly, per release of the CI set
# (measured with tests/matrix/offline_step.py); on the pinned caveclient, in the main
# environment, every one is answered. The matrix environments hold caveclient,
# pandas, vcrpy and tqdm only (tools/caveclient_envs.py): no nglui, DuckDB,
# standard_transform or SciPy.
NOT_IN_MATRIX_ENVIRONMENTS = {
    "a_link_of_the_pyramidal_cell",  # nglui
    "a_link_without_imagery",
    "another_neuroglancer_site",
    "only_the_strongest_partners",
    "points_in_micrometres",
    "the_link_read_back",
    "the_somata_of_the_partners",
    "the_bulk_outputs_of_one_neuron",  # DuckDB
    "the_bulk_proofreading",
    "the_bulk_synapses_per_pair",
    "depth_below_the_pia",  # standard_transform
    "depth_of_the_apical_tip",
    "inputs_within_50_um_of_the_soma",  # scipy.spatial
}
# query_table(filter_greater_dict=...): absent before 5.2x, refused or unreadable after
FILTER_GREATER = {"big_nuclei", "confident_automatic_matches", "sharply_tuned_cells"}
# no skeleton client before caveclient 5.26
SKELETON_CLIENT = {
    "dendrite_and_axon_make_the_whole",
    "level2_nodes_become_vertices",
    "skeleton_version_1_has_no_compartments",
    "the_skeleton_as_swc",
    "the_skeleton_of_the_real_neuron",
    "the_proofread_skeleton_covers_its_level2_graph",
    "the_radius_in_the_dict_and_the_swc",
    "the_volume_attributes_of_its_level2_nodes",  # reads the skeleton's root nodes
}
# client.skeleton.get_bulk_skeletons: from caveclient 6.5.0
BULK_SKELETONS = {"bulk_skeletons_match_one_at_a_time"}
UNSUPPORTED: dict[str, set[str]] = {
    "5.17.2": NOT_IN_MATRIX_ENVIRONMENTS | FILTER_GREATER | SKELETON_CLIENT | BULK_SKELETONS,
    "5.23.0": NOT_IN_MATRIX_ENVIRONMENTS | FILTER_GREATER | SKELETON_CLIENT | BULK_SKELETONS,
    "5.31.0": NOT_IN_MATRIX_ENVIRONMENTS | FILTER_GREATER | BULK_SKELETONS,
    "6.0.2": NOT_IN_MATRIX_ENVIRONMENTS | BULK_SKELETONS,
    "7.11.1": NOT_IN_MATRIX_ENVIRONMENTS,
}

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


@pytest.fixture(scope="module")
def recordings(documented_recording) -> Path:
    if list(COMMITTED.glob("0*.json")):
        return COMMITTED
    return documented_recording[0]  # recorded once per run (tests/conftest.py)


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
    with modes.using("replay", recordings):
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
    assert result["compat"] == {"missing": [], "unchecked": []}, result["compat"]
    outcomes = result["variations"]
    failed = {n: why for n, why in outcomes.items() if why and not why.startswith("unsupported")}
    assert not failed, failed
    assert set(outcomes) == {v.__name__ for v in VARIATIONS}
    # every variation answered, but what that release itself lacks, exactly
    unsupported = {n for n, why in outcomes.items() if why is not None}
    assert unsupported == UNSUPPORTED.get(result["caveclient"], set()), (
        f"caveclient {result['caveclient']}: unsupported {sorted(unsupported)}"
    )
    # the answers of the sample data are said once (the notice), not once per request
    assert "answered by" not in run.stderr
    # caveclient 5.27-6.3 write token files while a client is built: not in offline mode
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == []
