"""``microns-helpers doctor``: is this machine ready for the book? One line per check.

Example::

    $ MICRONS_MODE=offline microns-helpers doctor
    ✓ Python 3.11.9
    ✓ caveclient 8.2.1 (01_setup)
    ✓ requests 2.34.2 (troubleshooting)
    ...
    ✓ offline: connect() answers from recordings and sample data
    ✓ offline: no token needed

One line per package the chapters import (:data:`CHAPTER_PACKAGES`, with the first
chapter that imports it), then the settings, then what the mode needs: offline and replay
need no token; live needs a token the server accepts.

It reads every setting :func:`~microns_helpers.connect` reads (``MICRONS_MODE``,
``MICRONS_VERSION``, ``MICRONS_TIMEOUT``, ``MICRONS_RECORDINGS``, ``CAVE_TOKEN``), says what
each is, and a bad one is a ✗ line, not a crash. It writes nothing, in any mode, and leaves
the process in the mode it found. Exit status 1 when something blocks the chosen mode,
else 0. In offline and replay mode the live checks run only when a server is named.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import platform
import sys
import time
from dataclasses import dataclass

from . import modes
from .client import DEFAULT_DATASTACK, DEFAULT_VERSION
from .errors import (
    MicronsHelpersError,
    NoTokenError,
    TokenRejectedError,
    VersionExpiredError,
    VersionNotAvailableError,
)

# The longest the doctor waits for each answer: it should say "no" quickly.
DOCTOR_TIMEOUT = 3.0
# caveclient versions whose `client.materialize.version = N` can recurse: 5.17.1 to 5.23.0,
# fixed in 5.24.0 (tests/test_caveclient_matrix.py reproduces it on the releases between).
_RECURSION_BUG = ((5, 17, 1), (5, 24, 0))
_WHERE = {"version=": "--version", "MICRONS_VERSION": "MICRONS_VERSION", "default": "the default"}

# What the chapters import, one line each: module -> (distribution, the first chapter that
# imports it[, and for an optional extra the requirements file that installs it]).
# tests/test_doctor.py checks it against the chapters' code cells,
# so a chapter that imports something new fails that test until it adds its line here, e.g.
#     "scipy.spatial": ("scipy", "11_skeletons"),
CHAPTER_PACKAGES = {
    "caveclient": ("caveclient", "01_setup"),
    "requests": ("requests", "troubleshooting"),
    "numpy": ("numpy", "02_basics"),
    "pandas": ("pandas", "05_synapses"),
    "matplotlib": ("matplotlib", "05_synapses"),
    "standard_transform": ("standard_transform", "09_space"),
    "dask.dataframe": ("dask", "10_bulk"),
    "duckdb": ("duckdb", "10_bulk"),
    "scipy.spatial": ("scipy", "11_skeletons"),
    "nglui": ("nglui", "12_neuroglancer", "requirements-neuroglancer.txt"),
}
# The Pythons the tests run the learner install on (tools/check_python.py says the same).
TESTED_PYTHONS = ((3, 10), (3, 13))
# What runs the chapters without being imported by them (found, not imported: slow).
RUNS_THE_CHAPTERS = {"jupyterlab": "jupyterlab", "ipykernel": "ipykernel"}
_INSTALL = "python -m pip install -r requirements-learner.txt"


@dataclass
class Check:
    """One line of the report. ``counts`` is False for what the mode does not need."""

    ok: bool
    text: str
    counts: bool = True
    optional: bool = False  # an optional package: informational, whatever the mode
    neutral: bool = False  # neither ✓ nor ✗: an optional extra that is not installed


def add_arguments(parser) -> None:
    """Add the doctor's options to an argparse parser."""
    parser.add_argument(
        "--server-address",
        default=None,
        help=f"CAVE global server to check (default: {modes.PUBLIC_GLOBAL})",
    )
    parser.add_argument(
        "--datastack", default=DEFAULT_DATASTACK, help=f"default: {DEFAULT_DATASTACK}"
    )
    parser.add_argument(
        "--version",
        default=None,
        help=f"materialization version to check (default: MICRONS_VERSION or {DEFAULT_VERSION})",
    )


def run(args) -> int:
    """Print the checks; return 1 if one that counts failed, else 0."""
    # The lines below say the mode and where answers come from; the mode's own notices
    # (offline flags each answer of the sample on stderr) would only repeat them.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        checks = list(diagnose(args.datastack, args.version, args.server_address))
    yes, no, neutral = _marks(sys.stdout)
    for check in checks:
        print(f"{neutral if check.neutral else yes if check.ok else no} {check.text}")
    blocked = any(not c.ok and c.counts for c in checks)
    if any(not c.counts and not c.optional for c in checks):
        print("Offline and replay need no token or network: the live lines are informational.")
    if blocked:
        print("Something above needs fixing first; each line says what to do.")
    return 1 if blocked else 0


def diagnose(datastack, version=None, server_address=None):
    """Yield the checks, in the order they are printed; the process's mode is left as it was.

    Four phases: what is installed, the settings, the mode without a network (offline and
    replay), and what live use needs. A phase that finds a blocker ends the report.
    """
    with modes.restored():
        caveclient = yield from _installed()
        settings = yield from _settings(version)
        if caveclient is None or settings is None:
            return
        mode, version, where, timeout = settings
        if mode in ("offline", "replay"):
            yield from _without_network(datastack, version, mode, timeout)
            if server_address is None:
                # Offline and replay promise no network: the live checks run only when asked.
                yield Check(
                    True,
                    f"live checks skipped in {mode} mode: run MICRONS_MODE=live microns-helpers "
                    "doctor to check the token, the server and the version",
                )
                return
        yield from _live(datastack, version, where, server_address, timeout, mode)


def _installed():
    """Python, caveclient, then every package of CHAPTER_PACKAGES and RUNS_THE_CHAPTERS;
    returns caveclient, or None if it cannot be imported."""
    from . import _compat
    from .client import import_caveclient

    # pip refuses to install the package on a Python below requires-python; a newer one
    # than the tests run may work, and is said (informational: it blocks nothing).
    found = platform.python_version()
    oldest, newest = (".".join(map(str, v)) for v in TESTED_PYTHONS)
    if TESTED_PYTHONS[0] <= sys.version_info[:2] <= TESTED_PYTHONS[1]:
        yield Check(True, f"Python {found}")
    else:
        yield Check(
            False,
            f"Python {found} is not one the book is tested on ({oldest} to {newest}): if a "
            f"chapter fails, make the environment with python{newest}",
            counts=False,
            optional=True,
        )
    try:
        caveclient = import_caveclient()
    except MicronsHelpersError as err:
        caveclient = None
        yield Check(False, str(err))
    else:
        chapter = CHAPTER_PACKAGES["caveclient"][1]
        yield Check(True, f"caveclient {caveclient.__version__} ({chapter})")
    for module, (distribution, chapter, *extra) in CHAPTER_PACKAGES.items():
        if module != "caveclient":
            yield _package(module, distribution, chapter, extra, importlib.import_module)
    for module, distribution in RUNS_THE_CHAPTERS.items():
        yield _package(module, distribution, "every chapter", False, _found)
    if caveclient is not None:
        low, high = _RECURSION_BUG
        installed = caveclient.__version__
        if low <= _compat.version_tuple(installed) < high:
            text = (
                f"caveclient {installed} has the RecursionError of "
                "`client.materialize.version = N` (5.17.1-5.23.0); connect() works around it"
            )
        else:
            text = f"caveclient {installed} does not have the RecursionError (5.17.1-5.23.0)"
        yield Check(True, text)
    return caveclient


def _found(module):
    if importlib.util.find_spec(module) is None:
        raise ModuleNotFoundError(f"No module named {module!r}")


def _package(module, distribution, chapter, extra, load):
    """One line: the distribution's version and who needs it, or what to do."""
    from ._compat import installed_version

    try:
        load(module)
    except Exception as err:  # a missing package, or one whose binary part is broken
        if extra:
            # not a fault: the learner install leaves it out on purpose
            return Check(
                True,
                f"{distribution} not installed: optional, only {chapter} needs it "
                f"(python -m pip install -r {extra[0]})",
                counts=False,
                optional=True,
                neutral=True,
            )
        return Check(
            False,
            f"{distribution} cannot be imported ({_first_line(err)}), and {chapter} needs it: "
            f"{_INSTALL}",
        )
    return Check(True, f"{distribution} {installed_version(distribution) or '?'} ({chapter})")


def _settings(version):
    """The settings connect() reads; returns (mode, version, where, timeout), or None if one
    of them is bad."""
    from .client import chosen_version, request_timeout

    ok = True
    try:
        mode = modes.current_mode()
    except MicronsHelpersError as err:
        mode, ok = None, False
        yield Check(False, str(err))
    else:
        needs = " (no network needed)" if mode in ("offline", "replay") else ""
        yield Check(True, f"mode: {mode}{needs}")
    try:
        version, where = chosen_version(version)
    except MicronsHelpersError as err:
        version, where, ok = None, None, False
        yield Check(False, str(err))
    else:
        yield Check(True, f"version: {version}, from {_WHERE[where]}")
    try:
        timeout = min(request_timeout(), DOCTOR_TIMEOUT)
    except MicronsHelpersError as err:
        timeout, ok = DOCTOR_TIMEOUT, False
        yield Check(False, str(err))
    if mode in ("offline", "replay"):
        try:
            modes.check_folder(mode, modes.recordings_dir())  # a file, or nothing?
        except MicronsHelpersError as err:
            ok = False
            yield Check(False, str(err))
    return (mode, version, where, timeout) if ok else None


def _without_network(datastack, version, mode, timeout):
    """Offline and replay: does connect() answer (recordings first, then the sample data)?"""
    from .client import connect_with_timeout

    try:
        with modes.using(mode):
            connect_with_timeout(
                datastack, version, server_address=None, token=None, mode=mode, timeout=timeout
            )
    except Exception as err:  # any failure here is what a learner's first cell would meet
        yield Check(False, f"{mode}: connect() fails: {_first_line(err)}")
    else:
        yield Check(True, f"{mode}: connect() answers from recordings and sample data")
        yield Check(True, f"{mode}: no token needed")


def _live(datastack, version, where, server_address, timeout, mode):
    """The token, the server and the version (never recorded: the doctor writes nothing).

    In offline and replay mode these lines are informational (they do not count)."""
    from .client import checked_address, connect_with_timeout, find_token
    from .failures import TOKEN_SOURCE_WORDS

    live_counts = mode not in ("offline", "replay")
    try:
        server = checked_address(server_address)  # 'htp:/x' is a typo, not a network problem
        _, found = find_token(None, server)
    except MicronsHelpersError as err:
        yield Check(False, str(err), live_counts)
        return
    answered, text = _server_answers(server, timeout)
    yield Check(answered, text, live_counts)
    label = f"version {version} ({_WHERE[where]}) of {datastack}"
    token_in = f"the CAVE token in {TOKEN_SOURCE_WORDS.get(found, found)}"
    # Said only when the server answered past the token check.
    accepted = Check(True, f"{token_in} is accepted", live_counts)
    token_accepted = [] if found == "nowhere" else [accepted]
    if found == "nowhere":
        yield Check(
            False,
            "no CAVE token found: set CAVE_TOKEN, or run client.auth.setup_token(make_new=True) "
            'then client.auth.save_token(token="...")',
            live_counts,
        )
    if not answered:
        if found != "nowhere":
            yield Check(False, f"{token_in}: not checked (server unreachable)", live_counts)
        yield Check(False, f"{label}: not checked (server unreachable)", live_counts)
        return
    try:
        with modes.using("live"):
            connect_with_timeout(
                datastack, version, server_address=server, token=None, mode="live", timeout=timeout
            )
    except NoTokenError:
        yield Check(False, f"{label}: not checked (no token)", live_counts)
    except TokenRejectedError as err:
        yield Check(False, f"{token_in}: {err}", live_counts)
        yield Check(False, f"{label}: not checked (see the token line)", live_counts)
    except VersionExpiredError as err:
        yield from token_accepted
        since = f" on {err.expired_on:%Y-%m-%d}" if err.expired_on else ""
        yield Check(
            False,
            f"{label} has expired{since}; use a long-term version, e.g. MICRONS_VERSION="
            f"{DEFAULT_VERSION}",
            live_counts,
        )
    except VersionNotAvailableError as err:
        yield from token_accepted
        yield Check(False, f"{label} is unknown to the server: {err}", live_counts)
    except MicronsHelpersError as err:
        yield Check(False, f"{label}: {err}", live_counts)
    else:
        yield from token_accepted
        yield Check(True, f"{label} is valid", live_counts)


def _server_answers(server, timeout):
    """(True, text) if the server sends any HTTP answer to the first request caveclient makes."""
    import requests

    from .failures import captive_portal, network_failure, origin

    started = time.perf_counter()
    try:
        with modes.using("live"):
            answer = requests.get(f"{server}/info/version", timeout=timeout, allow_redirects=False)
    except requests.RequestException as err:
        return False, (
            f"server {origin(server)} does not answer ({network_failure(err, timeout)}); "
            "check the network, or work without one: MICRONS_MODE=offline"
        )
    portal = captive_portal(answer)
    if portal:
        return False, (
            f"server {origin(server)}: the network answers in its place ({portal}); open a "
            "browser, sign in to the network, then run the doctor again"
        )
    ms = (time.perf_counter() - started) * 1000
    return True, f"server {origin(server)} answers (HTTP {answer.status_code}, {ms:.0f} ms)"


def _first_line(err):
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def _marks(stream):
    """✓, ✗ and – (an optional extra left out), or OK, NO and -- where the output cannot
    encode them (a Windows console)."""
    try:
        "✓✗–".encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "OK", "NO", "--"
    return "✓", "✗", "–"


__all__ = ["Check", "add_arguments", "diagnose", "run"]
