"""The sample's chunkedgraph answers as PyChunkedGraph computes them, and its views agree
with the tables they are made of (issue 23, items 3 and 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.helpers import make_client

caveclient = pytest.importorskip("caveclient")

EXAMPLE, EXAMPLE_1718 = 864691135808473885, 864691136968109774
PYRAMIDAL = 864691136040432126  # a root whose level-2 graph the sample serves
MAT = "/materialize/api/v3/datastack/minnie65_public"


@pytest.fixture
def client(sample_service, home):
    return make_client(sample_service.url)


# -- chunkedgraph ----------------------------------------------------------------------------------


def test_an_unedited_root_has_one_latest_root_at_the_clients_time(client):
    # The example neuron is merged with a fragment after 1300: the fragment is no successor.
    assert client.chunkedgraph.get_latest_roots(EXAMPLE).tolist() == [EXAMPLE]


def test_the_lineage_graph_goes_forward_and_back_never_sideways(client):
    graph = client.chunkedgraph.get_lineage_graph(EXAMPLE)
    nodes = {n["id"]: n for n in graph["nodes"]}
    assert set(nodes) == {EXAMPLE, EXAMPLE_1718}  # not the other piece of the merge
    # a node names the edit that replaced it (PyChunkedGraph's _get_node_properties)
    assert "operation_id" in nodes[EXAMPLE] and "operation_id" not in nodes[EXAMPLE_1718]
    back = client.chunkedgraph.get_lineage_graph(EXAMPLE_1718)
    assert len(back["nodes"]) == 3 and {link["target"] for link in back["links"]} == {EXAMPLE_1718}


def test_past_and_future_ids_at_default_times(client):
    ids = client.chunkedgraph.get_past_ids([EXAMPLE_1718])
    past = ids["past_id_map"][EXAMPLE_1718]
    assert EXAMPLE in past and len(past) == 2
    # each piece merged into exactly one root: the future map names it, as one id
    assert all(ids["future_id_map"][p] == EXAMPLE_1718 for p in past)
    alone = client.chunkedgraph.get_past_ids([EXAMPLE])
    assert alone["past_id_map"][EXAMPLE] == [EXAMPLE]


def test_leaves_at_layer_2_are_the_nodes_of_the_level2_graph(client):
    cg = client.chunkedgraph
    edges = cg.level2_chunk_graph(PYRAMIDAL)
    level2 = cg.get_leaves(PYRAMIDAL, stop_layer=2)
    assert set(level2.tolist()) == {int(i) for edge in edges for i in edge}
    assert len(level2) > 1000
    # layer 1 stays the supervoxels of the rows: no level-2 id among them
    assert not set(cg.get_leaves(EXAMPLE).tolist()) & set(level2.tolist())


def test_a_layer_the_segmentation_lacks_is_refused_clearly(client):
    with pytest.raises(requests.HTTPError, match="stop_layer must be a layer from 1 to 12"):
        client.chunkedgraph.get_leaves(PYRAMIDAL, stop_layer=13)


def test_the_change_log_of_an_edited_neuron(client):
    logs = client.chunkedgraph.get_tabular_change_log([EXAMPLE_1718, EXAMPLE])
    edited, before = logs[EXAMPLE_1718], logs[EXAMPLE]
    assert len(edited) == 1 and len(before) == 0
    row = edited.iloc[0]
    assert EXAMPLE in row["before_root_ids"] and row["after_root_ids"] == [EXAMPLE_1718]
    assert bool(row["is_merge"])
    made = client.chunkedgraph.get_root_timestamps([EXAMPLE_1718])[0]
    assert abs(row["timestamp"] / 1000 - made.timestamp()) < 0.002  # milliseconds


def test_a_datastack_name_with_a_version_names_the_right_call(sample_service, home):
    with pytest.raises(requests.HTTPError) as err:
        caveclient.CAVEclient(
            "minnie65_public_v117", server_address=sample_service.url, write_server_cache=False
        )
    assert "datastack minnie65_public with version=117" in str(err.value)


def test_version_117_lists_its_own_tables(client):
    assert sorted(client.materialize.get_tables(version=117)) == [
        "allen_soma_coarse_cell_class_model_v1",
        "nucleus_detection_v0",
        "nucleus_neuron_svm",
        "synapses_pni_2",
    ]


# -- views -----------------------------------------------------------------------------------------


def test_views_are_listed_with_metadata_and_schemas(client):
    views = client.materialize.get_views()
    assert "synapses_pni_2_v1_filtered_view" in views
    assert "synapses_pni_2_in_out_degree" in views
    schemas = client.materialize.get_view_schemas()
    assert set(schemas) == set(views)
    md = client.materialize.get_view_metadata("connections_with_nuclei")
    assert md["table_name"] == "connections_with_nuclei" and md["voxel_resolution_z"] == 40.0


def test_in_out_degree_counts_the_synapse_tables_rows(client):
    row = client.materialize.query_view(
        "synapses_pni_2_in_out_degree", filter_equal_dict={"root_id": EXAMPLE}
    )
    outputs = client.materialize.synapse_query(pre_ids=EXAMPLE)
    inputs = client.materialize.synapse_query(post_ids=EXAMPLE)
    assert row["n_output"].item() == len(outputs) and row["n_input"].item() == len(inputs)
    assert row["avg_output_size"].item() == pytest.approx(outputs["size"].mean())


def test_the_filtered_view_has_the_synapse_tables_rows(client):
    view = client.materialize.query_view(
        "synapses_pni_2_v1_filtered_view", filter_equal_dict={"post_pt_root_id": EXAMPLE}
    )
    table = client.materialize.synapse_query(post_ids=EXAMPLE)
    assert sorted(view["id"]) == sorted(table["id"])
    assert "pre_pt_position" in view.columns and "created" not in view.columns


def test_connections_with_nuclei_agree_with_the_synapses_and_nuclei(client):
    outputs = client.materialize.synapse_query(pre_ids=EXAMPLE)
    strongest = outputs["post_pt_root_id"].value_counts().index[0]
    row = client.materialize.query_view(
        "connections_with_nuclei",
        filter_equal_dict={"pre_pt_root_id": EXAMPLE, "post_pt_root_id": int(strongest)},
    )
    assert row["n_syn"].item() == (outputs["post_pt_root_id"] == strongest).sum()
    nucleus = client.materialize.query_table(
        "nucleus_detection_v0", filter_equal_dict={"pt_root_id": EXAMPLE}
    )
    assert row["pre_nuc_id"].item() == nucleus["id"].item()


def test_the_nucleus_lookup_view_keeps_the_nucleus_centre(client):
    nuclei = client.materialize.query_table("nucleus_detection_v0", limit=50)
    lookup = client.materialize.query_view(
        "nucleus_detection_lookup_v1", filter_in_dict={"id": nuclei["id"].tolist()}
    )
    assert sorted(lookup["id"]) == sorted(nuclei["id"])
    merged = lookup.merge(nuclei, on="id", suffixes=("", "_table"))
    assert (merged["orig_root_id"] == merged["pt_root_id_table"]).all()
    # both points in the resolution asked for
    in_nm = client.materialize.query_view(
        "nucleus_detection_lookup_v1",
        filter_equal_dict={"id": int(nuclei["id"].iloc[0])},
        desired_resolution=[1, 1, 1],
    )
    centre = nuclei["pt_position"].iloc[0]
    assert list(in_nm["pt_position"].iloc[0]) == [centre[0] * 4, centre[1] * 4, centre[2] * 40]
    lookup_point = lookup.set_index("id").loc[nuclei["id"].iloc[0], "pt_position_lookup"]
    assert list(in_nm["pt_position_lookup"].iloc[0]) == [
        v * f for v, f in zip(lookup_point, (4, 4, 40))
    ]


def test_an_unknown_view_is_a_404_that_lists_the_views(sample_service):
    url = f"{sample_service.url}{MAT}/version/1300/views/no_such_view/query"
    reply = requests.post(url, data=json.dumps({}))
    assert reply.status_code == 404
    assert "synapses_pni_2_in_out_degree" in reply.json()["message"]


# -- the roots the MICrONs documentation prints (issue 23, item 5) ------------------------------

DOCS = Path(__file__).resolve().parents[1] / "tools" / "sample_data" / "inputs"
VERSIONS_PAGE_ROOT, ITS_1300_ROOT = 864691135919440816, 864691134991067002
ITS_SUPERVOXEL = 88605588438852384  # nucleus 260620's, printed beside both roots


def documented_ids():
    import pandas as pd

    return pd.read_csv(DOCS / "documented_ids.csv", dtype=str, keep_default_na=False)


def test_every_root_the_documentation_prints_is_known():
    from microns_helpers.sample import load_sample_data

    data = load_sample_data()
    roots = documented_ids().query("kind == 'root'")["id"].astype("int64")
    unknown = [r for r in roots if not data.is_known_root(r)]
    assert len(roots) > 150 and not unknown, unknown[:5]


def test_the_versions_pages_root_answers_as_published(client, sample_service):
    cg = client.chunkedgraph
    at_1300 = client.materialize.get_timestamp()
    at_661 = client.materialize.get_timestamp(661)
    assert cg.suggest_latest_roots(VERSIONS_PAGE_ROOT, timestamp=at_1300) == ITS_1300_ROOT
    assert cg.suggest_latest_roots(VERSIONS_PAGE_ROOT, timestamp=at_661) == VERSIONS_PAGE_ROOT
    assert not cg.is_latest_roots([VERSIONS_PAGE_ROOT])[0]
    assert cg.get_root_id(ITS_SUPERVOXEL, timestamp=at_1300) == ITS_1300_ROOT
    assert cg.get_root_id(ITS_SUPERVOXEL, timestamp=at_661) == VERSIONS_PAGE_ROOT


def test_a_printed_supervoxel_gives_the_root_printed_beside_it(client):
    # a nucleus row the page about versions prints at 943; the sample's rows lack it
    ids = documented_ids().set_index("id")
    root, sv = 864691136174995462, 118723136270219427
    assert ids.loc[str(root), "supervoxel_ids"] == str(sv)
    assert client.chunkedgraph.get_root_id(sv) == root
    assert client.chunkedgraph.get_latest_roots(root).tolist() == [root]
    assert client.chunkedgraph.suggest_latest_roots(root) == root


def test_soma_counts_and_single_neurons_agree_with_the_nucleus_tables(client):
    nuclei = client.materialize.query_table(
        "nucleus_detection_v0", filter_equal_dict={"pt_root_id": EXAMPLE}
    )
    svm = client.materialize.query_table(
        "nucleus_ref_neuron_svm", filter_in_dict={"target_id": nuclei["id"].tolist()}
    )
    counts = client.materialize.query_view("soma_counts", filter_equal_dict={"pt_root_id": EXAMPLE})
    assert counts["total_count"].tolist() == [len(nuclei)] * len(nuclei)
    assert counts["neuron_count"].iloc[0] == (svm["cell_type"] == "neuron").sum()
    single = client.materialize.query_view(
        "single_neurons", filter_equal_dict={"pt_root_id": EXAMPLE}
    )
    expected = (
        1 if counts["neuron_count"].iloc[0] == 1 and svm["cell_type"].eq("neuron").all() else 0
    )
    assert len(single) == expected


def test_a_printed_root_without_rows_says_where_the_sample_stops(client):
    mesh_example = 864691135572530981  # the mesh quickstart's pyramidal cell
    assert client.chunkedgraph.get_latest_roots(mesh_example).tolist() == [mesh_example]
    with pytest.raises(requests.HTTPError, match="documentation prints it, but no row"):
        client.chunkedgraph.suggest_latest_roots(mesh_example)
