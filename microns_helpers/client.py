"""A CAVEclient init that works on every caveclient from 5.17 on: :func:`connect`.

The MICrONs documentation starts with::

    client = CAVEclient("minnie65_public")
    client.materialize.version = 1078

On caveclient 5.17.1 to 5.23.0 the second line can die with a ``RecursionError``
(the first access to ``client.materialize`` builds a table manager that asks
``client.materialize`` for a reference table while that client does not exist yet).
:func:`connect` makes the same requests, pins the version in one place, and turns
every failure a learner can meet into a short message from
:mod:`microns_helpers.errors`.

Settings read from the environment at each call:

``MICRONS_MODE``     live | replay | record, when ``connect(mode=...)`` is not given.
``MICRONS_VERSION``  the materialization version, when ``connect(version=...)`` is not given.
``MICRONS_TIMEOUT``  seconds each request made by ``connect()`` may take (default
                     :data:`CONNECT_TIMEOUT`); queries made later are not limited.
``CAVE_TOKEN``       the CAVE token, when ``connect(token=...)`` is not given.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import threading
from typing import Tuple
from urllib.parse import urlsplit

from . import recording
from .errors import (
    MicronsHelpersError,
    NoTokenError,
    ServerIncompatibleError,
    ServerUnreachableError,
    TokenRejectedError,
    UnknownDatastackError,
    UnsupportedCaveclientError,
    VersionNotAvailableError,
)

__all__ = ["connect", "find_token", "CONNECT_TIMEOUT", "DEFAULT_DATASTACK", "DEFAULT_VERSION"]


class _DefaultVersion(int):
    """An int that remembers it is connect()'s default, so MICRONS_VERSION may replace it.

    ``connect()`` and ``connect(version=1078)`` are told apart by type: a caller's
    ``1078`` is a plain int, the default is this subclass. It prints as ``1078``.
    """


DEFAULT_DATASTACK = "minnie65_public"
# The version of the MICrONs documentation; the live service no longer lists it
# since 2026 (../shared/data/FACTS.md, "Versions").
DEFAULT_VERSION = _DefaultVersion(1078)
# Seconds each HTTP request made while connect() runs may take (MICRONS_TIMEOUT
# overrides it). caveclient retries a request that times out up to 3 times, so a
# silent server makes connect() fail after about four times this.
CONNECT_TIMEOUT = 10.0
MINIMUM_CAVECLIENT = (5, 17)
# caveclient 8 queries with direct SQL through pandas, which needs a materialization
# server >= 5.13.0 (caveclient 8.2.1, materializationengine.direct_sql_error_msg).
_SERVER_NEEDED_BY_CAVECLIENT_8 = (5, 13, 0)

_TOKEN_COMMANDS = (
    "get one with client.auth.setup_token(make_new=True) and save it with "
    'client.auth.save_token(token="...") (client = caveclient.CAVEclient()), '
    "or set the CAVE_TOKEN environment variable"
)
_REPLAY_HINT = "or work offline with the recorded responses: MICRONS_MODE=replay"

# connect() swaps two names inside caveclient while it builds a client; the lock
# keeps two threads from interleaving those swaps.
_CONNECT_LOCK = threading.Lock()


def connect(
    datastack: str = DEFAULT_DATASTACK,
    version: int = DEFAULT_VERSION,
    *,
    server_address: str | None = None,
    token: str | None = None,
    mode: str | None = None,
):
    """Return a ``caveclient.CAVEclient`` for ``datastack``, pinned to materialization ``version``.

    Works on caveclient 5.17 to the newest. ``version`` defaults to 1078, the version
    of the MICrONs documentation, unless ``MICRONS_VERSION`` is set; a version passed
    here always wins. ``server_address`` defaults to the public global server. The
    token is ``token``, else ``CAVE_TOKEN``, else caveclient's own secret files; it is
    never printed or stored. ``mode`` (live | replay | record) defaults to
    ``MICRONS_MODE``; replay needs no token and no network. Each request made here gives
    up after ``MICRONS_TIMEOUT`` seconds (default 10); later queries have no limit.
    Nothing is written under the home folder.

    Every failure a learner can meet raises a subclass of
    :class:`~microns_helpers.errors.MicronsHelpersError` saying what to do next.

    Example::

        client = connect()
        client.materialize.tables.aibs_metamodel_celltypes_v661(cell_type="BC").query()
    """
    return _connect(
        datastack,
        version,
        server_address=server_address,
        token=token,
        mode=mode,
        timeout=request_timeout(),
    )


def _connect(datastack, version, *, server_address, token, mode, timeout):
    """connect() with an explicit timeout (the doctor uses a short one)."""
    mode = recording.current_mode() if mode is None else mode
    recording.activate(mode)  # before any HTTP: replay and record hook in here
    version = _chosen_version(version)
    caveclient = import_caveclient()
    server_address = (server_address or recording.PUBLIC_GLOBAL).rstrip("/")
    token, token_source = find_token(token, server_address)
    with _CONNECT_LOCK, _requests_time_out_after(timeout):
        try:
            client = caveclient.CAVEclient(
                datastack,
                server_address=server_address,
                auth_token=token,
                # An explicit server_address would otherwise be written to
                # ~/.cloudvolume/secrets/cave_datastack_to_server_map.json.
                write_server_cache=False,
            )
            _pin_version(client, version, caveclient)
        except MicronsHelpersError:
            raise
        except Exception as exc:
            error = _explain(
                exc,
                datastack=datastack,
                server_address=server_address,
                token=token,
                token_source=token_source,
                timeout=timeout,
            )
            if error is None:
                raise
            raise error from None
    _check_server_is_new_enough(client, caveclient)
    return client


# --- choosing the version, the token and the timeout ---------------------------


def _chosen_version(version) -> int:
    """The version to pin: the caller's, else MICRONS_VERSION, else 1078."""
    where = "version"
    if isinstance(version, _DefaultVersion) and os.environ.get("MICRONS_VERSION", "").strip():
        version, where = os.environ["MICRONS_VERSION"].strip(), "MICRONS_VERSION"
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if not isinstance(version, int) or isinstance(version, bool):
        raise VersionNotAvailableError(
            f"{where}={version!r} is not a materialization version. "
            "Use a whole number such as 1078, e.g. connect(version=1078)."
        )
    return int(version)


def find_token(token: str | None = None, server_address: str | None = None):
    """Return ``(token, where)``: the CAVE token connect() will use, and where it was found.

    ``where`` is ``"argument"``, ``"CAVE_TOKEN"``, ``"file"`` (caveclient's secret files
    under ``~/.cloudvolume/secrets``) or ``"nowhere"`` (then ``token`` is None). Show
    ``where`` to people, never the token.

    Example::

        _, where = find_token()
    """
    if token:
        return token, "argument"
    if os.environ.get("CAVE_TOKEN", "").strip():
        return os.environ["CAVE_TOKEN"].strip(), "CAVE_TOKEN"
    from caveclient.auth import AuthClient  # reads the files; makes no request

    found = AuthClient(server_address=server_address or recording.PUBLIC_GLOBAL).token
    return (found, "file") if found else (None, "nowhere")


def request_timeout() -> float:
    """Seconds each request of connect() may take: ``MICRONS_TIMEOUT``, else CONNECT_TIMEOUT."""
    raw = os.environ.get("MICRONS_TIMEOUT", "").strip()
    if not raw:
        return CONNECT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise MicronsHelpersError(
            f"MICRONS_TIMEOUT={raw!r} is not a number of seconds. "
            f"Set it to a positive number such as {CONNECT_TIMEOUT:g}, or unset it."
        )
    return seconds


# --- caveclient itself -----------------------------------------------------------


def version_tuple(text: str) -> Tuple[int, ...]:
    """``"5.23.0"`` -> ``(5, 23, 0)``; pre-release and local suffixes are dropped."""
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def import_caveclient():
    """Import caveclient, or raise UnsupportedCaveclientError if it is missing or too old."""
    try:
        import caveclient
    except Exception as exc:  # ImportError, or a broken dependency (numpy ABI, ...)
        raise UnsupportedCaveclientError(
            f"caveclient could not be imported ({type(exc).__name__}: {exc}). "
            "Install it with pip install 'caveclient>=5.17', then restart Python."
        ) from None
    installed = getattr(caveclient, "__version__", "0")
    if version_tuple(installed) < MINIMUM_CAVECLIENT:
        raise UnsupportedCaveclientError(
            f"caveclient {installed} is older than 5.17, the oldest this book supports. "
            "Upgrade it with pip install --upgrade caveclient, then restart Python."
        )
    return caveclient


def has_version_argument(caveclient) -> bool:
    """True from caveclient 5.24 on, where CAVEclient(version=...) exists and tables are lazy.

    Older ones (5.17.1-5.23.0) build the table manager eagerly and can recurse.
    """
    return "version" in inspect.signature(caveclient.CAVEclient.__new__).parameters


def _pin_version(client, version: int, caveclient) -> None:
    """Set ``client.materialize.version`` without the 5.17.1-5.23.0 RecursionError.

    The version is set on ``client.materialize``, as the documentation does, on every
    caveclient: from 5.24 on, CAVEclient(version=...) would cost one more request
    (the version's timestamp), and a later ``client.materialize.version = N`` from the
    documentation would then raise ValueError.
    """
    old_family = not has_version_argument(caveclient)
    if old_family:
        with _table_manager_deferred(caveclient):
            materialize = client.materialize
    else:
        materialize = client.materialize
    try:
        materialize.version = version
    except ValueError:  # caveclient: "Version not in materialized database"
        raise _version_not_available(client, version, expired=not old_family) from None
    lazy_tables = isinstance(inspect.getattr_static(type(materialize), "tables", None), property)
    if old_family and not lazy_tables:
        # 5.17.1 and 5.17.2 fill a plain `tables` attribute in __init__, which the stub
        # left empty: build it now that client.materialize exists and the version is set.
        from caveclient.tools.table_manager import TableManager

        materialize.tables = TableManager(client)


@contextlib.contextmanager
def _table_manager_deferred(caveclient):
    """While client.materialize is first built, make its eager TableManager a no-op.

    The eager manager is what recurses; with it left empty, 5.18-5.23 build the real
    one on first use of ``client.materialize.tables``, once ``client.materialize``
    exists. ViewManager is left alone: it never calls back into the client, and
    5.18-5.23 cannot build it lazily (their lazy ``views`` raises AttributeError).
    """
    from caveclient import materializationengine

    real = materializationengine.TableManager
    materializationengine.TableManager = lambda *args, **kwargs: None
    try:
        yield
    finally:
        materializationengine.TableManager = real


@contextlib.contextmanager
def _requests_time_out_after(seconds: float):
    """Give every request caveclient makes while connect() runs a timeout of ``seconds``.

    caveclient has no timeout option. All its HTTP goes through ``caveclient.base``,
    which builds one ``requests.Session()`` per service and calls ``requests.get`` once
    per service (the API-version probe). For the duration of connect(), that module's
    ``requests`` name points at :class:`_RequestsWithTimeout`; afterwards the sessions
    built meanwhile are plain sessions again, so long queries later are not cut short.
    Nothing in ``requests`` itself is changed.
    """
    from caveclient import base

    bounded = _RequestsWithTimeout(base.requests, seconds)
    base.requests = bounded
    try:
        yield
    finally:
        base.requests = bounded.real
        for session in bounded.sessions:
            del session.request  # back to requests.Session.request


class _RequestsWithTimeout:
    """The ``requests`` module, except that Session() and get() default to a timeout."""

    def __init__(self, real, seconds):
        self.real = real
        self.seconds = seconds
        self.sessions = []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def get(self, url, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.seconds
        return self.real.get(url, **kwargs)

    def Session(self):  # noqa: N802 - stands in for the class requests.Session
        session = self.real.Session()
        unbounded = session.request

        def request(method, url, **kwargs):
            if kwargs.get("timeout") is None:
                kwargs["timeout"] = self.seconds
            return unbounded(method, url, **kwargs)

        session.request = request  # Session.get/post/... all call self.request
        self.sessions.append(session)
        return session


def _check_server_is_new_enough(client, caveclient) -> None:
    """caveclient 8+ cannot query a materialization server older than 5.13 (no request made)."""
    if version_tuple(caveclient.__version__) < (8,):
        return
    materialize = client.materialize
    server = materialize.server_version
    if server is not None and version_tuple(str(server)) >= _SERVER_NEEDED_BY_CAVECLIENT_8:
        return
    runs = f"runs version {server}" if server is not None else "does not report its version"
    raise ServerIncompatibleError(
        f"The materialization server at {_origin(materialize.server_address)} {runs}, "
        f"but caveclient {caveclient.__version__} needs 5.13.0 or newer to run queries. "
        f"Install an older caveclient (pip install 'caveclient<8'), {_REPLAY_HINT}."
    )


# --- turning failures into messages ----------------------------------------------


def _origin(url: str) -> str:
    """``https://host:port`` of a URL: no path, no query, nothing secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _explain(exc, *, datastack, server_address, token, token_source, timeout):
    """Our error for what went wrong while building the client, or None if it is not ours."""
    import requests
    from caveclient import base

    AuthException = base.AuthException
    # caveclient 5.17 has no ServerIncompatibilityError yet.
    ServerIncompatibilityError = getattr(base, "ServerIncompatibilityError", ())
    token_sent = token_source != "nowhere"
    if isinstance(exc, AuthException) or (
        isinstance(exc, requests.HTTPError)
        and exc.response is not None
        and exc.response.status_code in (401, 403)
    ):
        status = exc.response.status_code if isinstance(exc, requests.HTTPError) else None
        return (
            _auth_error(status, token_source, server_address)
            if token_sent
            else _no_token(server_address)
        )
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status, url = exc.response.status_code, exc.response.url
        path = urlsplit(url).path
        if status == 404 and "/datastack/full/" in path:
            return _unknown_datastack(datastack, server_address, token, timeout)
        if status >= 500:
            return ServerUnreachableError(
                f"The CAVE server at {_origin(url)} answered HTTP {status} to {path}. "
                f"Try again in a few minutes, {_REPLAY_HINT}."
            )
        return ServerIncompatibleError(
            f"The CAVE server at {_origin(url)} answered HTTP {status} to {path}, a request "
            "this caveclient needs. Try another caveclient version (pip install --upgrade "
            f"caveclient), {_REPLAY_HINT}."
        )
    if isinstance(exc, requests.RequestException):
        request = getattr(exc, "request", None)
        where = _origin(request.url) if request is not None and request.url else server_address
        why = _network_failure(exc, timeout)
        if why.startswith("no answer"):
            why += " (MICRONS_TIMEOUT sets this limit)"
        return ServerUnreachableError(
            f"Could not reach the CAVE server at {where}: {why}. "
            f"Check your network connection, {_REPLAY_HINT}."
        )
    if isinstance(exc, ServerIncompatibilityError):
        return ServerIncompatibleError(
            f"The CAVE server at {server_address} is too old for caveclient "
            f"(caveclient says: {str(exc).splitlines()[0]}). "
            f"Install an older caveclient (pip install 'caveclient<8'), {_REPLAY_HINT}."
        )
    return None


def _network_failure(exc, timeout: float) -> str:
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
        f"To go live, {_TOKEN_COMMANDS}; {_REPLAY_HINT}."
    )


def _auth_error(status, token_source, server_address):
    came_from = {"argument": "token=...", "CAVE_TOKEN": "CAVE_TOKEN", "file": "caveclient's file"}
    what = "refused access with" if status == 403 else "rejected"
    said = f"HTTP {status}" if status else "a redirect to the login page"
    return TokenRejectedError(
        f"The CAVE server at {server_address} {what} your CAVE token ({said}; the token came "
        f"from {came_from[token_source]}). Check it, or get a new one with "
        "client.auth.setup_token(make_new=True) and save it with "
        'client.auth.save_token(token="...", overwrite=True), or set CAVE_TOKEN.'
    )


def _unknown_datastack(datastack, server_address, token, timeout):
    known = _known_datastacks(server_address, token, timeout)
    listed = f" It knows: {', '.join(known)}." if known else ""
    return UnknownDatastackError(
        f"The CAVE info service at {server_address} does not know the datastack "
        f"{datastack!r}.{listed} Check the spelling, e.g. connect({DEFAULT_DATASTACK!r})."
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
    except (requests.RequestException, ValueError):
        return []
    return sorted(n for n in names if isinstance(n, str)) if isinstance(names, list) else []


def _version_not_available(client, version, *, expired):
    """VersionNotAvailableError listing the versions the server offers (one more request)."""
    try:
        available = sorted(int(v) for v in client.materialize.get_versions(expired=expired))
    except Exception:  # the list is a courtesy; the error stands without it
        available = []
    example = available[-1] if available else "N"
    listed = ", ".join(str(v) for v in available) if available else "none could be listed"
    archived = (
        " 1078, the version of the MICrONs documentation, is no longer listed by the live "
        "service since 2026; its recorded responses still work with MICRONS_MODE=replay."
        if version == 1078
        else ""
    )
    return VersionNotAvailableError(
        f"Materialization version {version} is not available for {client.datastack_name}. "
        f"Available versions: {listed}. Choose one with connect(version={example}) or "
        f"MICRONS_VERSION={example}.{archived}"
    )
