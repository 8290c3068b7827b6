"""The views of the materialization service: listed, described and queried like tables.

A view is a saved query of the database: its rows are computed from the tables' rows.
The sample lists the views of caveclient 8.2.1's test data (``tests/test_materialization.py``:
names, descriptions and column types) and ``synapses_pni_2_v1_filtered_view``, which the
MICrONs documentation's Static Repositories page names (no list of the public datastack's
views at 1300 was published). It computes their rows from the sample's own rows at the
version asked for, so a view always agrees with the tables it is made of.
The routes and answers are MaterializationEngine's (blueprints/client/api2.py:
``AvailableViews``, ``ViewMetadata``, ``ViewSchema``, ``ViewSchemas``, ``ViewQuery``).

Example::

    client.materialize.get_views()                  # {name: metadata}
    client.materialize.query_view("synapses_pni_2_in_out_degree",
                                  filter_equal_dict={"root_id": 864691135808473885})
"""

from __future__ import annotations

import functools

import pandas as pd

from .data import SELECT_ORDER
from .engine import (
    answer_resolution,
    drop_private_columns,
    filter_rows,
    keep_selected_columns,
    limit_warning,
    page_rows,
    row_limit,
    scale_positions,
    shape_answer,
)
from .materialize import MAT_ROUTE, VERSION_PATTERN, check_version, query_reply
from .routing import Router, ServiceError, json_reply, parse_json
from .validation import check_query_args, check_query_values, validate_query_body

router = Router()
route = router.route

_VIEW = r"/views/(?P<view>[^/]+)"

# The column types MaterializationEngine's get_table_schema reports (api2.py).
_INT, _FLOAT, _POINT = {"type": "integer"}, {"type": "float"}, {"type": "SpatialPoint"}

# name -> (description, live_compatible, {column: type}). All but the last come from
# caveclient's test data, where their datastack is minnie65_phase3_v1 (the same aligned volume
# as minnie65_public); the synapse view's description is the sample's (none was published),
# its columns those of the published file's header layout (microns_helpers.bulk).
VIEWS = {
    "synapses_pni_2_in_out_degree": (
        "This calculates the number of input and output synapses from individual segment IDs. ",
        False,
        {
            "root_id": _INT,
            "n_input": _INT,
            "avg_input_size": _FLOAT,
            "n_output": _INT,
            "avg_output_size": _FLOAT,
        },
    ),
    "connections_with_nuclei": (
        "This summarizes connections with number of synapses and summed synapse size, as well "
        "as reporting the nucleus id associated with the pt_root_id if there is precisely one "
        "in the nucleus_detection_v0 table. \r\n\r\nColumns are pre_pt_root_id, "
        "post_pt_root_id, n_syn, sum_size, pre_nuc_id, post_nuc_id.",
        False,
        {
            "pre_pt_root_id": _INT,
            "post_pt_root_id": _INT,
            "n_syn": _INT,
            "sum_size": _FLOAT,
            "pre_nuc_id": _INT,
            "post_nuc_id": _INT,
        },
    ),
    "nucleus_detection_lookup_v1": (
        "A table that merges the nucleus_detection_v0 table with the nucleus_alternative_points "
        "table to provide one root_id column which can be used to lookup segments associated "
        "with root_ids, while preserving the geometric center of the nucleus. ",
        True,
        {
            "id": _INT,
            "volume": _FLOAT,
            "pt_position": _POINT,
            "pt_root_id": _INT,
            "orig_root_id": _INT,
            "pt_supervoxel_id": _INT,
            "pt_position_lookup": _POINT,
        },
    ),
    "soma_counts": (
        "This takes the nucleus_detection_lookup_v1 view and the nucleus_ref_neuron_svm table "
        "to measure how many nuclei there are per segment_id and how many of those are neurons. "
        "\r\n\r\nThe columns are \r\nid: the ID of the nucleus\r\npt_position: the centroid "
        "of the nucleus\r\npt_supervoxel_id: the supervoxel of the nucleus in case you want to "
        "update it\r\ncell_type: the cell type of the nucleus from the svm model.\r\n"
        "neuron_count: how many neurons are associated with this root id\r\ntotal_count: how "
        "many total nucleus detections are associated with this root_id",
        False,
        {
            "id": _INT,
            "pt_position": _POINT,
            "pt_root_id": _INT,
            "pt_supervoxel_id": _INT,
            "cell_type": {"type": "string"},
            "neuron_count": _INT,
            "total_count": _INT,
        },
    ),
    "single_neurons": (
        "This is a list of all the single neuron objects in the dataset, the id column is the "
        "nucleus_id, the root_id is its segment_id (which can change over versions), and then "
        "position is the position of the centroid of its nucleus. This is based on the "
        'soma_counts view, filtering for cell_type="neuron" and n_neuron=1. ',
        False,
        {"id": _INT, "pt_root_id": _INT, "pt_position": _POINT, "pt_supervoxel_id": _INT},
    ),
    "synapses_pni_2_v1_filtered_view": (
        "Sample service: the synapses of synapses_pni_2 as the bulk synapse file publishes "
        "them (the real view's filter was not published; the sample keeps every row).",
        False,
        {
            "id": _INT,
            "pre_pt_position": _POINT,
            "pre_pt_supervoxel_id": _INT,
            "pre_pt_root_id": _INT,
            "post_pt_position": _POINT,
            "post_pt_supervoxel_id": _INT,
            "post_pt_root_id": _INT,
            "size": _INT,
            "ctr_pt_position": _POINT,
        },
    ),
}


def view_metadata(s, ds: str, view: str) -> dict:
    if view not in VIEWS:
        # dynamicannotationdb's lookup fails for a name it lacks; the message says what to do
        raise ServiceError(
            404,
            f"view {view} not found in datastack {ds}: client.materialize.get_views() lists "
            f"the views ({', '.join(VIEWS)}).",
        )
    description, live, _ = VIEWS[view]
    return {
        "table_name": view,
        "notice_text": None,
        "datastack_name": ds,
        "id": list(VIEWS).index(view) + 1,
        "voxel_resolution_x": 4.0,
        "voxel_resolution_y": 4.0,
        "voxel_resolution_z": 40.0,
        "description": description,
        "live_compatible": live,
    }


@route("GET", MAT_ROUTE + r"/version/" + VERSION_PATTERN + r"/views")
def available_views(s, ds, v, **_):
    check_version(s, ds, v)
    views = {}
    for name in VIEWS:
        md = view_metadata(s, ds, name)
        md.pop("table_name")
        views[name] = md
    return json_reply(views)


@route("GET", MAT_ROUTE + r"/version/" + VERSION_PATTERN + r"/views/schemas")
def view_schemas(s, ds, v, **_):
    check_version(s, ds, v)
    return json_reply({name: columns for name, (_, _, columns) in VIEWS.items()})


@route("GET", MAT_ROUTE + r"/version/" + VERSION_PATTERN + _VIEW + r"/metadata")
def one_view_metadata(s, ds, v, view, **_):
    check_version(s, ds, v)
    return json_reply(view_metadata(s, ds, view))


@route("GET", MAT_ROUTE + r"/version/" + VERSION_PATTERN + _VIEW + r"/schema")
def view_schema(s, ds, v, view, **_):
    check_version(s, ds, v)
    view_metadata(s, ds, view)
    return json_reply(VIEWS[view][2])


@route("POST", MAT_ROUTE + r"/version/" + VERSION_PATTERN + _VIEW + r"/query")
def view_query(s, ds, v, view, args, raw, **_):
    body = validate_query_body(parse_json(raw), join=False)
    check_query_args(args)
    v = check_version(s, ds, v)
    md = view_metadata(s, ds, view)
    df = view_rows(s.data, view, v)
    check_query_values(body, {view: df})
    df = filter_rows(df, body, view)
    if body.get("select_columns"):
        df = keep_selected_columns(df, body["select_columns"])
    df = page_rows(drop_private_columns(df), body, args)
    res = answer_resolution(body, md)
    df = shape_answer(scale_positions(df, md, res), args)
    warnings = [limit_warning(len(df))] if len(df) == row_limit(body) else []
    return query_reply(df, warnings, res, args)


# -- rows ------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def view_rows(data, view: str, version: int) -> pd.DataFrame:
    """The rows of ``view`` at ``version``, computed from the tables' rows (kept: a view of
    the synapses takes a second to compute, and queries filter the same frame again)."""
    return _COMPUTE[view](data, version)


def _rows(data, table, version):
    return data.rows(table, version).drop(columns=[SELECT_ORDER], errors="ignore")


def _filtered_synapses(data, version):
    df = _rows(data, "synapses_pni_2", version)
    columns = [c for c in df.columns if c not in ("created", "superceded_id", "valid")]
    return df[columns].reset_index(drop=True)


def _in_out_degree(data, version):
    syn = _rows(data, "synapses_pni_2", version)
    out = syn.groupby("pre_pt_root_id")["size"].agg(n_output="count", avg_output_size="mean")
    inp = syn.groupby("post_pt_root_id")["size"].agg(n_input="count", avg_input_size="mean")
    df = inp.join(out, how="outer").rename_axis("root_id").reset_index()
    df = df[df["root_id"] != 0]  # 0 is no segment
    for column in ("n_input", "n_output"):
        df[column] = df[column].fillna(0).astype("int64")
    return df[list(VIEWS["synapses_pni_2_in_out_degree"][2])].reset_index(drop=True)


def _single_nucleus(data, version) -> pd.Series:
    """root id -> nucleus id, for roots with exactly one nucleus."""
    nuclei = _rows(data, "nucleus_detection_v0", version)
    nuclei = nuclei[nuclei["pt_root_id"] != 0]
    counts = nuclei["pt_root_id"].value_counts()
    single = nuclei[nuclei["pt_root_id"].isin(counts.index[counts == 1])]
    return single.set_index("pt_root_id")["id"]


def _connections_with_nuclei(data, version):
    syn = _rows(data, "synapses_pni_2", version)
    df = (
        syn.groupby(["pre_pt_root_id", "post_pt_root_id"])["size"]
        .agg(n_syn="count", sum_size="sum")
        .reset_index()
    )
    df["sum_size"] = df["sum_size"].astype("float64")
    nucleus = _single_nucleus(data, version)
    df["pre_nuc_id"] = df["pre_pt_root_id"].map(nucleus).astype("Int64")
    df["post_nuc_id"] = df["post_pt_root_id"].map(nucleus).astype("Int64")
    return df


def _nucleus_lookup(data, version):
    nuclei = _rows(data, "nucleus_detection_v0", version)
    df = nuclei[["id", "volume", "pt_supervoxel_id", "pt_root_id"]].copy()
    df["orig_root_id"] = df["pt_root_id"]
    for axis in "xyz":
        df[f"pt_position_{axis}"] = nuclei[f"pt_position_{axis}"]
        df[f"pt_position_lookup_{axis}"] = nuclei[f"pt_position_{axis}"]
    # Where a nucleus has an alternative point, its root and supervoxel are the point's.
    alt = _rows(data, "nucleus_alternative_points", version)
    alt = alt.drop_duplicates("target_id", keep="last").set_index("target_id")
    has_alt = df["id"].isin(alt.index)
    ids = df.loc[has_alt, "id"]
    df.loc[has_alt, "pt_root_id"] = ids.map(alt["pt_root_id"]).to_numpy()
    df.loc[has_alt, "pt_supervoxel_id"] = ids.map(alt["pt_supervoxel_id"]).to_numpy()
    for axis in "xyz":
        df.loc[has_alt, f"pt_position_lookup_{axis}"] = ids.map(alt[f"pt_position_{axis}"])
    order = ["id", "volume"] + [f"pt_position_{a}" for a in "xyz"]
    order += ["pt_root_id", "orig_root_id", "pt_supervoxel_id"]
    order += [f"pt_position_lookup_{a}" for a in "xyz"]
    return df[order].reset_index(drop=True)


def _soma_counts(data, version):
    lookup = view_rows(data, "nucleus_detection_lookup_v1", version)
    svm = _rows(data, "nucleus_ref_neuron_svm", version).set_index("target_id")["cell_type"]
    df = lookup[["id"] + [f"pt_position_{a}" for a in "xyz"] + ["pt_root_id", "pt_supervoxel_id"]]
    df = df.assign(cell_type=df["id"].map(svm))
    df["neuron_count"] = (df["cell_type"] == "neuron").groupby(df["pt_root_id"]).transform("sum")
    df["total_count"] = df.groupby("pt_root_id")["id"].transform("count")
    return df.astype({"neuron_count": "int64", "total_count": "int64"}).reset_index(drop=True)


def _single_neurons(data, version):
    counts = view_rows(data, "soma_counts", version)
    single = counts[(counts["cell_type"] == "neuron") & (counts["neuron_count"] == 1)]
    columns = ["id", "pt_root_id"] + [f"pt_position_{a}" for a in "xyz"] + ["pt_supervoxel_id"]
    return single[columns].reset_index(drop=True)


_COMPUTE = {
    "soma_counts": _soma_counts,
    "single_neurons": _single_neurons,
    "synapses_pni_2_in_out_degree": _in_out_degree,
    "connections_with_nuclei": _connections_with_nuclei,
    "nucleus_detection_lookup_v1": _nucleus_lookup,
    "synapses_pni_2_v1_filtered_view": _filtered_synapses,
}
