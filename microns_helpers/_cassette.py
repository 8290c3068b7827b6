"""Storage of recorded responses, and the vcrpy cassettes that replay and record them.

A recordings folder holds one JSON file per recording session (the recorder makes
one per chapter) plus ``manifest.json``. Replay answers from every file of the
folder at once; recording writes one file, replacing what it held before.

A recording file, indented so that a diff shows which request changed::

    {"format": 1,
     "interactions": [
      {"request": {"method": "POST", "uri": "https://minnie.microns-daf.com/...",
                   "body": {"json": {"limit": 10}}},
       "response": {"status": 200, "reason": "OK",
                    "headers": {"Content-Type": ["data.arrow"]},
                    "body": {"base64": "QVJST1cx..."}}}]}

A body is stored as ``json`` (parsed, so it reads well and matches whatever the
key order), ``text``, or ``base64`` (binary: Arrow query results, byte for byte).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import re
import threading
from pathlib import Path
from typing import Iterable
from urllib.parse import parse_qsl, urlsplit

from vcr.cassette import Cassette
from vcr.record_mode import RecordMode
from vcr.request import Request

from .errors import MicronsHelpersError, NotRecordedError, RecordingDamagedError

FORMAT = 1
MANIFEST = "manifest.json"
RECORD_COMMAND = "microns-helpers record"
SHORT_BODY = 120

_MANIFEST_ABOUT = (
    "Where each recording in this folder came from. Written by microns_helpers when it "
    "records; do not edit by hand."
)


# --- matching -------------------------------------------------------------------


def body_key(body) -> bytes:
    """The body as compared by replay: canonical JSON if it parses, else the raw bytes.

    >>> body_key(b'{"b": 1, "a": [2]}') == body_key(b'{"a":[2],"b":1}')
    True
    """
    if body is None or body == b"" or body == "":
        return b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return bytes(body)
    return json.dumps(parsed, sort_keys=True, separators=(",", ":")).encode("utf-8")


def match_key(request: Request) -> tuple:
    """What replay matches on: method, full URL (query order aside) and parsed body."""
    url = urlsplit(request.uri)
    query = tuple(sorted(parse_qsl(url.query, keep_blank_values=True)))
    return (
        request.method.upper(),
        url.scheme,
        url.hostname,
        url.port,
        url.path or "/",
        query,
        body_key(request.body),
    )


def describe_request(request: Request) -> str:
    """``POST /path?query {short body}``, for error messages."""
    url = urlsplit(request.uri)
    target = url.path + (f"?{url.query}" if url.query else "")
    text = body_key(request.body).decode("utf-8", errors="replace")
    if len(text) > SHORT_BODY:
        text = text[: SHORT_BODY - 1] + "…"
    return f"{request.method} {target}" + (f" {text}" if text else "")


# --- files ----------------------------------------------------------------------


def display_path(path: Path) -> str:
    """``microns_helpers/recordings/x.json`` for files of the package, else the path as given."""
    package_parent = Path(__file__).resolve().parent.parent
    try:
        return Path(path).resolve().relative_to(package_parent).as_posix()
    except ValueError:
        return str(path)


def recording_files(folder: Path) -> list[Path]:
    """The recording files of a folder, in name order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if p.name != MANIFEST)


def _encode_body(body: bytes | None, content_type: str = "") -> dict:
    if not body:
        return {}
    if isinstance(body, str):
        body = body.encode("utf-8")
    textual = not content_type or any(
        word in content_type.lower() for word in ("json", "text", "xml", "html", "javascript")
    )
    if textual:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            textual = False
    if not textual:
        return {"base64": base64.b64encode(body).decode("ascii")}
    try:
        return {"json": json.loads(text)}
    except ValueError:
        return {"text": text}


def _decode_body(stored: dict) -> bytes:
    if "json" in stored:
        return json.dumps(stored["json"]).encode("utf-8")
    if "text" in stored:
        return stored["text"].encode("utf-8")
    if "base64" in stored:
        return base64.b64decode(stored["base64"], validate=True)
    if stored:
        raise ValueError(f"unknown body encoding {sorted(stored)}")
    return b""


def _content_type(headers: dict) -> str:
    for name, values in headers.items():
        if name.lower() == "content-type":
            return values[0] if isinstance(values, list) else values
    return ""


def _to_json(request: Request, response: dict) -> dict:
    headers = {name: list(response["headers"][name]) for name in sorted(response["headers"])}
    stored_request = {"method": request.method, "uri": request.uri}
    if request.body:
        stored_request["body"] = _encode_body(request.body)
    return {
        "request": stored_request,
        "response": {
            "status": response["status"]["code"],
            "reason": response["status"]["message"],
            "headers": headers,
            "body": _encode_body(response["body"]["string"], _content_type(headers)),
        },
    }


def _from_json(item: dict) -> tuple[Request, dict]:
    req, resp = item["request"], item["response"]
    request = Request(req["method"], req["uri"], _decode_body(req.get("body", {})) or None, {})
    response = {
        "status": {"code": int(resp["status"]), "message": resp.get("reason", "")},
        "headers": {name: list(values) for name, values in resp.get("headers", {}).items()},
        "body": {"string": _decode_body(resp.get("body", {}))},
    }
    return request, response


def read_recording(path: Path) -> list[tuple[Request, dict]]:
    """The interactions of one recording file; ``RecordingDamagedError`` if unreadable."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
        return [_from_json(item) for item in data["interactions"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, binascii.Error) as err:
        raise RecordingDamagedError(
            f"The recording {display_path(path)} is damaged and cannot be read "
            f"({type(err).__name__}). Restore it with `git checkout -- {display_path(path)}` "
            f"or re-record it with `{RECORD_COMMAND}`."
        ) from None


def base64_forms(secret: bytes) -> list[bytes]:
    """Substrings that a base64 encoding of any data containing ``secret`` must contain.

    One per alignment of the secret within the 3-byte groups of base64.
    """
    forms = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret)
        start = 4 if offset else 0
        end = len(encoded) - (4 if (offset + len(secret)) % 3 else 0)
        if end - start >= 8:
            forms.append(encoded[start:end])
            forms.append(encoded[start:end].replace(b"+", b"-").replace(b"/", b"_"))
    return forms


def _check_clean(text: str, interactions, secrets: Iterable[str], forbidden: Iterable[str]):
    """Refuse to write a recording that holds a secret or a loopback address."""
    blobs = [text.encode("utf-8")]
    for request, response in interactions:
        blobs += [request.uri.encode(), request.body or b"", response["body"]["string"] or b""]
    for secret in secrets:
        needles = [secret.encode()] + base64_forms(secret.encode())
        if any(needle in blob for needle in needles for blob in blobs):
            raise MicronsHelpersError(
                "Refusing to write a recording: a token would be stored in it. "
                "This is a bug in the scrubbing of microns_helpers.recording; please report it."
            )
    for word in forbidden:
        if any(word.encode() in blob for blob in blobs):
            raise MicronsHelpersError(
                f"Refusing to write a recording: it would contain the loopback address {word!r} "
                "instead of the public URLs. Check that the stand-in advertises the public "
                "local_server."
            )


def unique_sorted(interactions) -> list[tuple[Request, dict]]:
    """One interaction per request (the first), in a stable order that diffs well."""
    first = {}
    for request, response in interactions:
        first.setdefault(match_key(request), (request, response))
    method, scheme, host, port, path, query, body = range(7)

    def order(k):  # by path first, so related requests sit together
        return (k[path], k[query], k[method], k[host] or "", k[scheme], k[port] or 0, k[body])

    return [first[key] for key in sorted(first, key=order)]


def write_recording(path: Path, interactions, *, secrets=(), forbidden=()) -> int:
    """Write one recording file atomically; returns its size in bytes."""
    interactions = unique_sorted(interactions)
    data = {"format": FORMAT, "interactions": [_to_json(req, resp) for req, resp in interactions]}
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    _check_clean(text, interactions, secrets, forbidden)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return len(text.encode("utf-8"))


# --- provenance -----------------------------------------------------------------


def read_manifest(folder: Path) -> dict:
    """The ``recordings`` part of the manifest (file name -> entry); {} if there is none."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return dict(data["recordings"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def update_manifest(folder: Path, name: str, entry: dict | None) -> None:
    """Set (or, with ``entry=None``, remove) one recording's entry; drop entries of gone files."""
    entries = read_manifest(folder)
    if entry is None:
        entries.pop(name, None)
    else:
        entries[name] = entry
    entries = {key: entries[key] for key in sorted(entries) if (folder / key).is_file()}
    text = json.dumps({"about": _MANIFEST_ABOUT, "recordings": entries}, indent=2) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).write_text(text, encoding="utf-8")


def manifest_entry(interactions, *, source: str, recorded_at: str, size: int) -> dict:
    """Provenance of one recording: source, time, caveclient and data versions, size."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        caveclient_version = version("caveclient")
    except PackageNotFoundError:
        caveclient_version = None
    versions, datastacks = set(), set()
    for request, _ in interactions:
        path = urlsplit(request.uri).path
        versions.update(int(v) for v in re.findall(r"/version/(\d+)(?=/|$)", path))
        datastacks.update(re.findall(r"/datastack/(?:full/)?([^/]+)", path))
    return {
        "source": source,
        "recorded_at": recorded_at,
        "caveclient_version": caveclient_version,
        "materialization_versions": sorted(versions),
        "datastacks": sorted(datastacks),
        "interactions": len(interactions),
        "bytes": size,
    }


def utc_now() -> str:
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return now.isoformat().replace("+00:00", "Z")


# --- cassettes ------------------------------------------------------------------

_connection_setup = threading.RLock()


def serialize_connection_setup() -> None:
    """Close a window through which a worker thread could reach the network.

    While vcrpy builds a real connection it briefly un-patches the whole process
    (``vcr.patch.force_reset``); a thread opening a connection in that instant gets
    an unpatched one, and in replay mode goes to the network (seen with 8 threads).
    Both now happen under one lock. Idempotent.
    """
    import contextlib

    import urllib3.connectionpool as pools
    import vcr.patch

    if getattr(vcr.patch.force_reset, "microns_serialized", False):
        return
    unlocked_reset = vcr.patch.force_reset

    @contextlib.contextmanager
    def force_reset():
        with _connection_setup, unlocked_reset():
            yield

    force_reset.microns_serialized = True
    vcr.patch.force_reset = force_reset
    for pool in (pools.HTTPConnectionPool, pools.HTTPSConnectionPool):
        unlocked_new_conn = pool.__dict__["_new_conn"]

        def _new_conn(self, _unlocked=unlocked_new_conn):
            with _connection_setup:
                return _unlocked(self)

        pool._new_conn = _new_conn


class ReplayCassette(Cassette):
    """Answers requests from every recording of a folder, as often as asked.

    The files are read on the first request (so importing the package stays fast),
    then looked up by :func:`match_key`. A request that was recorded nowhere raises
    :class:`NotRecordedError` from inside the HTTP stack, which neither requests nor
    caveclient catch, so the learner sees our error.
    """

    def __init__(self, path, **kwargs):
        kwargs.update(record_mode=RecordMode.NONE, allow_playback_repeats=True)
        super().__init__(path, **kwargs)
        self._lock = threading.Lock()
        self._index: dict | None = None

    def _load(self):
        pass  # lazily, in _ensure_loaded

    def _ensure_loaded(self):
        with self._lock:
            if self._index is not None:
                return
            data, index = [], {}
            for file in recording_files(Path(self._path)):
                for request, response in read_recording(file):
                    index.setdefault(match_key(request), []).append(len(data))
                    data.append((request, response))
            self.data, self._index = data, index
            self._loaded_count = len(data)
            self.rewound = True

    def _responses(self, request):
        self._ensure_loaded()
        request = self._before_record_request(request)
        if request is None:
            return
        for position in self._index.get(match_key(request), ()):
            yield position, self.data[position][1]

    def can_play_response_for(self, request):
        if super().can_play_response_for(request):
            return True
        stored = self.filter_request(request)
        if stored is None:
            return False  # not ours to answer (loopback traffic): let it through
        where = ""
        if not self.data:
            where = f" (there are no recordings in {display_path(Path(self._path))})"
        raise NotRecordedError(
            f"Replay mode has no recorded response for {describe_request(stored)} "
            f"on {urlsplit(stored.uri).hostname}{where}. Record it with `{RECORD_COMMAND}` "
            "(or `make record`), or run live with MICRONS_MODE=live and a token."
        )

    def _save(self, force=False):
        pass  # replay never writes


class RecordCassette(Cassette):
    """Records every request of the process into one file.

    The file is written by :meth:`save`: after each notebook cell, at exit, and when
    the mode changes (see ``recording``), so a long chapter is not slowed down by a
    rewrite after every response. ``secrets`` is a live collection of strings that
    must never reach the file; ``forbidden`` likewise (loopback addresses).
    """

    def __init__(self, path, *, source="live", secrets=(), forbidden=(), **kwargs):
        kwargs.update(record_mode=RecordMode.ALL)
        super().__init__(path, **kwargs)
        self._lock = threading.RLock()
        self._source = source
        self._secrets = secrets
        self._forbidden = forbidden
        self._recorded_at = utc_now()

    def _load(self):
        pass  # a new recording replaces the old one

    def append(self, request, response):
        with self._lock:  # caveclient records from worker threads too
            super().append(request, response)

    def _save(self, force=False):
        with self._lock:
            if not (self.dirty or force):
                return
            path = Path(self._path)
            interactions = unique_sorted(self.data)
            size = write_recording(
                path, interactions, secrets=list(self._secrets), forbidden=list(self._forbidden)
            )
            entry = manifest_entry(
                interactions, source=self._source, recorded_at=self._recorded_at, size=size
            )
            update_manifest(path.parent, path.name, entry)
            self.dirty = False
