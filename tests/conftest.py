"""Shared pytest fixtures."""

import os

import pytest

from microns_helpers import modes
from microns_helpers.sample import SampleService
from tests.helpers import HOSTILE_TALLY

# The record of `make site` (tests/site_build.py) and the `built_site` fixture of the site checks.
pytest_plugins = ["tests.site_build"]

# What must stay zero, whatever each test asserted on its own.
TALLY_FAILURES = ("raw", "leaks", "lost", "5xx")


def tally_problems(tally: dict) -> list[str]:
    """What the session's hostile tally says went wrong: empty when every input tried was
    answered clearly (our own error, or handled) and nothing leaked, was lost or was a 5xx."""
    problems = [f"{tally[key]} {key}" for key in TALLY_FAILURES if tally[key]]
    if tally["own"] != tally["tried"]:
        problems.append(f"{tally['tried']} tried but {tally['own']} answered clearly")
    return problems


def pytest_sessionfinish(session, exitstatus):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: hand the tally to the controller
        workeroutput["hostile_tally"] = dict(HOSTILE_TALLY)
        return
    if HOSTILE_TALLY["tried"] and tally_problems(HOSTILE_TALLY) and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # asserted, not only printed


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist: add a worker's tally to the session's."""
    for key, value in getattr(node, "workeroutput", {}).get("hostile_tally", {}).items():
        HOSTILE_TALLY[key] += value


def pytest_terminal_summary(terminalreporter):
    # The chapters' cells nbval checked in the learner install's kernels (each run's
    # record_property, which pytest-xdist's reports carry to the controller): .ci/run adds
    # them to the count of tests that ran.
    runs = [
        value
        for report in terminalreporter.stats.get("passed", [])
        for name, value in report.user_properties
        if name == "nbval_cells"
    ]
    if runs:
        terminalreporter.write_line(
            f"nbval: {sum(runs)} chapter cells passed in the learner install's kernels "
            f"({len(runs)} chapters)"
        )
    t = HOSTILE_TALLY
    if t["tried"]:
        terminalreporter.write_line(
            f"hostile inputs: {t['tried']} tried, {t['own']} clear (our own error, or "
            f"handled), {t['raw']} raw tracebacks, {t['leaks']} leaks, "
            f"{t['lost']} lost or misplaced files, {t['5xx']} 5xx from the sample service"
        )
        problems = tally_problems(t)
        if problems:
            terminalreporter.write_line(
                "FAILED hostile tally: " + "; ".join(problems), red=True, bold=True
            )


@pytest.fixture(scope="session")
def documented_recording(tmp_path_factory):
    """The documented calls recorded once per run (tests/documented_calls.py): (folder,
    results, token). A pytest-xdist worker's temporary folder is one of the run's, whose
    parent the workers share; without workers the run's own folder."""
    from tests.documented_calls import recorded_once

    base = tmp_path_factory.getbasetemp()
    run_folder = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return recorded_once(run_folder)


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
    with modes.using("live"):
        monkeypatch.setenv("HOME", str(home))
        for name in list(os.environ):
            if name == "CAVE_TOKEN" or name.startswith("MICRONS_"):
                monkeypatch.delenv(name)
        yield home
        monkeypatch.undo()
