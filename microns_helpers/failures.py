"""What went wrong while connecting, in the package's words: :func:`explain` turns what
requests and caveclient raise while a client is built into an error of
:mod:`microns_helpers.errors` that says what happened and what to do next.

A captive portal (hotel and campus wifi) is told from a refused token, an unknown datastack
from a typo, an expired version from an unknown one; a failure it does not know stays
caveclient's own (:func:`explain` returns None). Messages name a server by its origin only
(:func:`origin`), never with a user, password, path or token.
"""

from __future__ import annotations

import datetime
import re
from urllib.parse import urljoin, urlsplit

from . import modes
from ._compat import requirement
from .datastack import DEFAULT_DATASTACK, DEFAULT_VERSION, LONG_TERM_VERSIONS
from .errors import (
    MicronsHelpersError,
    NetworkSignInError,
    NoTokenError,
    ServerIncompatibleError,
    ServerUnreachableError,
    TokenRejectedError,
    UnknownDatastackError,
    VersionExpiredError,
    VersionNotAvailableError,
)

TOKEN_COMMANDS = (
    "get one with client.auth.setup_token(make_new=True) and save it with "
    'client.auth.save_token(token="...") (client = caveclient.CAVEclient()), '
    "or set the CAVE_TOKEN environment variable"
)
OFFLINE_HINT = "or work without a network or token: MICRONS_MODE=offline"
# Where find_token() found the token, in words (errors and the doctor); never the token.
TOKEN_SOURCE_WORDS = {
    "argument": "token=...",
    "CAVE_TOKEN": "the CAVE_TOKEN variable",
    "file": "caveclient's secret file",
}


def origin(url: str) -> str:
    """``https://host:port`` of a URL: no user, password, path or query, nothing secret."""
    try:
        parts = urlsplit(str(url))
        host = parts.netloc.rsplit("@", 1)[-1]
    except ValueError:
        return "(an address that cannot be read)"
    if not parts.scheme:
        return host or str(url).rsplit("@", 1)[-1].split("/")[0]
    return f"{parts.scheme}://{host}"


def explain(exc, *, datastack, server_address, token, token_source, timeout):
    """Our error for what went wrong while building the client, or None if it is not ours."""
    import requests
    from caveclient import base

    AuthException = base.AuthException
    # caveclient 5.17 has no ServerIncompatibilityError yet.
    ServerIncompatibilityError = getattr(base, "ServerIncompatibilityError", ())
    token_sent = token_source != "nowhere"
    server = origin(server_address)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        portal = captive_portal(exc.response)
    elif isinstance(exc, AuthException):  # caveclient says so of any redirect: whose was it?
        portal = _probe_for_portal(server_address, timeout)
    else:
        portal = None
    if portal:
        return NetworkSignInError(
            f"The network answered in place of the CAVE server at {server} ({portal}): it "
            "wants you to sign in first, as hotel and campus wifi do. Open a browser, sign in "
            "to the network, then run the doctor again (microns-helpers doctor); "
            f"{OFFLINE_HINT}."
        )
    if isinstance(exc, AuthException) or (
        isinstance(exc, requests.HTTPError)
        and exc.response is not None
        and exc.response.status_code in (401, 403)
    ):
        status = exc.response.status_code if isinstance(exc, requests.HTTPError) else None
        return _auth_error(status, token_source, server) if token_sent else _no_token(server)
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status, url = exc.response.status_code, exc.response.url
        path = urlsplit(url).path
        if status == 404 and "/datastack/full/" in path:
            return _unknown_datastack(datastack, server_address, token, timeout)
        if status >= 500:
            return ServerUnreachableError(
                f"The CAVE server at {origin(url)} answered HTTP {status} to {path}. "
                f"Try again in a few minutes, {OFFLINE_HINT}."
            )
        return ServerIncompatibleError(
            f"The CAVE server at {origin(url)} answered HTTP {status} to {path}, a request "
            "this caveclient needs. Try another caveclient version (pip install --upgrade "
            f"'{requirement('caveclient')}'), {OFFLINE_HINT}."
        )
    if isinstance(exc, (ValueError, KeyError, TypeError)) and _looks_like_bad_answer(exc):
        return ServerIncompatibleError(
            f"The server at {server} answered with something that is not CAVE's data (a web "
            "page, or nothing). On a hotel or campus network this is often a login page: "
            "open a browser, sign in to the network, then run the doctor again "
            f"(microns-helpers doctor); {OFFLINE_HINT}."
        )
    if isinstance(exc, requests.RequestException):
        request = getattr(exc, "request", None)
        where = origin(request.url) if request is not None and request.url else server
        why = network_failure(exc, timeout)
        if why.startswith("no answer"):
            why += " (MICRONS_TIMEOUT sets this limit)"
        return ServerUnreachableError(
            f"Could not reach the CAVE server at {where}: {why}. "
            f"Check your network connection, {OFFLINE_HINT}."
        )
    if isinstance(exc, ServerIncompatibilityError):
        return ServerIncompatibleError(
            f"The CAVE server at {server} is too old for caveclient "
            f"(caveclient says: {str(exc).splitlines()[0]}). "
            f"Install an older caveclient (pip install 'caveclient<8'), {OFFLINE_HINT}."
        )
    return None


def captive_portal(response) -> str | None:
    """How a network's sign-in page answered in place of a CAVE server, or None.

    An HTTP 511 (network authentication required), or a redirect that does not lead to
    CAVE's own login (whose path holds "auth", e.g. /sticky_auth/api/v1/authorize): hotel
    and campus wifi send every request to their page until one signs in.
    """
    status = response.status_code
    if status == 511:
        return "HTTP 511, network sign-in required"
    if 300 <= status < 400 and response.headers.get("Location"):
        target = urljoin(response.url or "", response.headers["Location"])
        if "auth" not in urlsplit(target).path.lower():
            return f"HTTP {status}, a redirect to {origin(target)}"
    return None


def _probe_for_portal(server_address, timeout) -> str | None:
    """Ask the server once more, without following redirects: is a sign-in page in the way?"""
    import requests

    try:
        answer = requests.get(
            f"{server_address}/info/version", timeout=timeout, allow_redirects=False
        )
    except (requests.RequestException, MicronsHelpersError):
        return None
    return captive_portal(answer)


def _looks_like_bad_answer(exc) -> bool:
    """True for the errors caveclient meets when a 200 answer is not the JSON it expects."""
    import json

    import requests

    if isinstance(exc, (json.JSONDecodeError, requests.exceptions.JSONDecodeError)):
        return True
    try:  # a version route that answered JSON which is no version, e.g. {}
        from packaging.version import InvalidVersion

        if isinstance(exc, InvalidVersion):
            return True
    except ImportError:
        pass
    # A JSON answer of the wrong shape: caveclient indexes it and fails.
    return isinstance(exc, (KeyError, TypeError)) or "Expecting value" in str(exc)


def network_failure(exc, timeout: float) -> str:
    """Why a request got no answer, in a few words."""
    import requests
    from urllib3 import exceptions as urllib3_errors

    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    # NewConnectionError subclasses urllib3's ConnectTimeoutError: look at it first.
    if isinstance(reason, urllib3_errors.NewConnectionError):
        if type(reason).__name__ == "NameResolutionError" or "resolve" in str(reason).lower():
            return "the host name could not be resolved"
        if "refused" in str(reason).lower():
            return "the connection was refused"
        return "the connection failed"
    if isinstance(exc, requests.Timeout) or isinstance(reason, urllib3_errors.TimeoutError):
        return f"no answer within {timeout:g} s"
    return "the connection failed"


def _no_token(server_address):
    return NoTokenError(
        f"The CAVE server at {server_address} needs a token and none was found. "
        f"To go live, {TOKEN_COMMANDS}; {OFFLINE_HINT}."
    )


def _auth_error(status, token_source, server_address):
    what = "refused access with" if status == 403 else "rejected"
    said = f"HTTP {status}" if status else "a redirect to the login page"
    return TokenRejectedError(
        f"The CAVE server at {server_address} {what} your CAVE token ({said}; the token came "
        f"from {TOKEN_SOURCE_WORDS[token_source]}). Check it, or get a new one with "
        "client.auth.setup_token(make_new=True) and save it with "
        'client.auth.save_token(token="...", overwrite=True), or set CAVE_TOKEN.'
    )


def _unknown_datastack(datastack, server_address, token, timeout):
    known = _known_datastacks(server_address, token, timeout)
    listed = f" It knows: {', '.join(known)}." if known else ""
    advice = f"Check the spelling, e.g. connect({DEFAULT_DATASTACK!r})."
    # Older public code names the version in the datastack (minnie65_public_v117).
    versioned = re.fullmatch(r"(.+)_v([0-9]+)", str(datastack))
    if versioned and versioned[1] in known:
        advice = (
            f"The version is not part of the datastack's name: use "
            f"connect({versioned[1]!r}, version={versioned[2]})."
        )
    return UnknownDatastackError(
        f"The CAVE info service at {origin(server_address)} does not know the datastack "
        f"{datastack!r}.{listed} {advice}"
    )


def unrecorded_datastack(datastack):
    """In replay, a datastack nobody recorded is most likely a typo: say which ones were."""
    from .cassette import read_manifest

    entries = read_manifest(modes.active_folder() or modes.recordings_dir()).values()
    known = sorted({name for entry in entries for name in entry.get("datastacks", [])})
    listed = f" The recordings know: {', '.join(known)}." if known else ""
    return UnknownDatastackError(
        f"There is no recorded answer for the datastack {datastack!r}.{listed} Check the "
        f"spelling, e.g. connect({DEFAULT_DATASTACK!r})."
    )


def _known_datastacks(server_address, token, timeout):
    """The datastack names the info service lists, or [] if that fails (best effort)."""
    import requests

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = requests.get(
            f"{server_address}/info/api/v2/datastacks", headers=headers, timeout=timeout
        )
        names = answer.json() if answer.ok else []
    except (requests.RequestException, ValueError, MicronsHelpersError):
        return []  # in replay, an unrecorded list is just not shown
    return sorted(n for n in names if isinstance(n, str)) if isinstance(names, list) else []


def _time(value):
    """A datetime from caveclient's metadata (datetime or ISO text), or None."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    try:
        moment = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def version_not_available(client, version, *, metadata):
    """Our error for a version that serves no data: VersionExpiredError if it had a record."""
    try:
        available = sorted(int(v) for v in client.materialize.get_versions())
    except Exception:  # the list is a courtesy; the error stands without it
        available = []
    newest = available[-1] if available else None
    long_term = ", ".join(str(v) for v in LONG_TERM_VERSIONS)
    if metadata is None:
        example = DEFAULT_VERSION if DEFAULT_VERSION in available or not available else newest
        listed = ", ".join(map(str, available)) if available else "none could be listed"
        return VersionNotAvailableError(
            f"Materialization version {version} is not available for {client.datastack_name}. "
            f"Available versions: {listed}. Choose one with connect(version={example}) or "
            f"MICRONS_VERSION={example}.",
            version=version,
            available_versions=available,
        )
    expired_on, stamp = _time(metadata.get("expires_on")), _time(metadata.get("time_stamp"))
    since = f" on {expired_on:%Y-%m-%d}" if expired_on else ""
    newest_text = f"; the newest valid one is {newest}" if newest else ""
    by_time = ""
    if stamp is not None:
        args = ", ".join(
            str(n)
            for n in (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
        )
        by_time = (
            f" Its data can still be read by its time stamp, more slowly: "
            f"client.materialize.query_table(..., timestamp=datetime({args}, "
            f"{stamp.microsecond}, tzinfo=timezone.utc))."
        )
    return VersionExpiredError(
        f"Materialization version {version} of {client.datastack_name} expired{since}: the "
        f"server keeps its record but no longer serves its data. Use a long-term version "
        f"({long_term}; they do not expire){newest_text}, e.g. "
        f"connect(version={DEFAULT_VERSION}).{by_time}",
        version=version,
        available_versions=available,
        expired_on=expired_on,
        time_stamp=stamp,
    )
