"""What we publish holds no secret, no loopback address and no path of somebody's machine.

Scanned: the recordings (with their base64 bodies decoded), the outputs stored in every
chapter notebook, and the built site. ``scan_text`` is the whole scanner; the planted
examples at the bottom show that each kind of leak is caught.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.scan_checks import (
    CHAPTERS,
    RECORDINGS,
    notebook_output_texts,
    recording_texts,
    report,
    scan,
    scan_text,
    site_texts,
)
from tests.site_build import REPO_ROOT


def test_recordings_are_clean():
    files = [p for p in RECORDINGS.rglob("*.json") if p.is_file()]
    assert files, f"no recordings in {RECORDINGS.relative_to(REPO_ROOT)}: nothing to scan"
    findings = scan(recording_texts(RECORDINGS))
    assert findings == [], report(findings)


@pytest.mark.parametrize("notebook", sorted(CHAPTERS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_stored_notebook_outputs_are_clean(notebook):
    findings = scan(notebook_output_texts(notebook))
    assert findings == [], report(findings)


def test_built_site_is_clean(built_site):
    findings = scan(site_texts(built_site))
    assert findings == [], report(findings)


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
        ("/home/learner/.venv/lib/python3.11/site-packages/caveclient/base.py:12", "machine path"),
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
