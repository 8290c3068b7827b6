"""The L2 cache of the sample: the level-2 attributes of the neurons it has skeletons of.

The routes caveclient's ``L2CacheClient`` uses (PCGL2Cache ``app/v1/routes.py``): the table
mapping that ``has_cache()`` reads, the attribute list, and ``attributes`` for
``get_l2data`` / ``get_l2data_table``. What was published: ``rep_coord_nm``, ``area_nm2``,
``size_nm3``, ``max_dt_nm`` and ``mean_dt_nm`` of the 17,656 level-2 ids of root
864691135273655569, and ``rep_coord_nm`` only of the 5,830 of root 864691136040432126. Asking
for an attribute the sample lacks for an id (``pca``, or ``area_nm2`` of the second root),
or for level-2 ids of other cells, gets a 4xx that says so instead of the empty entries the
real cache sends for ids it has not computed.
"""

from __future__ import annotations

from .morphology import L2CACHE_ATTRIBUTES, morphology_of
from .routing import Router, ServiceError, integer_ids, json_object, json_reply

router = Router()
route = router.route

_L2 = r"/l2cache/api/v1"

# PCGL2Cache's registered attributes (core/attributes.py), to tell a real one from a typo.
REAL_ATTRIBUTES = (
    "area_nm2",
    "chunk_intersect_count",
    "max_dt_nm",
    "mean_dt_nm",
    "pca",
    "pca_val",
    "rep_coord_nm",
    "size_nm3",
)
_LIVE = "For them use MICRONS_MODE=live with a CAVE token."


def _table_name(s) -> str:
    return s.data.datastack_info["segmentation_source"].rstrip("/").split("/")[-1]


@route("GET", _L2 + r"/table_mapping")
def table_mapping(s, **_):
    # caveclient's has_cache() looks for the chunkedgraph's table name among the keys.
    table = _table_name(s)
    return json_reply(
        {
            table: {
                "cv_path": s.data.datastack_info["segmentation_source"],
                "l2cache_id": f"l2cache_{table}_sample",
            }
        }
    )


# The cache's storage types (PCGL2Cache core/attributes.py).
_TYPES = {
    "area_nm2": "uint32",
    "max_dt_nm": "uint16",
    "mean_dt_nm": "float16",
    "rep_coord_nm": "uint64",
    "size_nm3": "uint32",
}


@route("GET", _L2 + r"/attribute_metadata")
def attribute_metadata(s, **_):
    # The real cache lists eight; the sample lists what it can answer.
    return json_reply({name: f"<class 'numpy.{_TYPES[name]}'>" for name in L2CACHE_ATTRIBUTES})


def _attributes_asked(args) -> list[str]:
    names = [n.strip() for n in args.get("attribute_names", "").split(",") if n.strip()]
    if not names:
        raise ServiceError(
            400,
            "the sample's L2 cache has only the attributes that were published, not all "
            "that a call without attributes asks for (pca, chunk_intersect_count, ...): pass "
            f"attributes={list(L2CACHE_ATTRIBUTES)!r} or fewer. " + _LIVE,
        )
    unknown = [n for n in names if n not in REAL_ATTRIBUTES]
    if unknown:
        raise ServiceError(
            400,
            f"unknown L2-cache attribute(s) {', '.join(unknown)}; the L2 cache has "
            f"{', '.join(REAL_ATTRIBUTES)}",
        )
    missing = [n for n in names if n not in L2CACHE_ATTRIBUTES]
    if missing:
        raise ServiceError(
            404,
            f"the sample's L2 cache has only {', '.join(L2CACHE_ATTRIBUTES)}; "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the sample. "
            + _LIVE,
        )
    return names


@route("POST", _L2 + r"/table/(?P<table_id>[^/]+)/attributes")
def attributes(s, table_id, args, raw, **_):
    if table_id != _table_name(s):
        raise ServiceError(404, f"table {table_id} not found in the L2 cache")
    names = _attributes_asked(args)
    ids = json_object(raw).get("l2_ids")
    if not isinstance(ids, list):
        raise ServiceError(400, "the request body needs a list 'l2_ids'")
    morphology = morphology_of(s)
    known = morphology.l2_attributes()
    l2_ids = sorted(set(integer_ids(ids, "l2_ids")))  # the real cache answers each id once, sorted
    absent = [i for i in l2_ids if i not in known]
    if absent:
        shown = ", ".join(str(i) for i in absent[:3]) + (" ..." if len(absent) > 3 else "")
        have = " and ".join(str(r) for r in morphology.roots)
        raise ServiceError(
            404,
            f"{len(absent)} level-2 id(s) are not in the sample ({shown}): its L2 cache "
            f"holds the level-2 ids of roots {have} only. " + _LIVE,
        )
    partial = [i for i in l2_ids if any(n not in known[i] for n in names)]
    if partial:
        lacking = sorted({n for i in partial for n in names if n not in known[partial[0]]})
        raise ServiceError(
            404,
            f"{len(partial)} of these level-2 ids (e.g. {partial[0]}) have only "
            f"{', '.join(known[partial[0]])} in the sample, not {', '.join(lacking)}: those "
            "were not published for their neuron. " + _LIVE,
        )
    return json_reply({str(i): {name: known[i][name] for name in names} for i in l2_ids})
