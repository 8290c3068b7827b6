"""The scan for secrets, loopback addresses and machine paths: tests/test_scan.py runs it
on the recordings, the stored outputs and the built site; benchmarks/bench_site.py times it."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from tests.site_build import REPO_ROOT

RECORDINGS = REPO_ROOT / "microns_helpers" / "recordings"
CHAPTERS = REPO_ROOT / "chapters"
# Values that stand in for a secret rather than being one.
PLACEHOLDER = re.compile(r"(?i)^(redacted|filtered|removed|hidden|x+|\*+|\.+|<[^>]*>)$")
_TOKEN_CHARS = r"[A-Za-z0-9._~+/-]"


def _masked(secret: str) -> str:
    return f"{secret[:4]}…({len(secret)} chars)"


# (kind, what, pattern, index of the group holding a secret value or None)
PATTERNS = [
    (
        "secret",
        "Bearer/Basic credentials",
        re.compile(rf"(?i)\b(?:bearer|basic)\s+({_TOKEN_CHARS}{{12,}}=*)"),
        1,
    ),
    (
        "secret",
        "middle_auth_token value",
        re.compile(r"(?i)middle_auth_token\s*[=:]\s*['\"]?([^\s'\";&,<>]{6,})"),
        1,
    ),
    ("secret", "Set-Cookie header", re.compile(r"(?i)\bset-cookie\b"), None),
    (
        "secret",
        "32-hex token after a token-like key",
        re.compile(
            r"(?i)(?:token|secret|auth|cookie|api[_-]?key|password)[\w-]*['\"]?\s*[:=]\s*\[?\s*['\"]?"
            r"([0-9a-f]{32})(?![0-9a-f])"
        ),
        1,
    ),
    ("loopback", "IPv4 loopback", re.compile(r"(?<![\d.])127(?:\.\d{1,3}){3}(?![\d.]*\d)"), None),
    ("loopback", "localhost", re.compile(r"(?i)\blocalhost\b"), None),
    ("loopback", "IPv6 loopback", re.compile(r"\[::1\]"), None),
    ("loopback", "any-address", re.compile(r"(?<![\d.])0\.0\.0\.0(?![\d.]*\d)"), None),
    (
        "machine path",
        "a home, root, temp or work folder",
        # Not inside a URL path (https://host/tmp/ has a word character before /tmp/).
        re.compile(r"(?<![\w.~-])/(?:home|root|tmp|work|Users)/[\w.-]"),
        None,
    ),
    (
        "machine path",
        "a Windows user folder",
        re.compile(r"(?i)\b[a-z]:(?:\\\\|\\|/)users\b"),
        None,
    ),
]


@dataclass(frozen=True)
class Finding:
    where: str
    kind: str
    what: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} ({self.what}): {self.excerpt}"


def _this_machine_patterns() -> list[tuple[str, str, re.Pattern, None]]:
    """The current home and repository folders, spelled out (whatever they are on CI)."""
    folders = {str(Path.home()), str(REPO_ROOT), os.environ.get("HOME", "")}
    return [
        ("machine path", "this machine's folder", re.compile(re.escape(f) + r"(?![\w.-])"), None)
        for f in sorted(folders)
        if len(f) > 1
    ]


def scan_text(text: str, where: str) -> list[Finding]:
    """Every secret, loopback address and machine path in ``text``.

    Secrets are masked in the findings, so a failing test never prints one.

    >>> [f.kind for f in scan_text("url: http://127.0.0.1:8000/x", "example")]
    ['loopback']
    """
    findings = []
    for kind, what, pattern, secret_group in PATTERNS + _this_machine_patterns():
        for match in pattern.finditer(text):
            if secret_group is None:
                excerpt = match.group(0)
            else:
                value = match.group(secret_group)
                if PLACEHOLDER.match(value):
                    continue
                excerpt = match.group(0).replace(value, _masked(value))
            findings.append(Finding(where, kind, what, repr(excerpt)))
    return findings


# ------------------------------------------------------------------- what gets scanned
def _decoded_base64(value) -> Iterator[str]:
    """The text of every ``{"base64": ...}`` body in a recording, decoded."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "base64" and isinstance(item, str):
                try:
                    yield base64.b64decode(item).decode("latin-1")
                except (binascii.Error, ValueError):
                    pass
            else:
                yield from _decoded_base64(item)
    elif isinstance(value, list):
        for item in value:
            yield from _decoded_base64(item)


def recording_texts(folder: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every file of a recordings folder, base64 bodies decoded too."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        where = path.relative_to(folder.parent).as_posix()
        text = path.read_bytes().decode("utf-8", errors="replace")
        yield where, text
        if path.suffix == ".json":
            try:
                for body in _decoded_base64(json.loads(text)):
                    yield f"{where} (a base64 body)", body
            except ValueError:
                pass  # not JSON: the raw text was scanned


def notebook_output_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every stored output of a notebook; images are skipped."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        for output in cell.get("outputs", []):
            pieces = [output.get("text", ""), output.get("ename", ""), output.get("evalue", "")]
            pieces += output.get("traceback", [])
            for mimetype, data in output.get("data", {}).items():
                if not mimetype.startswith("image/") or mimetype == "image/svg+xml":
                    pieces.append(data if isinstance(data, (str, list)) else json.dumps(data))
            text = "\n".join("".join(p) if isinstance(p, list) else str(p) for p in pieces)
            yield f"{path.name} cell {number}", text


def site_texts(html_dir: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every published page and source (not the theme's own files)."""
    for path in sorted(html_dir.rglob("*")):
        if not path.is_file() or "_static" in path.parts:
            continue
        where = path.relative_to(html_dir).as_posix()
        if path.suffix == ".ipynb":
            for inner, text in notebook_output_texts(path):
                yield f"{where} ({inner})", text
        elif path.suffix in (".html", ".js", ".md", ".txt"):
            yield where, path.read_text(encoding="utf-8", errors="replace")


def scan(texts) -> list[Finding]:
    return [finding for where, text in texts for finding in scan_text(text, where)]


def report(findings: list[Finding]) -> str:
    return f"{len(findings)} finding(s):\n" + "\n".join(str(f) for f in findings[:50])


# ---------------------------------------------------------------------------- real files
