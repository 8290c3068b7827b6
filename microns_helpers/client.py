"""A CAVEclient init that works on every caveclient from 5.17 on: :func:`connect`.

The MICrONs documentation today starts with::

    client = CAVEclient("minnie65_public")
    client.version = 1718

and older notebooks with ``client.materialize.version = 1078``. Both break a step off the
documentation's path: a version other than a long-term one expires about a year after its
release (1078 has: caveclient 5.24 and newer accept it and the first query gets HTTP 410);
``client.version`` pins nothing on caveclient older than 5.24; and on 5.17.1 to 5.23.0
``client.materialize.version = ...`` can die with a ``RecursionError`` (the first access to
``client.materialize`` builds a table manager that asks ``client.materialize`` for a
reference table while that client does not exist yet).

:func:`connect` pins the long-term version 1300 by default, refuses a version that serves no
data before it returns, pins the version's time stamp too where caveclient can (5.24+), and
turns every failure a learner can meet into a short message from :mod:`microns_helpers.errors`.

Settings read from the environment at each call:

``MICRONS_MODE``     live | offline | replay | record, when ``connect(mode=...)`` is not given
                     (unset: the mode in force, live unless ``choose_mode()`` chose offline).
``MICRONS_VERSION``  the materialization version, when ``connect(version=...)`` is not given.
``MICRONS_TIMEOUT``  seconds each request made by ``connect()`` may take (default
                     :data:`CONNECT_TIMEOUT`, at most :data:`MAX_TIMEOUT`); queries made later
                     are not limited.
``CAVE_TOKEN``       the CAVE token, when ``connect(token=...)`` is not given.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import math
import numbers
import os
import re
import threading
from urllib.parse import urlsplit

from . import _compat, modes
from ._compat import CHECKED, install_command, requirement
from .datastack import DEFAULT_DATASTACK, DEFAULT_VERSION, LONG_TERM_VERSIONS
from .errors import (
    InvalidInputError,
    MicronsHelpersError,
    ModeError,
    NotRecordedError,
    ServerIncompatibleError,
    ServerUnreachableError,
    TokenRejectedError,
    UnknownDatastackError,
    UnsupportedCaveclientError,
    VersionNotAvailableError,
)
from .failures import (
    OFFLINE_HINT,
    TOKEN_SOURCE_WORDS,
    explain,
    origin,
    unrecorded_datastack,
    version_not_available,
)

__all__ = [
    "connect",
    "choose_mode",
    "find_token",
    "chosen_version",
    "request_timeout",
    "CONNECT_TIMEOUT",
    "DEFAULT_DATASTACK",
    "DEFAULT_VERSION",
    "LONG_TERM_VERSIONS",
]
# Also package API, for the doctor, though not in __all__: connect_with_timeout,
# checked_address, find_token.

# Seconds each HTTP request made while connect() runs may take (MICRONS_TIMEOUT
# overrides it). caveclient retries a request that times out up to 3 times, so a
# silent server makes connect() fail after about four times this.
CONNECT_TIMEOUT = 10.0
# The largest MICRONS_TIMEOUT accepted: an hour per request.
MAX_TIMEOUT = 3600.0
MINIMUM_CAVECLIENT = CHECKED["caveclient"][0]  # the one range: _compat.CHECKED
# caveclient 8 queries with direct SQL through pandas, which needs a materialization
# server >= 5.13.0 (caveclient 8.2.1, materializationengine.direct_sql_error_msg).
_SERVER_NEEDED_BY_CAVECLIENT_8 = (5, 13, 0)

# connect() swaps names inside caveclient while it builds a client; the lock keeps two
# threads from interleaving those swaps.
_CONNECT_LOCK = threading.RLock()

version_tuple = _compat.version_tuple


def connect(
    datastack: str = DEFAULT_DATASTACK,
    version: int | None = None,
    *,
    server_address: str | None = None,
    token: str | None = None,
    mode: str | None = None,
):
    """Return a ``caveclient.CAVEclient`` for ``datastack``, pinned to materialization ``version``.

    Works on caveclient 5.17 to 8.2. ``version`` defaults to ``MICRONS_VERSION``, else 1300,
    a long-term version that will not expire; a version that no longer serves data raises
    :class:`~microns_helpers.errors.VersionExpiredError` before anything is returned.
    From caveclient 5.24 on the version's time stamp is pinned too, so chunkedgraph calls
    (``is_latest_roots``, ...) answer for the same moment as the tables. A later
    ``client.materialize.version = N`` re-pins both, with the same checks.

    ``server_address`` defaults to the public global server. The token is ``token``, else
    ``CAVE_TOKEN``, else caveclient's own secret files; it is never printed or stored.
    ``mode`` (live | offline | replay | record) defaults to ``MICRONS_MODE``; offline and
    replay need no token and no network. Each request made here gives up after
    ``MICRONS_TIMEOUT`` seconds (default 10); later queries have no limit. Nothing is written
    under the home folder.

    Every failure a learner can meet raises a subclass of
    :class:`~microns_helpers.errors.MicronsHelpersError` saying what to do next.

    Example::

        client = connect()
        client.materialize.tables.aibs_metamodel_celltypes_v661(cell_type="BC").query()
    """
    return connect_with_timeout(
        datastack,
        version,
        server_address=server_address,
        token=token,
        mode=mode,
        timeout=request_timeout(),
    )


def connect_with_timeout(datastack, version, *, server_address, token, mode, timeout):
    """:func:`connect` with an explicit timeout in seconds (the doctor uses a short one)."""
    try:
        return _connected(datastack, version, server_address, token, mode, timeout)
    except MicronsHelpersError as err:
        # Our words say it all. What was said before them (caveclient's error, a server's
        # answer that echoes the Authorization header) may hold the token: not chained.
        err.__cause__ = err.__context__ = None
        raise


def _connected(datastack, version, server_address, token, mode, timeout):
    if mode is not None:
        mode = modes.normalize_mode(mode)
    elif os.environ.get("MICRONS_MODE", "").strip():
        mode = modes.current_mode()
    else:  # the mode in force: the import's default, or what choose_mode() chose
        mode = modes.mode_to_retry()
    datastack = _checked_datastack(datastack)
    version, _ = chosen_version(version)
    server_address = checked_address(server_address)
    modes.activate(mode)  # before any HTTP: offline, replay and record hook in here
    caveclient = import_caveclient()
    token, token_source = find_token(token, server_address)
    modes.remember_secret(token)  # never in a log line, a replayed answer or a recording
    with _CONNECT_LOCK, _compat.requests_time_out_after(timeout), _compat.token_files_untouched():
        try:
            client = caveclient.CAVEclient(
                datastack,
                server_address=server_address,
                auth_token=token,
                # An explicit server_address would otherwise be written to
                # ~/.cloudvolume/secrets/cave_datastack_to_server_map.json.
                write_server_cache=False,
            )
            _first_materialize(client, caveclient)
            _pin_version(client, version)
        except NotRecordedError as err:
            if "/datastack/full/" in err.request:
                raise unrecorded_datastack(datastack) from None
            raise
        except MicronsHelpersError:
            raise
        except Exception as exc:
            error = explain(
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
    _skeletons_without_cloudvolume(client)
    return client


def _skeletons_without_cloudvolume(client) -> None:
    """Let ``client.skeleton`` work with or without cloud-volume (see
    :func:`install_segmentation_cloudvolume`, which does it for every client)."""
    install_segmentation_cloudvolume()


# What cloud-volume accepts as a token for a graphene segmentation (cloud-volume 12.x,
# GrapheneMetadata.parse_token): hexadecimal or base64.
_CLOUDVOLUME_TOKEN = re.compile(r"^[0-9a-f]+$|^[A-Za-z0-9+/]+={0,2}$")
# Offline, the sample service answers any token and no request leaves the machine; this
# placeholder (letters of the base64 alphabet, not a credential) lets cloud-volume open the
# sample's segmentation when the client has no token or one cloud-volume would refuse.
OFFLINE_SEGMENTATION_TOKEN = "micronsOfflineSampleService"


def install_segmentation_cloudvolume() -> None:
    """Make ``InfoServiceClient.segmentation_cloudvolume`` answer on every client, once.

    caveclient 7.7.1 and newer open the segmentation with cloud-volume before asking for a
    skeleton, only to check that the id is a root, and accept None from
    ``info.segmentation_cloudvolume`` to skip that check (the skeleton service checks the
    root itself). So: without cloud-volume (the learner install lacks it: about 1 GB of
    dependencies) the method returns None; offline, with cloud-volume and no well-formed
    token (caveclient would fail on the missing Authorization header, cloud-volume on the
    token's format), it opens the segmentation with OFFLINE_SEGMENTATION_TOKEN. Otherwise
    caveclient's own method runs. The replacement itself is
    :func:`~microns_helpers._compat.replace_segmentation_cloudvolume`'s.
    """
    _compat.replace_segmentation_cloudvolume(_segmentation_cloudvolume)


def _segmentation_cloudvolume(original, info_client, use_client_secret=True, **kwargs):
    if importlib.util.find_spec("cloudvolume") is None:
        return None
    offline = modes.active_mode() == "offline"
    if offline and use_client_secret and not _CLOUDVOLUME_TOKEN.match(_session_token(info_client)):
        import cloudvolume

        try:
            source = info_client.segmentation_source(format_for="cloudvolume")
        except TypeError:  # caveclient before format_for
            source = info_client.segmentation_source()
        return cloudvolume.CloudVolume(
            source,
            use_https=kwargs.pop("use_https", True),
            fill_missing=kwargs.pop("fill_missing", True),
            bounded=kwargs.pop("bounded", False),
            secrets={"token": OFFLINE_SEGMENTATION_TOKEN},
            **kwargs,
        )
    return original(info_client, use_client_secret=use_client_secret, **kwargs)


def _session_token(info_client) -> str:
    """The token the client sends (``Authorization: Bearer <token>``), or ""."""
    header = getattr(info_client, "session", None)
    header = header.headers.get("Authorization") if header is not None else None
    return header.split(" ", 1)[-1] if isinstance(header, str) else ""


# --- choosing the datastack, version, address, token and timeout -------------------------


# What CAVE datastack names are made of (minnie65_public, flywire_fafb_public, h01_c3_flat):
# anything else (a slash, a path) would end up in a URL, and the server's 404 would blame
# caveclient instead of the typo.
_DATASTACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _checked_datastack(datastack) -> str:
    text = datastack.strip() if isinstance(datastack, str) else None
    if not text or not _DATASTACK_NAME.fullmatch(text) or ".." in text:
        raise UnknownDatastackError(
            f"datastack={datastack!r} is not a datastack name (letters, digits, '_', '-', "
            f"'.'; no '/' or spaces). Check it, e.g. connect({DEFAULT_DATASTACK!r}), or leave "
            f"it out for {DEFAULT_DATASTACK}."
        )
    return text


def chosen_version(version=None) -> tuple[int, str]:
    """``(version, where it came from)``: the caller's, else MICRONS_VERSION, else 1300.

    ``where`` is ``"version="``, ``"MICRONS_VERSION"`` or ``"default"``. Any whole number
    counts (``1300``, ``"1300"``, ``np.int64(1300)``); anything else raises
    VersionNotAvailableError saying so.

    Example::

        chosen_version()        # (1300, 'default') when MICRONS_VERSION is unset
    """
    where = "version="
    if version is None:
        raw = os.environ.get("MICRONS_VERSION", "").strip()
        version, where = (raw, "MICRONS_VERSION") if raw else (DEFAULT_VERSION, "default")
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version.strip())
    if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
        shown = "version" if where == "version=" else where
        raise VersionNotAvailableError(
            f"{shown}={version!r} is not a materialization version. Use a whole number such "
            f"as {DEFAULT_VERSION}, the long-term version: connect(version={DEFAULT_VERSION}).",
            version=version,
        )
    return int(version), where


def checked_address(server_address) -> str:
    """The global server's address (default: the public one), checked for the typos that
    would give a raw traceback; ServerUnreachableError says it is not a web address."""
    if server_address is None:
        return modes.PUBLIC_GLOBAL
    text = str(server_address).strip().rstrip("/")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a bad port or IPv6 literal
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        shown = origin(text) if "@" in text else text  # never a password typed in it
        raise ServerUnreachableError(
            f"server_address={shown!r} is not a web address that CAVE can serve. "
            f"Give it with its scheme, like {modes.PUBLIC_GLOBAL!r}, or leave it out "
            "for the public server."
        )
    return text


def find_token(token: str | None = None, server_address: str | None = None):
    """Return ``(token, where)``: the CAVE token connect() will use, and where it was found.

    ``where`` is ``"argument"``, ``"CAVE_TOKEN"``, ``"file"`` (caveclient's secret files
    under ``~/.cloudvolume/secrets``) or ``"nowhere"`` (then ``token`` is None). Show
    ``where`` to people, never the token. Spaces and line breaks around a pasted token are
    removed.

    Example::

        _, where = find_token()
    """
    if token is not None and not isinstance(token, str):
        raise TokenRejectedError(
            f"token= must be text, not {type(token).__name__}. Pass the token as a string, "
            "or leave it out to use CAVE_TOKEN or the saved token."
        )
    if token and token.strip():
        found, where = token.strip(), "argument"
    elif os.environ.get("CAVE_TOKEN", "").strip():
        found, where = os.environ["CAVE_TOKEN"].strip(), "CAVE_TOKEN"
    else:
        from caveclient.auth import AuthClient  # reads the files; makes no request

        address = server_address or modes.PUBLIC_GLOBAL
        saved = AuthClient(server_address=address).token
        found, where = (saved.strip(), "file") if saved and saved.strip() else (None, "nowhere")
    if found is not None:
        _check_token_text(found, where)
    return found, where


def _check_token_text(token: str, where: str) -> None:
    if not all(c.isprintable() and not c.isspace() for c in token):
        problem = "spaces or line breaks inside it"
    else:
        try:
            token.encode("latin-1")
            return
        except UnicodeEncodeError:
            problem = "characters that a token never has"
    raise TokenRejectedError(
        f"The CAVE token from {TOKEN_SOURCE_WORDS[where]} has {problem}; it was probably pasted "
        "with something else. Copy it again from the token page "
        "(client.auth.setup_token(make_new=False)) and save it with "
        'client.auth.save_token(token="...", overwrite=True).'
    ) from None


def choose_mode() -> str:
    """For a chapter opened on its own (Colab, a fresh Python): offline when there is no token.

    ``MICRONS_MODE``, when set, is obeyed. Without it, and without a CAVE token
    (``CAVE_TOKEN`` or caveclient's saved one), the process goes offline and says so in one
    line; with a token it stays live. Returns the mode in force.

    Example::

        import microns_helpers
        microns_helpers.choose_mode()
    """
    if os.environ.get("MICRONS_MODE", "").strip():
        return modes.active_mode()
    try:
        token, _ = find_token()
    except MicronsHelpersError:
        token = None  # a token that cannot be one: the doctor and connect() say why
    if token is None and modes.active_mode() == "live":
        modes.activate("offline")
        # the offline notice, once per process: why, where answers come from, what to do
        modes.show_notice("No CAVE token found, so this notebook works offline")
    return modes.active_mode()


def request_timeout() -> float:
    """Seconds each request of connect() may take: ``MICRONS_TIMEOUT``, else CONNECT_TIMEOUT."""
    raw = os.environ.get("MICRONS_TIMEOUT", "").strip()
    if not raw:
        return CONNECT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    # Bounded: a huge value (1e308) overflows the clock arithmetic of urllib3's timeouts.
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT):
        raise ModeError(
            f"MICRONS_TIMEOUT={raw!r} is not a number of seconds in the range 0 < seconds "
            f"<= {MAX_TIMEOUT:g}. Set it to a positive number such as {CONNECT_TIMEOUT:g} "
            f"(at most {MAX_TIMEOUT:g}, an hour), or unset it."
        )
    return seconds


# --- caveclient itself -----------------------------------------------------------------------


def import_caveclient():
    """Import caveclient, or raise UnsupportedCaveclientError if it is missing or too old."""
    try:
        import caveclient
    except Exception as exc:  # ImportError, or a broken dependency (numpy ABI, ...)
        raise UnsupportedCaveclientError(
            f"caveclient could not be imported ({type(exc).__name__}: {exc}). "
            f"Install it with {install_command('caveclient')}, then restart Python."
        ) from None
    installed = getattr(caveclient, "__version__", "0")
    if version_tuple(installed) < MINIMUM_CAVECLIENT:
        raise UnsupportedCaveclientError(
            f"caveclient {installed} is older than {'.'.join(map(str, MINIMUM_CAVECLIENT))}, "
            "the oldest this book supports. Upgrade it with pip install --upgrade "
            f"'{requirement('caveclient')}', then restart Python."
        )
    return caveclient


def has_version_argument(caveclient) -> bool:
    """True from caveclient 5.24 on, where CAVEclient(version=...) exists and tables are lazy.

    Older ones (5.17.1-5.23.0) build the table manager eagerly and can recurse.
    """
    return "version" in inspect.signature(caveclient.CAVEclient.__new__).parameters


def _first_materialize(client, caveclient) -> None:
    """Build ``client.materialize`` once, safely, and make its ``version`` ours to set.

    On 5.17.1-5.23.0 the eager table manager is deferred (it is what recurses); 5.17.1 and
    5.17.2 fill a plain ``tables`` attribute, built once the client exists
    (:func:`~microns_helpers._compat.first_materialize_deferred`). Then this client's
    ``version`` setter becomes :func:`_pin_version`
    (:func:`~microns_helpers._compat.pin_materialize_methods`), so
    ``client.materialize.version = N``, as the documentation writes it, checks N and pins
    the time stamp on every caveclient instead of raising ValueError (5.24+, where a
    client-level version forbids it) or silently accepting an expired version.
    """
    if has_version_argument(caveclient):
        materialize = client.materialize
    else:
        materialize = _compat.first_materialize_deferred(client)
    cls = type(materialize)

    def set_version(self, value):
        _pin_version(client, value)

    queries = {
        name: _limit_checked(getattr(cls, name)) for name in _LIMITED_QUERIES if hasattr(cls, name)
    }
    _compat.pin_materialize_methods(materialize, set_version, queries)


# Queries whose `limit` caveclient checks with a bare `assert limit > 0` (8.2.1:
# _format_query_components, live_live_query): the learner gets our words instead.
_LIMITED_QUERIES = ("query_table", "live_query", "synapse_query", "join_query", "live_live_query")


def _limit_checked(query):
    """``query`` (a method of the materialization client), refusing a ``limit`` that is not
    a whole number of rows of 1 or more before any request is built."""
    signature = inspect.signature(query)

    @functools.wraps(query)
    def checked(self, *args, **kwargs):
        try:
            limit = signature.bind_partial(self, *args, **kwargs).arguments.get("limit")
        except TypeError:  # wrong arguments: caveclient's own error says which
            limit = None
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1
        ):
            raise InvalidInputError(
                f"limit={limit!r} is not a number of rows. Give {query.__name__}() a whole "
                "number of 1 or more, or leave limit out for every row."
            )
        return query(self, *args, **kwargs)

    return checked


def _pin_version(client, version) -> None:
    """Pin ``version`` (and from 5.24 on its time stamp), or raise our error; no other state.

    5.24+: ``client.version = v`` reads the version list (expired ones included) and the
    version's metadata, whose ``valid`` says whether it still serves data; that metadata is
    caught on its way (one request, not two). 5.17-5.23: ``materialize.version = v`` checks
    the valid versions only; when it refuses, the metadata tells expired from unknown.
    """
    version, _ = chosen_version(version)
    materialize = client.materialize
    if isinstance(inspect.getattr_static(type(client), "version", None), property):
        previous = client.version
        with _compat.version_metadata_caught(materialize) as seen:
            try:
                client.version = version
            except ValueError:  # caveclient: "Version N is not available for this datastack."
                raise version_not_available(client, version, metadata=None) from None
        metadata = seen[-1] if seen else None
        if metadata is not None and not _is_valid(metadata):
            client.version = previous  # keep the pin the client had (None in connect())
            raise version_not_available(client, version, metadata=metadata)
        return
    try:
        _compat.set_version_as_caveclient_does(materialize, version)
    except ValueError:  # caveclient: "Version not in materialized database"
        metadata = _metadata_or_none(client, version)
        raise version_not_available(client, version, metadata=metadata) from None


def _is_valid(metadata: dict) -> bool:
    valid = metadata.get("valid", True)
    return valid if isinstance(valid, bool) else str(valid).lower() in ("t", "true", "1")


def _metadata_or_none(client, version):
    """The version's metadata, or None when the server has no record of it (404)."""
    import requests

    try:
        return client.materialize.get_version_metadata(version)
    except requests.HTTPError as err:
        if err.response is not None and err.response.status_code == 404:
            return None
        raise


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
        f"The materialization server at {origin(materialize.server_address)} {runs}, "
        f"but caveclient {caveclient.__version__} needs 5.13.0 or newer to run queries. "
        f"Install an older caveclient (pip install 'caveclient<8'), {OFFLINE_HINT}."
    )
