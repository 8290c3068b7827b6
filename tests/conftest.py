"""Shared pytest fixtures."""

import pytest

from tests.standin import StandIn

# The site build (one per session) and the `built_site` fixture of the site checks.
pytest_plugins = ["tests.site_build"]


@pytest.fixture(scope="session")
def standin():
    """A running loopback stand-in of the CAVE services (sample data, default options)."""
    with StandIn() as s:
        yield s
