"""A loopback stand-in of the CAVE services, serving a small sample of minnie65_public.

from tests.standin import StandIn
with StandIn() as s:
    s.url        # http://127.0.0.1:<port>, global and local routes on one port
    s.requests   # [(method, path_with_query), ...]
"""

from .server import StandIn

__all__ = ["StandIn"]
