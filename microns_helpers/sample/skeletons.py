"""The skeleton service of the sample: the skeletons of the neurons it has morphology of.

The routes caveclient's ``SkeletonClient`` uses (SkeletonService ``datasets/api.py``, version
0.23.11): the server version and skeleton versions it checks, ``get_skeleton`` (plain and
async routes) in the service's output formats, ``get_bulk_skeletons``, ``fetch_skeletons``
(cached bulk), ``skeletons_exist`` and the bulk generation request. Two real neurons:
864691135273655569 with its published skeleton and radius (``tools/sample_data/
real_neurons.py``), and 864691136040432126, built from its real level-2 graph by
``tools/sample_data/morphology.py`` with no radius (see there), so for it the dict and JSON
have no ``radius`` and the SWC and precomputed formats carry the service's own fallback of
1 nm. Other roots get a 404 that names the roots the sample has.
"""

from __future__ import annotations

import binascii
import gzip
import json

import numpy as np

from .. import skeletons as measure
from .morphology import morphology_of, not_in_sample
from .routing import Reply, Router, ServiceError, integer_ids, json_object, json_reply

router = Router()
route = router.route

SKELETON_SERVER_VERSION = "0.23.11"  # SkeletonService's __version__ of August 2026
LATEST, NEUROGLANCER = 4, 2  # what the versions -1 and 0 stand for
SKELETON_VERSIONS = (1, 2, 3, 4)
_ATTRIBUTES = {  # SkeletonService's SKELETON_VERSION_PARAMS: vertex attributes per version
    1: [],
    2: [("radius", "float32"), ("compartment", "float32")],
    3: [("radius", "float32"), ("compartment", "uint8")],
    4: [("radius", "float32"), ("compartment", "uint8")],
}
FALLBACK_RADIUS_NM = 1.0  # the service's radius when it cannot compute one (np.ones)

_SK = r"/skeletoncache/api"
_DS = _SK + r"/v1/(?P<ds>[^/]+)"
_SKVN = r"(?P<skvn>-?\d+)"


def _version(skvn) -> int:
    if isinstance(skvn, bool) or not str(skvn).lstrip("-").isdigit():
        raise ServiceError(400, f"skeleton_version must be an integer, not {skvn!r:.40}")
    v = int(skvn)
    if v == -1:
        return LATEST
    if v == 0:
        return NEUROGLANCER
    if v not in SKELETON_VERSIONS:
        raise ServiceError(
            400,
            f"Invalid skeleton version: v{v}. Valid versions: {[-1, 0, *SKELETON_VERSIONS]}",
        )
    return v


def _check_datastack(s, ds):
    if ds not in s.datastacks:
        raise ServiceError(404, f"datastack {ds} not found")


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)  # no time stamp: the same skeleton, the same bytes


def _octets(data: bytes) -> Reply:
    return Reply(200, data, content_type="application/octet-stream")


# -- the skeleton in each version and format ----------------------------------------------------


def flatdict(stored: dict, version: int) -> dict:
    """The service's flatdict of ``version`` (_skeleton_to_flatdict + _finalize_return...)."""
    out = {"meta": dict(stored["meta"], skeleton_version=version)}
    for key in ("edges", "mesh_to_skel_map", "root", "vertices"):
        out[key] = stored[key]
    if version >= 2:
        # vertex properties, in the order the service adds them (radius, then compartment)
        if "radius" in stored:
            out["radius"] = stored["radius"]
        compartment = stored["compartment"]
        out["compartment"] = [float(c) for c in compartment] if version == 2 else compartment
    if version >= 4:
        out["lvl2_ids"] = stored["lvl2_ids"]
    return out


def json_skeleton(stored: dict, version: int) -> dict:
    """The service's ``json`` format (_skeleton_to_json): the arrays and derived points."""
    flat = flatdict(stored, version)
    properties = {k: flat[k] for k in ("radius", "compartment") if k in flat}
    radius = {"radius": flat["radius"]} if "radius" in flat else {}
    return {
        "jsonification_version": "1.0",
        "branch_points": measure.branch_points(stored).tolist(),
        "distance_to_root": (measure.distance_to_soma_um(stored) * 1000).tolist(),
        "edges": flat["edges"],
        "end_points": measure.end_points(stored).tolist(),
        "mesh_to_skel_map": flat["mesh_to_skel_map"],
        "meta": flat["meta"],
        **radius,
        "root": flat["root"],
        "vertex_properties": properties,
        "vertices": flat["vertices"],
    }


def arrays(stored: dict, version: int) -> dict:
    full = json_skeleton(stored, version)
    return {k: full[k] for k in ("vertices", "vertex_properties", "edges")}


def precomputed(stored: dict, version: int) -> bytes:
    """Neuroglancer's precomputed skeleton: counts, float32 vertices, uint32 edges, attributes."""
    vertices = np.asarray(stored["vertices"], dtype="<f4")
    edges = np.asarray(stored["edges"], dtype="<u4")
    parts = [np.array([len(vertices), len(edges)], dtype="<u4").tobytes()]
    parts += [vertices.tobytes(), edges.tobytes()]
    for name, dtype in _ATTRIBUTES[version]:
        if name == "radius":
            values = np.asarray(stored.get("radius", np.full(len(vertices), FALLBACK_RADIUS_NM)))
        else:
            values = np.asarray(stored["compartment"])
        parts.append(values.astype("<" + np.dtype(dtype).str[1:]).tobytes())
    return b"".join(parts)


def _compact(obj) -> bytes:
    # SkeletonService.compressDictToBytes drops every space of the JSON text.
    return json.dumps(obj).replace(" ", "").encode()


def render(s, root: int, version: int, output_format: str) -> Reply:
    morphology = morphology_of(s)
    stored = morphology.skeleton(root)
    if output_format == "flatdict":
        return _octets(_gzip(_compact(flatdict(stored, version))))
    if output_format == "json":
        return json_reply(json_skeleton(stored, version))
    if output_format == "jsoncompressed":
        return _octets(_gzip(_compact(json_skeleton(stored, version))))
    if output_format == "arrays":
        return json_reply(arrays(stored, version))
    if output_format == "arrayscompressed":
        return _octets(_gzip(_compact(arrays(stored, version))))
    if output_format == "swc":
        return _octets(morphology.swc(root).encode())
    if output_format == "swccompressed":
        return _octets(_gzip(morphology.swc(root).encode()))
    if output_format == "precomputed":
        return _octets(precomputed(stored, version))
    if output_format in ("none", "meshwork_none"):
        return json_reply(f"The sample's skeleton of {root} exists already; nothing to generate.")
    if output_format in ("h5", "meshwork"):
        raise ServiceError(
            400,
            f"output format {output_format!r} is not served by the sample (it holds no "
            "mesh and writes no HDF5); ask for 'flatdict', 'json', 'swc' or 'precomputed', "
            "or use MICRONS_MODE=live with a CAVE token.",
        )
    raise ServiceError(400, f"Unknown output format: {output_format}")


def _root_in_sample(s, rid) -> int:
    return morphology_of(s).require(rid)


def _roots(text: str) -> list[int]:
    return integer_ids(text, "root_ids")


def _all_in_sample(s, rids: list[int]) -> None:
    roots = morphology_of(s).roots
    others = [r for r in rids if r not in roots]
    if others:
        raise ServiceError(
            404,
            not_in_sample(others[0], roots)
            if len(others) == 1
            else (
                f"roots {', '.join(map(str, others))} are not in the sample. "
                + not_in_sample(others[0], roots).split(": ", 1)[1]
            ),
        )


# -- routes ---------------------------------------------------------------------------------------


@route("GET", _SK + r"/version")
def server_version(s, **_):
    return json_reply(SKELETON_SERVER_VERSION)


@route("GET", _SK + r"/versions")
def skeleton_versions(s, **_):
    return json_reply([-1, 0, *SKELETON_VERSIONS])


def _info(version: int) -> dict:
    return {
        "@type": "neuroglancer_skeletons",
        "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0],
        "vertex_attributes": [
            {"id": name, "data_type": dtype, "num_components": 1}
            for name, dtype in _ATTRIBUTES[version]
        ],
    }


@route("GET", _DS + r"/precomputed/skeleton/info")
def skeleton_info(s, ds, **_):
    _check_datastack(s, ds)
    return json_reply(_info(NEUROGLANCER))


@route("GET", _DS + r"/precomputed/skeleton/" + _SKVN + r"/info")
def skeleton_info_versioned(s, ds, skvn, **_):
    _check_datastack(s, ds)
    return json_reply(_info(_version(skvn)))


@route(
    "GET",
    _DS + r"/(?:precomputed/skeleton|async/get_skeleton)/" + _SKVN + r"/(?P<rid>\d+)/(?P<fmt>\w+)",
)
def get_skeleton(s, ds, skvn, rid, fmt, **_):
    _check_datastack(s, ds)
    version = _version(skvn)
    return render(s, _root_in_sample(s, rid), version, fmt)


@route("GET", _DS + r"/(?:precomputed/skeleton|async/get_skeleton)/" + _SKVN + r"/(?P<rid>\d+)")
def get_skeleton_precomputed(s, ds, skvn, rid, **_):
    _check_datastack(s, ds)
    return render(s, _root_in_sample(s, rid), _version(skvn), "precomputed")


def _bulk_entry(s, root: int, version: int, fmt: str) -> str:
    """One skeleton of a bulk answer: hex text, as the service sends it."""
    stored = morphology_of(s).skeleton(root)
    if fmt == "flatdict":
        data = _gzip(_compact(flatdict(stored, version)))
    elif fmt in ("json", "jsoncompressed"):
        data = _gzip(_compact(json_skeleton(stored, version)))
    elif fmt in ("swc", "swccompressed"):
        data = morphology_of(s).swc(root).encode()  # not compressed in bulk (the service's way)
    else:
        raise ServiceError(400, f"Unknown output format for bulk skeletons: {fmt}")
    return binascii.hexlify(data).decode("ascii")


@route(
    "GET", _DS + r"/bulk/get_skeletons/" + _SKVN + r"/(?P<fmt>\w+)/(?P<gms>\w+)/(?P<rids>[\d,]+)"
)
def get_bulk_skeletons(s, ds, skvn, fmt, rids, **_):
    _check_datastack(s, ds)
    version = _version(skvn)
    roots = _roots(rids)[:10]  # the service's MAX_BULK_SYNCHRONOUS_SKELETONS
    _all_in_sample(s, roots)
    return json_reply({str(r): _bulk_entry(s, r, version, fmt) for r in roots})


@route("POST", _DS + r"/bulk/get_cached_skeletons/" + _SKVN + r"/(?P<fmt>\w+)")
def get_cached_skeletons(s, ds, skvn, fmt, raw, **_):
    _check_datastack(s, ds)
    version = _version(skvn)
    roots = integer_ids(json_object(raw).get("root_ids", []), "root_ids")
    if len(roots) > 500:
        raise ServiceError(
            400, f"Too many root IDs requested: {len(roots)}. Maximum allowed is 500."
        )
    _all_in_sample(s, roots)
    return json_reply({str(r): _bulk_entry(s, r, version, fmt) for r in roots})


def _exists(s, roots: list[int]):
    have = morphology_of(s).roots
    if len(roots) == 1:
        return roots[0] in have  # one root: one bool, as the service answers
    return {str(r): r in have for r in roots}


@route("POST", _DS + r"/precomputed/skeleton/exists")
def skeletons_exist(s, ds, raw, **_):
    _check_datastack(s, ds)
    body = json_object(raw)
    _version(body.get("skeleton_version", LATEST))
    roots = integer_ids(body.get("root_ids", []), "root_ids")
    return json_reply(_exists(s, roots))


@route("GET", _DS + r"/precomputed/skeleton/exists/" + _SKVN + r"/(?P<rids>[\d,]+)")
def skeletons_exist_get(s, ds, skvn, rids, **_):
    _check_datastack(s, ds)
    _version(skvn)
    return json_reply(_exists(s, _roots(rids)))


@route("POST", _DS + r"/bulk/gen_skeletons")
def generate_bulk(s, ds, raw, **_):
    # The answer is the service's estimate in seconds; the sample's skeletons are ready.
    _check_datastack(s, ds)
    roots = integer_ids(json_object(raw).get("root_ids", []), "root_ids")
    _all_in_sample(s, roots)
    return Reply(200, b"0.0", content_type="text/plain")


@route("POST", _DS + r"/bulk/get_skeleton_token/" + _SKVN)
def skeleton_token(s, **_):
    raise ServiceError(
        404,
        "the sample has no storage bucket to hand a token for: use fetch_skeletons(..., "
        "method='server'), or MICRONS_MODE=live with a CAVE token for method='gcs'.",
    )
