"""Requests per second to the sample service on one keep-alive connection, offline.

A small request (``GET /materialize/api/v3/datastack/minnie65_public/versions``) repeated on
one ``requests.Session``, as caveclient sends them. Measured twice in this process: with the
service as shipped (``TCP_NODELAY`` on its sockets), and with Nagle's algorithm back on,
which is how the service answered before: headers and body left in two writes, the second
held until the client's delayed ACK (about 40 ms on Linux) for every request.

Target: at least 200 requests per second as shipped.

    python benchmarks/bench_requests.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from table import print_table, row  # noqa: E402

MIN_REQUESTS_PER_S = 200
ROUTE = "/materialize/api/v3/datastack/minnie65_public/versions"


def requests_per_second(nagle: bool, seconds: float = 1.0) -> float:
    """Requests per second on one keep-alive connection; ``nagle`` turns Nagle's algorithm on."""
    import requests

    from microns_helpers.sample import server

    with server.SampleService() as service, requests.Session() as session:
        # The handler class of this service alone; socketserver reads it for each connection.
        service._server.RequestHandlerClass.disable_nagle_algorithm = not nagle
        session.get(service.url + ROUTE).raise_for_status()  # connect and warm up
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            session.get(service.url + ROUTE).raise_for_status()
            count += 1
        return count / (time.perf_counter() - start)


def rows() -> list:
    before = requests_per_second(nagle=True)
    after = requests_per_second(nagle=False)
    return [
        row(
            "sample service, requests/s (keep-alive)",
            f"{after:.0f}/s (Nagle on: {before:.0f}/s)",
            f">= {MIN_REQUESTS_PER_S}/s",
            after >= MIN_REQUESTS_PER_S,
        )
    ]


if __name__ == "__main__":
    sys.exit(print_table(rows()))
