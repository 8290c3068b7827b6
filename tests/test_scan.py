"""What we publish holds no secret, no loopback address and no path of somebody's machine.

Scanned: the recordings (with their base64 bodies decoded), the outputs stored in every
chapter notebook, and the built site. ``scan_text`` is the whole scanner; the planted
examples at the bottom show that each kind of leak is caught.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

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


def _report(findings: list[Finding]) -> str:
    return f"{len(findings)} finding(s):\n" + "\n".join(str(f) for f in findings[:50])


# ---------------------------------------------------------------------------- real files
def test_recordings_are_clean():
    files = [p for p in RECORDINGS.rglob("*.json") if p.is_file()]
    assert files, f"no recordings in {RECORDINGS.relative_to(REPO_ROOT)}: nothing to scan"
    findings = scan(recording_texts(RECORDINGS))
    assert findings == [], _report(findings)


@pytest.mark.parametrize("notebook", sorted(CHAPTERS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_stored_notebook_outputs_are_clean(notebook):
    findings = scan(notebook_output_texts(notebook))
    assert findings == [], _report(findings)


def test_built_site_is_clean(built_site):
    findings = scan(site_texts(built_site))
    assert findings == [], _report(findings)


# ------------------------------------------------------------- planted: each must be caught
TOKEN = "0123456789abcdef0123456789abcdef"  # planted, not a real token


@pytest.mark.parametrize(
    ("planted", "kind"),
    [
        ('"Authorization": ["Bearer ' + TOKEN + '"]', "secret"),
        ("Cookie: middle_auth_token=" + TOKEN, "secret"),
        ('"Set-Cookie": ["session=abc; Path=/"]', "secret"),
        ('{"cave_token": "' + TOKEN + '"}', "secret"),
        ("token=" + TOKEN, "secret"),
        ("served by http://127.0.0.1:41234/info/api/v2", "loopback"),
        ("http://localhost:8888/lab", "loopback"),
        ("http://[::1]:8000/", "loopback"),
        ("listening on 0.0.0.0:80", "loopback"),
        ('File "/home/alice/notebooks/x.py", line 3', "machine path"),
        ("/root/.cloudvolume/secrets/cave-secret.json", "machine path"),
        ("saved to /tmp/tmpa1b2c3/figure.png", "machine path"),
        ("/work/main/.venv/lib/python3.11/site-packages/caveclient/base.py:12", "machine path"),
        (r"C:\Users\bob\AppData\Local", "machine path"),
        (r'"C:\\Users\\bob\\file.json"', "machine path"),
        (str(REPO_ROOT / "chapters" / "x.ipynb"), "machine path"),
    ],
)
def test_planted_leak_is_caught(planted, kind):
    assert kind in [f.kind for f in scan_text(f"some output\n{planted}\nmore", "planted")]


@pytest.mark.parametrize(
    "harmless",
    [
        "https://minnie.microns-daf.com/materialize/api/v3/datastack/minnie65_public",
        "Authorization: Bearer REDACTED",
        "middle_auth_token=<your token>",
        "https://github.com/seung-lab/CAVEclient/tree/master/tmp/notes",
        "pt_root_id 864691135571546917, 1278 synapses",
        "version 1078, 127 cells",
        "the nucleus 0123456789abcdef0123456789abcdef",  # hex, but not after a token key
    ],
)
def test_harmless_text_is_not_reported(harmless):
    assert scan_text(harmless, "harmless") == []


def test_secret_is_masked_in_findings():
    (finding,) = scan_text("Authorization: Bearer " + TOKEN, "planted")
    assert TOKEN not in str(finding)


def test_token_planted_in_a_copy_of_a_recording_is_caught(tmp_path):
    """A token that slipped into a response body (stored base64) is found in a copy."""
    folder = tmp_path / "recordings"
    folder.mkdir()
    body = base64.b64encode(f'{{"token": "{TOKEN}"}}'.encode()).decode()
    recording = {
        "format": 1,
        "interactions": [
            {
                "request": {"method": "GET", "uri": "https://global.daf-apis.com/info/"},
                "response": {"status": 200, "headers": {}, "body": {"base64": body}},
            }
        ],
    }
    originals = sorted(RECORDINGS.glob("*.json"))
    for original in originals:  # the real recordings, untouched, beside the planted one
        (folder / original.name).write_bytes(original.read_bytes())
    (folder / "planted.json").write_text(json.dumps(recording, indent=1))
    findings = scan(recording_texts(folder))
    assert [(f.where, f.kind) for f in findings] == [
        ("recordings/planted.json (a base64 body)", "secret")
    ]


def test_notebook_output_leak_is_caught(tmp_path):
    notebook = {
        "cells": [
            {"cell_type": "code", "outputs": [{"output_type": "stream", "text": ["ok\n"]}]},
            {
                "cell_type": "code",
                "outputs": [
                    {
                        "output_type": "execute_result",
                        "data": {"text/plain": ["'http://127.0.0.1:5000'"]},
                    }
                ],
            },
        ]
    }
    path = tmp_path / "planted.ipynb"
    path.write_text(json.dumps(notebook))
    assert [f.where for f in scan(notebook_output_texts(path))] == ["planted.ipynb cell 2"]
