"""Live, replay and record modes for every HTTP request of the process.

``MICRONS_MODE`` chooses the mode (default ``live``); ``import microns_helpers``
activates it, so that plain caveclient code in a notebook cell is replayed too::

    $ MICRONS_MODE=replay python -c "
    import microns_helpers, caveclient
    client = caveclient.CAVEclient('minnie65_public')   # answered from recordings/
    "

- ``live``: nothing is patched; caveclient talks to the CAVE servers.
- ``replay``: every request to a CAVE server is answered from the recordings folder
  (``MICRONS_RECORDINGS``, or the package's ``recordings/``); no network, no token.
  Loopback traffic (a test's own stand-in server) passes through untouched.
- ``record``: requests go out and are written to ``<folder>/<name>.json``
  (``MICRONS_RECORD_NAME``, default ``recording``), with the secrets scrubbed and
  provenance added to ``manifest.json``. With ``MICRONS_RECORD_TARGET=http://127.0.0.1:PORT``
  the requests to both public hosts go to that stand-in instead and are stored
  under the public URLs.

Built on vcrpy: its cassette patches http.client and urllib3 for the whole process
(worker threads included) for as long as it is entered. The entered cassette is
kept in this module: once garbage-collected, the patch would be undone.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import ModeError

MODES = ("live", "replay", "record")
PUBLIC_GLOBAL = "https://global.daf-apis.com"
PUBLIC_LOCAL = "https://minnie.microns-daf.com"
DEFAULT_RECORD_NAME = "recording"

SOURCE_STANDIN = "standin-sample-data"
SOURCE_LIVE = "live"
_SOURCE_WORDS = {
    SOURCE_STANDIN: "the stand-in's sample data (partly synthetic)",
    SOURCE_LIVE: "the live CAVE service",
}

# The header that carries a redirected request's public origin down to the recorder.
_ORIGIN_HEADER = "X-Microns-Public-Origin"
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
# Response headers caveclient reads; everything else (Set-Cookie included) is dropped.
_KEPT_RESPONSE_HEADERS = {"content-type", "warning", "dataframe_resolution", "column_names"}
_TOKEN_NAMES = {"token", "auth_token", "middle_auth_token", "access_token"}
_REDACTED = "REDACTED"

# The state of the process. _context holds the entered cassette (and so the patch).
_active_mode = "live"
_active_folder: Path | None = None
_active_name: str | None = None  # the recording file's stem, in record mode
_context = None
_cassette = None
_original_send = None
_notice_shown = False
_flush_registered = False
# Tokens seen in requests while recording; never written anywhere.
_secrets: set = set()


def current_mode() -> str:
    """The mode asked for by ``MICRONS_MODE`` (default ``live``).

    >>> current_mode()  # in a shell where MICRONS_MODE=replay
    'replay'
    """
    mode = os.environ.get("MICRONS_MODE", "").strip().lower() or "live"
    if mode not in MODES:
        raise ModeError(
            f"MICRONS_MODE={mode!r} is not a mode. Set it to one of: {', '.join(MODES)}."
        )
    return mode


def active_mode() -> str:
    """The mode in force in this process: ``live``, ``replay`` or ``record``."""
    return _active_mode


def recordings_dir() -> Path:
    """The recordings folder: ``MICRONS_RECORDINGS`` or the package's ``recordings/``."""
    override = os.environ.get("MICRONS_RECORDINGS")
    return Path(override) if override else Path(__file__).parent / "recordings"


def activate(mode: str, recordings=None, *, name: str | None = None) -> None:
    """Put the whole process in ``mode``; calling it again with the same mode does nothing.

    ``recordings`` is the folder to replay from or record into; ``None`` keeps the
    folder already in use, else :func:`recordings_dir`. ``name`` (record mode) is the
    file stem, default ``MICRONS_RECORD_NAME`` or ``recording``.

    >>> activate("replay")            # every CAVE request now answered from recordings/
    >>> activate("live")              # back to the network
    """
    global _active_mode, _active_folder, _active_name
    if mode not in MODES:
        raise ModeError(f"mode={mode!r} is not a mode. Use one of: {', '.join(MODES)}.")
    if mode == "live":
        _deactivate()
        return
    same_mode = mode == _active_mode
    folder = Path(recordings) if recordings is not None else None
    folder = folder or (_active_folder if same_mode else None) or recordings_dir()
    if mode == "record":
        name = name or (_active_name if same_mode else None)
        name = name or os.environ.get("MICRONS_RECORD_NAME") or DEFAULT_RECORD_NAME
    if same_mode and folder == _active_folder and name == _active_name:
        return  # e.g. connect() in a process that import already switched
    _deactivate()
    if mode == "replay":
        _enter_replay(folder)
        _show_notice(folder)
    else:
        _enter_record(folder, name)
    _active_mode, _active_folder, _active_name = mode, folder, name


def activate_from_environment() -> None:
    """Activate the mode named by ``MICRONS_MODE`` (called by ``import microns_helpers``)."""
    mode = current_mode()
    if mode != _active_mode:
        activate(mode)


# --- replay -----------------------------------------------------------------------


def _enter_replay(folder: Path) -> None:
    from ._cassette import ReplayCassette

    _enter(ReplayCassette, path=str(folder), before_record_request=_stored_request)


def replay_notice(folder: Path | None = None) -> str:
    """The one line printed when replay starts: where outputs come from, how to go live."""
    from ._cassette import read_manifest

    sources = {entry.get("source") for entry in read_manifest(folder or recordings_dir()).values()}
    words = " and ".join(_SOURCE_WORDS.get(s, str(s)) for s in sorted(sources, key=str))
    origin = f"from {words}" if words else "of unknown origin (no manifest.json)"
    return (
        f"Replaying recorded responses {origin}; for live data set MICRONS_MODE=live "
        "and add a token (see Setup)."
    )


def _show_notice(folder: Path) -> None:
    # Once per process: it lands in the first output of every chapter, so one line,
    # and no date (re-recording one chapter must not change the others' outputs).
    global _notice_shown
    if not _notice_shown:
        _notice_shown = True
        print(replay_notice(folder))


# --- record -----------------------------------------------------------------------


def _record_target() -> str | None:
    target = os.environ.get("MICRONS_RECORD_TARGET", "").strip().rstrip("/")
    if not target:
        return None
    url = urlsplit(target)
    if url.scheme not in ("http", "https") or url.hostname not in _LOOPBACK_HOSTS:
        raise ModeError(
            f"MICRONS_RECORD_TARGET={target!r} is not a loopback stand-in. "
            "Set it to the stand-in's URL, like http://127.0.0.1:8000, or unset it to record live."
        )
    return target


def _enter_record(folder: Path, name: str) -> None:
    from ._cassette import RecordCassette

    target = _record_target()
    token = os.environ.get("CAVE_TOKEN")
    if token:
        _secrets.add(token)
    forbidden = []
    if target:
        # Everything stored must name the public hosts; a live server's data is left alone.
        forbidden = ["127.0.0.1", "localhost", urlsplit(target).netloc]
        _redirect_to(target)
    _enter(
        RecordCassette,
        path=str(folder / f"{name}.json"),
        source=SOURCE_STANDIN if target else SOURCE_LIVE,
        secrets=_secrets,
        forbidden=forbidden,
        before_record_request=_stored_request,
        before_record_response=lambda response: _stored_response(response, target),
    )
    _save_after_each_cell()


def _save_after_each_cell() -> None:
    """Write the recording after every notebook cell and at exit (once per process)."""
    global _flush_registered
    if _flush_registered:
        return
    _flush_registered = True
    atexit.register(_flush)
    shell = sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None
    if shell is not None:
        shell.events.register("post_run_cell", lambda *_: _flush())


def _redirect_to(target: str) -> None:
    """Send requests for the public hosts to the stand-in at ``target``.

    Done in requests' transport adapter, above vcrpy: the recorder then sees the
    loopback URL plus a header naming the public origin, and stores the latter.
    """
    global _original_send
    import requests.adapters

    original = requests.adapters.HTTPAdapter.send

    def send(self, request, *args, **kwargs):
        for public in (PUBLIC_GLOBAL, PUBLIC_LOCAL):
            if request.url == public or request.url.startswith(public + "/"):
                request = request.copy()
                request.url = target + request.url[len(public) :]
                request.headers[_ORIGIN_HEADER] = public
                break
        return original(self, request, *args, **kwargs)

    requests.adapters.HTTPAdapter.send = send
    _original_send = original


# --- what is stored -----------------------------------------------------------------


def _stored_request(request):
    """The request as stored and matched: public URL, no headers, no token; or None.

    None means "not ours": loopback traffic that was not redirected by us passes
    through unrecorded (a test's own stand-in server, in any mode).
    """
    from vcr.request import Request

    url = urlsplit(request.uri)
    origin = request.headers.get(_ORIGIN_HEADER)
    if url.hostname in _LOOPBACK_HOSTS:
        if not origin:
            return None
        url = urlsplit(origin + urlunsplit(("", "", url.path, url.query, url.fragment)))
    _learn_secrets(request.headers)
    query = urlencode(
        [
            (key, _REDACTED if key.lower() in _TOKEN_NAMES else value)
            for key, value in parse_qsl(url.query, keep_blank_values=True)
        ]
    )
    uri = _scrub_text(urlunsplit((url.scheme, url.netloc, url.path, query, "")))
    return Request(request.method, uri, _scrub_body(request.body), {})


def _stored_response(response: dict, target: str | None) -> dict:
    """The response as stored: only the headers caveclient reads, public URLs, no token."""
    headers = {}
    for key, values in response["headers"].items():
        if key.lower() in _KEPT_RESPONSE_HEADERS or "notice" in key.lower():
            headers[key] = [_scrub_text(_public(v, target)) for v in values]
    body = response["body"]["string"]
    if target and body:
        body = _public(body, target)
    response["headers"] = headers
    response["body"] = {"string": _scrub_body(body)}
    return response


def _public(value, target):
    """Replace the stand-in's base URL by the public local server, in text or bytes."""
    if not target:
        return value
    if isinstance(value, bytes):
        return value.replace(target.encode(), PUBLIC_LOCAL.encode())
    return value.replace(target, PUBLIC_LOCAL)


def _learn_secrets(headers) -> None:
    auth = headers.get("Authorization") or ""
    if auth.lower().startswith("bearer "):
        _secrets.add(auth.split(" ", 1)[1].strip())
    for match in re.finditer(r"middle_auth_token=([^;\s]+)", headers.get("Cookie") or ""):
        _secrets.add(match.group(1))
    _secrets.discard("")


def _scrub_text(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, _REDACTED)
    return text


def _scrub_body(body):
    """The body with every known token replaced, and token-named JSON fields redacted."""
    if not body:
        return body
    if isinstance(body, str):
        body = body.encode("utf-8")
    for secret in _secrets:
        body = body.replace(secret.encode(), _REDACTED.encode())
    if any(name.encode() in body for name in _TOKEN_NAMES):
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return body
        scrubbed = _scrub_json(parsed)
        if scrubbed != parsed:
            body = json.dumps(scrubbed).encode("utf-8")
    return body


def _scrub_json(value):
    if isinstance(value, dict):
        return {
            k: _REDACTED if str(k).lower() in _TOKEN_NAMES else _scrub_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


# --- switching ------------------------------------------------------------------------


def _enter(cassette_class, **kwargs) -> None:
    global _context, _cassette
    from ._cassette import serialize_connection_setup

    serialize_connection_setup()
    context = cassette_class.use(**kwargs)
    _cassette = context.__enter__()
    _context = context


def _deactivate() -> None:
    """Leave the current mode: save, unpatch, restore requests' adapter."""
    global _context, _cassette, _original_send, _active_mode, _active_folder, _active_name
    context, _context, _cassette = _context, None, None
    _active_mode, _active_folder, _active_name = "live", None, None
    try:
        if context is not None:
            context.__exit__(None, None, None)  # may refuse to save: a token in it
    finally:
        if _original_send is not None:
            import requests.adapters

            requests.adapters.HTTPAdapter.send = _original_send
            _original_send = None


def _flush() -> None:
    """Write the recording now, if anything new was recorded (record mode only)."""
    if _cassette is not None and _active_mode == "record":
        _cassette._save()
