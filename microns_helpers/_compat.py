"""Every use of another library's private names, in one place, with the releases checked.

microns_helpers changes a few things inside other libraries, each for a reason a learner
would otherwise meet as a crash or a silent failure:

=================================================  =========================================
private name                                       why
=================================================  =========================================
``caveclient.materializationengine.TableManager``  5.17.1-5.23.0 build it eagerly and recurse
                                                   (:func:`table_manager_deferred`)
``caveclient.base.requests``                       caveclient has no timeout option
                                                   (:func:`requests_time_out_after`)
the class of ``client.materialize``                ``client.materialize.version = N`` must
                                                   check N and pin its time stamp, and a bad
                                                   ``limit`` get our words
                                                   (:func:`pin_materialize_methods`)
``client.materialize.get_version_metadata``        5.24+'s version setter reads the metadata
                                                   and drops it (:func:`version_metadata_caught`)
``InfoServiceClient.segmentation_cloudvolume``     7.7.1+ open cloud-volume before every
                                                   skeleton, also offline and without it
                                                   (:func:`replace_segmentation_cloudvolume`)
``requests.adapters.HTTPAdapter.send``             offline, replay and record send the public
                                                   hosts' requests elsewhere
                                                   (:func:`route_requests`)
``tables.<table>`` as an attrs class              5.17-5.24 have no ``.fields`` list
                                                   (:func:`filter_fields`)
``caveclient.auth.AuthClient.                      5.27.0-6.3.0 write the token to
_synchronize_local_server_file``                   ~/.cloudvolume/secrets while a client is
                                                   built (:func:`token_files_untouched`)
``vcr.patch.force_reset``,                         vcrpy un-patches the process while it opens
``urllib3 HTTP(S)ConnectionPool._new_conn``        a real connection; a worker thread could
                                                   slip past replay
                                                   (:func:`serialize_connection_setup`)
the logger ``caveclient.base``                     it prints a table's owner notice once per
                                                   query, 42 lines for 21 chunks
                                                   (:func:`owner_notices_once`)
``KernelManager.transport_encryption``'s default   every kernel the book starts warns that it
                                                   runs over TCP without encryption
                                                   (:func:`encrypt_book_kernels`)
``InteractiveShell._showtraceback``                IPython shows nothing a custom exception
                                                   handler returns; the kernel's own method
                                                   sends it as the cell's error
                                                   (:func:`show_error_lines`)
=================================================  =========================================

:data:`CHECKED` says on which releases each was verified. :func:`require_checked` runs at
the first use of each and raises :class:`~microns_helpers.errors.UnsupportedDependencyError`
on any other release, or when the name is gone, instead of misbehaving silently. Everything
else the package uses of caveclient, vcrpy and requests is their public API. No other module
of the package assigns to another library's modules, classes or methods
(tests/test_house_rules.py reads the code to see).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from importlib.metadata import PackageNotFoundError, version

from .errors import UnsupportedDependencyError

# library -> (oldest, first unchecked): the releases the tests ran on are inside.
# caveclient: 5.17.2 ... 8.2.1 (the weekly matrix, .github/workflows/caveclient-matrix.yml);
# vcrpy: 9.4.2, and 8.5.0 on Python 3.10 (9.x needs 3.11); urllib3: 1.26.20 (with
# caveclient 5.17.2) and 2.x up to 2.8.0; requests: 2.32.3 and 2.34.2.
CHECKED = {
    "caveclient": ((5, 17), (9,)),
    "vcrpy": ((8, 5), (10,)),
    "urllib3": ((1, 26), (3,)),
    "requests": ((2, 32), (3,)),
}


def requirement(library: str) -> str:
    """The pip requirement of a checked range, from :data:`CHECKED`: the one place the
    range is written (pyproject.toml's bounds are tested against it, tests/test_compat.py).
    ``"caveclient"`` -> ``"caveclient>=5.17,<9"``; urllib3's oldest is no bound of ours."""
    low, high = CHECKED[library]
    first = "" if library == "urllib3" else f">={'.'.join(map(str, low))},"
    return f"{library}{first}<{'.'.join(map(str, high))}"


def install_command(library: str) -> str:
    """``pip install '<requirement>'``, for the errors that say what to install."""
    return f"pip install '{requirement(library)}'"


def version_tuple(text: str) -> tuple:
    """``"5.23.0"`` -> ``(5, 23, 0)``; pre-release and local suffixes are dropped."""
    import re

    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


def installed_version(library: str) -> str | None:
    try:
        return version(library)
    except PackageNotFoundError:
        return None


def require_checked(library: str, *names_present: bool) -> None:
    """Raise UnsupportedDependencyError unless ``library`` is a checked release.

    ``names_present`` are the checks that the private names are still there.
    """
    installed = installed_version(library)
    low, high = CHECKED[library]
    ok = installed is not None and low <= version_tuple(installed) < high
    if ok and all(names_present):
        return
    shown = ".".join(map(str, low)), ".".join(map(str, high))
    raise UnsupportedDependencyError(
        f"microns_helpers works around internals of {library} that were checked on releases "
        f"{shown[0]} to before {shown[1]}, and {library} {installed or '(not installed)'} is "
        f"installed{'' if all(names_present) else ' and lacks them'}. Install a checked "
        f"release ({install_command(library)}), then restart Python."
    )


# --- caveclient -----------------------------------------------------------------------------


@contextlib.contextmanager
def table_manager_deferred():
    """While client.materialize is first built, make its eager TableManager a no-op.

    The eager manager is what recurses on 5.17.1-5.23.0; with it left empty, 5.18-5.23
    build the real one on first use of ``client.materialize.tables``, once
    ``client.materialize`` exists. ViewManager is left alone: it never calls back into the
    client, and 5.18-5.23 cannot build it lazily (their lazy ``views`` raises
    AttributeError).
    """
    from caveclient import materializationengine

    require_checked("caveclient", hasattr(materializationengine, "TableManager"))
    real = materializationengine.TableManager
    materializationengine.TableManager = lambda *args, **kwargs: None
    try:
        yield
    finally:
        materializationengine.TableManager = real


@contextlib.contextmanager
def requests_time_out_after(seconds: float):
    """Give every request caveclient makes inside the block a timeout of ``seconds``.

    caveclient has no timeout option. All its HTTP goes through ``caveclient.base``, which
    builds one ``requests.Session()`` per service and calls ``requests.get`` once per service
    (the API-version probe). Inside the block that module's ``requests`` name points at
    :class:`_RequestsWithTimeout`; afterwards the sessions built meanwhile are plain sessions
    again, so long queries later are not cut short. Nothing in ``requests`` itself changes.
    """
    from caveclient import base

    require_checked("caveclient", hasattr(base, "requests"))
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


def first_materialize_deferred(client):
    """``client.materialize`` of a caveclient 5.17.1-5.23.0 client, built without recursing.

    The eager table manager is deferred (:func:`table_manager_deferred`); 5.17.1 and 5.17.2,
    whose ``tables`` is a plain attribute that manager fills, get it filled here, once the
    client exists. Checked on 5.17.2, 5.18.0, 5.20.3, 5.22.0 and 5.23.0.
    """
    with table_manager_deferred():
        materialize = client.materialize
    if not isinstance(inspect.getattr_static(type(materialize), "tables", None), property):
        from caveclient.tools.table_manager import TableManager

        materialize.tables = TableManager(client)
    return materialize


# The class caveclient made a materialization client with, kept on the subclass that
# pin_materialize_methods puts in its place.
_CAVECLIENT_CLASS = "microns_caveclient_class"


def pin_materialize_methods(materialize, set_version, methods: dict) -> None:
    """Give this one materialization client a ``version`` setter and ``methods`` of the
    caller's, in place of its class's own.

    The instance's class is swapped for a subclass whose ``version`` property reads as
    caveclient's and sets with ``set_version(self, value)``, and which holds ``methods``;
    other clients are untouched. caveclient's own setter stays reachable
    (:func:`set_version_as_caveclient_does`). Checked on caveclient 5.17.2 to 8.2.1, whose
    materialization clients all have a ``version`` property; UnsupportedDependencyError
    where it is gone.
    """
    cls = type(materialize)
    own = inspect.getattr_static(cls, "version", None)
    require_checked("caveclient", isinstance(own, property))
    namespace = {
        **methods,
        "version": property(own.fget, set_version),
        "__module__": cls.__module__,
        _CAVECLIENT_CLASS: cls,
    }
    materialize.__class__ = type(cls.__name__, (cls,), namespace)


def set_version_as_caveclient_does(materialize, version) -> None:
    """Run caveclient's own ``materialize.version = version`` setter (the one
    :func:`pin_materialize_methods` overrode); its ValueError passes through."""
    cls = type(materialize).__dict__.get(_CAVECLIENT_CLASS, type(materialize))
    inspect.getattr_static(cls, "version").fset(materialize, version)


@contextlib.contextmanager
def version_metadata_caught(materialize):
    """Inside the block, keep what ``materialize.get_version_metadata`` returns, in the list
    the block gets.

    caveclient 5.24+'s ``client.version = v`` reads the version's metadata (whose ``valid``
    says whether it still serves data) and drops it: the method is shadowed on this one
    instance while the block runs, so the metadata is caught on its way (one request, not
    two). Checked on 5.24.1 to 8.2.1.
    """
    real = getattr(materialize, "get_version_metadata", None)
    require_checked("caveclient", callable(real))
    seen = []

    def catch(*args, **kwargs):
        seen.append(real(*args, **kwargs))
        return seen[-1]

    materialize.get_version_metadata = catch
    try:
        yield seen
    finally:
        del materialize.get_version_metadata  # the class's method again


def replace_segmentation_cloudvolume(replacement) -> None:
    """Make every info client's ``segmentation_cloudvolume`` call
    ``replacement(original, self, *args, **kwargs)``, once per process.

    caveclient 7.7.1 and newer open the segmentation with cloud-volume before asking for a
    skeleton (only to check that the id is a root) and accept None from this method to skip
    that check; the caller decides when to open it otherwise (client.py). The method is on
    ``InfoServiceClientV2`` in 5.x (where ``InfoServiceClient`` is a function) and on
    ``InfoServiceClient`` from 6.0 on: run on 5.17.2 and 8.2.1 (with cloud-volume 12.15.2),
    read in the sources of 5.23.0, 5.24.1, 6.0.2, 7.0.4 and 7.11.1. Does nothing where
    caveclient cannot be imported (connect() says why); UnsupportedDependencyError where
    the method is gone.
    """
    try:
        from caveclient import infoservice
    except Exception:  # no caveclient, or one that fails to import
        return
    info_class = getattr(infoservice, "InfoServiceClientV2", None) or infoservice.InfoServiceClient
    original = getattr(info_class, "segmentation_cloudvolume", None)
    require_checked("caveclient", isinstance(info_class, type) and callable(original))
    if getattr(original, "microns_helpers", False):
        return

    @functools.wraps(original)
    def segmentation_cloudvolume(self, *args, **kwargs):
        return replacement(original, self, *args, **kwargs)

    segmentation_cloudvolume.microns_helpers = True
    info_class.segmentation_cloudvolume = segmentation_cloudvolume


def filter_fields(table_filter) -> list[str]:
    """The filter arguments of a ``client.materialize.tables.<table>`` entry.

    caveclient 5.25+ lists them in ``.fields``; before, the entry is an attrs class whose
    fields are the same arguments (checked on 5.17.2 and 5.23.0).
    """
    fields = getattr(table_filter, "fields", None)
    if fields is not None:
        return list(fields)
    import attrs

    return [field.name for field in attrs.fields(table_filter)]


# caveclient releases whose AuthClient.local_server setter writes the token (even None) to
# ~/.cloudvolume/secrets/<server>-cave-secret.json, whatever write_server_cache says.
_TOKEN_FILE_SYNC = ((5, 27), (6, 4))


def _token_sync_target():
    """caveclient's AuthClient on releases that sync token files, else None."""
    import caveclient
    from caveclient.auth import AuthClient

    if not _TOKEN_FILE_SYNC[0] <= version_tuple(caveclient.__version__) < _TOKEN_FILE_SYNC[1]:
        return None
    require_checked("caveclient", hasattr(AuthClient, "_synchronize_local_server_file"))
    return AuthClient


@contextlib.contextmanager
def token_files_untouched():
    """While a client is built, keep caveclient 5.27-6.3 from writing token files."""
    target = _token_sync_target()
    if target is None:
        yield
        return
    real = target.__dict__["_synchronize_local_server_file"]
    target._synchronize_local_server_file = lambda self: None
    try:
        yield
    finally:
        target._synchronize_local_server_file = real


def guard_token_files():
    """Keep token files untouched until the returned undo is called; None if too early.

    Called at an offline or replay mode's first requests; too early (None) while caveclient
    is not imported yet. The caller keeps the undo (``modes.ModeState``) and calls it
    when the mode ends. Offline and replay have no token worth keeping, and the file
    caveclient would write holds none.
    """
    if "caveclient" not in __import__("sys").modules:
        return None
    target = _token_sync_target()
    if target is None:
        return lambda: None
    real = target.__dict__["_synchronize_local_server_file"]
    target._synchronize_local_server_file = lambda self: None

    def undo():
        target._synchronize_local_server_file = real

    return undo


# --- requests --------------------------------------------------------------------------------


def route_requests(route, origin_header: str):
    """Let ``route(request)`` redirect every request sent with requests, before it reaches
    vcrpy's patched sockets; returns the undo.

    ``route`` returns None (leave the request alone) or ``(new_url, origin)``; a non-empty
    ``origin`` travels in the ``origin_header`` header, so the recorder can store the public
    URL. The answer keeps the URL asked for, so errors and redirects name the public address.
    ``requests.adapters.HTTPAdapter.send`` is replaced for the whole process until the undo
    is called. Checked on requests 2.32.3 and 2.34.2.
    """
    import requests.adapters

    original = requests.adapters.HTTPAdapter.__dict__.get("send")
    require_checked("requests", callable(original))

    def send(self, request, *args, **kwargs):
        routed = route(request)
        if routed is None:
            return original(self, request, *args, **kwargs)
        url, origin = routed
        public_url = request.url
        request = request.copy()
        request.url = url
        if origin:
            request.headers[origin_header] = origin
        response = original(self, request, *args, **kwargs)
        response.url = public_url
        return response

    requests.adapters.HTTPAdapter.send = send

    def undo():
        requests.adapters.HTTPAdapter.send = original

    return undo


# --- vcrpy and urllib3 ------------------------------------------------------------------------

_connection_setup = threading.RLock()


def serialize_connection_setup() -> None:
    """Close a window through which a worker thread could reach the network.

    While vcrpy builds a real connection it briefly un-patches the whole process
    (``vcr.patch.force_reset``); a thread opening a connection in that instant gets an
    unpatched one, and in replay mode goes to the network (seen with 8 threads). Both now
    happen under one lock. Idempotent.
    """
    import urllib3.connectionpool as pools
    import vcr.patch

    if getattr(vcr.patch.force_reset, "microns_serialized", False):
        return
    require_checked("vcrpy", hasattr(vcr.patch, "force_reset"))
    pool_classes = (pools.HTTPConnectionPool, pools.HTTPSConnectionPool)
    require_checked("urllib3", *("_new_conn" in pool.__dict__ for pool in pool_classes))
    unlocked_reset = vcr.patch.force_reset

    @contextlib.contextmanager
    def force_reset():
        with _connection_setup, unlocked_reset():
            yield

    force_reset.microns_serialized = True
    vcr.patch.force_reset = force_reset
    for pool in pool_classes:
        unlocked_new_conn = pool.__dict__["_new_conn"]

        def _new_conn(self, _unlocked=unlocked_new_conn):
            with _connection_setup:
                return _unlocked(self)

        pool._new_conn = _new_conn


# --- caveclient's log, and the book's kernels ---------------------------------------------

# caveclient 5.17.2 ... 8.2.1 (base._raise_for_status): the server's Warning header, which
# carries each table's owner notice, goes to logger.warning on the module's logger.
CAVECLIENT_LOGGER = "caveclient.base"
NOTICE = "Table Owner Notice on "


class _OncePerTable:
    """A logging filter: each table's owner notice passes the first time only.

    The server sends one Warning header per warning and requests joins them with ", ", so
    a notice can follow another warning ("Limited query to 5 rows, Table Owner Notice on
    ..."): the other warnings are kept, a notice already said is taken out.
    """

    def __init__(self):
        self.seen = set()
        self.lock = threading.Lock()

    def filter(self, record) -> bool:
        text = record.getMessage()
        if NOTICE not in text:
            return True
        head, *bodies = text.split(NOTICE)
        notices = [NOTICE + body.removesuffix(", ") for body in bodies]
        with self.lock:
            new = [notice for notice in notices if notice not in self.seen]
            self.seen.update(notices)
        parts = [head.removesuffix(", ")] if head else []
        parts += new
        if not parts:
            return False
        if len(new) < len(notices):
            record.msg, record.args = ", ".join(parts), ()
        return True


def owner_notices_once() -> None:
    """Print each table's owner notice once per process, not once per query.

    The notice is said again only if its text changes. Nothing else of caveclient's log is
    touched. On a caveclient that logs elsewhere, the filter matches nothing: the notices
    are printed as before, nothing breaks. Idempotent.
    """
    import logging

    logger = logging.getLogger(CAVECLIENT_LOGGER)
    if not any(isinstance(f, _OncePerTable) for f in logger.filters):
        logger.addFilter(_OncePerTable())


def encrypt_book_kernels() -> bool:
    """Kernels started in this process get CurveZMQ keys from their manager: no warning.

    ipykernel 7 warns at every start that it "is running over TCP without encryption",
    and names two cures: IPC transport (not on Windows) or keys provisioned by the kernel
    manager. jupyter_client 8.10 provisions them when its ``transport_encryption`` setting
    is ``"auto"`` and the kernelspec declares support, as ipykernel 7.4's does. nbval and
    myst-nb make their KernelManager without a config to set it in, so this changes the
    setting's default, for the process that calls it (tests/conftest.py, the site build's
    extension, the recorder). Checked with jupyter_client 8.10.0, ipykernel 7.4.0, pyzmq
    with libsodium. Returns False, and changes nothing, where the setting (jupyter_client
    before 8.10) or CurveZMQ is missing: the kernels then warn as before.
    """
    try:
        import zmq
        from jupyter_client.manager import KernelManager
    except ImportError:
        return False
    trait = KernelManager.class_traits().get("transport_encryption")
    if trait is None or not zmq.has("curve"):
        return False
    trait.default_value = "auto"
    return True


# --- IPython ----------------------------------------------------------------------------------


def show_error_lines(shell, etype, value, lines: list[str]) -> None:
    """Show ``lines`` as the error of the running cell, in place of its traceback.

    IPython calls a custom exception handler (``set_custom_exc``) and drops what it returns;
    ``_showtraceback`` is what its own traceback display ends in: in a Jupyter kernel
    (ipykernel's ZMQInteractiveShell) it sends the cell's error output, with ``lines`` as
    its traceback; in the terminal it prints them. Checked on IPython 9.19.1 with ipykernel
    7.4.0. Where the method is gone the lines go to stderr: shorter, never lost.
    """
    show = getattr(shell, "_showtraceback", None)
    if callable(show):
        show(etype, value, lines)
    else:
        import sys

        print("\n".join(lines), file=sys.stderr)
