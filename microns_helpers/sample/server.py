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
import sys
import threading
import time
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, urlsplit

from . import chunkedgraph, info, l2cache, materialize, skeletons, views
from . import state as state_server
from .data import LIVE_HINT, SampleData, load_sample_data
from .routing import ServiceError, error, json_reply

# The services the sample mounts, one module each (a router over the dataset).
SERVICES = (info, materialize, views, chunkedgraph, l2cache, skeletons, state_server)

# caveclient 8 refuses to query a materialization server older than 5.13.0
# (materializationengine.py, method_constraint=">=5.13.0"); the sample answers a version
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
        handler = type("Handler", (_Handler,), {"service": self})
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
# Serving


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that gives up mid-request (a timeout test, a RecursionError) is not news.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes; with Nagle's algorithm on, the body waits for the
    # client's delayed ACK of the headers (~40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True
    service: SampleService  # set on the subclass made by SampleService.start()

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def _serve(self, method):
        s = self.service
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        s._log(method, self.path)
        if s.delay:
            time.sleep(s.delay)
        try:
            reply = self._authorize() or self._dispatch(method, raw)
        except ServiceError as e:
            reply = error(e.status, e.message)
        except Exception as e:  # a bug in the sample service: say so, like a server's 500
            reply = error(500, f"sample service error: {type(e).__name__}: {e}")
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _authorize(self):
        expected = self.service.required_token
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
        for service in SERVICES:
            for m, pattern, fn in service.router.routes:
                match = pattern.match(parts.path)
                if match and m == method:
                    return fn(self.service, args=args, raw=raw, **match.groupdict())
        # Named by its service only: the rest of a path can hold anything, a token included.
        service = "/".join(parts.path.split("/")[:3])
        return error(
            404,
            f"The sample service does not model this {method} route under {service}/ (it "
            f"answers the routes a learner's caveclient reaches; see its dataset README). "
            f"{LIVE_HINT}",
        )
