"""Live, offline, replay and record modes for every HTTP request of the process.

``MICRONS_MODE`` chooses the mode (default ``live``); ``import microns_helpers``
activates it, so that plain caveclient code in a notebook cell follows it too::

    $ MICRONS_MODE=offline python -c "
    import microns_helpers, caveclient
    client = caveclient.CAVEclient('minnie65_public')   # no network, no token
    "

- ``live``: nothing is patched; caveclient talks to the CAVE servers.
- ``offline``: requests to the public CAVE hosts are answered from the recordings first,
  and every other one by the package's sample service (``microns_helpers.sample``),
  started inside this process on the loopback interface. No network, no token. One line, once per
  process, says where the answers come from and where to read what the sample holds.
- ``replay``: the same answers as offline (the same one line, named replay): the
  recordings folder first (``MICRONS_RECORDINGS``, or the package's ``recordings/``, which
  holds live answers only), then the sample service; a request to any other host raises
  :class:`~microns_helpers.errors.NotRecordedError`. For tests and the site build.
- ``record``: requests go out and are written to ``<folder>/<name>.json``
  (``MICRONS_RECORD_NAME``, default ``recording``), with the secrets scrubbed and
  provenance added to ``manifest.json``. With ``MICRONS_RECORD_TARGET`` set to the URL of
  a sample service on the loopback interface, the requests to both public hosts go to that
  service instead and are stored under the public URLs.

Loopback traffic that is not ours (a test's own sample service) passes through untouched in
every mode. A bad ``MICRONS_MODE`` or a mode that cannot start (a damaged recording, a
missing folder) leaves the process ``blocked``: every request, loopback included, raises
that error until a mode starts (fail closed; :func:`block`).

Built on vcrpy: its cassette patches http.client and urllib3 for the whole
process (worker threads included) for as long as it is entered. All of that lives in one
:class:`ModeState`, ``STATE``; :func:`using` switches for a block and switches back.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from . import scrub
from .errors import MicronsHelpersError, ModeError

MODES = ("live", "offline", "replay", "record")
# active_mode() while a bad setting or a damaged recording refuses every request (fail closed).
BLOCKED = "blocked"
PUBLIC_GLOBAL = "https://global.daf-apis.com"
PUBLIC_LOCAL = "https://minnie.microns-daf.com"
PUBLIC_HOSTS = (PUBLIC_GLOBAL, PUBLIC_LOCAL)
DEFAULT_RECORD_NAME = "recording"

SOURCE_SAMPLE = "sample-service"
SOURCE_LIVE = "live"
_SOURCE_WORDS = {
    SOURCE_SAMPLE: "the sample service",
    SOURCE_LIVE: "the live CAVE service",
}

# The header that carries a redirected request's public origin down to the recorder.
_ORIGIN_HEADER = "X-Microns-Public-Origin"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
# Response headers caveclient reads; everything else (Set-Cookie included) is dropped.
_KEPT_RESPONSE_HEADERS = {"content-type", "warning", "dataframe_resolution", "column_names"}


@dataclass
class ModeState:
    """Everything the current mode holds: one object, so it can be saved and restored."""

    mode: str = "live"  # or BLOCKED
    folder: Path | None = None
    # Why every request is refused (mode BLOCKED), and the mode that could not start (None
    # for a bad mode name): connect() tries that mode again, so a restored file is picked up.
    blocked: MicronsHelpersError | None = None
    wanted: str | None = None
    name: str | None = None  # the recording file's stem, in record mode
    context: object = None  # the entered vcrpy cassette context (holds the patch)
    cassette: object = None
    sample_service: object = None  # replay, offline: started at the first unrecorded request
    restore_send: object = None  # undoes _compat.route_requests, while it routes
    release_token_files: object = None  # undoes _compat.guard_token_files, once it ran
    notices_shown: set = field(default_factory=set)
    # (method, path) of each request the sample service answered: said once in the notice,
    # not once per request (tests read it to see which ones it answered)
    sample_answered: set = field(default_factory=set)
    flush_registered: bool = False
    # Tokens seen in requests while recording; never written anywhere.
    secrets: set = field(default_factory=set)
    # Interactions recorded per file in this process, resumed after a using() block.
    recorded: dict = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


STATE = ModeState()


def normalize_mode(mode, where: str = "mode") -> str:
    """``"REPLAY "`` -> ``"replay"``; ModeError for anything that is not a mode."""
    text = mode.strip().lower() if isinstance(mode, str) else mode
    if text not in MODES:
        raise ModeError(
            f"{where}={mode!r} is not a mode. Use one of: {', '.join(MODES)} "
            "(offline needs no network and no token)."
        )
    return text


def current_mode() -> str:
    """The mode asked for by ``MICRONS_MODE`` (default ``live``); ModeError if it is not one.

    >>> current_mode()  # in a shell where MICRONS_MODE=offline
    'offline'
    """
    raw = os.environ.get("MICRONS_MODE", "")
    return normalize_mode(raw, "MICRONS_MODE") if raw.strip() else "live"


def active_mode() -> str:
    """The mode in force in this process: ``live``, ``offline``, ``replay`` or ``record``;
    ``blocked`` while a bad setting or a damaged recording refuses every request."""
    return STATE.mode


def mode_to_retry() -> str:
    """The mode :func:`~microns_helpers.connect` enters when nothing names one: the mode in
    force, or the one a damaged recording stopped; the blocking error for a bad mode name."""
    with STATE.lock:
        if STATE.mode != BLOCKED:
            return STATE.mode
        if STATE.wanted is None:
            raise refusal(STATE.blocked)
        return STATE.wanted


def active_folder() -> Path | None:
    """The recordings folder the current mode reads or writes (None when live)."""
    return STATE.folder


def recordings_dir() -> Path:
    """The recordings folder: ``MICRONS_RECORDINGS`` or the package's ``recordings/``."""
    override = os.environ.get("MICRONS_RECORDINGS", "").strip()
    return Path(override).expanduser() if override else Path(__file__).parent / "recordings"


def activate(mode: str, recordings=None, *, name: str | None = None, resume=False) -> None:
    """Put the whole process in ``mode``; calling it again with the same mode does nothing.

    ``recordings`` is the folder to replay from or record into; ``None`` keeps the
    folder already in use, else :func:`recordings_dir`. ``name`` (record mode) is the
    file stem, default ``MICRONS_RECORD_NAME`` or ``recording``. Record mode starts a new
    recording of that file, unless ``resume`` (what :func:`using` does when it switches back)
    continues the one this process made before. A mode that cannot start (a damaged
    recording, a missing or read-only folder, a bad record name) raises its error and
    leaves the process blocked (:func:`block`), never live.

    >>> activate("offline")           # answered without a network from now on
    >>> activate("live")              # back to the network
    """
    mode = normalize_mode(mode)
    with STATE.lock:
        if mode == "live":
            _deactivate()
            return
        same_mode = mode == (STATE.wanted if STATE.mode == BLOCKED else STATE.mode)
        folder = Path(recordings) if recordings is not None else None
        folder = folder or (STATE.folder if same_mode else None) or recordings_dir()
        if mode == "record":
            name = name or (STATE.name if same_mode else None)
            from_env = not name and bool(os.environ.get("MICRONS_RECORD_NAME"))
            name = name or os.environ.get("MICRONS_RECORD_NAME") or DEFAULT_RECORD_NAME
        if mode == STATE.mode and folder == STATE.folder and name == STATE.name:
            return  # e.g. connect() in a process that import already switched
        # Fail closed: a mode that cannot start leaves the process refusing every request
        # with the reason, never live.
        try:
            if mode == "record":
                _checked_record_name(name, from_env)
            check_folder(mode, folder)
            _deactivate()
            STATE.sample_answered.clear()  # what the sample answered in this mode only
            if mode == "record":
                _enter_record(folder, name, resume)
            else:
                _enter_replay(folder)
        except MicronsHelpersError as err:
            block(err, mode, folder, name)
            raise
        STATE.mode, STATE.folder, STATE.name = mode, folder, name


def block(error: MicronsHelpersError, wanted=None, folder=None, name=None) -> None:
    """Refuse every HTTP request of the process with ``error`` until a mode is activated.

    ``wanted`` (with its ``folder`` and ``name``) is the mode that could not start, tried
    again by the next :func:`~microns_helpers.connect`.
    """
    from .cassette import BlockedCassette

    with STATE.lock:
        _deactivate()
        _enter(BlockedCassette, path=BLOCKED, error=refusal(error))
        STATE.mode, STATE.folder, STATE.name = BLOCKED, folder, name
        STATE.blocked, STATE.wanted = error, wanted


def refusal(error: MicronsHelpersError) -> MicronsHelpersError:
    """What a blocked request raises: ``error``'s type and words, said to be why nothing
    was sent."""
    return type(error)(f"No request was sent: {error}")


@contextlib.contextmanager
def using(mode: str, recordings=None, *, name: str | None = None):
    """Switch to ``mode`` for a block, then back to the mode (and folder) in force before.

    >>> with using("replay"):
    ...     client = connect()
    """
    with restored():
        activate(mode, recordings, name=name)
        yield


@contextlib.contextmanager
def restored():
    """After the block, put the process back in the mode it is in now (folder, recording
    name, or block included)."""
    with STATE.lock:
        before, folder, name = STATE.mode, STATE.folder, STATE.name
        blocked, wanted = STATE.blocked, STATE.wanted
    try:
        yield
    finally:
        if before == BLOCKED:
            block(blocked, wanted, folder, name)
        elif before == "live":
            activate("live")
        else:
            activate(before, folder, name=name, resume=True)


def activate_from_environment() -> None:
    """Activate the mode named by ``MICRONS_MODE`` (called by ``import microns_helpers``).

    A bad setting or a damaged recording never breaks the import, and never leaves the
    process live: it is said once on stderr, and every request fails with that error until
    it is fixed (fail closed).
    """
    try:
        mode = current_mode()
        if mode != STATE.mode:
            activate(mode)  # a mode that cannot start blocks the process
    except MicronsHelpersError as err:
        if STATE.mode != BLOCKED:  # a bad mode name: nothing was started
            block(err)
        print(
            f"microns_helpers: {err} Until it is fixed, no request is sent from this process.",
            file=sys.stderr,
        )


def check_folder(mode: str, folder: Path) -> None:
    """ModeError unless ``folder`` is a folder, and in record mode one this process can
    write in (a temporary file is made and removed to see)."""
    told = os.environ.get("MICRONS_RECORDINGS", "").strip()
    where = f"MICRONS_RECORDINGS={told!r}" if told else "the recordings folder"
    fix = "Point MICRONS_RECORDINGS at a folder of recordings (or unset it to use the book's own)."
    if folder.is_file():
        raise ModeError(f"{where} names {folder}, which is a file, not a folder. {fix}")
    if not folder.is_dir():
        raise ModeError(f"{where} names {folder}, which does not exist. {fix}")
    if mode == "record":
        try:
            tempfile.TemporaryFile(dir=folder).close()
        except OSError as err:
            raise ModeError(
                f"Record mode cannot write into {folder} ({err.strerror or type(err).__name__}), "
                "so nothing would be saved. Record into a folder you can write to "
                "(MICRONS_RECORDINGS, or the recorder's --recordings)."
            ) from None


# A record name becomes <folder>/<name>.json: one plain file name, never a path.
_RECORD_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def _checked_record_name(name: str, from_env: bool) -> str:
    if not isinstance(name, str) or not _RECORD_NAME.fullmatch(name):
        where = "MICRONS_RECORD_NAME" if from_env else "name"
        raise ModeError(
            f"{where}={name!r} is not a plain file name. Use 1 to 100 letters, digits, '.', "
            "'_' or '-', starting with a letter or digit (no '/' and no '..'), "
            "e.g. 02_basics."
        )
    return name


# --- replay and offline ---------------------------------------------------------------


def _enter_replay(folder: Path) -> None:
    # Replay and offline answer alike: the recordings first (answers of the live service),
    # then the package's sample service for every other request to the public hosts. The
    # sample is deterministic and ships with the package, so recordings of it would only
    # double it; offline mode also flags each answer of the sample on stderr, for learners.
    from .cassette import ReplayCassette

    _enter(
        ReplayCassette,
        path=str(folder),
        before_record_request=_stored_request,
        secrets=STATE.secrets,  # replayed answers are scrubbed of every token seen
    )
    _wrap_send(_sample_route)


def replay_notice(folder: Path | None = None, mode: str = "replay", start: str = "") -> str:
    """The one line printed when replay or offline starts: where answers come from, and
    where to read what the sample holds."""
    from .cassette import read_manifest

    sources = {entry.get("source") for entry in read_manifest(folder or recordings_dir()).values()}
    words = " and ".join(_SOURCE_WORDS.get(s, str(s)) for s in sorted(sources, key=str))
    recorded = f"recordings of {words}, then " if words else ""
    start = start or ("Offline" if mode == "offline" else "Replaying, no network")
    return (
        f"{start}: answers come from {recorded}the package's sample data (partly synthetic; "
        "what it holds: the book's page About these outputs); for live data set "
        "MICRONS_MODE=live and add a token (see Setup)."
    )


def show_notice(start: str = "") -> None:
    """Print the notice now, once per process (choose_mode() says why it went offline)."""
    mode = STATE.mode
    if mode in ("offline", "replay") and not STATE.notices_shown:
        STATE.notices_shown.add(mode)
        print(replay_notice(STATE.folder, mode, start))


def _show_notice() -> None:
    # At the first request of the mode, once per process: it lands in the output of the cell
    # that first asks the service something (every chapter's connect()), so one line, and
    # no date (re-recording one chapter must not change the others' outputs). Every answer
    # after it is the sample's or a recording's too: no line per request (they drowned the
    # chapter's own output, and two threads' lines ran together).
    show_notice()


def _guard_home() -> None:
    # caveclient 5.27-6.3 write a token file while a client is built, even with no token:
    # nothing of a mode without a network should land in the home folder.
    from ._compat import guard_token_files

    with STATE.lock:
        if STATE.release_token_files is None:
            STATE.release_token_files = guard_token_files()


def _sample_route(request):
    """Where a replay or offline request goes: None (a recording answers it, or it is not for
    the public hosts: the cassette refuses it), or the sample service."""
    from vcr.request import Request

    _show_notice()
    _guard_home()
    public = _public_host(request.url)
    if public is None:
        return None
    cassette = STATE.cassette
    if cassette is not None and cassette.has_recording(
        Request(request.method, request.url, request.body, dict(request.headers))
    ):
        return None
    url = _sample_service_url()
    with STATE.lock:
        STATE.sample_answered.add((request.method, urlsplit(request.url).path))
    return url + request.url[len(public) :], None


def _public_host(url: str) -> str | None:
    """The public CAVE host ``url`` is on (offline and record redirect those), else None."""
    return next((h for h in PUBLIC_HOSTS if url == h or url.startswith(h + "/")), None)


def _sample_service_url() -> str:
    with STATE.lock:
        if STATE.sample_service is None:
            from .sample import SampleService

            STATE.sample_service = SampleService(local_server=PUBLIC_LOCAL).start()
        return STATE.sample_service.url


# --- record -----------------------------------------------------------------------


def _record_target() -> str | None:
    target = os.environ.get("MICRONS_RECORD_TARGET", "").strip().rstrip("/")
    if not target:
        return None
    url = urlsplit(target)
    if url.scheme not in ("http", "https") or url.hostname not in _LOOPBACK_HOSTS:
        raise ModeError(
            f"MICRONS_RECORD_TARGET={target!r} is not a loopback sample service. Set it to "
            "the service's URL, like http://127.0.0.1:8000, or unset it to record live."
        )
    return target


def _enter_record(folder: Path, name: str, resume: bool) -> None:
    from .cassette import RecordCassette

    target = _record_target()
    token = os.environ.get("CAVE_TOKEN", "").strip()
    if token:
        STATE.secrets.add(token)
    forbidden = []
    if target:
        # Everything stored must name the public hosts; a live server's data is left alone.
        forbidden = ["127.0.0.1", "localhost", urlsplit(target).netloc]
        _wrap_send(lambda request: _record_route(request, target))
    path = folder / f"{name}.json"
    if not resume or path.resolve() not in STATE.recorded:
        STATE.recorded[path.resolve()] = []
    _enter(
        RecordCassette,
        path=str(path),
        carried=STATE.recorded[path.resolve()],
        source=SOURCE_SAMPLE if target else SOURCE_LIVE,
        secrets=STATE.secrets,
        forbidden=forbidden,
        before_record_request=_stored_request,
        before_record_response=lambda response: _stored_response(response, target),
    )
    _save_after_each_cell()


def _record_route(request, target: str):
    """Send requests for the public hosts to the sample service at ``target``.

    The recorder then sees the loopback URL plus a header naming the public origin, and
    stores the latter.
    """
    public = _public_host(request.url)
    if public is None:
        return None
    return target + request.url[len(public) :], public


def _save_after_each_cell() -> None:
    """Write the recording after every notebook cell and at exit (once per process)."""
    if STATE.flush_registered:
        return
    STATE.flush_registered = True
    atexit.register(_flush_at_exit)
    shell = sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None
    if shell is not None:
        shell.events.register("post_run_cell", _flush_after_cell)


def _flush_after_cell(*_):
    # IPython swallows exceptions of post-cell hooks; a refused save must not pass unseen.
    try:
        flush()
    except Exception as err:
        print(f"microns_helpers: the recording was not saved: {err}", file=sys.stderr)
        raise


def _flush_at_exit() -> None:
    # A failed save must not end the process with status 0, and atexit ignores exceptions.
    try:
        flush()
    except Exception as err:
        print(f"microns_helpers: the recording was not saved: {err}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


def flush() -> None:
    """Write the recording now, if anything new was recorded (record mode only)."""
    cassette = STATE.cassette
    if cassette is not None and STATE.mode == "record":
        cassette.flush()


# --- requests' transport, above vcrpy ---------------------------------------------------


def _wrap_send(route) -> None:
    """Let ``route(request)`` redirect requests before they reach vcrpy's patched sockets
    (:func:`~microns_helpers._compat.route_requests`), until the mode ends."""
    from ._compat import route_requests

    STATE.restore_send = route_requests(route, _ORIGIN_HEADER)


# --- what is stored -----------------------------------------------------------------


def _stored_request(request):
    """The request as stored and matched: public URL, no headers, no token; or None.

    None means "not ours": loopback traffic that was not redirected by the recorder passes
    through unrecorded (a test's own sample service, or offline mode's).
    """
    from vcr.request import Request

    url = urlsplit(request.uri)
    origin = request.headers.get(_ORIGIN_HEADER)
    if url.hostname in _LOOPBACK_HOSTS:
        if not origin:
            return None
        url = urlsplit(origin + urlunsplit(("", "", url.path, url.query, url.fragment)))
    scrub.learn_secrets(request.headers, STATE.secrets)
    query = urlencode(
        [
            (key, scrub.REDACTED if key.lower() in scrub.TOKEN_NAMES else value)
            for key, value in parse_qsl(url.query, keep_blank_values=True)
        ]
    )
    uri = scrub_text(urlunsplit((url.scheme, url.netloc, url.path, query, "")))
    return Request(request.method, uri, scrub.scrub_body(request.body, STATE.secrets), {})


def _stored_response(response: dict, target: str | None) -> dict:
    """The response as stored: only the headers caveclient reads, public URLs, no token."""
    headers = {}
    for key, values in response["headers"].items():
        if key.lower() in _KEPT_RESPONSE_HEADERS or "notice" in key.lower():
            headers[key] = [scrub_text(_public(v, target)) for v in values]
    body = response["body"]["string"]
    if target and body:
        body = _public(body, target)
    response["headers"] = headers
    response["body"] = {"string": scrub.scrub_body(body, STATE.secrets)}
    return response


def _public(value, target):
    """Replace the sample service's base URL by the public local server, in text or bytes."""
    if not target:
        return value
    if isinstance(value, bytes):
        return value.replace(target.encode(), PUBLIC_LOCAL.encode())
    return value.replace(target, PUBLIC_LOCAL)


def scrub_text(text: str) -> str:
    """``text`` with every token this process has seen replaced (``microns_helpers.scrub``)."""
    return scrub.scrub_text(text, STATE.secrets)


# --- switching ------------------------------------------------------------------------


_LOG_FILTER = scrub.ScrubbedLogs(STATE.secrets)


def scrub_logs() -> None:
    """Keep the tokens seen out of the log lines of vcrpy, caveclient and urllib3."""
    scrub.scrub_logs(_LOG_FILTER)


def remember_secret(token: str | None) -> None:
    """Never show ``token``: in recordings, replayed answers, errors or the logs above."""
    if token:
        with STATE.lock:
            STATE.secrets.add(token)
        scrub_logs()


def _enter(cassette_class, **kwargs) -> None:
    from ._compat import serialize_connection_setup

    serialize_connection_setup()  # imports vcrpy: its module loggers exist from here on
    scrub_logs()
    context = cassette_class.use(**kwargs)
    STATE.cassette = context.__enter__()
    STATE.context = context


def _deactivate() -> None:
    """Leave the current mode: save, unpatch, restore requests' adapter, stop the service."""
    with STATE.lock:
        context, cassette = STATE.context, STATE.cassette
        service, send = STATE.sample_service, STATE.restore_send
        release = STATE.release_token_files
        STATE.context = STATE.cassette = STATE.sample_service = STATE.restore_send = None
        STATE.release_token_files = None
        mode = STATE.mode
        STATE.mode, STATE.folder, STATE.name = "live", None, None
        STATE.blocked = STATE.wanted = None
    try:
        if mode == "record" and cassette is not None:
            cassette.flush()  # may refuse to save: a token in it
    finally:
        if context is not None:
            context.__exit__(None, None, None)
        if send is not None:
            send()
        if release is not None:
            release()
        if service is not None:
            service.stop()
