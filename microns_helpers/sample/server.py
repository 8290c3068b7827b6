"""The sample CAVE service: a real HTTP server on 127.0.0.1 that answers like the live one.

It serves the global routes (info, schema, auth) and the local ones (materialize, and the
chunkedgraph routes of root-id lineage) on one port, with the formats caveclient 5.17 to 8.2
read: JSON, and Arrow IPC streams with ZSTD buffers (``Content-Type: data.arrow``) for query
results. It applies the filters, selects, limits, resolutions and joins it receives to the
sample dataset of ``dataset/``, and it mirrors the live service of late 2026: the valid and
the expired versions, the version metadata, HTTP 410 for data at an expired version and 404
for a version that never existed (../shared/reference/live-service-2026.md in the repository).

Example::

    from caveclient import CAVEclient
    with SampleService() as s:
        client = CAVEclient("minnie65_public", server_address=s.url, write_server_cache=False)
        client.materialize.version = 1300
        client.materialize.query_table("nucleus_detection_v0", limit=10)
"""

from __future__ import annotations

import http.server
import json
import re
import sys
import threading
import time
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa

from .engine import QueryError, SampleData, load_sample_data
from .lineage import from_epoch

# What the chunkedgraph answers to /segmentation/api/version: a release that caveclient's
# version constraints on the lineage routes accept (">=2.17.0" on the 2.x line).
CHUNKEDGRAPH_SERVER_VERSION = "2.21.1"

# caveclient 8 refuses to query a materialization server older than 5.13.0
# (materializationengine.py, method_constraint=">=5.13.0"); the stand-in answers a version
# that both 5.23.0 and 8.2.1 accept. Pass "4.0.0" to see the too-old-server error.
DEFAULT_MATERIALIZE_SERVER_VERSION = "5.13.0"


class SampleService:
    """The sample service, started and stopped by ``with`` (or :meth:`start` / :meth:`stop`).

    Options (all default to the live service's behaviour in late 2026):
    ``local_server`` what the datastack info advertises as ``local_server`` (None = this URL;
    offline mode and the recorder pass the public address and redirect to this one);
    ``bulk_metadata_without_reference`` drop ``nucleus_detection_v0`` from the bulk table
    metadata (the trigger of caveclient 5.17.1-5.23.0's RecursionError);
    ``required_token`` demand this token (Bearer header or ``middle_auth_token`` cookie):
    none -> 401, another -> 403; ``materialize_server_version`` answered by
    ``GET /materialize/version``; ``delay`` seconds to wait before each answer;
    ``datastacks`` the datastack names served; ``port`` 0 for a free port.

    Example::

        with SampleService() as s:
            requests.get(s.url + "/materialize/api/v3/datastack/minnie65_public/versions").json()
            # [1300, 117, 943, 1507, 1621, 1718, 1822]
    """

    def __init__(
        self,
        *,
        local_server: str | None = None,
        bulk_metadata_without_reference: bool = False,
        required_token: str | None = None,
        materialize_server_version: str = DEFAULT_MATERIALIZE_SERVER_VERSION,
        delay: float = 0.0,
        datastacks=("minnie65_public",),
        port: int = 0,
        data: SampleData | None = None,
    ):
        self.local_server = local_server
        self.bulk_metadata_without_reference = bulk_metadata_without_reference
        self.required_token = required_token
        self.materialize_server_version = materialize_server_version
        self.delay = float(delay)
        self.datastacks = tuple(datastacks)
        self.data = data or load_sample_data()
        self._port = port
        self._requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> SampleService:
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = _QuietServer(("127.0.0.1", self._port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="sample-service", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> SampleService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(
                "The sample service is not running: use `with SampleService() as s:`."
            )
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path_with_query) of every request served so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def _log(self, method, path):
        with self._lock:
            self._requests.append((method, path))


# ---------------------------------------------------------------------------------------------
# Routing

_DS = r"(?P<ds>[^/]+)"
_V = r"(?P<v>\d+)"
_T = r"(?P<t>[^/]+)"
_MAT = r"/materialize/api/v(?P<api>[23])/datastack/" + _DS
ROUTES = []


def route(method, pattern):
    def register(fn):
        ROUTES.append((method, re.compile(pattern + r"/?$"), fn))
        return fn

    return register


class Reply:
    def __init__(self, status=200, body=b"", content_type="application/json", headers=()):
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = list(headers)


def json_reply(obj, status=200) -> Reply:
    return Reply(status, json.dumps(obj).encode())


def error(status, message) -> Reply:
    # flask-restx's abort() shape, which the real services use.
    return json_reply({"message": message}, status)


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that gives up mid-request (a timeout test, a RecursionError) is not news.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    standin: SampleService  # set on the subclass made by SampleService.start()

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def _serve(self, method):
        s = self.standin
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        s._log(method, self.path)
        if s.delay:
            time.sleep(s.delay)
        try:
            reply = self._authorize() or self._dispatch(method, raw)
        except QueryError as e:
            reply = error(e.status, e.message)
        except Exception as e:  # a bug in the stand-in: say so, like a server's 500
            reply = error(500, f"stand-in error: {type(e).__name__}: {e}")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _authorize(self):
        expected = self.standin.required_token
        if expected is None:
            return None
        given = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            given = auth[len("Bearer ") :]
        if given is None and self.headers.get("Cookie"):
            cookie = SimpleCookie(self.headers["Cookie"])
            if "middle_auth_token" in cookie:
                given = cookie["middle_auth_token"].value
        if given is None:
            return json_reply({"error": "unauthorized", "message": "Unauthorized: no token"}, 401)
        if given != expected:
            return json_reply(
                {"error": "forbidden", "message": "Forbidden: this token is not valid"}, 403
            )
        return None

    def _dispatch(self, method, raw):
        parts = urlsplit(self.path)
        args = dict(parse_qsl(parts.query))
        for m, pattern, fn in ROUTES:
            match = pattern.match(parts.path)
            if match and m == method:
                return fn(
                    self.standin, args=args, body=_json_body(raw), raw=raw, **match.groupdict()
                )
        return error(404, f"The requested URL {parts.path} was not found on the sample service.")


def _json_body(raw: bytes):
    """The request body as JSON, or {} when there is none or it is binary (roots_binary)."""
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}


def _true(value) -> bool:
    return str(value).lower() in ("true", "1", "t", "yes")


def _check_datastack(s: SampleService, ds: str):
    if ds not in s.datastacks:
        raise QueryError(404, f"datastack {ds} not found")


def _check_version(s: SampleService, ds: str, v: str) -> int:
    """The version of a data request: 404 if it never existed, 410 once it has expired."""
    _check_datastack(s, ds)
    record = s.data.version_record(int(v))
    if record is None:
        raise QueryError(404, f"version {v} not found in {ds}")
    if not record["valid"]:
        # MaterializationEngine, blueprints/client/common.py (get_flat_model)
        raise QueryError(410, "This materialization version is not available")
    return int(v)


# -- info service -------------------------------------------------------------------------------


@route("GET", r"/info/version")
def info_version(s, **_):
    # caveclient 8 asks; a 404 means "no version endpoint" and is tolerated.
    return error(404, "not found")


@route("GET", r"/info/api/v2/datastacks")
def datastacks(s, **_):
    return json_reply(list(s.datastacks))


@route("GET", r"/info/api/v2/datastack/full/" + _DS)
def datastack_info(s, ds, **_):
    _check_datastack(s, ds)
    info = dict(s.data.datastack_info)
    info["local_server"] = s.local_server or s.url
    return json_reply(info)


# -- schema service -----------------------------------------------------------------------------


@route("GET", r"/schema/versions")
def schema_versions(s, **_):
    return json_reply([1, 2])


@route("GET", r"/schema/api/v2/type")
def schema_types(s, **_):
    return json_reply(sorted(s.data.schemas))


@route("GET", r"/schema/api/v2/type/(?P<name>[^/]+)")
def schema_type(s, name, **_):
    if name not in s.data.schemas:
        raise QueryError(404, f"schema {name} not found")
    return json_reply(s.data.schemas[name])


@route("GET", r"/schema/api/v2/types_all")
def schema_all(s, **_):
    return json_reply(s.data.schemas)


@route("POST", r"/schema/api/v2/types")
def schema_multi(s, args, **_):
    names = [n for n in args.get("schema_names", "").split(",") if n]
    return json_reply({n: s.data.schemas[n] for n in names if n in s.data.schemas})


# -- auth service (what a client may ask about its token; never echoes the token) -------------


@route("GET", r"/auth/api/v1/user/cache")
def auth_user(s, **_):
    return json_reply(
        {
            "id": 1,
            "name": "sample-service learner",
            "email": "learner@example.org",
            "admin": False,
            "groups": ["default"],
        }
    )


# -- materialization service ---------------------------------------------------------------------


@route("GET", r"/materialize/api/versions")
def mat_api_versions(s, **_):
    return json_reply([2, 3])


@route("GET", r"/materialize/version")
def mat_server_version(s, **_):
    return json_reply(s.materialize_server_version)


@route("GET", _MAT + r"/versions")
def mat_versions(s, ds, args, **_):
    # Only valid versions, unless ?expired=True (api2.py, DatastackVersions.get).
    _check_datastack(s, ds)
    return json_reply(s.data.listed_versions(expired=_true(args.get("expired"))))


def _version_metadata(s, ds, v):
    record = s.data.version_record(v)
    return {"id": v, "datastack": ds, "is_merged": True, "parent_version": None, **record}


@route("GET", _MAT + r"/version/" + _V)
def mat_version_metadata(s, ds, v, **_):
    # Answered for expired versions too (their record stays); 404 for one that never was.
    _check_datastack(s, ds)
    if s.data.version_record(int(v)) is None:
        return json_reply("No version found", 404)
    return json_reply(_version_metadata(s, ds, int(v)))


@route("GET", _MAT + r"/metadata")
def mat_versions_metadata(s, ds, args, **_):
    _check_datastack(s, ds)
    versions = s.data.listed_versions(expired=_true(args.get("expired")))
    return json_reply([_version_metadata(s, ds, v) for v in versions])


@route("GET", _MAT + r"/version/" + _V + r"/tables")
def mat_tables(s, ds, v, **_):
    v = _check_version(s, ds, v)
    return json_reply(s.data.table_names(v))


@route("GET", _MAT + r"/version/" + _V + r"/table/" + _T + r"/metadata")
def mat_table_metadata(s, ds, v, t, **_):
    v = _check_version(s, ds, v)
    md = s.data.metadata(t, v)
    if md is None:
        raise QueryError(404, f"analysis table {t} not found for version {v} in datastack {ds}")
    return json_reply(md)


@route("GET", _MAT + r"/version/" + _V + r"/tables/metadata")
def mat_bulk_metadata(s, ds, v, **_):
    v = _check_version(s, ds, v)
    names = s.data.table_names(v)
    if s.bulk_metadata_without_reference:
        names = [n for n in names if n != "nucleus_detection_v0"]
    return json_reply([s.data.metadata(n, v) for n in names])


@route("GET", _MAT + r"/version/" + _V + r"/table/" + _T + r"/count")
def mat_count(s, ds, v, t, **_):
    v = _check_version(s, ds, v)
    if s.data.metadata(t, v) is None:
        raise QueryError(404, f"analysis table {t} not found for version {v} in datastack {ds}")
    return json_reply(s.data.count(t, v))


@route("GET", _MAT + r"/version/" + _V + r"/views")
def mat_views(s, ds, v, **_):
    _check_version(s, ds, v)
    return json_reply({})


@route("GET", _MAT + r"/version/" + _V + r"/views/schemas")
def mat_view_schemas(s, ds, v, **_):
    _check_version(s, ds, v)
    return json_reply({})


@route("POST", _MAT + r"/version/" + _V + r"/table/" + _T + r"/query")
def mat_simple_query(s, ds, v, t, args, body, **_):
    v = _check_version(s, ds, v)
    df, warnings, res = s.data.simple_query(t, body, version=v, datastack=ds, args=args)
    return query_reply(df, warnings, res, args)


@route("POST", _MAT + r"/version/" + _V + r"/query")
def mat_join_query(s, ds, v, args, body, **_):
    v = _check_version(s, ds, v)
    if len(body.get("tables") or []) != 2:
        raise QueryError(400, "a join query needs exactly two tables")
    df, warnings, res = s.data.join_query(body, version=v, datastack=ds, args=args)
    return query_reply(df, warnings, res, args)


# -- chunkedgraph (root ids over time) ---------------------------------------------------------

_CG = r"/segmentation/api/v1/table/(?P<table_id>[^/]+)"


@route("GET", r"/segmentation/api/versions")
def cg_api_versions(s, **_):
    return json_reply([0, 1])


@route("GET", r"/segmentation/api/version")
def cg_server_version(s, **_):
    return json_reply(CHUNKEDGRAPH_SERVER_VERSION)


def _check_cg_table(s, table_id):
    expected = s.data.datastack_info["segmentation_source"].rstrip("/").split("/")[-1]
    if table_id != expected:
        raise QueryError(404, f"table {table_id} not found")


def _moment(s, args, name="timestamp"):
    """The time stamp a chunkedgraph request names (seconds since 1970), else now."""
    import datetime

    value = args.get(name)
    return from_epoch(value) if value else datetime.datetime.now(datetime.timezone.utc)


def _node_ids(body, key="node_ids"):
    ids = body.get(key)
    if not isinstance(ids, list):
        raise QueryError(400, f"the request body needs a list {key!r}")
    return [int(i) for i in ids]


@route("POST", _CG + r"/is_latest_roots")
def cg_is_latest_roots(s, table_id, args, body, **_):
    _check_cg_table(s, table_id)
    moment = _moment(s, args)
    return json_reply({"is_latest": [s.data.lineage.is_latest(r, moment) for r in _node_ids(body)]})


@route("POST", _CG + r"/root_timestamps")
def cg_root_timestamps(s, table_id, args, body, **_):
    _check_cg_table(s, table_id)
    lineage = s.data.lineage
    if _true(args.get("latest")):
        moment = _moment(s, args)
        stamps = [min(lineage.ended(r) or moment, moment) for r in _node_ids(body)]
    else:
        stamps = [lineage.created(r) for r in _node_ids(body)]
    return json_reply({"timestamp": [t.timestamp() for t in stamps]})


@route("POST", _CG + r"/lineage_graph_multiple")
def cg_lineage_graph(s, table_id, args, body, **_):
    _check_cg_table(s, table_id)
    past = from_epoch(args["timestamp_past"]) if args.get("timestamp_past") else None
    future = from_epoch(args["timestamp_future"]) if args.get("timestamp_future") else None
    roots = _node_ids(body, "root_ids")
    return json_reply(s.data.lineage.lineage_graph(roots, past, future))


@route("GET", _CG + r"/past_id_mapping")
def cg_past_ids(s, table_id, args, body, **_):
    _check_cg_table(s, table_id)
    past = _moment(s, args, "timestamp_past")
    return json_reply(s.data.lineage.past_ids(_node_ids(body, "root_ids"), past))


@route("POST", _CG + r"/roots_binary")
def cg_roots_binary(s, table_id, args, raw, **_):
    # Body and answer are uint64 arrays (caveclient's ChunkedGraphClient.get_roots).
    _check_cg_table(s, table_id)
    supervoxels = np.frombuffer(raw, dtype=np.uint64).tolist()
    roots = s.data.roots_of_supervoxels(supervoxels, _moment(s, args))
    body = np.array(roots, dtype=np.uint64).tobytes()
    return Reply(200, body, content_type="application/octet-stream")


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
    schema = pa.schema([(c, _arrow_type(df[c])) for c in df.columns])
    table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
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
    headers.append(("column_names", json.dumps(list(df.columns))))
    if str(args.get("return_pyarrow", "true")).lower() in ("false", "0"):
        return Reply(200, df.to_json(orient="records").encode(), headers=headers)
    return Reply(200, arrow_stream(df), content_type="data.arrow", headers=headers)
