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
