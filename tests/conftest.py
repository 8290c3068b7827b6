"""Shared pytest fixtures."""

import os
import socket

import pytest

from microns_helpers import recording
from tests.standin import StandIn

# The site build (one per session) and the `built_site` fixture of the site checks.
pytest_plugins = ["tests.site_build"]


@pytest.fixture(scope="session")
def standin():
    """A running loopback stand-in of the CAVE services (sample data, default options)."""
    with StandIn() as s:
        yield s


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh HOME and none of the developer's CAVE_TOKEN / MICRONS_* settings, in live mode."""
    previous_mode = recording.active_mode()
    recording.activate("live")  # MICRONS_MODE of `make test` switched the import to replay
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in list(os.environ):
        if name == "CAVE_TOKEN" or name.startswith("MICRONS_"):
            monkeypatch.delenv(name)
    yield home
    monkeypatch.undo()
    recording.activate(previous_mode)  # connect() may have switched the process's mode


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
