"""Shared pytest fixtures."""

import os
import socket

import pytest

from microns_helpers import recording
from microns_helpers.sample import SampleService

# The site build (one per session) and the `built_site` fixture of the site checks.
pytest_plugins = ["tests.site_build"]

# Filled by test_hostile_inputs.py and test_recorder_safety.py; printed at the end.
# "lost": a recording, manifest or notebook damaged, or a file written where it must not be
# (outside the recordings folder, a .partial left behind).
# "5xx": answers of the sample service to malformed requests that were server errors.
HOSTILE_TALLY = {"tried": 0, "own": 0, "raw": 0, "leaks": 0, "lost": 0, "5xx": 0}


def pytest_terminal_summary(terminalreporter):
    t = HOSTILE_TALLY
    if t["tried"]:
        terminalreporter.write_line(
            f"hostile inputs: {t['tried']} tried, {t['own']} clear (our own error, or "
            f"handled), {t['raw']} raw tracebacks, {t['leaks']} leaks, "
            f"{t['lost']} lost or misplaced files, {t['5xx']} 5xx from the sample service"
        )


@pytest.fixture(scope="session")
def sample_service():
    """A running sample service (the late-2026 configuration, sample data)."""
    with SampleService() as s:
        yield s


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh HOME and none of the developer's CAVE_TOKEN / MICRONS_* settings, in live mode.

    The mode the process was in (``make test`` imports in replay) comes back afterwards,
    whatever the test switched to.
    """
    home = tmp_path / "home"
    home.mkdir()
    with recording.using("live"):
        monkeypatch.setenv("HOME", str(home))
        for name in list(os.environ):
            if name == "CAVE_TOKEN" or name.startswith("MICRONS_"):
                monkeypatch.delenv(name)
        yield home
        monkeypatch.undo()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
