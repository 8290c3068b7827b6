"""The morphology of the sample through the real caveclient: level-2 graph, L2 cache, skeletons.

The sample has two real neurons' morphology: root 864691136040432126 (its published level-2
graph, skeletonized at build time by tools/sample_data/morphology.py) and the proofread
864691135273655569 (pcg_skel's test meshwork, with L2 attributes and radius:
tools/sample_data/real_neurons.py; its tests are at the end). These tests check that
caveclient's own calls get it in every format, that the skeleton measured here, from the
shipped files with independent code, agrees with what the builder recorded, that the real
synapses sit on it where they should, and that every other root gets a clear 404.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import caveclient
import numpy as np
import pandas as pd
import pytest
import requests
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from microns_helpers import skeletons as measure
from microns_helpers.sample import DATASET_DIR

ROOT = 864691136040432126
OTHER_ROOT = 864691135808473885  # the documentation's example neuron: tables, no skeleton
MORPHOLOGY = DATASET_DIR / "morphology"
INPUTS = Path(__file__).resolve().parents[1] / "tools" / "sample_data" / "inputs" / "morphology"
RECORD = json.loads((MORPHOLOGY / "morphology.json").read_text())
SUMMARY = RECORD["summary"]
# Every synapse lies within this distance of its skeleton vertex; the soma's synapses all go
# to the one collapsed soma vertex at its centre, so they may lie further away.
MAX_SYNAPSE_DISTANCE_OFF_SOMA_NM = 7_000
MAX_SYNAPSE_DISTANCE_ON_SOMA_NM = 20_000


@pytest.fixture
def client(sample_service, home):
    c = caveclient.CAVEclient(
        "minnie65_public",
        server_address=sample_service.url,
        write_server_cache=False,
        version=1300,
    )
    # caveclient >= 7.7.1 opens the segmentation with cloud-volume before asking for a
    # skeleton, and accepts None; cloud-volume is not in the learner install.
    c.info.segmentation_cloudvolume = lambda *args, **kwargs: None
    return c


@pytest.fixture(scope="module")
def skeleton_dict(sample_service):
    s = caveclient.CAVEclient(
        "minnie65_public", server_address=sample_service.url, write_server_cache=False
    )
    s.info.segmentation_cloudvolume = lambda *args, **kwargs: None
    return s.skeleton.get_skeleton(ROOT, output_format="dict")


def _shipped():
    graph = pd.read_parquet(MORPHOLOGY / f"lvl2_graph_{ROOT}.parquet")
    stored = json.loads((MORPHOLOGY / f"skeleton_{ROOT}.json").read_text())
    return graph, stored


# -- caveclient's calls ---------------------------------------------------------------------------


def test_level2_chunk_graph_is_the_real_graph(client):
    edges = np.asarray(client.chunkedgraph.level2_chunk_graph(ROOT))
    graph, _ = _shipped()
    assert edges.shape == (6635, 2)
    assert {tuple(e) for e in edges.tolist()} == set(map(tuple, graph.to_numpy().tolist()))


def test_l2cache_gives_rep_coord_nm_of_the_graphs_nodes(client):
    assert client.l2cache.has_cache()
    assert "rep_coord_nm" in client.l2cache.attributes
    graph, stored = _shipped()
    l2_ids = stored["lvl2_ids"][:50]
    data = client.l2cache.get_l2data(l2_ids, attributes=["rep_coord_nm"])
    assert sorted(map(int, data)) == sorted(l2_ids)
    coords = pd.read_parquet(MORPHOLOGY / f"l2_rep_coord_{ROOT}.parquet").set_index("l2_id")
    first = l2_ids[0]
    expected = coords.loc[first].to_numpy()
    assert np.allclose(data[str(first)]["rep_coord_nm"], expected, atol=0.5)
    table = client.l2cache.get_l2data_table(l2_ids, attributes=["rep_coord_nm"])
    assert list(table.columns) == ["rep_coord_nm_x", "rep_coord_nm_y", "rep_coord_nm_z"]


def test_l2cache_names_the_attributes_and_ids_the_sample_lacks(client):
    _, stored = _shipped()
    with pytest.raises(requests.HTTPError, match="not size_nm3: those were not published"):
        client.l2cache.get_l2data(stored["lvl2_ids"][:3], attributes=["size_nm3"])
    with pytest.raises(requests.HTTPError, match="pca is not in the sample"):
        client.l2cache.get_l2data(stored["lvl2_ids"][:3], attributes=["pca"])
    with pytest.raises(requests.HTTPError, match="a call without attributes asks for"):
        client.l2cache.get_l2data(stored["lvl2_ids"][:3])
    with pytest.raises(requests.HTTPError, match="unknown L2-cache attribute"):
        client.l2cache.get_l2data(stored["lvl2_ids"][:3], attributes=["volume"])
    with pytest.raises(requests.HTTPError, match="not in the sample.*MICRONS_MODE=live"):
        client.l2cache.get_l2data([156656218574685002], attributes=["rep_coord_nm"])


def test_skeleton_dict_has_the_documented_fields(skeleton_dict):
    sk = skeleton_dict
    assert len(sk["vertices"]) == SUMMARY["n_vertices"]
    assert sk["edges"].shape == (SUMMARY["n_vertices"] - 1, 2)
    assert set(np.unique(sk["compartment"])) == {1, 2, 3}
    assert sk["compartment"][sk["root"]] == 1
    # level-2 id -> vertex: lvl2_ids[i] sits on vertex mesh_to_skel_map[i]
    assert len(sk["lvl2_ids"]) == len(sk["mesh_to_skel_map"]) == 5830
    assert sk["meta"]["skeleton_version"] == 4
    assert "radius" not in sk  # none was published: the sample does not invent one
    soma_nm = np.array([177408, 157968, 21002]) * [4, 4, 40]
    assert np.allclose(sk["vertices"][sk["root"]], soma_nm)


def test_skeleton_swc_is_the_same_tree_in_micrometres(client, skeleton_dict):
    swc = client.skeleton.get_skeleton(ROOT, output_format="swc")
    assert list(swc.columns) == ["id", "type", "x", "y", "z", "radius", "parent"]
    assert len(swc) == SUMMARY["n_vertices"]
    assert (swc["parent"] == -1).sum() == 1
    assert swc.loc[swc["parent"] == -1, "type"].item() == 1  # the soma is the root
    assert sorted(swc["type"].value_counts().to_dict().items()) == sorted(
        pd.Series(skeleton_dict["compartment"]).value_counts().to_dict().items()
    )
    # SWC in µm (the service's export): the same total cable as the dict in nm.
    xyz = swc[["x", "y", "z"]].to_numpy()
    child = swc[swc["parent"] >= 0]
    lengths = np.linalg.norm(xyz[child["id"]] - xyz[child["parent"]], axis=1)
    assert lengths.sum() == pytest.approx(SUMMARY["path_length_um"], rel=1e-4)


@pytest.mark.parametrize("version", [-1, 1, 2, 3, 4])
def test_every_skeleton_version_the_service_lists(client, version):
    assert client.skeleton.get_versions() == [-1, 0, 1, 2, 3, 4]
    sk = client.skeleton.get_skeleton(ROOT, skeleton_version=version, output_format="dict")
    assert len(sk["vertices"]) == SUMMARY["n_vertices"]
    assert ("compartment" in sk) == (version != 1)
    assert ("lvl2_ids" in sk) == (version in (-1, 4))


@pytest.mark.parametrize("fmt", ["json", "jsoncompressed", "arrays", "arrayscompressed"])
def test_the_services_other_formats_decode(sample_service, fmt):
    url = (
        f"{sample_service.url}/skeletoncache/api/v1/minnie65_public/precomputed/skeleton/4/"
        f"{ROOT}/{fmt}"
    )
    r = requests.get(url, timeout=10)
    r.raise_for_status()
    body = r.json() if not fmt.endswith("compressed") else None
    if body is None:
        body = caveclient.skeletonservice.SkeletonClient.decompressBytesToDict(r.content)
    assert len(body["vertices"]) == SUMMARY["n_vertices"]
    assert len(body["vertex_properties"]["compartment"]) == SUMMARY["n_vertices"]
    if fmt.startswith("json"):
        assert len(body["end_points"]) == SUMMARY["n_end_points"]


def test_precomputed_is_neuroglancers_binary_layout(sample_service):
    url = f"{sample_service.url}/skeletoncache/api/v1/minnie65_public/precomputed/skeleton/3/{ROOT}"
    data = requests.get(url, timeout=10).content
    n_vertices, n_edges = struct.unpack("<II", data[:8])
    assert (n_vertices, n_edges) == (SUMMARY["n_vertices"], SUMMARY["n_vertices"] - 1)
    # vertices f32, edges u32, radius f32, compartment u8 (skeleton version 3's info)
    assert len(data) == 8 + n_vertices * 12 + n_edges * 8 + n_vertices * 4 + n_vertices


@pytest.mark.parametrize("fmt", ["h5", "meshwork"])
def test_formats_the_sample_cannot_make_are_refused_clearly(sample_service, fmt):
    # The skeleton service writes these with meshparty (SkeletonService, datasets/service.py);
    # caveclient 8.2.1's get_skeleton asks only for dict and swc, and refuses others itself.
    url = f"{sample_service.url}/skeletoncache/api/v1/minnie65_public/precomputed/skeleton/4/{ROOT}"
    message = requests.get(f"{url}/{fmt}", timeout=10).json()["message"]
    assert repr(fmt) in message and "holds no mesh" in message and "'swc'" in message
    assert "MICRONS_MODE=live" in message


def test_bulk_skeletons_in_both_formats(client):
    dicts = client.skeleton.get_bulk_skeletons([ROOT], output_format="dict")
    assert list(dicts) == [str(ROOT)]
    assert len(dicts[str(ROOT)]["vertices"]) == SUMMARY["n_vertices"]
    swcs = client.skeleton.get_bulk_skeletons([ROOT], output_format="swc")
    assert len(swcs[str(ROOT)]) == SUMMARY["n_vertices"]


def test_skeleton_exists_and_fetch_skeletons(client):
    assert client.skeleton.skeletons_exist(root_ids=[ROOT]) is True
    assert client.skeleton.skeletons_exist(root_ids=[ROOT, OTHER_ROOT]) == {
        ROOT: True,
        OTHER_ROOT: False,
    }
    if hasattr(client.skeleton, "fetch_skeletons"):  # caveclient >= 8.2.0
        fetched = client.skeleton.fetch_skeletons([ROOT])
        assert len(fetched[str(ROOT)]["vertices"]) == SUMMARY["n_vertices"]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.skeleton.get_skeleton(OTHER_ROOT),
        lambda c: c.skeleton.get_skeleton(OTHER_ROOT, output_format="swc"),
        lambda c: c.skeleton.get_bulk_skeletons([ROOT, OTHER_ROOT]),
        lambda c: c.chunkedgraph.level2_chunk_graph(OTHER_ROOT),
    ],
    ids=["dict", "swc", "bulk", "level2_graph"],
)
def test_other_roots_get_one_clear_404(client, call):
    with pytest.raises(requests.HTTPError) as err:
        call(client)
    assert err.value.response.status_code == 404
    text = err.value.response.json()["message"]
    assert f"root {OTHER_ROOT} is not in the sample" in text
    assert str(ROOT) in text and "MICRONS_MODE=live" in text


# -- the skeleton agrees with the level-2 graph and with the builder -----------------------------


def test_skeleton_measured_from_the_shipped_graph_agrees_with_the_builder():
    """Independent of pcg_skel and of the package's helper: scipy on the shipped files."""
    graph, sk = _shipped()
    l2_ids = np.asarray(sk["lvl2_ids"])
    vertex_of = np.asarray(sk["mesh_to_skel_map"])
    vertices, edges = np.asarray(sk["vertices"]), np.asarray(sk["edges"])
    n = len(vertices)
    # Every level-2 node maps to a vertex, and every vertex holds at least one node.
    assert sorted(l2_ids.tolist()) == sorted(np.unique(graph.to_numpy()).tolist())
    assert np.array_equal(np.unique(vertex_of), np.arange(n))
    assert n == SUMMARY["n_vertices"]
    # Contract the level-2 graph onto the vertices: each skeleton edge joins two vertices
    # whose level-2 nodes touch in the real graph, and the skeleton is one tree.
    index = pd.Series(np.arange(len(l2_ids)), index=l2_ids)
    a = vertex_of[index[graph["l2_id_a"]].to_numpy()]
    b = vertex_of[index[graph["l2_id_b"]].to_numpy()]
    contracted = {tuple(sorted(p)) for p in zip(a.tolist(), b.tolist()) if p[0] != p[1]}
    assert {tuple(sorted(e)) for e in edges.tolist()} <= contracted
    adjacency = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    assert connected_components(adjacency, directed=False)[0] == 1 and len(edges) == n - 1
    degree = np.bincount(edges.ravel(), minlength=n)
    children = np.bincount(edges[:, 1], minlength=n)
    root = sk["root"]
    assert int(((degree == 1) & (np.arange(n) != root)).sum()) == SUMMARY["n_end_points"]
    assert int((children > 1).sum()) == SUMMARY["n_branch_points"]
    length = np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1).sum()
    assert length / 1000 == pytest.approx(SUMMARY["path_length_um"], abs=0.01)


def test_the_figures_the_builder_recorded():
    # The chapter quotes these; a rebuild that changes them must change this test too.
    assert SUMMARY["n_vertices"] == 2430
    assert SUMMARY["n_end_points"] == 44 and SUMMARY["n_branch_points"] == 35
    assert SUMMARY["path_length_um"] == pytest.approx(4746.8, abs=0.1)
    assert SUMMARY["axon_path_length_um"] == pytest.approx(2263.1, abs=0.1)


def test_every_real_synapse_sits_near_its_vertex():
    syn = pd.read_parquet(MORPHOLOGY / f"synapse_vertices_{ROOT}.parquet")
    _, sk = _shipped()
    assert len(syn) == 2424 and syn["id"].is_unique
    # The vertex comes from the synapse's level-2 id through the shipped map.
    vertex_of = dict(zip(sk["lvl2_ids"], sk["mesh_to_skel_map"]))
    assert syn["skeleton_vertex"].tolist() == [vertex_of[i] for i in syn["level2_id"]]
    # ... and the distance is measured again here, from the published synapse positions.
    pre = pd.read_parquet(INPUTS / f"synapses_{ROOT}_pre.parquet")
    post = pd.read_parquet(INPUTS / f"synapses_{ROOT}_post.parquet")
    points = pd.concat(
        [
            pd.DataFrame({"id": pre["id"], "p": pre["pre_pt_position"]}),
            pd.DataFrame({"id": post["id"], "p": post["post_pt_position"]}),
        ]
    ).set_index("id")
    nm = np.stack(points.loc[syn["id"], "p"].to_numpy()) * [4, 4, 40]
    distance = np.linalg.norm(nm - np.asarray(sk["vertices"])[syn["skeleton_vertex"]], axis=1)
    assert np.allclose(distance, syn["distance_to_vertex_nm"], atol=0.1)
    on_soma = syn["compartment"].to_numpy() == 1
    assert distance[~on_soma].max() < MAX_SYNAPSE_DISTANCE_OFF_SOMA_NM
    assert distance[on_soma].max() < MAX_SYNAPSE_DISTANCE_ON_SOMA_NM
    assert distance.max() == pytest.approx(SUMMARY["synapse_distance_to_vertex_nm"]["max"], 0.1)


def test_outputs_sit_on_the_axon_and_inputs_on_the_dendrite():
    syn = pd.read_parquet(MORPHOLOGY / f"synapse_vertices_{ROOT}.parquet")
    outputs = syn[syn["direction"] == "output"]["compartment"]
    inputs = syn[syn["direction"] == "input"]["compartment"]
    assert len(outputs) == 259 and len(inputs) == 2165
    # Measured: 96.9 % of outputs on axon vertices; 97.4 % of inputs on dendrite, 2.4 % soma.
    assert (outputs == 2).mean() > 0.95
    assert (inputs == 3).mean() > 0.95
    assert (inputs == 2).mean() < 0.01
    assert (outputs == 2).mean() == pytest.approx(SUMMARY["outputs_on_axon"], abs=1e-4)


# -- the learner's helper (microns_helpers.skeletons) ---------------------------------------------


def test_helper_measures_the_served_skeleton_as_the_builder_did(skeleton_dict):
    sk = skeleton_dict
    assert measure.path_length_um(sk) == pytest.approx(SUMMARY["path_length_um"], abs=0.01)
    by_compartment = measure.path_length_by_compartment_um(sk)
    assert by_compartment["axon"] == pytest.approx(SUMMARY["axon_path_length_um"], abs=0.01)
    assert sum(by_compartment.values()) == pytest.approx(measure.path_length_um(sk))
    assert len(measure.end_points(sk)) == SUMMARY["n_end_points"]
    assert len(measure.branch_points(sk)) == SUMMARY["n_branch_points"]


def test_distance_to_soma_on_a_small_tree():
    #   3 - 2 - 0 (root) - 1 - 4 along x, 1 µm apart, and a branch 1 - 5 of 3 µm along y
    sk = {
        "vertices": [
            [0, 0, 0],
            [1000, 0, 0],
            [-1000, 0, 0],
            [-2000, 0, 0],
            [2000, 0, 0],
            [1000, 3000, 0],
        ],
        "edges": [[1, 0], [2, 0], [3, 2], [4, 1], [5, 1]],
        "root": 0,
        "compartment": [1, 2, 3, 3, 2, 2],
    }
    assert measure.distance_to_soma_um(sk).tolist() == [0.0, 1.0, 1.0, 2.0, 2.0, 4.0]
    assert measure.end_points(sk).tolist() == [3, 4, 5]
    assert measure.branch_points(sk).tolist() == [0, 1]
    assert measure.path_length_um(sk) == pytest.approx(7.0)
    assert measure.path_length_by_compartment_um(sk) == {"soma": 0.0, "axon": 5.0, "dendrite": 2.0}


def test_distance_to_soma_of_the_real_neuron(skeleton_dict):
    d = measure.distance_to_soma_um(skeleton_dict)
    assert d[skeleton_dict["root"]] == 0 and (d >= 0).all()
    # No vertex is further along the arbor than the whole cable, and a tip is furthest.
    assert d.max() < SUMMARY["path_length_um"]
    assert d.argmax() in set(measure.end_points(skeleton_dict).tolist())


def test_helper_says_what_is_wrong_with_a_broken_skeleton():
    with pytest.raises(ValueError, match="not a tree"):
        measure.path_length_um({"vertices": [[0, 0, 0], [1, 0, 0]], "edges": [], "root": 0})
    with pytest.raises(KeyError, match="skeleton_version=4"):
        measure.path_length_by_compartment_um(
            {"vertices": [[0, 0, 0], [1, 0, 0]], "edges": [[1, 0]], "root": 0}
        )


# -- the chapter (A neuron's shape): its layouts, its figure, its synapse mapping ----------------

# The chapter maps each synapse to its nearest skeleton vertex with cKDTree; every one of the
# real synapses lies within this distance of its vertex (measured: 6.9 µm at most, 1.3 µm in
# the median), since the skeleton runs through the level-2 chunks' centres.
MAX_NEAREST_VERTEX_NM = 7_000


def test_as_dict_gives_both_caveclient_layouts_one_shape(skeleton_dict):
    from microns_helpers.client import version_tuple
    from microns_helpers.sample import skeletons as service

    _, stored = _shipped()
    # caveclient older than 7.0 asks for "json": lists, compartment under vertex_properties,
    # and skeleton version 2 sends the labels as floats.
    old = measure.as_dict(service.json_skeleton(stored, 2))
    new = measure.as_dict(skeleton_dict)
    for sk in (old, new):
        assert sk["vertices"].shape == (SUMMARY["n_vertices"], 3)
        assert sk["edges"].dtype == np.int64 and sk["compartment"].dtype.kind == "i"
    assert np.array_equal(old["compartment"], new["compartment"])
    assert measure.path_length_by_compartment_um(old) == measure.path_length_by_compartment_um(new)
    old_release = version_tuple(caveclient.__version__) < (7,)
    assert measure.DICT_FORMAT == ("json" if old_release else "dict")
    swc = pd.DataFrame({"id": [0], "type": [1]})
    with pytest.raises(ValueError, match="not a skeleton dict.*output_format"):
        measure.as_dict(swc)


def test_the_chapters_figure_draws_the_real_shape(skeleton_dict):
    """The figure's drawn segments, read back from matplotlib, are the builder's tree."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from microns_helpers import plots

    soma_um = np.asarray(skeleton_dict["vertices"])[skeleton_dict["root"]] / 1000
    front, top = plots.plot_skeleton(skeleton_dict)
    (xy,) = [c for c in front.collections if isinstance(c, LineCollection)]
    (xz,) = [c for c in top.collections if isinstance(c, LineCollection)]
    a, b = np.asarray(xy.get_segments()), np.asarray(xz.get_segments())
    assert np.allclose(a[:, :, 0], b[:, :, 0])  # the same edges in both views
    ends = np.concatenate([a, b[:, :, 1:]], axis=2)  # (edge, end, xyz) in µm
    lengths = np.linalg.norm(ends[:, 0] - ends[:, 1], axis=1)
    assert lengths.sum() == pytest.approx(SUMMARY["path_length_um"], abs=0.01)
    points, index = np.unique(ends.reshape(-1, 3).round(3), axis=0, return_inverse=True)
    assert len(points) == SUMMARY["n_vertices"] and len(a) == SUMMARY["n_vertices"] - 1
    degree = np.bincount(index.ravel(), minlength=len(points))
    soma = int(np.flatnonzero(np.all(np.isclose(points, soma_um.round(3)), axis=1))[0])
    tips = (degree == 1) & (np.arange(len(points)) != soma)
    assert int(tips.sum()) == SUMMARY["n_end_points"]
    forks = (degree > 2) | ((np.arange(len(points)) == soma) & (degree > 1))
    assert int(forks.sum()) == SUMMARY["n_branch_points"]
    # axon orange, dendrite blue, in the builder's proportions; the soma starred; depth down
    colours = [matplotlib.colors.to_hex(c).upper() for c in xy.get_colors()]
    assert colours.count(plots.COMPARTMENT_COLOURS[2]) == SUMMARY["n_axon_vertices"]
    assert colours.count(plots.COMPARTMENT_COLOURS[3]) == SUMMARY["n_dendrite_vertices"]
    stars = [c for c in front.collections if not isinstance(c, LineCollection)]
    assert np.allclose(stars[-1].get_offsets()[0], soma_um[:2])
    assert front.yaxis_inverted() and not top.yaxis_inverted()
    plt.close("all")


def test_synapses_sit_on_the_skeleton_as_the_chapter_maps_them(client, skeleton_dict):
    from scipy.spatial import cKDTree

    columns = {side: [f"{side}_pt_position_{a}" for a in "xyz"] for side in ("pre", "post")}
    inputs = client.materialize.synapse_query(
        post_ids=ROOT, desired_resolution=[1, 1, 1], split_positions=True
    )
    outputs = client.materialize.synapse_query(
        pre_ids=ROOT, desired_resolution=[1, 1, 1], split_positions=True
    )
    tree = cKDTree(np.asarray(skeleton_dict["vertices"]))
    d_in, v_in = tree.query(inputs[columns["post"]].to_numpy())
    d_out, v_out = tree.query(outputs[columns["pre"]].to_numpy())
    assert len(d_in) == 2165 and len(d_out) == 259
    assert max(d_in.max(), d_out.max()) < MAX_NEAREST_VERTEX_NM
    assert np.median(d_in) < 2_000
    compartment = np.asarray(skeleton_dict["compartment"])
    assert (compartment[v_out] == 2).mean() > 0.95 and (compartment[v_in] == 3).mean() > 0.95
    # The nearest vertex is no further than the vertex of the synapse's level-2 chunk.
    by_id = pd.read_parquet(MORPHOLOGY / f"synapse_vertices_{ROOT}.parquet").set_index("id")
    via_chunk = by_id.loc[inputs["id"], "distance_to_vertex_nm"].to_numpy()
    assert (d_in <= via_chunk + 0.5).all()


# -- the proofread neuron 864691135273655569 (pcg-skel 1.3.1's test meshwork) -----------------

PROOFREAD = 864691135273655569
NGLUI_NEURON = 864691136362774498  # nglui 4.9.0's test synapses: rows only, no morphology
PROOFREAD_RECORD = json.loads((MORPHOLOGY / f"morphology_{PROOFREAD}.json").read_text())
PROOFREAD_SUMMARY = PROOFREAD_RECORD["summary"]


@pytest.fixture(scope="module")
def proofread_skeleton(sample_service):
    s = caveclient.CAVEclient(
        "minnie65_public", server_address=sample_service.url, write_server_cache=False
    )
    s.info.segmentation_cloudvolume = lambda *args, **kwargs: None
    return s.skeleton.get_skeleton(PROOFREAD, skeleton_version=4, output_format="dict")


def _proofread_inputs():
    nodes = pd.read_parquet(INPUTS / f"l2_nodes_{PROOFREAD}.parquet")
    meshwork = json.loads((INPUTS / f"skeleton_{PROOFREAD}_meshwork.json").read_text())
    return nodes, meshwork


def test_proofread_level2_graph_is_the_meshworks(client):
    edges = np.asarray(client.chunkedgraph.level2_chunk_graph(PROOFREAD))
    graph = pd.read_parquet(INPUTS / f"lvl2_graph_{PROOFREAD}.parquet")
    assert edges.shape == (21200, 2)
    assert {tuple(e) for e in edges.tolist()} == set(map(tuple, graph.to_numpy().tolist()))
    assert len(np.unique(edges)) == 17656


def test_proofread_l2cache_has_the_volume_attributes(client):
    nodes, _ = _proofread_inputs()
    names = ["rep_coord_nm", "area_nm2", "size_nm3", "max_dt_nm", "mean_dt_nm"]
    assert sorted(client.l2cache.attributes) == sorted(names)
    some = nodes.sample(40, random_state=0)
    table = client.l2cache.get_l2data_table(some["l2_id"].tolist(), attributes=names)
    some = some.set_index("l2_id").loc[table.index]
    for name in ("area_nm2", "size_nm3", "max_dt_nm", "mean_dt_nm"):
        assert np.allclose(table[name].to_numpy(float), some[name].to_numpy(float)), name
    xyz = ["rep_coord_nm_x", "rep_coord_nm_y", "rep_coord_nm_z"]
    assert np.array_equal(table[xyz].to_numpy(), some[xyz].to_numpy())


def test_proofread_skeleton_is_the_meshworks_with_the_services_radius(proofread_skeleton):
    sk = proofread_skeleton
    nodes, meshwork = _proofread_inputs()
    assert len(sk["vertices"]) == 7710 == PROOFREAD_SUMMARY["n_vertices"]
    assert np.allclose(sk["vertices"], meshwork["vertices"])
    assert np.array_equal(sk["edges"], meshwork["edges"]) and sk["root"] == meshwork["root"]
    # one vertex per group of level-2 nodes: the map covers the graph's nodes, in lvl2_ids order
    assert np.array_equal(sk["lvl2_ids"], nodes["l2_id"])
    assert np.array_equal(np.unique(sk["mesh_to_skel_map"]), np.arange(7710))
    # radius: the mean r_eff of each vertex's nodes (SkeletonService _generate_v4_skeleton),
    # measured here with numpy alone
    m2s = np.asarray(meshwork["mesh_to_skel_map"])
    mean_r_eff = np.bincount(m2s, weights=nodes["r_eff"]) / np.bincount(m2s)
    assert np.allclose(sk["radius"], mean_r_eff, atol=0.001)
    assert (sk["radius"] > 0).all()
    # compartment: the median of the nodes' is_axon, the soma at the root
    share = np.bincount(m2s, weights=nodes["is_axon"]) / np.bincount(m2s)
    expected = np.where(share > 0.5, 2, 3)
    expected[sk["root"]] = 1
    assert np.array_equal(sk["compartment"], expected)
    assert sk["meta"]["skeleton_version"] == 4
    assert np.allclose(
        sk["vertices"][sk["root"]], [sk["meta"][f"soma_pt_{a}"] for a in "xyz"]
    )  # the collapsed soma sits at the soma point


def test_proofread_swc_carries_the_radius_in_micrometres(client, proofread_skeleton):
    swc = client.skeleton.get_skeleton(PROOFREAD, output_format="swc")
    sk = proofread_skeleton
    assert len(swc) == 7710 and (swc["parent"] == -1).sum() == 1
    # rows are in another order: match them to vertices by position
    key = {tuple(np.round(v / 1000, 3)): i for i, v in enumerate(sk["vertices"])}
    vertex = [key[tuple(p)] for p in swc[["x", "y", "z"]].round(3).itertuples(index=False)]
    assert np.allclose(swc["radius"], np.asarray(sk["radius"])[vertex] / 1000, atol=0.0005)
    assert np.array_equal(swc["type"], np.asarray(sk["compartment"])[vertex])


def test_proofread_other_formats_carry_radius(sample_service):
    base = f"{sample_service.url}/skeletoncache/api/v1/minnie65_public/precomputed/skeleton"
    body = requests.get(f"{base}/4/{PROOFREAD}/json", timeout=10).json()
    assert len(body["radius"]) == len(body["vertex_properties"]["radius"]) == 7710
    data = requests.get(f"{base}/3/{PROOFREAD}", timeout=10).content
    n_v, n_e = struct.unpack("<II", data[:8])
    start = 8 + n_v * 12 + n_e * 8
    radius = np.frombuffer(data[start : start + 4 * n_v], dtype="<f4")
    assert np.allclose(radius, body["radius"], rtol=1e-6)


def test_bulk_skeletons_of_both_real_neurons(client):
    both = client.skeleton.get_bulk_skeletons([PROOFREAD, ROOT], skeleton_version=4)
    assert {k: len(v["vertices"]) for k, v in both.items()} == {
        str(PROOFREAD): 7710,
        str(ROOT): SUMMARY["n_vertices"],
    }
    assert "radius" in both[str(PROOFREAD)] and "radius" not in both[str(ROOT)]


def test_proofread_synapses_are_the_meshworks(client):
    inputs = client.materialize.synapse_query(post_ids=PROOFREAD)
    outputs = client.materialize.synapse_query(pre_ids=PROOFREAD)
    pre = pd.read_parquet(INPUTS / f"synapses_{PROOFREAD}_pre.parquet")
    post = pd.read_parquet(INPUTS / f"synapses_{PROOFREAD}_post.parquet")
    assert len(inputs) == 11823 and len(outputs) == 585
    assert set(inputs["id"]) == set(post["id"]) and set(outputs["id"]) == set(pre["id"])
    # every input's level-2 node belongs to the served graph
    vertices = pd.read_parquet(MORPHOLOGY / f"synapse_vertices_{PROOFREAD}.parquet")
    assert set(vertices["level2_id"]) <= set(_proofread_inputs()[0]["l2_id"])


def test_nglui_neurons_rows_are_served_whole(client):
    inputs = client.materialize.synapse_query(post_ids=NGLUI_NEURON)
    outputs = client.materialize.synapse_query(pre_ids=NGLUI_NEURON)
    post = pd.read_parquet(INPUTS / f"synapses_{NGLUI_NEURON}_post.parquet")
    pre = pd.read_parquet(INPUTS / f"synapses_{NGLUI_NEURON}_pre.parquet")
    # all of nglui's rows but the 4 inputs from the example neuron (its published count stays)
    from_example = post["pre_pt_root_id"] == OTHER_ROOT
    assert (len(post), int(from_example.sum())) == (4944, 4)
    # and one synthetic input and output in the proofread cells' network (it is one of them)
    proofread = set(
        client.materialize.query_table("proofreading_status_and_strategy")["pt_root_id"]
    )
    extra_in = inputs[~inputs["id"].isin(post["id"])]
    extra_out = outputs[~outputs["id"].isin(pre["id"])]
    assert len(inputs) == 4940 + 1 and len(outputs) == 149 + 1
    assert set(extra_in["pre_pt_root_id"]) <= proofread and len(extra_in) == 1
    assert set(extra_out["post_pt_root_id"]) <= proofread and len(extra_out) == 1
    post = post[~from_example]
    served = inputs.set_index("id").loc[post["id"]]
    assert served["pre_pt_root_id"].tolist() == post["pre_pt_root_id"].tolist()
    assert served["size"].tolist() == post["size"].tolist()


def test_proofread_neuron_is_in_the_proofreading_table(client):
    rows = client.materialize.query_table(
        "proofreading_status_and_strategy", filter_equal_dict={"pt_root_id": PROOFREAD}
    )
    assert rows["strategy_axon"].tolist() == ["axon_fully_extended"]
    assert client.chunkedgraph.suggest_latest_roots(PROOFREAD) == PROOFREAD
    # its point is one of its own synapses, so the chunkedgraph gives the root back
    assert client.chunkedgraph.get_root_id(int(rows["pt_supervoxel_id"].iloc[0])) == PROOFREAD


def test_proofread_figures_the_chapter_quotes():
    # Chapter 11 quotes these; a rebuild that changes them must change this test too.
    s = PROOFREAD_SUMMARY
    assert s["path_length_um"] == pytest.approx(15986.9, abs=0.1)
    assert s["axon_path_length_um"] == pytest.approx(7914.8, abs=0.1)
    assert s["dendrite_path_length_um"] == pytest.approx(8072.1, abs=0.1)
    assert (s["n_end_points"], s["n_branch_points"]) == (148, 131)


def test_proofread_morphology_rebuilds_identically(tmp_path):
    from tools.sample_data.real_neurons import build_real_neuron_morphology

    build_real_neuron_morphology(tmp_path)
    built = sorted((tmp_path / "morphology").iterdir())
    assert len(built) == 6
    for path in built:
        assert path.read_bytes() == (MORPHOLOGY / path.name).read_bytes(), path.name


def test_swc_writer_is_meshpartys_on_the_other_neuron():
    """The builder writes SWC without meshparty; on the skeleton meshparty exported, the
    same bytes."""
    from tools.sample_data.real_neurons import swc_text

    _, sk = _shipped()
    text = swc_text(
        sk["vertices"], sk["edges"], sk["root"], sk["compartment"], np.ones(len(sk["vertices"]))
    )
    assert text == (MORPHOLOGY / f"skeleton_{ROOT}.swc").read_text()


def test_the_chapters_figure_draws_the_proofread_neuron(proofread_skeleton):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from microns_helpers import plots

    front, _ = plots.plot_skeleton(proofread_skeleton)
    (xy,) = [c for c in front.collections if isinstance(c, LineCollection)]
    assert len(xy.get_segments()) == 7709
    colours = [matplotlib.colors.to_hex(c).upper() for c in xy.get_colors()]
    assert colours.count(plots.COMPARTMENT_COLOURS[2]) == PROOFREAD_SUMMARY["n_axon_vertices"]
    plt.close("all")
