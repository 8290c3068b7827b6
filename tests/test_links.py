"""Neuroglancer links (microns_helpers.links and the Neuroglancer chapter), all offline.

The chapter's state must hold what it was built from: the neuron and its partners as
segments, the synapses as points in the right units (voxels of 4 x 4 x 40 nm, or whatever
``data_resolution`` says), the layer names; and nothing the chapter runs may send a
request: the chapter runs under ``unshare -n`` (loopback only) with an empty home, and no
upload reaches the state server (no link is shortened or uploaded, here or anywhere): the
only request to it reads back the one shared state the sample holds, which is built from the
datastack's real public sources.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from microns_helpers import links
from microns_helpers.errors import InvalidInputError, MissingExtraError
from tests.helpers import ONLY_LOOPBACK, empty_home_or_skip, isolated_env

REPO = Path(__file__).resolve().parents[1]
CHAPTER = REPO / "chapters" / "12_neuroglancer.ipynb"
NEURON = 864691135808473885
SHARED_STATE_ID = 5560000195854336  # the MICrONs tutorial's NGLui quickstart reads this id


# -- the helpers, without a client ---------------------------------------------------------


def test_a_missing_nglui_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(links, "installed_version", lambda name: None)
    with pytest.raises(MissingExtraError) as err:
        links.require_nglui()
    assert "requirements-neuroglancer.txt" in str(err.value)
    assert '%pip install "nglui==4.9.0"' in str(err.value)
    assert isinstance(err.value, ImportError)  # what `except ImportError` catches


def test_nglui_3_is_refused_with_the_same_advice(monkeypatch):
    monkeypatch.setattr(links, "installed_version", lambda name: "3.8.2")
    with pytest.raises(MissingExtraError, match="nglui 3.8.2 is installed.*nglui 4"):
        links.require_nglui()


def test_the_installed_nglui_is_the_pinned_one():
    pinned = (REPO / "requirements-neuroglancer.txt").read_text()
    assert f"nglui=={links.require_nglui()}" in pinned
    assert "-r requirements-learner.txt" in pinned
    assert "-r requirements-neuroglancer.txt" in (REPO / "requirements.txt").read_text()


def _state(points):
    from nglui import statebuilder

    state = statebuilder.ViewerState(infer_coordinates=False, dimensions=[4, 4, 40])
    state.add_segmentation_layer("graphene://https://example.org/seg", name="cells")
    state.add_points(points, name="points", set_position=False)
    return state


def test_number_points_names_each_point_and_rebuilds_the_link():
    state = _state([[1, 2, 3], [4, 5, 6]])
    before = state.to_url()  # nglui keeps this state; the new ids must still reach the link
    links.number_points(state, "points", [11, 12])
    after = links.read_link(state.to_url())
    assert [a["id"] for a in after["layers"][1]["annotations"]] == ["11", "12"]
    assert after != links.read_link(before)
    assert state.to_url() == state.to_url()  # the same state, the same link


@pytest.mark.parametrize(
    ("ids", "why"), [([1], "holds 2 annotations but 1 ids"), ([7, 7], "repeat")]
)
def test_number_points_refuses_ids_that_do_not_fit(ids, why):
    with pytest.raises(InvalidInputError, match=why):
        links.number_points(_state([[1, 2, 3], [4, 5, 6]]), "points", ids)


def test_read_link_reads_the_state_back_with_exact_ids():
    state = _state([[1, 2, 3]])
    state.add_segments([NEURON])
    held = links.read_link(state.to_url())
    assert [layer["name"] for layer in held["layers"]] == ["cells", "points"]
    assert held["layers"][0]["segments"] == [str(NEURON)]  # a string: no rounding
    assert held["dimensions"] == {"x": [4e-09, "m"], "y": [4e-09, "m"], "z": [4e-08, "m"]}
    json.dumps(held)  # plain JSON, nothing of numpy


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://spelunker.cave-explorer.org/", "no '#!'"),
        ("https://example.org/#!middleauth+https://global.daf-apis.com/nglstate/api/v1/5", "short"),
        ("https://example.org/#!https://example.org/state.json", "shortened"),
    ],
)
def test_read_link_refuses_what_holds_no_state(url, why):
    with pytest.raises(InvalidInputError, match=why):
        links.read_link(url)


def test_every_cell_type_has_a_colour_nglui_accepts():
    from nglui.statebuilder.utils import parse_color

    types = {"23P", "4P", "5P-IT", "5P-ET", "5P-NP", "6P-IT", "6P-CT", "BC", "BPC", "MC"}
    types |= {"NGC", "astrocyte", "oligo", "OPC", "microglia", "pericyte"}
    assert set(links.CELL_TYPE_COLORS) == types
    assert len(set(links.CELL_TYPE_COLORS.values())) == len(types)
    for colour in links.CELL_TYPE_COLORS.values():
        parse_color(colour)


# -- the chapter's state and the chapter itself, with only loopback --------------------------

STATE_SCRIPT = """
import json, socket, sys
assert [name for _, name in socket.if_nameindex()] == ["lo"], "not isolated"
from nglui import statebuilder
from microns_helpers import connect, links
from microns_helpers.connectivity import add_cell_types, unique_cell_types
client = connect()
NEURON = 864691135808473885
outputs = client.materialize.synapse_query(pre_ids=NEURON)
cells = unique_cell_types(client.materialize.tables.aibs_metamodel_celltypes_v661().query())
typed = add_cell_types(outputs, cells).dropna(subset=["post_cell_type"])
by_partner = typed.groupby("post_pt_root_id", as_index=False)
partners = by_partner.agg(cell_type=("post_cell_type", "first"))
partners["color"] = partners["cell_type"].map(links.CELL_TYPE_COLORS)
nucleus = client.materialize.tables.nucleus_detection_v0(pt_root_id=NEURON).query()
soma = nucleus["pt_position"].iloc[0].tolist()
state = statebuilder.ViewerState(infer_coordinates=False, position=soma)
state.add_layers_from_client(client, imagery="em", segmentation="cells")
state.add_segments([NEURON], segment_colors="#ffffff")
state.add_segments_from_data(partners, segment_column="post_pt_root_id", color_column="color")
state.add_points(outputs, name="output synapses", point_column="ctr_pt_position",
                 segment_column="post_pt_root_id",
                 data_resolution=outputs.attrs["dataframe_resolution"], set_position=False)
links.number_points(state, "output synapses", outputs["id"])
held = links.read_link(state.to_url())
json.dump({
    "held": held,
    "resolution": list(client.info.viewer_resolution()),
    "soma": soma,
    "partners": {str(r): c for r, c in zip(partners["post_pt_root_id"], partners["color"])},
    "synapses": {
        str(i): [int(v) for v in p] for i, p in zip(outputs["id"], outputs["ctr_pt_position"])
    },
    "targets": {str(i): str(r) for i, r in zip(outputs["id"], outputs["post_pt_root_id"])},
}, open(sys.argv[1], "w"))
from microns_helpers import modes  # what the sample answered (offline says it once)
for method, path in sorted(modes.STATE.sample_answered):
    print(f"answered by the sample: {method} {path}", file=sys.stderr)
"""


def _only_loopback(command, tmp_path, timeout=600):
    home = empty_home_or_skip(tmp_path)
    env = isolated_env(home, "offline")
    # Jupyter's and IPython's own files (kernel connection files, history): not ours
    for name in ("JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "IPYTHONDIR"):
        env[name] = str(tmp_path / "jupyter" / name.lower())
    run = subprocess.run(
        [*ONLY_LOOPBACK, *command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(p.relative_to(home) for p in home.rglob("*")) == []  # the home stays empty
    return run


def _no_upload(stderr: str) -> None:
    """Offline mode flags every request the sample answered: some, and of the state server's
    routes only the GET of the one shared state (no upload, no other id)."""
    requests = [line for line in stderr.splitlines() if "answered by the sample" in line]
    to_state_server = [line for line in requests if "nglstate" in line]
    allowed = {
        f"GET /nglstate/api/v1/{SHARED_STATE_ID}",
        "GET /nglstate/api/v1/version",  # caveclient asks; a 404 means "no version"
    }
    assert requests, stderr[-2000:]
    assert all(line.split(": ", 1)[1] in allowed for line in to_state_server), to_state_server


def test_the_chapters_state_holds_its_segments_points_units_and_layers(tmp_path):
    out = tmp_path / "state.json"
    run = _only_loopback([sys.executable, "-c", STATE_SCRIPT, str(out)], tmp_path)
    _no_upload(run.stderr)
    got = json.loads(out.read_text())
    held = got["held"]
    layers = {layer["name"]: layer for layer in held["layers"]}
    assert list(layers) == ["em", "cells", "output synapses"]
    assert [layers[n]["type"] for n in layers] == ["image", "segmentation", "annotation"]

    # the viewer's unit is the datastack's voxel, 4 x 4 x 40 nm, and the camera is on the soma
    assert got["resolution"] == [4.0, 4.0, 40.0]
    voxel = {"x": [4e-09, "m"], "y": [4e-09, "m"], "z": [4e-08, "m"]}
    assert held["dimensions"] == voxel
    assert held["position"] == [float(v) for v in got["soma"]]

    # the segments: the neuron in white, then every typed partner in its type's colour
    cells = layers["cells"]
    assert cells["segments"] == [str(NEURON), *got["partners"]]
    assert cells["segmentColors"] == {str(NEURON): "#ffffff", **got["partners"]}

    # the points: one per synapse, named by its id, at its voxel position, on its partner
    points = layers["output synapses"]
    assert points["source"][0]["transform"]["outputDimensions"] == voxel
    annotations = {a["id"]: a for a in points["annotations"]}
    assert annotations.keys() == got["synapses"].keys() and len(annotations) == 1498
    for synapse, position in got["synapses"].items():
        assert annotations[synapse]["point"] == [float(v) for v in position], synapse
        assert annotations[synapse]["segments"] == [[got["targets"][synapse]]], synapse
    assert points["linkedSegmentationLayer"] == {"segments": "cells"}


def _results(nb: dict) -> list[str]:
    return [
        output["data"]["text/plain"]
        if isinstance(output["data"]["text/plain"], str)
        else "".join(output["data"]["text/plain"])
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
        if output["output_type"] == "execute_result"
    ]


def test_the_chapter_runs_offline_with_only_loopback_and_an_empty_home(tmp_path):
    out = tmp_path / "run.ipynb"
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute"]
    command += ["--ExecutePreprocessor.timeout=300", "--output", str(out), str(CHAPTER)]
    _only_loopback(command, tmp_path)
    ran = json.loads(out.read_text())
    # an upload would get the sample's 403 and a traceback; offline prints no request lines
    # any more, so the script above (STATE_SCRIPT) is where the requests are listed and checked
    assert "Traceback" not in json.dumps(ran["cells"])
    # offline answers are the sample's, as replay's: every result as stored in the chapter
    assert _results(ran) == _results(json.loads(CHAPTER.read_text()))


# -- the sample's state server: one shared state to read back, no uploads --------------------


@pytest.fixture(scope="module")
def sample_service():
    from microns_helpers.sample.server import SampleService

    with SampleService() as service:
        yield service


def test_the_sample_serves_the_shared_state_with_the_datastacks_public_sources(sample_service):
    import requests

    info = sample_service.data.datastack_info
    reply = requests.get(f"{sample_service.url}/nglstate/api/v1/{SHARED_STATE_ID}", timeout=60)
    assert reply.status_code == 200
    state = reply.json()
    layers = {layer["name"]: layer for layer in state["layers"]}
    assert [layers[n]["type"] for n in layers] == [
        "image",
        "segmentation",
        "annotation",
        "annotation",
    ]
    # the real public sources, as the datastack info names them
    assert layers["img"]["source"] == info["aligned_volume"]["image_source"]
    assert layers["img"]["source"].startswith("precomputed://https://bossdb-open-data")
    assert layers["seg"]["source"] == info["segmentation_source"]
    assert layers["seg"]["segments"] == [str(NEURON)]
    # the camera on the neuron's nucleus, which is the soma layer's one point, in voxels
    nuclei = sample_service.data.rows("nucleus_detection_v0", 1300)
    row = nuclei[nuclei["pt_root_id"] == NEURON].iloc[0]
    nucleus = [float(row[f"pt_position_{axis}"]) for axis in "xyz"]
    assert state["position"] == nucleus == layers["soma"]["annotations"][0]["point"]
    assert state["dimensions"] == {"x": [4e-09, "m"], "y": [4e-09, "m"], "z": [4e-08, "m"]}
    # the points are the neuron's output synapses, each on the partner it reaches
    synapses = sample_service.data.rows("synapses_pni_2", 1300)
    outputs = synapses[synapses["pre_pt_root_id"] == NEURON].set_index("id")
    points = layers["syns_out"]["annotations"]
    assert len(points) == 100
    for point in points:
        synapse = outputs.loc[int(point["id"])]
        assert point["segments"] == [[str(int(synapse["post_pt_root_id"]))]]
        assert point["point"] == [float(synapse[f"ctr_pt_position_{a}"]) for a in "xyz"]


@pytest.mark.parametrize(
    "method, path, status, words",
    [
        ("GET", "/nglstate/api/v1/1", 404, "holds one state"),
        ("POST", "/nglstate/api/v1/post", 403, "stores no state"),
        ("POST", f"/nglstate/api/v1/post/{SHARED_STATE_ID}", 403, "stores no state"),
    ],
)
def test_the_sample_refuses_other_states_and_every_upload(
    sample_service, method, path, status, words
):
    import requests

    reply = requests.request(method, sample_service.url + path, json={"layers": []}, timeout=60)
    assert reply.status_code == status and words in reply.json()["message"]
