"""What every service module of the sample shares: replies, refusals and a route table.

Each CAVE service of the sample (``info``, ``materialize``, ``chunkedgraph``, ``l2cache``,
``skeletons``) is a module with one :class:`Router`; ``server.SampleService`` mounts them
all on one port. A handler takes the service and the parts of the request it needs::

    router = Router()

    @router.route("GET", r"/materialize/version")
    def server_version(s, **_):
        return json_reply(s.materialize_server_version)

and returns a :class:`Reply`, or raises :class:`ServiceError` for a refusal the real
service would give (its status and message). A handler that reads a body parses ``raw``
with :func:`parse_json` or :func:`json_object`: undecodable JSON is a 400 there, never
an empty body.
"""

from __future__ import annotations

import json
import re


class ServiceError(Exception):
    """A request the real service would refuse; carries the HTTP status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Reply:
    def __init__(self, status=200, body=b"", content_type="application/json", headers=()):
        self.status, self.body, self.content_type = status, body, content_type
        self.headers = list(headers)


def json_reply(obj, status=200) -> Reply:
    return Reply(status, json.dumps(obj).encode())


def error(status, message) -> Reply:
    # flask-restx's abort() shape, which the real services use.
    return json_reply({"message": message}, status)


def truthy(value) -> bool:
    """A query-string flag as the services read it (``True``, ``true``, ``1``, ``t``)."""
    return str(value).lower() in ("true", "1", "t", "yes")


class Router:
    """The routes of one service: (method, compiled path pattern, handler)."""

    def __init__(self):
        self.routes: list = []

    def route(self, method: str, pattern: str):
        def register(fn):
            self.routes.append((method, re.compile(pattern + r"/?$"), fn))
            return fn

        return register


def parse_json(raw: bytes):
    """A request body's JSON, or the 400 Flask's ``get_json(force=True)`` gives."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as e:  # undecodable, or nested too deep
        raise ServiceError(400, f"Failed to decode JSON object: {e}") from None


def json_object(raw: bytes) -> dict:
    """A request body that must be a JSON object ({} for none), or a 400 saying so."""
    body = parse_json(raw) if raw else {}
    if not isinstance(body, dict):
        raise ServiceError(400, "the request body must be a JSON object")
    return body


def integer_ids(values, name: str) -> list[int]:
    """A list of integer ids, or a 400 that names the field and the first bad value."""
    if isinstance(values, (str, int)) and not isinstance(values, bool):
        values = [v for v in str(values).split(",") if v.strip()]
    if not isinstance(values, (list, tuple)):
        raise ServiceError(400, f"{name} must be a list of integer ids, not {values!r:.80}")
    ids = []
    for v in values:
        if isinstance(v, bool) or not str(v).strip().isdigit():
            raise ServiceError(400, f"{name}: {v!r:.40} is not an integer id")
        ids.append(int(str(v).strip()))
    return ids
