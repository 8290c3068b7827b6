"""``microns-helpers doctor``: is this machine ready for the book? One line per check.

Example::

    $ microns-helpers doctor
    ✓ Python 3.11.9
    ✓ caveclient 8.2.1
    ...
    ✓ version 1078 of minnie65_public is available

Exit status 1 when something blocks live use, else 0. In replay mode the checks
that only live use needs (token, server, version) are shown but do not count.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass

from . import recording
from .client import DEFAULT_DATASTACK, DEFAULT_VERSION
from .errors import MicronsHelpersError, NoTokenError, TokenRejectedError

# Seconds the doctor waits for each answer: it should say "no" quickly.
DOCTOR_TIMEOUT = 3.0
# caveclient versions whose `client.materialize.version = N` can recurse
# (../shared/reference/caveclient.md: 5.17.1 to 5.23.0, fixed in 5.24.0).
_RECURSION_BUG = ((5, 17, 1), (5, 24, 0))


@dataclass
class Check:
    """One line of the report. ``counts`` is False for what the mode does not need."""

    ok: bool
    text: str
    counts: bool = True


def add_arguments(parser) -> None:
    """Add the doctor's options to an argparse parser."""
    parser.add_argument(
        "--server-address",
        default=None,
        help=f"CAVE global server to check (default: {recording.PUBLIC_GLOBAL})",
    )
    parser.add_argument(
        "--datastack", default=DEFAULT_DATASTACK, help=f"default: {DEFAULT_DATASTACK}"
    )
    parser.add_argument(
        "--version",
        type=int,
        default=None,
        help=f"materialization version to check (default: MICRONS_VERSION or {DEFAULT_VERSION})",
    )


def run(args) -> int:
    """Print the checks; return 1 if one that counts failed, else 0."""
    version = DEFAULT_VERSION if args.version is None else args.version
    checks = list(diagnose(args.datastack, version, args.server_address))
    yes, no = _marks(sys.stdout)
    for check in checks:
        print(f"{yes if check.ok else no} {check.text}")
    blocked = any(not c.ok and c.counts for c in checks)
    if any(not c.counts for c in checks):
        print("Replay mode: the token, server and version lines are informational.")
    if blocked:
        print("Something above needs fixing first; each line says what to do.")
    return 1 if blocked else 0


def diagnose(datastack, version, server_address=None, timeout=DOCTOR_TIMEOUT):
    """Yield the checks, in the order they are printed."""
    from .client import _connect, find_token, import_caveclient, version_tuple

    # Python older than 3.9 cannot import this package at all (pyproject: requires-python).
    yield Check(True, f"Python {platform.python_version()}")

    try:
        caveclient = import_caveclient()
    except MicronsHelpersError as err:
        caveclient = None
        yield Check(False, str(err))
    else:
        yield Check(True, f"caveclient {caveclient.__version__}")

    try:
        import pandas
    except ImportError as err:
        yield Check(False, f"pandas could not be imported ({err}); pip install pandas")
    else:
        yield Check(True, f"pandas {pandas.__version__}")

    if caveclient is not None:
        low, high = _RECURSION_BUG
        installed = caveclient.__version__
        if low <= version_tuple(installed) < high:
            text = (
                f"caveclient {installed} has the RecursionError of "
                "`client.materialize.version = N` (5.17.1-5.23.0); connect() works around it"
            )
        else:
            text = f"caveclient {installed} does not have the RecursionError (5.17.1-5.23.0)"
        yield Check(True, text)

    try:
        mode = recording.current_mode()
    except MicronsHelpersError as err:
        yield Check(False, str(err))
        return
    live_counts = mode != "replay"
    yield Check(True, f"mode: {mode}" + ("" if live_counts else " (no token or network needed)"))

    if mode == "replay" and caveclient is not None:
        try:
            _connect(
                datastack, version, server_address=None, token=None, mode="replay", timeout=timeout
            )
        except Exception as err:  # any failure here is what a learner's first cell would meet
            yield Check(False, f"replay: connect() fails: {_first_line(err)}")
        else:
            yield Check(True, "replay: connect() answers from the recorded responses")
        recording.activate("live")  # the checks below are about the real servers
        if server_address is None:
            # Replay promises no network: the live checks run only when asked for a server.
            yield Check(
                True,
                "live checks skipped in replay mode: run MICRONS_MODE=live microns-helpers "
                "doctor to check the token, the server and the version",
            )
            return

    # --- what live use needs --------------------------------------------------------------
    server = (server_address or recording.PUBLIC_GLOBAL).rstrip("/")
    if caveclient is None:
        return
    _, where = find_token(None, server)
    if where == "nowhere":
        yield Check(
            False,
            "no CAVE token found: set CAVE_TOKEN, or run client.auth.setup_token(make_new=True) "
            'then client.auth.save_token(token="...")',
            live_counts,
        )
    else:
        found_in = {"CAVE_TOKEN": "the CAVE_TOKEN variable", "file": "caveclient's secret file"}
        yield Check(True, f"CAVE token found in {found_in[where]}", live_counts)

    answered, text = _server_answers(server, timeout)
    yield Check(answered, text, live_counts)
    label = f"version {int(version)} of {datastack}"
    if not answered:
        yield Check(False, f"{label}: not checked (the server does not answer)", live_counts)
        return
    try:
        _connect(
            datastack, version, server_address=server, token=None, mode="live", timeout=timeout
        )
    except (NoTokenError, TokenRejectedError):
        yield Check(False, f"{label}: not checked (see the token line)", live_counts)
    except MicronsHelpersError as err:
        yield Check(False, f"{label}: {err}", live_counts)
    else:
        yield Check(True, f"{label} is available", live_counts)


def _server_answers(server, timeout):
    """(True, text) if the server sends any HTTP answer to the first request caveclient makes."""
    import requests

    from .client import _network_failure

    started = time.perf_counter()
    try:
        answer = requests.get(f"{server}/info/version", timeout=timeout, allow_redirects=False)
    except requests.RequestException as err:
        return False, (
            f"server {server} does not answer ({_network_failure(err, timeout)}); "
            "check the network, or work offline with MICRONS_MODE=replay"
        )
    ms = (time.perf_counter() - started) * 1000
    return True, f"server {server} answers (HTTP {answer.status_code}, {ms:.0f} ms)"


def _first_line(err):
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"


def _marks(stream):
    """✓ and ✗, or OK and NO where the output cannot encode them (a Windows console)."""
    try:
        "✓✗".encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "OK", "NO"
    return "✓", "✗"


__all__ = ["Check", "add_arguments", "diagnose", "run"]
