"""The chunkedgraph service of the sample: root ids over time, and supervoxel lookups.

The routes caveclient's ``ChunkedGraphClient`` uses for lineage (``is_latest_roots``,
``root_timestamps``, ``lineage_graph_multiple``, ``past_id_mapping``) and for roots of
supervoxels (``roots_binary``), answered from the sample's edits (:mod:`.lineage`).
"""

from __future__ import annotations

import datetime
import json
import re

import numpy as np

from .info import SEGMENTATION_LAYERS
from .lineage import from_epoch
from .routing import Reply, Router, ServiceError, json_object, json_reply, truthy

router = Router()
route = router.route

# What the chunkedgraph answers to /segmentation/api/version: a release that caveclient's
# version constraints on the lineage routes accept (">=2.17.0" on the 2.x line).
CHUNKEDGRAPH_SERVER_VERSION = "2.21.1"

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
        raise ServiceError(404, f"table {table_id} not found")


# -- what a request must carry (PyChunkedGraph app/segmentation/common.py refuses a bad time
# stamp with a 400; a body that is not JSON, or ids that are not integers, fail there in
# json.loads / numpy with a 500, which the sample answers with a 400 naming the argument).

_ID = re.compile(r"[0-9]+")


def _moment(s, args, name="timestamp", default="now"):
    """The time stamp a chunkedgraph request names (seconds since 1970), else ``default``."""
    value = args.get(name)
    if not value:
        return datetime.datetime.now(datetime.timezone.utc) if default == "now" else None
    try:
        return from_epoch(value)
    except (ValueError, OverflowError, OSError):
        # common.py, _parse_timestamp
        raise ServiceError(
            400, f"Timestamp parameter {name} is not a valid unix timestamp"
        ) from None


def _node_ids(s, raw, key="node_ids"):
    """The root ids a request body names, checked: integers the sample knows."""
    ids = json_object(raw).get(key)
    if not isinstance(ids, list):
        raise ServiceError(400, f"the request body needs a list {key!r}")
    return s.data.check_roots(ids)


def _node_id(value, what) -> int:
    """A node id of a request's path: digits only."""
    if not _ID.fullmatch(value):
        raise ServiceError(400, f"{value!r} is not a {what} id: {what} ids are integers.")
    return int(value)


# The segmentation's info (GET /segmentation/table/<table>/info) is answered by info.py.


@route("GET", _CG + r"/node/(?P<root>[^/]+)/leaves")
def cg_leaves(s, table_id, root, args, **_):
    # PyChunkedGraph (app/segmentation/common.py, handle_leaves): stop_layer 1 (the default)
    # gives supervoxels, stop_layer 2 the level-2 ids of the root.
    _check_cg_table(s, table_id)
    stop_layer = args.get("stop_layer") or "1"
    if not _ID.fullmatch(stop_layer) or not 1 <= int(stop_layer) <= SEGMENTATION_LAYERS:
        raise ServiceError(400, f"stop_layer must be a layer from 1 to {SEGMENTATION_LAYERS}")
    if "bounds" in args:
        raise ServiceError(
            400, "the sample serves the leaves of whole roots only: call get_leaves without bounds."
        )
    if stop_layer == "2":
        return json_reply({"leaf_ids": _level2_ids(s, _node_id(root, "root"))})
    # The sample has no supervoxel graph: a root's leaves are the supervoxels of its rows. It
    # has no nodes above layer 2 either, and answers them with the same supervoxels: what
    # suggest_latest_roots compares (the overlap of two roots' nodes at one layer) holds.
    return json_reply({"leaf_ids": s.data.leaves(root)})


def _level2_ids(s, root: int) -> list[int]:
    """The level-2 ids of a root whose level-2 graph the sample serves (the same graph as
    ``lvl2_graph``, so the two answers agree)."""
    from .morphology import morphology_of  # loaded on first use, not with the service

    edges = morphology_of(s).level2_edges(root)
    return sorted({node for edge in edges for node in edge})


@route("GET", _CG + r"/node/(?P<sv>[^/]+)/root")
def cg_root_of_supervoxel(s, table_id, sv, args, **_):
    _check_cg_table(s, table_id)
    sv = _node_id(sv, "supervoxel")
    return json_reply({"root_id": s.data.roots_of_supervoxels([sv], _moment(s, args))[0]})


@route("POST", _CG + r"/is_latest_roots")
def cg_is_latest_roots(s, table_id, args, raw, **_):
    _check_cg_table(s, table_id)
    moment = _moment(s, args)
    return json_reply(
        {"is_latest": [s.data.lineage.is_latest(r, moment) for r in _node_ids(s, raw)]}
    )


@route("POST", _CG + r"/root_timestamps")
def cg_root_timestamps(s, table_id, args, raw, **_):
    _check_cg_table(s, table_id)
    lineage = s.data.lineage
    if truthy(args.get("latest")):
        moment = _moment(s, args)
        stamps = [min(lineage.ended(r) or moment, moment) for r in _node_ids(s, raw)]
    else:
        stamps = [lineage.created(r) for r in _node_ids(s, raw)]
    return json_reply({"timestamp": [t.timestamp() for t in stamps]})


@route("POST", _CG + r"/lineage_graph_multiple")
def cg_lineage_graph(s, table_id, args, raw, **_):
    _check_cg_table(s, table_id)
    past = _moment(s, args, "timestamp_past", default=None)
    future = _moment(s, args, "timestamp_future", default=None)
    roots = _node_ids(s, raw, "root_ids")
    return json_reply(s.data.lineage.lineage_graph(roots, past, future))


@route("GET", _CG + r"/past_id_mapping")
def cg_past_ids(s, table_id, args, raw, **_):
    # PyChunkedGraph (common.py, handle_past_id_mapping): timestamp_past defaults to 0 (the
    # first edit on); timestamp_future is read but SegmentHistory always looks to the present.
    _check_cg_table(s, table_id)
    past = _moment(s, args, "timestamp_past", default=None)
    _moment(s, args, "timestamp_future", default=None)  # checked, as the server parses it
    return json_reply(s.data.lineage.past_ids(_node_ids(s, raw, "root_ids"), past))


@route("GET", _CG + r"/tabular_change_log_many")
def cg_tabular_change_log(s, table_id, args, raw, **_):
    # PyChunkedGraph (v1/routes.py, tabular_change_log_many): {root: DataFrame.to_json()}.
    _check_cg_table(s, table_id)
    roots = _node_ids(s, raw, "root_ids")
    return json_reply({str(r): json.dumps(s.data.lineage.change_log(r)) for r in roots})


@route("POST", _CG + r"/roots_binary")
def cg_roots_binary(s, table_id, args, raw, **_):
    # Body and answer are uint64 arrays (caveclient's ChunkedGraphClient.get_roots).
    _check_cg_table(s, table_id)
    if len(raw) % 8:
        raise ServiceError(
            400, "the request body must be supervoxel ids as uint64 (a multiple of 8 bytes)"
        )
    supervoxels = np.frombuffer(raw, dtype=np.uint64).tolist()
    roots = s.data.roots_of_supervoxels(supervoxels, _moment(s, args))
    body = np.array(roots, dtype=np.uint64).tobytes()
    return Reply(200, body, content_type="application/octet-stream")


# -- level-2 graph and node validity (the skeleton client checks roots with valid_nodes) -------

# Layer of a node id: its top 8 bits. Every root of minnie65 sits on the sample root's layer.
_LAYER_SHIFT = 56
_ROOT_LAYER = 864691136040432126 >> _LAYER_SHIFT


@route("GET", _CG + r"/node/(?P<root_id>\d+)/lvl2_graph")
def cg_level2_graph(s, table_id, root_id, args, **_):
    from .morphology import morphology_of  # loaded on first use, not with the service

    _check_cg_table(s, table_id)
    if "bounds" in args:
        raise ServiceError(
            400,
            "the sample serves the whole level-2 graph only; call level2_chunk_graph without "
            "bounds, or use MICRONS_MODE=live with a CAVE token.",
        )
    edges = morphology_of(s).level2_edges(int(root_id))
    reply = json_reply({"edge_graph": edges})
    reply.headers.append(("Used-Bounds", "False"))
    return reply


@route("GET", _CG + r"/valid_nodes")
def cg_valid_nodes(s, table_id, raw, **_):
    # The sample cannot know every real root: it calls any id on the root layer valid, and
    # the service asked next (skeletons, L2 cache) says plainly whether it has that root.
    _check_cg_table(s, table_id)
    ids = json_object(raw).get("node_ids")
    valid = isinstance(ids, list) and all(
        not isinstance(i, bool) and _ID.fullmatch(str(i)) for i in ids
    )
    if not valid:
        raise ServiceError(400, "the request body needs a list 'node_ids' of integer ids")
    ids = [int(i) for i in ids]
    return json_reply({"valid_roots": [i for i in ids if i >> _LAYER_SHIFT == _ROOT_LAYER]})
