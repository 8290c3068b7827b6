"""The global services of the sample: info (datastacks), schema and auth.

On the real deployment these answer at ``global.daf-apis.com``; the sample serves them on
its one port beside the local services.
"""

from __future__ import annotations

import re

from .routing import Router, ServiceError, error, json_reply

router = Router()
route = router.route

_DS = r"(?P<ds>[^/]+)"


# A datastack name with a version in it (``minnie65_public_v117``): older public code uses
# such names, but the info service lists none (no such datastack is published), so the sample
# refuses it with the name and version to use instead.
_VERSIONED_NAME = re.compile(r"(?P<base>.+)_v(?P<version>[0-9]+)")


def check_datastack(s, ds: str):
    if ds in s.datastacks:
        return
    versioned = _VERSIONED_NAME.fullmatch(ds)
    if versioned and versioned["base"] in s.datastacks:
        base, version = versioned["base"], versioned["version"]
        raise ServiceError(
            404,
            f"datastack {ds} not found: versions are not part of the datastack's name. Use "
            f"datastack {base} with version={version}, e.g. "
            f"CAVEclient('{base}', version={version}) or connect('{base}', version={version}).",
        )
    raise ServiceError(404, f"datastack {ds} not found")


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
    check_datastack(s, ds)
    info = dict(s.data.datastack_info)
    info["local_server"] = s.local_server or s.url
    return json_reply(info)


# -- the segmentation's info (the chunkedgraph's, read by caveclient and cloud-volume) ------------

# What caveclient reads (the layer count: suggest_latest_roots stops 4 layers below it; the
# base resolution) and what cloud-volume reads to open the segmentation as a graphene volume
# (cloud-volume 12.15.2: GrapheneMetadata and the precomputed metadata under it): the API
# versions, the graph's layers and bits, and a precomputed image description. None of these
# values was published for minnie65: they are the sample's, chosen to hold its coordinates
# (x up to ~400,000 and y up to ~300,000 voxels of 4 nm, z up to ~28,000 sections of 40 nm).
# ``data_dir`` (where the watershed's chunks would be) points at this service, which has
# none: cloud-volume asks it only for an optional provenance file, and gets a 404.
# every public root id has layer 12 in its top 8 bits (864691135808473885 >> 56)
SEGMENTATION_LAYERS = 12
SEGMENTATION_INFO = {
    "app": {"supported_api_versions": [0, 1]},
    "type": "segmentation",
    "data_type": "uint64",
    "num_channels": 1,
    "graph": {
        "n_layers": SEGMENTATION_LAYERS,
        "chunk_size": [256, 256, 512],
        "n_bits_for_layer_id": 8,
        "cv_mip": 0,
        "bounding_box": [2048, 2048, 512],
        "spatial_bit_masks": {str(layer): 10 for layer in range(1, 13)},
    },
    "scales": [
        {
            "key": "8_8_40",
            "resolution": [8, 8, 40],
            "voxel_offset": [0, 0, 0],
            "size": [224_000, 160_000, 28_000],
            "chunk_sizes": [[256, 256, 32]],
            "encoding": "compressed_segmentation",
            "compressed_segmentation_block_size": [8, 8, 8],
        }
    ],
    "mesh": "graphene_meshes",
    "mesh_metadata": {"uniform_draco_grid_size": 21.0, "unsharded_mesh_dir": "dynamic"},
    "sharded_mesh": True,
    "verify_mesh": False,
    "about": "sample service: segmentation info made for the sample, not the real one",
}
# Under this path the sample serves nothing: a reader of the watershed gets 404s.
WATERSHED_PATH = "/segmentation/sample-watershed"


@route("GET", r"/segmentation/table/(?P<table_id>[^/]+)/info")
def segmentation_info(s, table_id, **_):
    expected = s.data.datastack_info["segmentation_source"].rstrip("/").split("/")[-1]
    if table_id != expected:
        raise ServiceError(404, f"table {table_id} not found")
    # The address the client used (the public one, offline): the same host it already reaches.
    base = (s.local_server or s.url).rstrip("/")
    return json_reply({**SEGMENTATION_INFO, "data_dir": base + WATERSHED_PATH})


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
        raise ServiceError(404, f"schema {name} not found")
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
