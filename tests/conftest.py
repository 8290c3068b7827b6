"""Shared pytest fixtures."""

import pytest

from tests.standin import StandIn


@pytest.fixture(scope="session")
def standin():
    """A running loopback stand-in of the CAVE services (sample data, default options)."""
    with StandIn() as s:
        yield s
