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
import contextlib
import datetime
import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable
from urllib.parse import parse_qsl, urlsplit

from vcr.cassette import Cassette
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.record_mode import RecordMode
from vcr.request import Request

from .errors import NotRecordedError, RecordingDamagedError, RecordingRefusedError
from .scrub import scrubbed_response, token_needles

FORMAT = 1
MANIFEST = "manifest.json"
RECORD_COMMAND = "microns-helpers record"
SHORT_BODY = 120
# Seconds a save waits for another process writing into the same recordings folder.
LOCK_WAIT = 30.0

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
    if not _is_text(body, content_type):
        return {"base64": base64.b64encode(body).decode("ascii")}
    text = body.decode("utf-8")
    try:
        return {"json": json.loads(text)}
    except ValueError:
        return {"text": text}


def _is_text(body: bytes, content_type: str) -> bool:
    """True for a body stored as text or JSON; False for binary ones (Arrow results)."""
    textual = not content_type or any(
        word in content_type.lower() for word in ("json", "text", "xml", "html", "javascript")
    )
    if not textual:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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


def _is_text_body(body: bytes, headers: dict) -> bool:
    """True for a stored body that is text or JSON, by its headers' content type."""
    return _is_text(body, _content_type(headers))


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
        problem = type(err).__name__
    # Raised outside the except: the JSON error would stay as __context__, and it holds the
    # whole file (JSONDecodeError.doc), which may hold a token.
    raise RecordingDamagedError(
        f"The recording {display_path(path)} is damaged and cannot be read ({problem}). "
        f"Restore it with `git checkout -- {display_path(path)}` or re-record it with "
        f"`{RECORD_COMMAND}`."
    )


def _check_clean(text: str, interactions, secrets: Iterable[str], forbidden: Iterable[str]):
    """Refuse to write a recording that holds a secret or a loopback address."""
    blobs = [text.encode("utf-8")]
    for request, response in interactions:
        blobs += [request.uri.encode(), request.body or b"", response["body"]["string"] or b""]
    needles = token_needles(secrets)
    if any(needle in blob for needle in needles for blob in blobs):
        raise RecordingRefusedError(
            "Refusing to write a recording: a token would be stored in it. "
            "This is a bug in the scrubbing of microns_helpers.scrub; please report it."
        )
    for word in forbidden:
        if any(word.encode() in blob for blob in blobs):
            raise RecordingRefusedError(
                f"Refusing to write a recording: it would contain the loopback address {word!r} "
                "instead of the public URLs. Check that the sample service advertises the public "
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
    write_atomically(path, text.encode("utf-8"))
    return len(text.encode("utf-8"))


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all: a kill never leaves half a file."""
    partial = partial_beside(path, data)
    try:
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def partial_beside(target: Path, data: bytes) -> Path:
    """``data`` in a new ``.partial`` file beside ``target``, to be renamed onto it.

    Beside it: the same file system, so the rename is atomic (whatever TMPDIR is). A name of
    its own, so two writers never share one. The mode ``target`` has (else rw-r--r--),
    not mkstemp's owner-only one. The caller removes it if the rename does not happen.
    """
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        os.chmod(name, mode)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


@contextlib.contextmanager
def folder_lock(folder: Path, *, wait: float):
    """Hold the recordings folder for writing; RecordingRefusedError after ``wait`` seconds.

    An advisory lock on the folder itself (no lock file to leave behind; the system drops
    it when the process ends, even by a kill). Where there is no ``fcntl`` (Windows) it is
    not locked.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RecordingRefusedError(
                        f"Another recorder is writing into {display_path(folder)}. Wait for it "
                        "to finish, or record into another folder (--recordings, or "
                        "MICRONS_RECORDINGS)."
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(handle)  # releases the lock


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
    write_atomically(folder / MANIFEST, text.encode("utf-8"))  # never half a manifest


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
#
# Built on vcrpy's public extension points only: a persister (how a cassette is loaded and
# saved), a matcher, and the public methods can_play_response_for and append. vcrpy's own
# saving is a no-op here; RecordCassette writes its file itself (write_recording).


class FolderPersister:
    """vcrpy persister: a cassette's ``path`` is a folder, read as one index of every file."""

    @classmethod
    def load_cassette(cls, cassette_path, serializer):
        requests, responses = [], []
        for file in recording_files(Path(cassette_path)):
            for request, response in read_recording(file):
                requests.append(request)
                responses.append(response)
        if not requests:
            raise CassetteNotFoundError()
        return requests, responses

    @staticmethod
    def save_cassette(cassette_path, cassette_dict, serializer):
        pass  # replay and offline never write; RecordCassette writes its own file


class NothingPersister(FolderPersister):
    """vcrpy persister for recording: nothing is loaded (a recording replaces the old one)."""

    @classmethod
    def load_cassette(cls, cassette_path, serializer):
        raise CassetteNotFoundError()


def same_request(r1: Request, r2: Request) -> bool:
    """vcrpy matcher: method, URL (query order aside) and parsed body (:func:`match_key`)."""
    return _cached_key(r1) == _cached_key(r2)


def _cached_key(request: Request) -> tuple:
    key = getattr(request, "microns_match_key", None)
    if key is None:
        key = match_key(request)
        request.microns_match_key = key
    return key


class ReplayCassette(Cassette):
    """Replay and offline mode: answers requests from every recording of a folder, as often
    as asked. What no recording answers on the public CAVE hosts, modes.py sends to the
    in-process sample service before the cassette sees it; a request to any other host
    raises :class:`NotRecordedError` from inside the HTTP stack, which neither requests nor
    caveclient catch, so the learner sees our error.
    """

    @classmethod
    def use(cls, **kwargs):
        kwargs.update(
            persister=FolderPersister,
            record_mode=RecordMode.NONE,
            allow_playback_repeats=True,
            match_on=(same_request,),
        )
        return super().use(**kwargs)

    def __init__(self, path, *, secrets=(), **kwargs):
        super().__init__(path, **kwargs)
        self.secrets = secrets  # live: the tokens this process has seen so far

    def play_response(self, request):
        return scrubbed_response(super().play_response(request), self.secrets, _is_text_body)

    def has_recording(self, request) -> bool:
        """True if a recording answers ``request`` (as it arrives, before filtering)."""
        return Cassette.can_play_response_for(self, request)

    def can_play_response_for(self, request):
        if self.has_recording(request):
            return True
        stored = self.filter_request(request)
        if stored is None:
            return False  # not ours to answer (loopback traffic): let it through
        raise self.not_recorded(stored)

    def not_recorded(self, stored) -> NotRecordedError:
        host = urlsplit(stored.uri).hostname
        return NotRecordedError(
            f"Replay and offline mode answer the public CAVE servers only, and {host} is not "
            f"one of them ({describe_request(stored)}). Use MICRONS_MODE=live for another "
            "server.",
            request=describe_request(stored),
        )


class BlockedCassette(Cassette):
    """Refuses every request of the process with ``error`` (a bad setting or a damaged
    recording): fail closed, so nothing reaches the network, loopback included."""

    @classmethod
    def use(cls, **kwargs):
        kwargs.update(persister=NothingPersister, record_mode=RecordMode.NONE)
        return super().use(**kwargs)

    def __init__(self, path, *, error, **kwargs):
        super().__init__(path, **kwargs)
        self.error = error

    def can_play_response_for(self, request):
        # A fresh copy each time: one exception object raised again and again would grow
        # its traceback with every request.
        raise type(self.error)(*self.error.args) from None


class RecordCassette(Cassette):
    """Records every request of the process into one file, written by :meth:`flush`.

    ``flush`` runs after each notebook cell, at exit and when the mode changes (see
    :mod:`~microns_helpers.modes`), so a long chapter is not slowed down by a rewrite
    after every response.
    A new process starts an empty recording, which replaces the file when first flushed.
    ``secrets`` is a live collection of strings that must never reach the file;
    ``forbidden`` likewise (loopback addresses).
    """

    @classmethod
    def use(cls, **kwargs):
        kwargs.update(persister=NothingPersister, record_mode=RecordMode.ALL)
        return super().use(**kwargs)

    def __init__(self, path, *, source="live", secrets=(), forbidden=(), carried=None, **kwargs):
        super().__init__(path, **kwargs)
        self.file = Path(path)  # vcrpy 8.5 (Python 3.10) has no Cassette.path
        self._microns_lock = threading.RLock()
        # What this process recorded into the same file before leaving record mode for a
        # while (the doctor does): continued, not overwritten.
        self.recorded = carried if carried is not None else []
        self.unsaved = False
        self.options = {"source": source, "secrets": secrets, "forbidden": forbidden}
        self.recorded_at = utc_now()

    def append(self, request, response):
        with self._microns_lock:  # caveclient records from worker threads too
            before = len(self.data)
            super().append(request, response)  # filters both (vcrpy's before_record hooks)
            if len(self.data) > before:  # None from the filter: not ours, not recorded
                self.recorded.append(self.data[-1])
                self.unsaved = True

    def flush(self) -> None:
        """Write the recording and its manifest entry, if anything new was recorded."""
        with self._microns_lock:
            if not self.unsaved:
                return
            path = self.file
            interactions = unique_sorted(self.recorded)
            # Another process may record into the same folder: one writer of the manifest
            # at a time, or one of the two entries is lost.
            with folder_lock(path.parent, wait=LOCK_WAIT):
                size = write_recording(
                    path,
                    interactions,
                    secrets=list(self.options["secrets"]),
                    forbidden=list(self.options["forbidden"]),
                )
                entry = manifest_entry(
                    interactions,
                    source=self.options["source"],
                    recorded_at=self.recorded_at,
                    size=size,
                )
                update_manifest(path.parent, path.name, entry)
            self.unsaved = False
