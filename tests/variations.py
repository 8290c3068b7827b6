"""Learner variations of the chapters' queries, each with a check of its answer.

A learner changes a documented query: another cell type, a list, a limit, more columns,
another neuron, the inputs instead of the outputs, a table by name, another version. In
offline mode every one of them must get an answer, and the answer must agree with what was
asked (every row has the cell type filtered on, no more rows than the limit, ...).
``run_variations(connect)`` runs them all on any caveclient from 5.17 on and returns
``{name: None, or why it failed, or "unsupported: ..." where that caveclient has no such
argument}``; ``tests/matrix/offline_step.py`` runs it in each caveclient environment, and
``tests/test_offline.py`` asserts on it.
"""

from __future__ import annotations

import inspect
import traceback

import numpy as np


class Unsupported(Exception):
    """The installed caveclient has no such argument (older releases): not a failure."""


def _needs(module: str):
    """Import ``module``, or Unsupported: the caveclient matrix environments lack the bulk
    and space chapters' engines (duckdb, standard_transform); the main one has them."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise Unsupported(f"{module} is not installed in this environment") from None


def _requires(function, argument):
    if argument not in inspect.signature(function).parameters:
        raise Unsupported(f"this caveclient's {function.__name__} has no {argument}=")


NEURON, NEURON_1718 = 864691135808473885, 864691136968109774
PYRAMIDAL = 864691136040432126  # the Synapses chapter's second neuron (real synapses)
THREE_ROOTS = [864691135771677771, 864691135560505569, 864691136723556861]
CELL_TYPES = "aibs_metamodel_celltypes_v661"
INHIBITORY = {"BC", "BPC", "MC", "NGC"}


def _cell_types(client, **filters):
    return getattr(client.materialize.tables, CELL_TYPES)(**filters).query()


# The whole cell-type table (94,000 rows) is joined by nine variations. It is asked for once
# per client, as a learner's session would ask once and keep it: the first variation to ask
# checks that answer, the rest what they do with it. Asking the same query again each time
# was a sixth of a caveclient's offline run (5.8 s of 34 s on the pinned one), and
# tests/test_offline.py runs six.
_WHOLE: dict = {}


def _whole(client, how: str):
    """The whole cell-type table, asked once per client ``how``: through the table
    interface ("interface", ``_cell_types``) or by ``query_table`` ("query_table"); a copy."""
    key = (id(client), how)
    if key not in _WHOLE:
        if how == "interface":
            _WHOLE[key] = _cell_types(client)
        else:
            _WHOLE[key] = client.materialize.query_table(CELL_TYPES)
    return _WHOLE[key].copy()


def _all(frame, column, allowed):
    values = set(frame[column])
    assert len(frame), "no rows"
    assert values <= set(allowed), f"{column} has {sorted(values - set(allowed))[:5]}"


def limit_20(client, connect):
    df = client.materialize.query_table("nucleus_detection_v0", limit=20)
    assert len(df) == 20, len(df)


def martinotti_cells(client, connect):
    _all(_cell_types(client, cell_type="MC"), "cell_type", {"MC"})


def another_excitatory_type(client, connect):
    _all(_cell_types(client, cell_type="6P-IT"), "cell_type", {"6P-IT"})


def a_list_of_cell_types(client, connect):
    df = _cell_types(client, cell_type=["BC", "MC"])
    _all(df, "cell_type", {"BC", "MC"})
    assert set(df["cell_type"]) == {"BC", "MC"}


def the_list_reordered(client, connect):
    a = _cell_types(client, cell_type=["MC", "BC"])
    b = _cell_types(client, cell_type=["BC", "MC"])
    assert sorted(a["id"]) == sorted(b["id"])


def a_class_of_cells(client, connect):
    df = _cell_types(client, classification_system="inhibitory_neuron")
    _all(df, "cell_type", INHIBITORY)


def cell_types_with_a_limit(client, connect):
    df = getattr(client.materialize.tables, CELL_TYPES)(cell_type="BC").query(limit=7)
    assert len(df) == 7 and set(df["cell_type"]) == {"BC"}


def three_neurons_by_root_id(client, connect):
    df = _cell_types(client, pt_root_id=THREE_ROOTS)
    assert sorted(df["id"]) == [4074, 19116, 21783], list(df["id"])


def query_table_by_reference_name(client, connect):
    df = client.materialize.query_table(CELL_TYPES, limit=30)
    assert len(df) == 30 and "cell_type" in df.columns


def extra_select_columns(client, connect):
    df = client.materialize.query_table(
        "nucleus_detection_v0", select_columns=["id", "volume", "pt_root_id"], limit=5
    )
    assert list(df.columns) == ["id", "volume", "pt_root_id"], list(df.columns)


def positions_in_micrometres(client, connect):
    df = client.materialize.query_table(
        "nucleus_detection_v0",
        split_positions=True,
        desired_resolution=[1000, 1000, 1000],
        limit=50,
    )
    x = df["pt_position_x"]
    assert ((x > 100) & (x < 2000)).all(), x.describe()


def big_nuclei(client, connect):
    from caveclient import base

    _requires(client.materialize.query_table, "filter_greater_dict")
    try:
        df = client.materialize.query_table(
            "nucleus_detection_v0", filter_greater_dict={"volume": 500}
        )
    except getattr(base, "ServerIncompatibilityError", ()) as err:
        # 5.25-5.31 ask the server's version through a route they lack, and refuse
        raise Unsupported(f"this caveclient refuses it whatever the server: {err}") from None
    assert len(df) and (df["volume"] > 500).all()


def nuclei_with_a_cell(client, connect):
    df = client.materialize.query_table(
        "nucleus_detection_v0", filter_out_dict={"pt_root_id": [0]}, limit=50
    )
    assert len(df) == 50 and (df["pt_root_id"] != 0).all()


def a_nucleus_by_id(client, connect):
    df = client.materialize.query_table("nucleus_detection_v0", filter_equal_dict={"id": 490689})
    assert list(df["pt_root_id"]) == [864691135356151759]


def outputs_as_a_list_of_one(client, connect):
    df = client.materialize.synapse_query(pre_ids=[NEURON])
    assert len(df) == 1498 and set(df["pre_pt_root_id"]) == {NEURON}


def inputs_instead_of_outputs(client, connect):
    df = client.materialize.synapse_query(post_ids=NEURON)
    assert len(df) == 4628 and set(df["post_pt_root_id"]) == {NEURON}


def between_two_neurons(client, connect):
    outputs = client.materialize.synapse_query(pre_ids=NEURON)
    partner = int(outputs["post_pt_root_id"].value_counts().index[0])
    df = client.materialize.synapse_query(pre_ids=NEURON, post_ids=partner)
    assert len(df) == 20 and set(df["post_pt_root_id"]) == {partner}


def another_neuron(client, connect):
    outputs = client.materialize.synapse_query(pre_ids=PYRAMIDAL)
    inputs = client.materialize.synapse_query(post_ids=PYRAMIDAL)
    assert (len(outputs), len(inputs)) == (259, 2165), (len(outputs), len(inputs))


def outputs_of_two_neurons(client, connect):
    df = client.materialize.synapse_query(pre_ids=[NEURON, PYRAMIDAL])
    assert set(df["pre_pt_root_id"]) == {NEURON, PYRAMIDAL} and len(df) == 1498 + 259


def synapses_with_a_limit(client, connect):
    df = client.materialize.query_table("synapses_pni_2", limit=12)
    assert len(df) == 12


def proofread_axons(client, connect):
    df = client.materialize.query_table(
        "proofreading_status_and_strategy", filter_equal_dict={"status_axon": True}
    )
    assert len(df) and set(df["status_axon"].astype(str).str.lower()) <= {"true", "t"}


def fully_extended_axons(client, connect):
    table = client.materialize.tables.proofreading_status_and_strategy
    df = table(strategy_axon="axon_fully_extended").query()
    _all(df, "strategy_axon", {"axon_fully_extended"})


def a_box_of_the_volume(client, connect):
    box = [[150_000, 150_000, 18_000], [200_000, 200_000, 24_000]]  # voxels of the table
    df = client.materialize.query_table(
        "nucleus_detection_v0", filter_spatial_dict={"pt_position": box}, split_positions=True
    )
    assert len(df)
    for axis, (low, high) in zip("xyz", zip(*box)):
        column = df[f"pt_position_{axis}"]
        assert ((column >= low) & (column < high)).all(), axis


def chunked_lookup(client, connect):
    from microns_helpers.query import query_by_root_ids

    outputs = client.materialize.synapse_query(pre_ids=NEURON)
    partners = list(outputs["post_pt_root_id"].unique()[:300])
    df = query_by_root_ids(client, CELL_TYPES, partners, chunk_size=100, progress=False)
    assert set(df["pt_root_id"]) <= set(partners)


def another_version(client, connect):
    later = connect(version=1718)
    assert later.materialize.version == 1718
    assert len(later.materialize.synapse_query(pre_ids=NEURON_1718)) == 1499
    assert len(later.materialize.get_tables()) == 45


def an_expired_version(client, connect):
    import microns_helpers

    try:
        connect(version=1078)
    except microns_helpers.VersionExpiredError as err:
        assert "1300" in str(err)
    else:
        raise AssertionError("connect(version=1078) did not raise VersionExpiredError")


# -- chapters 7 to 10: proofreading, connectivity, space, bulk ----------------------------------


def proofreading_at_another_version(client, connect):
    df = connect(version=1507).materialize.query_table("proofreading_status_and_strategy")
    assert (df["strategy_axon"] == "axon_fully_extended").sum() == 267


def a_list_of_strategies(client, connect):
    table = client.materialize.tables.proofreading_status_and_strategy
    df = table(strategy_axon=["axon_fully_extended", "axon_interareal"]).query()
    _all(df, "strategy_axon", {"axon_fully_extended", "axon_interareal"})


def proofread_dendrites(client, connect):
    table = client.materialize.tables.proofreading_status_and_strategy
    df = table(status_dendrite=True, status_axon=True).query()
    assert len(df) and set(df["status_dendrite"].astype(str).str.lower()) <= {"true", "t"}


def the_proofreading_of_one_neuron(client, connect):
    table = client.materialize.tables.proofreading_status_and_strategy
    assert list(table(pt_root_id=NEURON).query()["pt_root_id"]) == [NEURON]


def trusted_neurons_only(client, connect):
    from microns_helpers.connectivity import proofread_roots

    table = client.materialize.tables.proofreading_status_and_strategy
    trusted = proofread_roots(table(status_axon=True).query(), ["axon_fully_extended"])
    outputs = client.materialize.synapse_query(pre_ids=trusted)
    assert set(outputs["pre_pt_root_id"]) <= set(trusted)


def cell_types_of_inputs(client, connect):
    from microns_helpers.connectivity import add_cell_types, unique_cell_types

    cells = unique_cell_types(_whole(client, "interface"))
    typed = add_cell_types(client.materialize.synapse_query(post_ids=NEURON), cells)
    known = typed.dropna(subset=["pre_cell_type"])
    types = dict(zip(cells["pt_root_id"], cells["cell_type"]))
    assert len(known) and all(
        types[r] == t for r, t in zip(known["pre_pt_root_id"], known["pre_cell_type"])
    )


def connection_shares_sum_to_one(client, connect):
    from microns_helpers.connectivity import add_cell_types, connection_table, unique_cell_types

    cells = unique_cell_types(_whole(client, "interface"))
    typed = add_cell_types(client.materialize.synapse_query(pre_ids=[NEURON, PYRAMIDAL]), cells)
    shares = connection_table(typed, normalize="pre")
    assert ((shares.sum(axis=1) - 1).abs() < 1e-9).all()


def merged_nuclei_are_dropped(client, connect):
    from microns_helpers.connectivity import unique_cell_types

    cells = unique_cell_types(_whole(client, "interface"))
    assert cells["pt_root_id"].is_unique and cells.attrs["dropped_roots"] > 0


def inhibitory_senders(client, connect):
    from microns_helpers.connectivity import add_cell_types, connection_table, unique_cell_types

    cells = unique_cell_types(_cell_types(client, classification_system="inhibitory_neuron"))
    typed = add_cell_types(
        client.materialize.synapse_query(pre_ids=list(cells["pt_root_id"])), cells
    )
    table = connection_table(typed)
    assert set(table.index) <= INHIBITORY


def counts_of_one_neuron(client, connect):
    # The chapter's table for one sender (the documentation's neuron) instead of all: one
    # row, and its counts are the synapses whose partner has one soma in the cell-type table.
    from microns_helpers.connectivity import add_cell_types, connection_table, unique_cell_types

    cells = unique_cell_types(_whole(client, "interface"))
    typed = add_cell_types(client.materialize.synapse_query(pre_ids=NEURON), cells)
    table = connection_table(typed)
    assert len(table) == 1, table.index.tolist()
    assert table.to_numpy().sum() == typed["post_cell_type"].notna().sum()


def a_box_in_the_tables_interface(client, connect):
    box = [[0, 0, 20_000], [500_000, 500_000, 21_000]]
    df = getattr(client.materialize.tables, CELL_TYPES)(pt_position_bbox=box).query(
        split_positions=True
    )
    assert len(df) and df["pt_position_z"].between(20_000, 21_000).all()


def synapses_in_a_box(client, connect):
    box = [[150_000, 150_000, 19_000], [200_000, 200_000, 21_000]]
    df = client.materialize.synapse_query(post_ids=NEURON, bounding_box=box, split_positions=True)
    assert len(df) and df["post_pt_position_x"].between(150_000, 200_000).all()


def a_box_of_outputs(client, connect):
    box = [[0, 0, 0], [500_000, 180_000, 40_000]]
    df = client.materialize.synapse_query(
        pre_ids=NEURON,
        bounding_box=box,
        bounding_box_column="pre_pt_position",
        split_positions=True,
    )
    assert len(df) and (df["pre_pt_position_y"] < 180_000).all()


def depth_below_the_pia(client, connect):
    _needs("standard_transform")
    from microns_helpers import plots

    df = client.materialize.query_table("nucleus_detection_v0", limit=100)
    depth = plots.depth_um(df)
    assert len(depth) == 100 and depth.between(-200, 1200).all()


def a_box_in_nanometres(client, connect):
    box_nm = [[600_000, 600_000, 800_000], [800_000, 800_000, 840_000]]
    box = [[a // r for a, r in zip(corner, (4, 4, 40))] for corner in box_nm]
    df = client.materialize.query_table(
        "nucleus_detection_v0",
        filter_spatial_dict={"pt_position": box},
        desired_resolution=[1, 1, 1],
        split_positions=True,
    )
    assert len(df) and df["pt_position_x"].between(600_000, 800_000).all()


def the_bulk_synapses_per_pair(client, connect):
    duckdb = _needs("duckdb")
    from microns_helpers import bulk

    files = bulk.sample_export(1300)
    syn = files[bulk.SYNAPSE_VIEW]
    columns = bulk.duckdb_columns(bulk.read_header(syn.header))
    total = duckdb.sql(
        f"SELECT count(*) FROM read_csv('{syn.data}', header=false, columns={columns})"
    ).fetchall()[0][0]
    # The export holds the sample's rows; the count says the live table's (live_sizes.json).
    assert total == len(client.materialize.query_table("synapses_pni_2"))


def the_bulk_cell_types(client, connect):
    from microns_helpers import bulk

    files = bulk.sample_export(1300)["aibs_metamodel_celltypes_v661"]
    names, dtypes = bulk.dask_names(bulk.read_header(files.header))
    import pandas as pd

    df = pd.read_csv(files.data, header=None, names=names, dtype=dtypes)
    assert len(df) == len(_whole(client, "interface"))


def the_bulk_outputs_of_one_neuron(client, connect):
    duckdb = _needs("duckdb")
    from microns_helpers import bulk

    syn = bulk.sample_export(1300)[bulk.SYNAPSE_VIEW]
    columns = bulk.duckdb_columns(bulk.read_header(syn.header))
    n = duckdb.sql(
        f"SELECT count(*) FROM read_csv('{syn.data}', header=false, columns={columns}) "
        f"WHERE pre_pt_root_id = {NEURON}"
    ).fetchall()[0][0]
    assert n == len(client.materialize.synapse_query(pre_ids=NEURON)) == 1498


def the_bulk_proofreading(client, connect):
    duckdb = _needs("duckdb")
    from microns_helpers import bulk

    files = bulk.sample_export(1300)["proofreading_status_and_strategy"]
    columns = bulk.duckdb_columns(bulk.read_header(files.header))
    n = duckdb.sql(
        f"SELECT count(*) FROM read_csv('{files.data}', header=false, columns={columns}) "
        "WHERE status_axon"
    ).fetchall()[0][0]
    table = client.materialize.tables.proofreading_status_and_strategy
    assert n == len(table(status_axon=True).query())


def the_bulk_urls(client, connect):
    from microns_helpers import bulk

    urls = bulk.public_urls(1718, "nucleus_detection_v0")
    assert urls.data.endswith("/v1718/nucleus_detection_v0_merged.csv.gz")
    assert urls.header.endswith("_merged_header.csv")


# -- every table family of 1300, root ids over time, morphology --------------------------------


def _table(client, name, **filters):
    return getattr(client.materialize.tables, name)(**filters).query()


def every_listed_table_answers(client, connect):
    # code written for the real service reads any listed table: rows, never a silent empty
    for name in client.materialize.get_tables():
        if name != "synapses_pni_2":
            assert len(client.materialize.query_table(name, limit=3)) == 3, name


def a_table_the_sample_lacks_says_so(client, connect):
    import requests

    later = connect(version=1718)
    missing = "digital_twin_properties_bcm_coreg_v4"
    assert missing in later.materialize.get_tables()
    try:
        later.materialize.query_table(missing, limit=3)
    except requests.HTTPError as err:
        assert "has no rows for it" in str(err) and "MICRONS_MODE=live" in str(err), err
    else:
        raise AssertionError("a table the sample lacks answered")


def inhibitory_m_types(client, connect):
    df = _table(client, "aibs_metamodel_mtypes_v661_v2", classification_system="inhibitory")
    _all(df, "cell_type", {"PTC", "DTC", "STC", "ITC"})


def m_types_of_basket_cells(client, connect):
    # another table on the same nuclei: join on target_id, as a learner would
    bc = _cell_types(client, cell_type="BC")
    m = _table(client, "aibs_metamodel_mtypes_v661_v2", target_id=list(bc["target_id"][:200]))
    assert len(m) and set(m["target_id"]) <= set(bc["target_id"])
    assert (m["classification_system"] == "inhibitory").mean() > 0.5


def a_fine_cell_type_model(client, connect):
    df = _table(client, "baylor_gnn_cell_type_fine_model_v2", cell_type="MC")
    _all(df, "cell_type", {"MC"})
    nuclei = client.materialize.query_table(
        "nucleus_detection_v0", filter_in_dict={"id": list(df["target_id"][:50])}
    )
    assert len(nuclei) == len(set(df["target_id"][:50]))


def neurons_by_the_svm(client, connect):
    df = client.materialize.query_table(
        "nucleus_ref_neuron_svm", filter_equal_dict={"cell_type": "neuron"}, limit=500
    )
    _all(df, "cell_type", {"neuron"})
    assert set(df["classification_system"]) == {"is_neuron"}


def coregistered_cells(client, connect):
    df = client.materialize.query_table("coregistration_manual_v4")
    assert len(df) == 19_181 and df["target_id"].nunique() == 15_352
    assert {"session", "scan_idx", "unit_id", "field", "residual", "score"} <= set(df.columns)


def functional_properties_of_coregistered_cells(client, connect):
    props = client.materialize.query_table("functional_properties_v3_bcm")
    coreg = client.materialize.query_table("coregistration_manual_v4")
    assert len(props) == 12_094
    assert props["pref_ori"].between(0, 3.1416).all() and props["gOSI"].between(0, 1).all()
    assert set(props["target_id"]) <= set(coreg["target_id"])


def automatic_coregistration(client, connect):
    df = client.materialize.query_table(
        "coregistration_auto_phase3_fwd_apl_vess_combined_v2", limit=100
    )
    assert len(df) == 100 and (df["pt_root_id"] != 0).all()


def visual_areas(client, connect):
    df = client.materialize.query_table("nucleus_functional_area_assignment", limit=2000)
    _all(df, "tag", {"V1", "AL", "RL", "LM"})


def the_column_tables(client, connect):
    df = client.materialize.query_table("allen_v1_column_types_slanted_ref")
    assert len(df) == 1357
    assert set(df["classification_system"]) <= {"aibs_coarse_excitatory", "aibs_coarse_inhibitory"}
    glia = client.materialize.query_table("aibs_column_nonneuronal_ref")
    _all(glia, "cell_type", {"OPC", "astrocyte", "microglia", "pericyte", "oligo"})


def synapse_targets_of_one_neuron(client, connect):
    outputs = client.materialize.synapse_query(pre_ids=PYRAMIDAL)
    tags = client.materialize.query_table(
        "synapse_target_predictions_ssa", filter_in_dict={"target_id": list(outputs["id"])}
    )
    assert set(tags["target_id"]) <= set(outputs["id"])
    _all(tags, "tag", {"spine", "shaft", "soma"})


def myelinated_axon_points(client, connect):
    df = client.materialize.query_table("vortex_manual_myelination_v0", limit=200)
    # booleans; before caveclient 8 they come back as 't' and 'f'
    assert len(df) == 200 and df["tag"].isin([True, False, "t", "f"]).all()
    assert (df["valid_id"] == df["pt_root_id"]).all()


# -- the proofread connectivity matrix and partners both ways ------------------------------------


def the_proofread_connectivity_matrix(client, connect):
    # the MICrONs synapse quickstart's step, unchanged
    proof = client.materialize.tables.proofreading_status_and_strategy(status_axon="t").query()
    roots = list(proof["pt_root_id"])
    syn = client.materialize.query_table(
        "synapses_pni_2",
        filter_in_dict={"pre_pt_root_id": roots, "post_pt_root_id": roots},
    )
    syn = syn[syn["pre_pt_root_id"] != syn["post_pt_root_id"]]
    assert len(syn) == 132_438, len(syn)
    matrix = syn.pivot_table(
        index="pre_pt_root_id", columns="post_pt_root_id", values="size", aggfunc="count"
    )
    assert matrix.shape[0] == len(set(roots)) and matrix.shape[1] == len(set(roots))


def a_partners_outputs_hold_what_it_sends(client, connect):
    inputs = client.materialize.synapse_query(post_ids=NEURON)
    partner = int(inputs["pre_pt_root_id"].value_counts().index[0])
    outputs = client.materialize.synapse_query(pre_ids=partner)
    sent = set(inputs.loc[inputs["pre_pt_root_id"] == partner, "id"])
    assert sent and sent <= set(outputs["id"])


def a_proofread_cells_inputs_and_outputs(client, connect):
    proof = client.materialize.tables.proofreading_status_and_strategy(
        strategy_axon="axon_fully_extended"
    ).query()
    root = int(proof["pt_root_id"].iloc[-1])
    assert len(client.materialize.synapse_query(pre_ids=root))
    assert len(client.materialize.synapse_query(post_ids=root))


# -- root ids over time, for any cell -----------------------------------------------------------


def roots_of_cells_are_latest(client, connect):
    nuclei = client.materialize.query_table("nucleus_detection_v0", limit=50)
    roots = [r for r in nuclei["pt_root_id"] if r]
    latest = client.chunkedgraph.is_latest_roots(
        roots, timestamp=client.materialize.get_timestamp()
    )
    assert len(latest) == len(roots) and all(latest)


def the_root_of_a_supervoxel(client, connect):
    nuclei = client.materialize.query_table("nucleus_detection_v0", limit=20)
    row = nuclei[nuclei["pt_root_id"] != 0].iloc[3]
    stamp = client.materialize.get_timestamp()
    assert (
        client.chunkedgraph.get_root_id(row["pt_supervoxel_id"], timestamp=stamp)
        == row["pt_root_id"]
    )
    roots = client.chunkedgraph.get_roots(list(nuclei["pt_supervoxel_id"][:5]), timestamp=stamp)
    assert list(roots) == list(nuclei["pt_root_id"][:5])


def a_partner_edited_later(client, connect):
    # the example neuron's strongest partner at 1300 was edited before 1718 (published roots)
    import datetime

    old, new = 864691135280056225, 864691135362104647
    now = datetime.datetime.now(datetime.timezone.utc)
    assert new in list(client.chunkedgraph.get_latest_roots(old, timestamp=now))
    assert not client.chunkedgraph.is_latest_roots([old], timestamp=now)[0]
    at_1300 = client.materialize.get_timestamp()  # the pinned version's moment
    assert client.chunkedgraph.is_latest_roots([old], timestamp=at_1300)[0]


def latest_root_of_a_proofread_cell(client, connect):
    proof = client.materialize.tables.proofreading_status_and_strategy(status_axon="t").query()
    root = int(proof["pt_root_id"].iloc[10])
    assert client.chunkedgraph.suggest_latest_roots(root) == root


def when_roots_were_made(client, connect):
    stamps = client.chunkedgraph.get_root_timestamps([NEURON, NEURON_1718])
    assert stamps[0] < stamps[1]


def a_root_id_with_a_typo(client, connect):
    import requests

    try:
        client.chunkedgraph.get_root_timestamps([NEURON + 1])
    except requests.HTTPError as err:
        assert "not in the sample service" in str(err), err
    else:
        raise AssertionError("a root with a typo answered")


# -- a neuron's shape ------------------------------------------------------------------------------


def _skeleton_client(client):
    if not hasattr(client, "skeleton"):
        raise Unsupported("this caveclient has no skeleton client (5.26 and newer)")
    return client.skeleton


def the_skeleton_of_the_real_neuron(client, connect):
    import caveclient

    skeletons = _skeleton_client(client)
    # caveclient 7 names the format "dict"; 5.26 to 6.x ask the service for "json"
    output = "dict" if int(caveclient.__version__.split(".")[0]) >= 7 else "json"
    try:
        sk = skeletons.get_skeleton(PYRAMIDAL, output_format=output)
    except ImportError as err:  # caveclient 7.7.1+ opens the segmentation with cloud-volume
        raise Unsupported(f"needs cloud-volume: {err}") from None
    assert len(sk["vertices"]) == 2430 and len(sk["edges"]) == 2429


def the_level2_graph(client, connect):
    edges = client.chunkedgraph.level2_chunk_graph(PYRAMIDAL)
    assert len(edges) == 6635
    l2_ids = sorted({int(i) for edge in edges[:20] for i in edge})
    if not hasattr(client, "l2cache"):
        raise Unsupported("this caveclient has no L2 cache client")
    coords = client.l2cache.get_l2data(l2_ids, attributes=["rep_coord_nm"])
    assert len(coords) == len(l2_ids) and all("rep_coord_nm" in v for v in coords.values())


def the_skeleton_of_another_cell(client, connect):
    import requests

    try:
        client.chunkedgraph.level2_chunk_graph(NEURON)
    except requests.HTTPError as err:
        assert "864691136040432126" in str(err) and "MICRONS_MODE=live" in str(err), err
    else:
        raise AssertionError("a level-2 graph the sample lacks answered")


def _skeleton(client, skeleton_version=4):
    """The real neuron's skeleton as the chapter gets it, on any caveclient with the client."""
    from microns_helpers import skeletons

    answer = _skeleton_client(client).get_skeleton(
        PYRAMIDAL, skeleton_version=skeleton_version, output_format=skeletons.DICT_FORMAT
    )
    return skeletons.as_dict(answer)


def the_skeleton_as_swc(client, connect):
    swc = _skeleton_client(client).get_skeleton(PYRAMIDAL, skeleton_version=4, output_format="swc")
    assert list(swc.columns) == ["id", "type", "x", "y", "z", "radius", "parent"]
    assert len(swc) == 2430 and (swc["parent"] == -1).sum() == 1
    assert set(swc["type"]) == {1, 2, 3}
    # µm, not nm: the soma sits at 709.6 µm along x (177,408 voxels of 4 nm)
    soma = swc.loc[swc["parent"] == -1, ["x", "y", "z"]].to_numpy()[0]
    assert abs(soma[0] - 177408 * 4 / 1000) < 0.01, soma


def skeleton_version_1_has_no_compartments(client, connect):
    from microns_helpers import skeletons

    sk = _skeleton(client, skeleton_version=1)
    assert len(sk["vertices"]) == 2430 and "compartment" not in sk
    try:
        skeletons.path_length_by_compartment_um(sk)
    except KeyError as err:
        assert "skeleton_version=4" in str(err), err
    else:
        raise AssertionError("a skeleton without labels was split by compartment")


def dendrite_and_axon_make_the_whole(client, connect):
    from microns_helpers import skeletons

    sk = _skeleton(client)
    parts = skeletons.path_length_by_compartment_um(sk)
    total = skeletons.path_length_um(sk)
    assert parts["axon"] > 0 and parts["dendrite"] > 0 and parts["soma"] == 0
    assert abs(parts["axon"] + parts["dendrite"] - total) < 1e-6 * total


def inputs_within_50_um_of_the_soma(client, connect):
    from microns_helpers import skeletons

    spatial = _needs("scipy.spatial")
    sk = _skeleton(client)
    inputs = client.materialize.synapse_query(
        post_ids=PYRAMIDAL, desired_resolution=[1, 1, 1], split_positions=True
    )
    xyz = inputs[[f"post_pt_position_{a}" for a in "xyz"]].to_numpy(dtype=float)
    snapped, vertex = spatial.cKDTree(sk["vertices"]).query(xyz)
    along = skeletons.distance_to_soma_um(sk)[vertex]
    near, nearer = int((along <= 50).sum()), int((along <= 25).sum())
    assert 0 < nearer < near < len(inputs) == 2165, (nearer, near)
    # along the arbor is never shorter than the straight line from the soma vertex
    straight = np.linalg.norm(sk["vertices"][vertex] - sk["vertices"][sk["root"]], axis=1)
    assert (along * 1000 >= straight - 1e-3).all()
    assert snapped.max() < 7_000


def level2_nodes_become_vertices(client, connect):
    sk = _skeleton(client)
    nodes = np.unique(np.asarray(client.chunkedgraph.level2_chunk_graph(PYRAMIDAL)))
    mapping = np.asarray(sk["mesh_to_skel_map"])
    assert len(mapping) == len(nodes) == 5830
    assert set(np.unique(mapping).tolist()) == set(range(len(sk["vertices"])))
    if "lvl2_ids" in sk:  # caveclient 7.0 and newer's dict
        assert sorted(np.asarray(sk["lvl2_ids"]).tolist()) == nodes.tolist()


def depth_of_the_apical_tip(client, connect):
    from microns_helpers import skeletons

    standard_transform = _needs("standard_transform")
    sk = _skeleton(client)
    depth = standard_transform.minnie_transform(resolution="nm").apply_project("y", sk["vertices"])
    tips = skeletons.end_points(sk)
    dendrite_tips = tips[sk["compartment"][tips] == 3]
    shallowest = dendrite_tips[np.argmin(depth[dendrite_tips])]
    # the apical dendrite's tip is above the soma, and nearer the pia than any axon vertex
    assert depth[shallowest] < depth[sk["root"]] - 100
    assert depth[shallowest] <= depth[sk["compartment"] == 2].min()


# -- Neuroglancer links (nglui, the Neuroglancer chapter's optional extra) ------------------------


def _viewer(client, imagery=True):
    """A ViewerState with the datastack's layers, built offline; Unsupported without nglui."""
    _needs("nglui")
    from nglui import statebuilder

    state = statebuilder.ViewerState(infer_coordinates=False)
    return state.add_layers_from_client(client, imagery=imagery, segmentation="cells")


def _held_layer(state, name):
    from microns_helpers import links

    held = links.read_link(state.to_url())
    return next(layer for layer in held["layers"] if layer["name"] == name)


def a_link_of_the_pyramidal_cell(client, connect):
    from microns_helpers import links

    inputs = client.materialize.synapse_query(post_ids=PYRAMIDAL)
    state = _viewer(client).add_segments([PYRAMIDAL])
    state.add_points(
        inputs,
        name="inputs",
        point_column="ctr_pt_position",
        segment_column="pre_pt_root_id",
        data_resolution=inputs.attrs["dataframe_resolution"],
    )
    links.number_points(state, "inputs", inputs["id"])
    layer = _held_layer(state, "inputs")
    assert len(layer["annotations"]) == len(inputs) == 2165, len(layer["annotations"])
    senders = {str(r) for r in inputs["pre_pt_root_id"]}
    assert {a["segments"][0][0] for a in layer["annotations"]} == senders


def points_in_micrometres(client, connect):
    from microns_helpers import links

    in_um = client.materialize.synapse_query(pre_ids=NEURON, desired_resolution=[1000] * 3)
    in_vx = client.materialize.synapse_query(pre_ids=NEURON)
    state = _viewer(client, imagery=False)
    state.add_points(
        in_um, name="um", point_column="ctr_pt_position", data_resolution=[1000, 1000, 1000]
    )
    links.number_points(state, "um", in_um["id"])
    layer = _held_layer(state, "um")
    assert layer["source"][0]["transform"]["outputDimensions"]["x"] == [1e-06, "m"], layer
    nm = {a["id"]: [p * 1000 for p in a["point"]] for a in layer["annotations"]}
    for _, row in in_vx.head(20).iterrows():
        expected = [v * r for v, r in zip(row["ctr_pt_position"], (4, 4, 40))]
        assert all(abs(a - b) < 1 for a, b in zip(nm[str(row["id"])], expected)), row["id"]


def only_the_strongest_partners(client, connect):
    from microns_helpers.synapses import connection_counts

    top = connection_counts(client.materialize.synapse_query(pre_ids=NEURON)).head(5)
    strongest = [int(r) for r in top["post_pt_root_id"]]
    state = _viewer(client).add_segments([NEURON] + strongest, segment_colors="#ff0000")
    layer = _held_layer(state, "cells")
    assert layer["segments"] == [str(r) for r in [NEURON] + strongest], layer["segments"]
    assert set(layer["segmentColors"].values()) == {"#ff0000"}


def the_link_read_back(client, connect):
    from microns_helpers import links

    outputs = client.materialize.synapse_query(pre_ids=NEURON, limit=50)
    state = _viewer(client).add_segments([NEURON])
    state.add_points(outputs, name="some outputs", point_column="ctr_pt_position")
    links.number_points(state, "some outputs", outputs["id"])
    url = state.to_url()
    held = links.read_link(url)
    assert [layer["name"] for layer in held["layers"]] == state.layer_names
    assert url == state.to_url(), "the same state made another link"
    points = _held_layer(state, "some outputs")["annotations"]
    assert [a["id"] for a in points] == [str(i) for i in outputs["id"]]
    assert int(_held_layer(state, "cells")["segments"][0]) == NEURON  # no rounding


def a_link_without_imagery(client, connect):
    state = _viewer(client, imagery=False)
    assert state.layer_names == ["cells"], state.layer_names
    source = _held_layer(state, "cells")["source"][0]["url"]
    segmentation = client.info.segmentation_source()  # graphene://https://...
    assert source == segmentation.replace("://https://", "://middleauth+https://"), source


def the_somata_of_the_partners(client, connect):
    from microns_helpers.connectivity import add_cell_types, unique_cell_types

    outputs = client.materialize.synapse_query(pre_ids=NEURON)
    cells = unique_cell_types(_whole(client, "interface"))
    partners = set(
        add_cell_types(outputs, cells).dropna(subset=["post_cell_type"])["post_pt_root_id"]
    )
    somata = cells[cells["pt_root_id"].isin(partners)]
    state = _viewer(client)
    state.add_points(
        somata,
        name="somata",
        point_column="pt_position",
        segment_column="pt_root_id",
        data_resolution=somata.attrs["dataframe_resolution"],
    )
    layer = _held_layer(state, "somata")
    assert len(layer["annotations"]) == len(partners) > 0
    assert layer["source"][0]["transform"]["outputDimensions"]["z"] == [4e-08, "m"]
    first = somata.iloc[0]
    assert layer["annotations"][0]["point"] == [float(v) for v in first["pt_position"]]


def another_neuroglancer_site(client, connect):
    from microns_helpers import links

    state = _viewer(client).add_segments([NEURON])
    google = state.to_url(target_site="google")
    assert google.startswith("https://neuroglancer-demo.appspot.com/#!"), google[:60]
    assert links.read_link(google) == links.read_link(state.to_url())


def a_short_link_is_not_read(client, connect):
    from microns_helpers import links
    from microns_helpers.errors import InvalidInputError

    short = "https://spelunker.cave-explorer.org/#!middleauth+https://global.daf-apis.com/nglstate/api/v1/1"
    try:
        links.read_link(short)
    except InvalidInputError as err:
        assert "get_state_json" in str(err), err
    else:
        raise AssertionError("a shortened link was read as a state")


# -- Functional data: coregistration and functional properties (chapter 13) ------------------

COREG = "coregistration_manual_v4"
AUTO = "coregistration_auto_phase3_fwd_apl_vess_combined_v2"
FUNCTIONAL = "functional_properties_v3_bcm"


def _requires_comparisons(client):
    """filter_greater_dict, where this caveclient can send it: 5.25 to 5.31 have the argument
    but cannot ask the materialization server its version, and refuse it whatever the
    server (as big_nuclei finds)."""
    _requires(client.materialize.query_table, "filter_greater_dict")
    if getattr(client.materialize, "server_version", "unknown") is None:
        raise Unsupported(
            "this caveclient cannot read the server's version for filter_greater_dict"
        )


def the_units_of_one_imaged_cell(client, connect):
    # one nucleus instead of the whole table: every unit it has, and only its own
    full = client.materialize.query_table(COREG)
    cell = int(full["target_id"].value_counts().index[0])  # a cell with several units
    df = client.materialize.query_table(COREG, filter_equal_dict={"target_id": cell})
    assert len(df) == (full["target_id"] == cell).sum() and len(df) > 1, len(df)
    assert set(df["target_id"]) == {cell} and df["pt_root_id"].nunique() == 1
    assert not df.duplicated(["session", "scan_idx", "unit_id"]).any()


def confident_automatic_matches(client, connect):
    # the filter on the score done by the server instead of in pandas: the same rows
    _requires_comparisons(client)
    df = client.materialize.query_table(AUTO, filter_greater_dict={"score": 5})
    full = client.materialize.query_table(AUTO)
    assert len(df) and (df["score"] > 5).all()
    assert sorted(df["id"]) == sorted(full.loc[full["score"] > 5, "id"])


def the_inputs_of_the_automatic_table(client, connect):
    # the two automatic methods the combined table reconciles, each on nuclei of the volume
    for name in ("coregistration_auto_phase3_fwd_v2", "apl_functional_coreg_vess_fwd"):
        df = client.materialize.query_table(name, limit=200)
        assert len(df) == 200, name
        assert {"session", "scan_idx", "unit_id", "residual", "score"} <= set(df.columns), name
        nuclei = client.materialize.query_table(
            "nucleus_detection_v0", filter_in_dict={"id": list(df["target_id"].unique())}
        )
        assert set(nuclei["id"]) == set(df["target_id"]), name


def the_best_unit_of_each_cell(client, connect):
    # the MICrONs example's step: keep the row of each nucleus with the highest cc_abs
    props = client.materialize.query_table(FUNCTIONAL)
    best = props.sort_values("cc_abs", ascending=False).drop_duplicates("target_id")
    assert best["target_id"].is_unique and len(best) == props["target_id"].nunique()
    highest = props.groupby("target_id")["cc_abs"].max()
    assert (best.set_index("target_id")["cc_abs"] == highest.loc[best["target_id"]]).all()


def sharply_tuned_cells(client, connect):
    # only the orientation-selective cells, asked of the server, then in degrees
    _requires_comparisons(client)
    import numpy as np

    df = client.materialize.query_table(FUNCTIONAL, filter_greater_dict={"gOSI": 0.5})
    full = client.materialize.query_table(FUNCTIONAL)
    assert len(df) == (full["gOSI"] > 0.5).sum() and len(df) < len(full)
    degrees = np.degrees(df["pref_ori"])
    assert len(degrees) and degrees.between(0, 180).all()


def orientations_of_a_neurons_inputs(client, connect):
    # the documentation's neuron instead of the chapter's: which inputs have a tuning, and
    # their differences from one orientation, the same in radians and in degrees
    import numpy as np

    from microns_helpers.tuning import orientation_difference

    props = client.materialize.query_table(FUNCTIONAL)
    best = props.sort_values("cc_abs", ascending=False).drop_duplicates("pt_root_id")
    inputs = client.materialize.synapse_query(post_ids=NEURON)
    tuned = inputs.merge(
        best[["pt_root_id", "pref_ori"]], left_on="pre_pt_root_id", right_on="pt_root_id"
    )
    assert len(tuned) and set(tuned["pre_pt_root_id"]) <= set(best["pt_root_id"])
    radians = orientation_difference(tuned["pref_ori"], 0.5)
    degrees = orientation_difference(np.degrees(tuned["pref_ori"]), np.degrees(0.5), period=180)
    assert radians.between(0, np.pi / 2).all()
    assert np.allclose(np.degrees(radians), degrees)


def coregistered_cells_with_a_proofread_axon(client, connect):
    # the chapter's challenge from the other side: proofread cells, then their coregistration
    from microns_helpers.connectivity import proofread_roots

    table = client.materialize.tables.proofreading_status_and_strategy
    trusted = proofread_roots(table(status_axon=True).query())
    coreg = client.materialize.query_table(COREG)
    imaged = coreg[coreg["pt_root_id"].isin(trusted)]
    assert len(imaged) and imaged["pt_root_id"].nunique() <= len(trusted)
    units = client.materialize.query_table(
        COREG, filter_in_dict={"target_id": list(imaged["target_id"].unique())}
    )
    assert sorted(units["id"]) == sorted(imaged["id"])


def properties_joined_to_their_match_by_unit(client, connect):
    # the documented join: a unit is (session, scan_idx, unit_id) in every functional table
    keys = ["session", "scan_idx", "unit_id"]
    props = client.materialize.query_table(FUNCTIONAL, limit=500)
    coreg = client.materialize.query_table(COREG)
    joined = props.merge(coreg, on=keys, suffixes=("", "_coreg"), validate="one_to_one")
    assert len(joined) == len(props) == 500
    assert (joined["pt_root_id"] == joined["pt_root_id_coreg"]).all()


# -- live sizes: counts, caps and partial answers (issue 23) ------------------------------------

STRONGEST_PARTNER = 864691135280056225  # the example neuron's strongest output partner at 1300
BASKET_CELL = 864691136966336647  # a basket cell of the cell-type table
ROW_CAP = 200_000


def _logged(run):
    """What ``run()`` returns, and the warnings caveclient logged meanwhile (as printed)."""
    import logging
    import re

    said = []

    class Keep(logging.Handler):
        def emit(self, record):
            said.append(record.getMessage())

    logger = logging.getLogger("caveclient.base")
    handler = Keep(logging.WARNING)
    logger.addHandler(handler)
    try:
        result = run()
    finally:
        logger.removeHandler(handler)
    text = " | ".join(said)
    held = re.search(r"holds ([0-9,]+) of about ([0-9,]+) rows", text)
    numbers = tuple(int(n.replace(",", "")) for n in held.groups()) if held else None
    return result, text, numbers


def a_partners_outputs_say_how_many_live_has(client, connect):
    outputs, text, numbers = _logged(
        lambda: client.materialize.synapse_query(pre_ids=STRONGEST_PARTNER)
    )
    sent = client.materialize.synapse_query(pre_ids=STRONGEST_PARTNER, post_ids=NEURON)
    assert set(sent["id"]) <= set(outputs["id"])
    # never a silent 0: fewer rows than live comes with how many rows live has
    assert numbers is not None and numbers[0] == len(outputs) < numbers[1], text
    assert "MICRONS_MODE=live" in text


def a_basket_cells_inputs_and_outputs_are_never_a_silent_zero(client, connect):
    for kwargs in ({"pre_ids": BASKET_CELL}, {"post_ids": BASKET_CELL}):
        rows, text, numbers = _logged(lambda kw=kwargs: client.materialize.synapse_query(**kw))
        assert numbers is not None, (kwargs, text)
        held, live = numbers
        assert held == len(rows) and live > 0, (kwargs, text)


def the_outputs_of_5000_typed_cells_are_capped_as_live(client, connect):
    cells = client.materialize.query_table(CELL_TYPES, limit=5000)
    roots = sorted({int(r) for r in cells["pt_root_id"] if r})
    rows, text, numbers = _logged(lambda: client.materialize.synapse_query(pre_ids=roots))
    # live has more than the cap: the server's warning, and no more rows than the cap
    assert f"Limited query to {ROW_CAP} rows" in text, text
    assert numbers == (len(rows), ROW_CAP), text
    # by chunks of senders, no chunk reaches the cap, and the rows are the same
    from microns_helpers.query import query_by_root_ids

    chunked, text, _ = _logged(
        lambda: query_by_root_ids(
            client, "synapses_pni_2", roots, column="pre_pt_root_id", progress=False
        )
    )
    assert "Limited query" not in text, text
    # the sample's rows were not cut (it holds fewer than the cap): the same rows
    assert set(chunked["id"]) == set(rows["id"])


def the_whole_synapse_table_is_capped_as_live(client, connect):
    count = client.materialize.get_annotation_count("synapses_pni_2")
    rows, text, numbers = _logged(
        lambda: client.materialize.query_table("synapses_pni_2", select_columns=["id"])
    )
    assert count == 337_312_429 and f"Limited query to {ROW_CAP} rows" in text, text
    assert numbers == (len(rows), ROW_CAP) and f"of about {count:,} that match" in text, text


MANUAL = "allen_v1_column_types_slanted_ref"
AREAS = "nucleus_functional_area_assignment"
PROOFREADING = "proofreading_status_and_strategy"
# The labels the MICrONs synapse quickstart's pivot drops by name ('unknown' is its fillna).
DROPPED = ["Unsure E", "Unsure I", "Unsure", "WM-P", "unknown"]


def _proofread_axons(client) -> set:
    rows = client.materialize.query_table(PROOFREADING, filter_equal_dict={"status_axon": True})
    return set(rows["pt_root_id"])


def the_quickstart_pivot_over_every_manual_label(client, connect):
    # The synapse quickstart: manual types on both ends of proofread cells' synapses,
    # pivoted type against type, its unsure and white-matter labels dropped by name.
    manual = client.materialize.query_table(MANUAL).drop_duplicates("pt_root_id", keep=False)
    labelled = manual[manual["pt_root_id"].isin(_proofread_axons(client))]
    roots = labelled["pt_root_id"].tolist()
    synapses = pd_concat(
        client.materialize.synapse_query(pre_ids=roots),
        client.materialize.synapse_query(post_ids=roots),
    )
    type_of = labelled.set_index("pt_root_id")["cell_type"]
    synapses["cell_type_pre"] = synapses["pre_pt_root_id"].map(type_of).fillna("unknown")
    synapses["cell_type_post"] = synapses["post_pt_root_id"].map(type_of).fillna("unknown")
    counts = synapses.pivot_table(
        index="cell_type_pre", columns="cell_type_post", values="id", aggfunc=len
    ).fillna(0)
    kept = counts.drop(columns=DROPPED, index=DROPPED)  # a KeyError if a label is missing
    assert "unknown" not in kept.index and len(kept), kept.index.tolist()
    # checked against the table filtered on each dropped label: the same proofread roots
    for label in DROPPED[:-1]:
        rows = client.materialize.query_table(MANUAL, filter_equal_dict={"cell_type": label})
        mine = set(labelled.loc[labelled["cell_type"] == label, "pt_root_id"])
        assert mine and mine <= set(rows["pt_root_id"]), label


def pd_concat(*frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True).drop_duplicates("id")


def the_example_neuron_is_a_martinotti_cell(client, connect):
    # its type in the automatic and the manual table, checked against the tables filtered on MC
    auto = _cell_types(client, pt_root_id=NEURON)
    manual = getattr(client.materialize.tables, MANUAL)(pt_root_id=NEURON).query()
    assert auto["cell_type"].tolist() == ["MC"], auto["cell_type"].tolist()
    assert manual["cell_type"].tolist() == ["MC"], manual["cell_type"].tolist()
    assert manual["classification_system"].tolist() == ["aibs_coarse_inhibitory"]
    every_mc = client.materialize.query_table(CELL_TYPES, filter_equal_dict={"cell_type": "MC"})
    assert NEURON in set(every_mc["pt_root_id"])


def the_example_neuron_in_v1_with_a_partially_extended_axon(client, connect):
    nucleus = client.materialize.query_table(
        "nucleus_detection_v0", filter_equal_dict={"pt_root_id": NEURON}
    )
    area = client.materialize.query_table(
        AREAS, filter_in_dict={"target_id": nucleus["id"].tolist()}
    )
    assert area["tag"].tolist() == ["V1"], area["tag"].tolist()
    rows = client.materialize.query_table(PROOFREADING, filter_equal_dict={"pt_root_id": NEURON})
    assert rows["strategy_axon"].tolist() == ["axon_partially_extended"]
    partial = client.materialize.query_table(
        PROOFREADING, filter_equal_dict={"strategy_axon": "axon_partially_extended"}
    )
    assert NEURON in set(partial["pt_root_id"])


def distinct_roots_per_cell_type(client, connect):
    # distinct roots per type (the real v1300 counts), and the roots of one nucleus only (the
    # published value_counts after drop_duplicates keep=False): the difference is the merges
    types = _whole(client, "query_table")
    distinct = types.drop_duplicates("pt_root_id")["cell_type"].value_counts()
    alone = types.drop_duplicates("pt_root_id", keep=False)["cell_type"].value_counts()
    assert distinct["BC"] == 3321 and alone["BC"] == 3309, (distinct["BC"], alone["BC"])
    assert distinct.sum() == 91423, distinct.sum()
    basket = client.materialize.query_table(CELL_TYPES, filter_equal_dict={"cell_type": "BC"})
    assert len(basket) == 3365 and basket["pt_root_id"].nunique() == 3321


def areas_of_the_distinct_roots(client, connect):
    # the per-area counts of the real v1300 export, checked against the table filtered on LM
    types = _whole(client, "query_table")
    areas = client.materialize.query_table(AREAS)
    roots = types.drop_duplicates("pt_root_id")[["target_id", "pt_root_id"]]
    tagged = roots.merge(areas[["target_id", "tag"]], on="target_id")
    counts = tagged["tag"].value_counts().to_dict()
    assert counts == {"V1": 59818, "RL": 21327, "AL": 9960, "LM": 318}, counts
    lm = client.materialize.query_table(AREAS, filter_equal_dict={"tag": "LM"})
    assert set(tagged.loc[tagged["tag"] == "LM", "target_id"]) <= set(lm["target_id"])


def axon_strategies_of_the_typed_roots(client, connect):
    # rows not 'none' at 1300, per distinct root the cell-type table holds (the real export's
    # counts), checked against the rows filtered on one strategy
    types = _whole(client, "query_table")
    rows = client.materialize.query_table(PROOFREADING)
    rows = rows[rows["strategy_axon"] != "none"]
    typed = rows[rows["pt_root_id"].isin(set(types["pt_root_id"]))]
    counts = typed.drop_duplicates("pt_root_id")["strategy_axon"].value_counts().to_dict()
    expected = {"axon_partially_extended": 1444, "axon_interareal": 130, "axon_fully_extended": 127}
    assert counts == expected, counts
    partial = client.materialize.query_table(
        PROOFREADING, filter_equal_dict={"strategy_axon": "axon_partially_extended"}
    )
    assert len(partial) == (rows["strategy_axon"] == "axon_partially_extended").sum() == 1459


# -- chunkedgraph as live computes it, views and the change log (issue 23) ----------------------


def the_latest_root_of_an_unedited_root_is_itself(client, connect):
    # one latest root, never the other piece of a later merge: at the client's version (the
    # default of caveclient 7 on) the unedited example neuron itself, as is_latest_roots says;
    # older releases look to the present, where it is the root it became
    latest = [int(r) for r in client.chunkedgraph.get_latest_roots(NEURON)]
    assert latest in ([NEURON], [NEURON_1718]), latest
    if latest == [NEURON]:
        assert client.chunkedgraph.is_latest_roots([NEURON])[0]


def level2_leaves_are_the_level2_graphs_nodes(client, connect):
    _requires(client.chunkedgraph.get_leaves, "stop_layer")
    leaves = client.chunkedgraph.get_leaves(PYRAMIDAL, stop_layer=2)
    edges = client.chunkedgraph.level2_chunk_graph(PYRAMIDAL)
    assert set(int(i) for i in leaves) == {int(i) for edge in edges for i in edge}


def the_past_ids_of_the_edited_neuron(client, connect):
    ids = client.chunkedgraph.get_past_ids([NEURON_1718])
    past = [int(i) for i in ids["past_id_map"][NEURON_1718]]
    assert NEURON in past, past
    # the lineage graph names the same pieces, made into the same root
    graph = client.chunkedgraph.get_lineage_graph(NEURON_1718)
    assert {link["source"] for link in graph["links"]} == set(past)


def the_change_log_of_the_edited_neuron(client, connect):
    if not hasattr(client.chunkedgraph, "get_tabular_change_log"):
        raise Unsupported("this caveclient has no tabular change log")
    log = client.chunkedgraph.get_tabular_change_log([NEURON_1718])[NEURON_1718]
    assert len(log) == 1 and NEURON in list(log["before_root_ids"].iloc[0])
    graph = client.chunkedgraph.get_lineage_graph(NEURON_1718)
    made_by = {n.get("operation_id") for n in graph["nodes"] if n["id"] != NEURON_1718}
    assert made_by == {int(log["operation_id"].iloc[0])}


def _views(client):
    if not hasattr(client.materialize, "query_view"):
        raise Unsupported("this caveclient has no views")


def the_views_listed(client, connect):
    _views(client)
    views = client.materialize.get_views()
    assert "synapses_pni_2_v1_filtered_view" in views and "connections_with_nuclei" in views


def a_views_rows_are_the_synapse_tables(client, connect):
    _views(client)
    view = client.materialize.query_view(
        "synapses_pni_2_v1_filtered_view", filter_equal_dict={"pre_pt_root_id": NEURON}
    )
    table = client.materialize.synapse_query(pre_ids=NEURON)
    assert len(view) and sorted(view["id"]) == sorted(table["id"])


def in_and_out_degree_of_the_example_neuron(client, connect):
    _views(client)
    row = client.materialize.query_view(
        "synapses_pni_2_in_out_degree", filter_equal_dict={"root_id": NEURON}
    )
    assert int(row["n_input"].iloc[0]) == len(client.materialize.synapse_query(post_ids=NEURON))
    assert int(row["n_output"].iloc[0]) == len(client.materialize.synapse_query(pre_ids=NEURON))


def a_versioned_datastack_name(client, connect):
    # older public code names the version in the datastack: one clear error, naming the call
    try:
        connect(datastack="minnie65_public_v117")
    except Exception as err:
        assert "minnie65_public" in str(err) and "version=117" in str(err), str(err)[:300]
    else:
        raise AssertionError("minnie65_public_v117 was accepted")


def the_root_on_the_versions_page(client, connect):
    # pasted from the MICrONs page about versions: at 1300 its root has changed, and the
    # supervoxel of its nucleus, printed beside it, says the same
    at_1300 = client.materialize.get_timestamp(1300)
    latest = client.chunkedgraph.suggest_latest_roots(864691135919440816, timestamp=at_1300)
    assert latest == 864691134991067002, latest
    assert client.chunkedgraph.get_root_id(88605588438852384, timestamp=at_1300) == latest


def the_nucleus_on_the_versions_page(client, connect):
    # nucleus 260620, printed on the MICrONs page about versions: its row at 1300, and the
    # supervoxel printed in it gives the same root
    row = client.materialize.query_table("nucleus_detection_v0", filter_equal_dict={"id": 260620})
    assert len(row) == 1, len(row)
    root, supervoxel = int(row["pt_root_id"].iloc[0]), int(row["pt_supervoxel_id"].iloc[0])
    assert (root, supervoxel) == (864691134991067002, 88605588438852384), (root, supervoxel)
    at_1300 = client.materialize.get_timestamp(1300)
    assert client.chunkedgraph.get_root_id(supervoxel, timestamp=at_1300) == root


def a_join_with_the_synapse_table(client, connect):
    # the example neuron's nucleus joined to its input synapses: every input, as many as
    # synapse_query gives
    joined = client.materialize.join_query(
        [["nucleus_detection_v0", "pt_root_id"], ["synapses_pni_2", "post_pt_root_id"]],
        filter_equal_dict={"nucleus_detection_v0": {"pt_root_id": NEURON}},
    )
    inputs = client.materialize.synapse_query(post_ids=NEURON)
    assert len(joined) == len(inputs) == 4628, (len(joined), len(inputs))


def a_random_sample_of_nuclei(client, connect):
    # the server keeps each row with chance 2,000 / the table's rows: about 2,000 distinct
    # nuclei, each one of the table's
    sample = client.materialize.query_table("nucleus_detection_v0", random_sample=2000)
    assert 1500 < len(sample) < 2500 and sample["id"].is_unique, len(sample)
    whole = client.materialize.query_table("nucleus_detection_v0", select_columns=["id"])
    assert set(sample["id"]) <= set(whole["id"])


# -- the real neurons from the package index (pcg-skel 1.3.1, nglui 4.9.0) --------------------

PROOFREAD = 864691135273655569  # the shape chapter's neuron: proofread, real radius
NGLUI_NEURON = 864691136362774498  # real synapse rows from nglui's test data


def _proofread_skeleton(client):
    from microns_helpers import skeletons

    answer = _skeleton_client(client).get_skeleton(
        PROOFREAD, skeleton_version=4, output_format=skeletons.DICT_FORMAT
    )
    return skeletons.as_dict(answer)


def the_proofread_skeleton_covers_its_level2_graph(client, connect):
    sk = _proofread_skeleton(client)
    nodes = np.unique(np.asarray(client.chunkedgraph.level2_chunk_graph(PROOFREAD)))
    mapping = np.asarray(sk["mesh_to_skel_map"])
    # every level-2 node became one vertex, and every vertex holds a node
    assert len(mapping) == len(nodes) == 17656, (len(mapping), len(nodes))
    assert (
        set(np.unique(mapping).tolist()) == set(range(len(sk["vertices"])))
        and len(sk["vertices"]) == 7710
    )


def the_radius_in_the_dict_and_the_swc(client, connect):
    sk = _proofread_skeleton(client)
    assert "radius" in sk and len(sk["radius"]) == len(sk["vertices"]), sorted(sk)
    swc = _skeleton_client(client).get_skeleton(PROOFREAD, skeleton_version=4, output_format="swc")
    soma_row = swc.loc[swc["parent"] == -1].iloc[0]
    # SWC is in µm: the soma's radius there is the dict's (nm) over 1000
    assert abs(soma_row["radius"] - sk["radius"][sk["root"]] / 1000) < 0.001
    assert (np.asarray(sk["radius"]) > 0).all()


def the_volume_attributes_of_its_level2_nodes(client, connect):
    if not hasattr(client, "l2cache"):
        raise Unsupported("this caveclient has no L2 cache client")
    sk = _proofread_skeleton(client)
    root_nodes = [int(i) for i in np.flatnonzero(np.asarray(sk["mesh_to_skel_map"]) == sk["root"])]
    ids = sorted(np.unique(np.asarray(client.chunkedgraph.level2_chunk_graph(PROOFREAD))).tolist())
    soma_ids = [ids[i] for i in root_nodes][:20]
    data = client.l2cache.get_l2data(soma_ids, attributes=["size_nm3", "area_nm2", "max_dt_nm"])
    assert sorted(map(int, data)) == sorted(soma_ids)
    assert all(v["size_nm3"] > 0 and v["area_nm2"] > 0 for v in data.values())
    # the soma is thick: its nodes reach further from the membrane than the median radius
    assert max(v["max_dt_nm"] for v in data.values()) > np.median(sk["radius"])


def the_proofread_neuron_in_the_proofreading_table(client, connect):
    rows = client.materialize.query_table(
        "proofreading_status_and_strategy", filter_equal_dict={"pt_root_id": PROOFREAD}
    )
    assert rows["strategy_axon"].tolist() == ["axon_fully_extended"], rows
    assert client.chunkedgraph.suggest_latest_roots(PROOFREAD) == PROOFREAD


def synapse_counts_of_the_real_neurons(client, connect):
    counts = {
        root: (
            len(client.materialize.synapse_query(post_ids=root)),
            len(client.materialize.synapse_query(pre_ids=root)),
        )
        for root in (PROOFREAD, NGLUI_NEURON)
    }
    # the sdists' counts: pcg-skel's meshwork and nglui's test frames (less the 4 inputs from
    # the example neuron, whose published output count the sample keeps; plus the one
    # synthetic input and output that place nglui's neuron in the proofread cells' network)
    assert counts == {PROOFREAD: (11823, 585), NGLUI_NEURON: (4940 + 1, 149 + 1)}, counts
    # a partner's inputs include what the nglui neuron sends it
    outputs = client.materialize.synapse_query(pre_ids=NGLUI_NEURON)
    partner = int(outputs["post_pt_root_id"].value_counts().index[0])
    theirs = client.materialize.synapse_query(post_ids=partner, pre_ids=NGLUI_NEURON)
    assert set(theirs["id"]) == set(outputs.loc[outputs["post_pt_root_id"] == partner, "id"])


def bulk_skeletons_match_one_at_a_time(client, connect):
    skeleton_client = _skeleton_client(client)
    if not hasattr(skeleton_client, "get_bulk_skeletons"):
        raise Unsupported("this caveclient has no get_bulk_skeletons (6.5.0 and newer)")
    bulk = skeleton_client.get_bulk_skeletons([PROOFREAD, PYRAMIDAL], skeleton_version=4)
    assert len(bulk[str(PROOFREAD)]["vertices"]) == len(_proofread_skeleton(client)["vertices"])
    assert len(bulk[str(PYRAMIDAL)]["vertices"]) == len(_skeleton(client)["vertices"])


VARIATIONS = [
    limit_20,
    martinotti_cells,
    another_excitatory_type,
    a_list_of_cell_types,
    the_list_reordered,
    a_class_of_cells,
    cell_types_with_a_limit,
    three_neurons_by_root_id,
    query_table_by_reference_name,
    extra_select_columns,
    positions_in_micrometres,
    big_nuclei,
    nuclei_with_a_cell,
    a_nucleus_by_id,
    outputs_as_a_list_of_one,
    inputs_instead_of_outputs,
    between_two_neurons,
    another_neuron,
    outputs_of_two_neurons,
    synapses_with_a_limit,
    proofread_axons,
    fully_extended_axons,
    a_box_of_the_volume,
    chunked_lookup,
    another_version,
    an_expired_version,
    # Proofreading
    proofreading_at_another_version,
    a_list_of_strategies,
    proofread_dendrites,
    the_proofreading_of_one_neuron,
    trusted_neurons_only,
    # Cell types and connectivity
    cell_types_of_inputs,
    connection_shares_sum_to_one,
    merged_nuclei_are_dropped,
    inhibitory_senders,
    counts_of_one_neuron,
    # Space
    a_box_in_the_tables_interface,
    synapses_in_a_box,
    a_box_of_outputs,
    depth_below_the_pia,
    a_box_in_nanometres,
    # The whole connectome
    the_bulk_synapses_per_pair,
    the_bulk_cell_types,
    the_bulk_outputs_of_one_neuron,
    the_bulk_proofreading,
    the_bulk_urls,
    # Every table family of 1300
    every_listed_table_answers,
    a_table_the_sample_lacks_says_so,
    inhibitory_m_types,
    m_types_of_basket_cells,
    a_fine_cell_type_model,
    neurons_by_the_svm,
    coregistered_cells,
    functional_properties_of_coregistered_cells,
    automatic_coregistration,
    visual_areas,
    the_column_tables,
    synapse_targets_of_one_neuron,
    myelinated_axon_points,
    # Connectivity of proofread cells, both directions
    the_proofread_connectivity_matrix,
    a_partners_outputs_hold_what_it_sends,
    a_proofread_cells_inputs_and_outputs,
    # Root ids over time, for any cell
    roots_of_cells_are_latest,
    the_root_of_a_supervoxel,
    a_partner_edited_later,
    latest_root_of_a_proofread_cell,
    when_roots_were_made,
    a_root_id_with_a_typo,
    # A neuron's shape
    the_skeleton_of_the_real_neuron,
    the_level2_graph,
    the_skeleton_of_another_cell,
    the_skeleton_as_swc,
    skeleton_version_1_has_no_compartments,
    dendrite_and_axon_make_the_whole,
    inputs_within_50_um_of_the_soma,
    level2_nodes_become_vertices,
    depth_of_the_apical_tip,
    # Neuroglancer links
    a_link_of_the_pyramidal_cell,
    points_in_micrometres,
    only_the_strongest_partners,
    the_link_read_back,
    a_link_without_imagery,
    the_somata_of_the_partners,
    another_neuroglancer_site,
    a_short_link_is_not_read,
    # Functional data
    the_units_of_one_imaged_cell,
    confident_automatic_matches,
    the_inputs_of_the_automatic_table,
    the_best_unit_of_each_cell,
    sharply_tuned_cells,
    orientations_of_a_neurons_inputs,
    coregistered_cells_with_a_proofread_axon,
    properties_joined_to_their_match_by_unit,
    # Live sizes: counts, caps and partial answers
    a_partners_outputs_say_how_many_live_has,
    a_basket_cells_inputs_and_outputs_are_never_a_silent_zero,
    the_outputs_of_5000_typed_cells_are_capped_as_live,
    the_whole_synapse_table_is_capped_as_live,
    # Every label of every table, and the real facts of the named cells
    the_quickstart_pivot_over_every_manual_label,
    the_example_neuron_is_a_martinotti_cell,
    the_example_neuron_in_v1_with_a_partially_extended_axon,
    distinct_roots_per_cell_type,
    areas_of_the_distinct_roots,
    axon_strategies_of_the_typed_roots,
    # Chunkedgraph, views and the change log (issue 23)
    the_latest_root_of_an_unedited_root_is_itself,
    level2_leaves_are_the_level2_graphs_nodes,
    the_past_ids_of_the_edited_neuron,
    the_change_log_of_the_edited_neuron,
    the_views_listed,
    a_views_rows_are_the_synapse_tables,
    in_and_out_degree_of_the_example_neuron,
    a_versioned_datastack_name,
    the_root_on_the_versions_page,
    the_nucleus_on_the_versions_page,
    a_join_with_the_synapse_table,
    a_random_sample_of_nuclei,
    # The real neurons from the package index
    the_proofread_skeleton_covers_its_level2_graph,
    the_radius_in_the_dict_and_the_swc,
    the_volume_attributes_of_its_level2_nodes,
    the_proofread_neuron_in_the_proofreading_table,
    synapse_counts_of_the_real_neurons,
    bulk_skeletons_match_one_at_a_time,
]


def run_variations(connect) -> dict:
    """{variation name: None if its answer checks out, else why not}."""
    client = connect()
    results = {}
    for variation in VARIATIONS:
        try:
            variation(client, connect)
            results[variation.__name__] = None
        except Unsupported as err:
            results[variation.__name__] = f"unsupported: {err}"
        except Exception as err:  # reported by name; the test shows them all
            last = traceback.format_exception_only(type(err), err)[-1].strip()
            results[variation.__name__] = last[:400]
    return results
