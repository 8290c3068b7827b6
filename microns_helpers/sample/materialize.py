"""The materialization service of the sample: versions, tables, metadata and queries.

Answers as MaterializationEngine does in late 2026: only valid versions unless
``?expired=True``, the version records, HTTP 410 for data at an expired version and 404 for
one that never existed; query results as Arrow IPC streams with ZSTD buffers
(``Content-Type: data.arrow``), with the server's ``Warning`` headers.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa

from .engine import MERGE_POSITIONS, join_query, merged_positions, served_columns, simple_query
from .info import check_datastack
from .routing import Reply, Router, ServiceError, json_reply, parse_json, truthy
from .validation import check_query_args, validate_query_body

router = Router()
route = router.route

_DS = r"(?P<ds>[^/]+)"
VERSION_PATTERN = r"(?P<v>\d+)"
_T = r"(?P<t>[^/]+)"
MAT_ROUTE = r"/materialize/api/v(?P<api>[23])/datastack/" + _DS


def check_version(s, ds: str, v: str) -> int:
    """The version of a data request: 404 if it never existed, 410 once it has expired."""
    check_datastack(s, ds)
    record = s.data.version_record(int(v))
    if record is None:
        raise ServiceError(404, f"version {v} not found in {ds}")
    if not record["valid"]:
        # MaterializationEngine, blueprints/client/common.py (get_flat_model)
        raise ServiceError(410, "This materialization version is not available")
    return int(v)


# -- materialization service ---------------------------------------------------------------------


@route("GET", r"/materialize/api/versions")
def mat_api_versions(s, **_):
    return json_reply([2, 3])


@route("GET", r"/materialize/version")
def mat_server_version(s, **_):
    return json_reply(s.materialize_server_version)


@route("GET", MAT_ROUTE + r"/versions")
def mat_versions(s, ds, args, **_):
    # Only valid versions, unless ?expired=True (api2.py, DatastackVersions.get).
    check_datastack(s, ds)
    return json_reply(s.data.listed_versions(expired=truthy(args.get("expired"))))


def _version_metadata(s, ds, v):
    record = s.data.version_record(v)
    return {"id": v, "datastack": ds, "is_merged": True, "parent_version": None, **record}


@route("GET", MAT_ROUTE + r"/version/" + VERSION_PATTERN)
def mat_version_metadata(s, ds, v, **_):
    # Answered for expired versions too (their record stays); 404 for one that never was.
    check_datastack(s, ds)
    if s.data.version_record(int(v)) is None:
        return json_reply("No version found", 404)
    return json_reply(_version_metadata(s, ds, int(v)))


@route("GET", MAT_ROUTE + r"/metadata")
def mat_versions_metadata(s, ds, args, **_):
    check_datastack(s, ds)
    versions = s.data.listed_versions(expired=truthy(args.get("expired")))
    return json_reply([_version_metadata(s, ds, v) for v in versions])


@route("GET", MAT_ROUTE + r"/version/" + VERSION_PATTERN + r"/tables")
def mat_tables(s, ds, v, **_):
    v = check_version(s, ds, v)
    return json_reply(s.data.table_names(v))


@route("GET", MAT_ROUTE + r"/version/" + VERSION_PATTERN + r"/table/" + _T + r"/metadata")
def mat_table_metadata(s, ds, v, t, **_):
    v = check_version(s, ds, v)
    md = s.data.metadata(t, v)
    if md is None:
        raise ServiceError(404, f"analysis table {t} not found for version {v} in datastack {ds}")
    return json_reply(md)


@route("GET", MAT_ROUTE + r"/version/" + VERSION_PATTERN + r"/tables/metadata")
def mat_bulk_metadata(s, ds, v, **_):
    v = check_version(s, ds, v)
    names = s.data.table_names(v)
    if s.bulk_metadata_without_reference:
        names = [n for n in names if n != "nucleus_detection_v0"]
    return json_reply([s.data.metadata(n, v) for n in names])


@route("GET", MAT_ROUTE + r"/version/" + VERSION_PATTERN + r"/table/" + _T + r"/count")
def mat_count(s, ds, v, t, **_):
    v = check_version(s, ds, v)
    if s.data.metadata(t, v) is None:
        raise ServiceError(404, f"analysis table {t} not found for version {v} in datastack {ds}")
    return json_reply(s.data.count(t, v))


# The views routes are views.py's.


def _query_body(s, ds, raw, args, *, join):
    """A query's body and query string, checked in the server's order: the datastack, then
    the body (its JSON, its schema), then the query string; the version after them.
    The checks themselves are validation.py's."""
    check_datastack(s, ds)
    body = validate_query_body(parse_json(raw), join=join)
    check_query_args(args)
    return body


@route("POST", MAT_ROUTE + r"/version/" + VERSION_PATTERN + r"/table/" + _T + r"/query")
def mat_simple_query(s, ds, v, t, args, raw, **_):
    body = _query_body(s, ds, raw, args, join=False)
    v = check_version(s, ds, v)
    df, warnings, res = simple_query(s.data, t, body, version=v, datastack=ds, args=args)
    return query_reply(df, warnings, res, args)


@route("POST", MAT_ROUTE + r"/version/" + VERSION_PATTERN + r"/query")
def mat_join_query(s, ds, v, args, raw, **_):
    body = _query_body(s, ds, raw, args, join=True)
    v = check_version(s, ds, v)
    df, warnings, res = join_query(s.data, body, version=v, datastack=ds, args=args)
    return query_reply(df, warnings, res, args)


# -- query answers ---------------------------------------------------------------------------------


def _arrow_type(series: pd.Series) -> pa.DataType:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return pa.bool_()
    if pd.api.types.is_integer_dtype(dtype):
        return pa.int64()
    if pd.api.types.is_float_dtype(dtype):
        return pa.float64()
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        return pa.timestamp("ns", tz="UTC")
    sample = series.dropna()
    if len(sample) and isinstance(sample.iloc[0], (list, tuple)):
        first = sample.iloc[0][0]
        return pa.list_(pa.int64() if isinstance(first, int) else pa.float64())
    return pa.string()


def arrow_stream(df: pd.DataFrame) -> bytes:
    """The body the real server sends: an Arrow IPC stream with ZSTD-compressed buffers."""
    merged = set(df.attrs.get(MERGE_POSITIONS, ()))
    arrays, fields = [], []
    for name in served_columns(df):
        if name in merged:
            xyz = df[[f"{name}_{a}" for a in "xyz"]].to_numpy()
            kind = pa.int64() if xyz.dtype.kind in "iu" else pa.float64()
            offsets = pa.array(np.arange(0, 3 * len(xyz) + 1, 3, dtype=np.int32))
            array = pa.ListArray.from_arrays(offsets, pa.array(xyz.reshape(-1), type=kind))
        else:
            array = pa.array(df[name], type=_arrow_type(df[name]), from_pandas=True)
        arrays.append(array)
        fields.append(pa.field(name, array.type))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def query_reply(df, warnings, resolution, args) -> Reply:
    headers = [("Warning", w.replace("\n", " ")) for w in warnings]
    # Sent as one header per value by the real server; requests joins them with ", ".
    headers.append(("dataframe_resolution", ", ".join(str(r) for r in resolution)))
    headers.append(("column_names", json.dumps(served_columns(df))))
    if str(args.get("return_pyarrow", "true")).lower() in ("false", "0"):
        body = merged_positions(df).to_json(orient="records").encode()
        return Reply(200, body, headers=headers)
    return Reply(200, arrow_stream(df), content_type="data.arrow", headers=headers)
