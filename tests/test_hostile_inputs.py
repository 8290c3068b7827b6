"""Careless and hostile inputs: each gets our own error, with the right cause and next step.

Every case runs one input a learner could type (or a server could answer) and says what
must come of it: an error of ours, of the expected type, whose message holds the key words,
and in which no secret appears (message, repr, traceback, exception chain or log). Valid
inputs that look odd (``np.int64(1300)``, a token with a trailing newline, ``"REPLAY"``)
must simply work. The session prints one line with the tally (conftest.py):

    hostile inputs: N tried, N clear (...), 0 raw tracebacks, 0 leaks, 0 lost or misplaced files

Record mode and the recorder on hostile folders and names are here too ("lost or misplaced":
a damaged recording or notebook, a file outside the recordings folder, a .partial left
behind); the recorder's kills are in test_recorder_safety.py.
"""

from __future__ import annotations

import base64
import http.server
import json
import logging
import os
import subprocess
import sys
import threading
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from microns_helpers import connect, modes, plots
from microns_helpers.errors import (
    InvalidInputError,
    MicronsHelpersError,
    ModeError,
    NetworkSignInError,
    RecordingDamagedError,
    ServerIncompatibleError,
    ServerUnreachableError,
    TokenRejectedError,
    UnknownDatastackError,
    VersionNotAvailableError,
)
from microns_helpers.query import query_by_root_ids
from microns_helpers.sample import SampleService
from microns_helpers.synapses import connection_counts, synapse_partners
from tests.helpers import HOSTILE_TALLY, closed_port, learner_env, run_python

SECRET = "planted-hostile-7e6d5c4b-NEVER-SHOW"
ENCODED_SECRET = base64.b64encode(SECRET.encode()).decode()
REPO = Path(__file__).resolve().parents[1]


def everything_shown(err: BaseException, caplog) -> str:
    """All text a learner or a log could see of an error: message, repr, chain, logs."""
    parts = [str(err), repr(err), "".join(traceback.format_exception(err))]
    context = err.__context__ or err.__cause__
    while context is not None:
        parts += [str(context), repr(context)]
        context = context.__context__ or context.__cause__
    parts += [record.getMessage() for record in caplog.records]
    return "\n".join(parts)


def expect(caplog, error, words, call, *, secrets=(SECRET,)):
    """Run ``call``; tally it; assert our ``error`` with ``words`` and no secret shown."""
    HOSTILE_TALLY["tried"] += 1
    caplog.set_level(logging.DEBUG)
    try:
        call()
    except MicronsHelpersError as err:
        shown = everything_shown(err, caplog)
        leaked = [s for s in secrets if s in shown]
        HOSTILE_TALLY["leaks"] += bool(leaked)
        assert not leaked, f"a secret is shown: {shown[:500]}"
        assert isinstance(err, error), f"{type(err).__name__}: {err}"
        for word in words:
            assert word in str(err), f"{word!r} not in: {err}"
        HOSTILE_TALLY["own"] += 1
        return err
    except BaseException as err:
        HOSTILE_TALLY["raw"] += 1
        raise AssertionError(f"a raw {type(err).__name__} instead of our error: {err}") from err
    HOSTILE_TALLY["raw"] += 1  # counted as a failure to explain: nothing was raised
    raise AssertionError("no error was raised")


def works(call):
    """A valid input: it must simply work (tallied as tried and handled)."""
    HOSTILE_TALLY["tried"] += 1
    result = call()
    HOSTILE_TALLY["own"] += 1
    return result


class _Answers(http.server.BaseHTTPRequestHandler):
    """A server that answers 200 with whatever ``body`` the test sets (a captive portal)."""

    body = b""
    content_type = "text/html"

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def portal():
    """A loopback server answering 200 with a body of the test's choice; yields its class."""
    handler = type("Portal", (_Answers,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield handler
    server.shutdown()
    server.server_close()


class _Counts(http.server.BaseHTTPRequestHandler):
    """A reachable server that counts every request it gets (and answers 200 JSON)."""

    def _answer(self):
        type(self).hits.append(f"{self.command} {self.path}")
        body = b'{"local_server": "http://127.0.0.1:9"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    """A loopback server that records the requests it receives; yields its handler class."""
    handler = type("Listener", (_Counts,), {"hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield handler
    server.shutdown()
    server.server_close()


# Every way a learner's code reaches a server: the documentation's plain caveclient,
# requests, urllib and http.client, and connect(). Each prints one JSON line.
EVERY_KIND_OF_REQUEST = """
import http.client, json, sys, urllib.request
import microns_helpers, caveclient, requests
url, token = sys.argv[1], sys.argv[2]
port = int(url.rsplit(":", 1)[1])
def http_client():
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request("GET", "/info/version")
    return conn.getresponse().read()
calls = {
    "CAVEclient": lambda: caveclient.CAVEclient(
        "minnie65_public", server_address=url, auth_token=token, write_server_cache=False),
    "CAVEclient, public server": lambda: caveclient.CAVEclient("minnie65_public"),
    "requests": lambda: requests.get(url + "/info/version"),
    "urllib": lambda: urllib.request.urlopen(url + "/info/version").read(),
    "http.client": http_client,
    "connect": lambda: microns_helpers.connect(server_address=url),
}
for name, call in calls.items():
    try:
        call()
        outcome = "sent"
    except microns_helpers.MicronsHelpersError as err:
        outcome = type(err).__name__ + ": " + str(err)
    except Exception as err:
        outcome = "raw " + type(err).__name__ + ": " + str(err)
    print(json.dumps([name, outcome]))
print(json.dumps(["mode", microns_helpers.modes.active_mode()]))
"""


def good_recording(documented_recording) -> bytes:
    """A whole recording (the package ships none of the sample): the documented calls
    recorded from a fresh sample service, as the recorder writes them (once per run, the
    ``documented_recording`` fixture of tests/conftest.py)."""
    folder, _, _ = documented_recording
    return (folder / "documented_calls.json").read_bytes()


def damaged_recordings(folder: Path, whole: bytes) -> Path:
    """A recordings folder whose one recording was cut short (a failed copy, a disk full)."""
    folder.mkdir()
    (folder / "02_basics.json").write_bytes(whole[:300])
    return folder


@pytest.mark.parametrize(
    "cause, error, words",
    [
        ("MICRONS_MODE=offlin", "ModeError", ["MICRONS_MODE='offlin' is not a mode", "offline"]),
        ("a damaged recording, offline", "RecordingDamagedError", ["02_basics.json", "git"]),
        ("a damaged recording, replay", "RecordingDamagedError", ["02_basics.json", "git"]),
        ("a missing recordings folder", "ModeError", ["MICRONS_RECORDINGS", "nowhere"]),
    ],
)
def test_a_bad_setting_or_damaged_recording_sends_no_request(
    home, tmp_path, listener, cause, error, words, documented_recording
):
    """Fail closed: with a token and a reachable server, not one request reaches it, and
    every kind of request gets the one clear error that names the setting or the file."""
    settings = {
        "MICRONS_MODE=offlin": {"MICRONS_MODE": "offlin"},
        "a damaged recording, offline": {"MICRONS_MODE": "offline"},
        "a damaged recording, replay": {"MICRONS_MODE": "replay"},
        "a missing recordings folder": {"MICRONS_MODE": "offline"},
    }[cause]
    if "damaged" in cause:
        whole = good_recording(documented_recording)
        settings["MICRONS_RECORDINGS"] = str(damaged_recordings(tmp_path / "recordings", whole))
    if "missing" in cause:
        settings["MICRONS_RECORDINGS"] = str(tmp_path / "nowhere")
    done = run_python(
        EVERY_KIND_OF_REQUEST, listener.url, SECRET, home=home, CAVE_TOKEN=SECRET, **settings
    )
    assert done.returncode == 0, done.stderr[-2000:]
    outcomes = dict(json.loads(line) for line in done.stdout.splitlines() if line.startswith("["))
    mode = outcomes.pop("mode")
    for name, outcome in outcomes.items():
        HOSTILE_TALLY["tried"] += 1
        clear = outcome.startswith(error + ":") and all(w in outcome for w in words)
        HOSTILE_TALLY["own" if clear else "raw"] += 1
        HOSTILE_TALLY["leaks"] += SECRET in outcome
        assert clear, f"{name}: {outcome}"
        assert SECRET not in outcome
    assert listener.hits == [], f"requests reached the server: {listener.hits}"
    assert mode == "blocked"
    # said once at import, in one line, without a traceback or the token
    said = [line for line in done.stderr.splitlines() if line.startswith("microns_helpers:")]
    assert len(said) == 1 and "no request is sent" in said[0], done.stderr
    assert "Traceback" not in done.stderr and SECRET not in done.stderr


def test_a_restored_recording_lifts_the_block_at_the_next_connect(
    home, caplog, tmp_path, listener, documented_recording
):
    import requests

    whole = good_recording(documented_recording)
    folder = damaged_recordings(tmp_path / "recordings", whole)
    with modes.using("live"):
        with pytest.raises(RecordingDamagedError):
            modes.activate("replay", recordings=folder)
        err = expect(
            caplog,
            RecordingDamagedError,
            ["No request was sent", "02_basics.json"],
            lambda: requests.get(listener.url),
        )
        assert err.__context__ is None or err.__suppress_context__
        assert listener.hits == []
        (folder / "02_basics.json").write_bytes(whole)
        client = works(connect)  # tries replay again: the folder reads now
        assert client.materialize.version == 1300
        assert modes.active_mode() == "replay"


# --- connect(): addresses, names, versions, tokens, settings -------------------------------


@pytest.mark.parametrize(
    "address, words",
    [
        ("global.daf-apis.com", ["not a web address", "https://global.daf-apis.com"]),
        ("ftp://global.daf-apis.com", ["not a web address"]),
        ("http://[::1", ["not a web address"]),
        ("https://", ["not a web address"]),
    ],
)
def test_an_address_that_is_no_web_address(home, caplog, address, words):
    expect(caplog, ServerUnreachableError, words, lambda: connect(server_address=address))


def test_a_password_in_the_address_is_never_echoed(home, caplog):
    url = f"http://learner:{SECRET}@127.0.0.1:{closed_port()}"
    err = expect(
        caplog,
        ServerUnreachableError,
        ["refused", "127.0.0.1"],
        lambda: connect(server_address=url),
    )
    assert "learner" not in str(err)


@pytest.mark.parametrize("body", [b"<html><body>Sign in to the hotel wifi</body></html>", b""])
def test_a_captive_portal_page_is_named_as_such(home, caplog, portal, body):
    portal.body = body
    expect(
        caplog,
        ServerIncompatibleError,
        ["not CAVE's data", "sign in to the network", "MICRONS_MODE=offline"],
        lambda: connect(server_address=portal.url),
    )


class _SignIn(http.server.BaseHTTPRequestHandler):
    """Hotel wifi: every request is sent to the sign-in page (302), or refused with 511."""

    status = 302
    page = b"<html><body><form>Room number <input name=room></form></body></html>"

    def do_GET(self):  # noqa: N802
        if self.status == 302 and not self.path.startswith("/portal"):
            self.send_response(302)
            self.send_header("Location", f"{type(self).url}/portal/login?continue={self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200 if self.status == 302 else self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args):
        pass


@pytest.fixture(params=[302, 511])
def sign_in_portal(request):
    handler = type("SignIn", (_SignIn,), {"status": request.param})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield handler
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("token", [None, SECRET])
def test_a_sign_in_page_in_the_way_is_named_as_such(home, caplog, sign_in_portal, token):
    expect(
        caplog,
        NetworkSignInError,
        [f"HTTP {sign_in_portal.status}", "sign in to the network, then run the doctor again"],
        lambda: connect(server_address=sign_in_portal.url, token=token),
    )


def test_the_doctor_names_a_sign_in_page_in_the_way(home, capsys, sign_in_portal):
    from microns_helpers import cli

    HOSTILE_TALLY["tried"] += 1
    status = cli.main(["doctor", "--server-address", sign_in_portal.url])
    out = capsys.readouterr().out
    said = [line for line in out.splitlines() if "sign in to the network" in line]
    clear = status == 1 and len(said) == 1 and "then run the doctor again" in said[0]
    HOSTILE_TALLY["own" if clear else "raw"] += 1
    assert clear, out
    assert "token" not in said[0]


def test_the_doctor_says_an_address_is_no_web_address(home, capsys):
    from microns_helpers import cli

    HOSTILE_TALLY["tried"] += 1
    status = cli.main(["doctor", "--server-address", "htp:/x"])
    out = capsys.readouterr().out
    clear = status == 1 and "'htp:/x' is not a web address" in out
    clear = clear and "does not answer" not in out and "network" not in out.split("htp:/x")[1]
    HOSTILE_TALLY["own" if clear else "raw"] += 1
    assert clear, out


@pytest.mark.parametrize("body", [b"{}", b"[1, 2, 3]", b'{"local_server": 7}'])
def test_a_malformed_json_answer_is_ours(home, caplog, portal, body):
    portal.body, portal.content_type = body, "application/json"
    expect(
        caplog,
        ServerIncompatibleError,
        ["not CAVE's data"],
        lambda: connect(server_address=portal.url),
    )


@pytest.mark.parametrize(
    "datastack", [None, "", "   ", 65, "minnie65_public/", "../../etc/passwd", "minnie 65", ".."]
)
def test_no_datastack_name(home, caplog, datastack):
    expect(
        caplog,
        UnknownDatastackError,
        ["not a datastack name", "connect('minnie65_public')"],
        lambda: connect(datastack, server_address=f"http://127.0.0.1:{closed_port()}"),
    )


def test_a_typo_in_the_datastack_name_in_replay_says_so(home, caplog, monkeypatch):
    monkeypatch.setenv("MICRONS_MODE", "replay")
    err = expect(
        caplog,
        UnknownDatastackError,
        ["'minnie65_publik'", "minnie65_public", "spelling"],
        lambda: connect("minnie65_publik"),
    )
    assert "make record" not in str(err) and "microns-helpers record" not in str(err)


@pytest.mark.parametrize("version", [np.int64(1300), np.int32(1300), "1300"])
def test_a_whole_number_of_any_type_is_a_version(home, version):
    with SampleService() as s:
        assert (
            works(lambda: connect(version=version, server_address=s.url)).materialize.version
            == 1300
        )


@pytest.mark.parametrize("version", [True, 1300.5, "latest", 0, -1300])
def test_what_is_no_version(home, caplog, version):
    expect(
        caplog,
        VersionNotAvailableError,
        ["is not a materialization version", "connect(version=1300)"],
        lambda: connect(version=version, server_address=f"http://127.0.0.1:{closed_port()}"),
    )


def test_a_token_with_a_trailing_newline_is_stripped(home):
    with SampleService(required_token=SECRET) as s:
        client = works(lambda: connect(server_address=s.url, token=SECRET + "\n"))
        assert client.materialize.version == 1300


@pytest.mark.parametrize(
    "token, words",
    [
        (SECRET + "\u00e9\u4e2d", ["characters that a token never has"]),
        (SECRET[:10] + " " + SECRET[10:], ["spaces or line breaks inside it"]),
        (b"bytes-token", ["must be text"]),
    ],
)
def test_a_token_that_cannot_be_one(home, caplog, token, words):
    err = expect(
        caplog,
        TokenRejectedError,
        words,
        lambda: connect(server_address=f"http://127.0.0.1:{closed_port()}", token=token),
        secrets=(SECRET, SECRET[:10], SECRET[10:]),
    )
    assert err.__context__ is None or err.__suppress_context__


def test_a_rejected_token_shows_nowhere(home, caplog):
    with SampleService(required_token="another") as s:
        expect(
            caplog,
            TokenRejectedError,
            ["HTTP 403"],
            lambda: connect(server_address=s.url, token=SECRET),
        )


@pytest.mark.parametrize("value", ["inf", "-1", "0", "nan", "soon", "1e308", "3601"])
def test_a_bad_timeout_setting(home, caplog, monkeypatch, value):
    monkeypatch.setenv("MICRONS_TIMEOUT", value)
    expect(
        caplog,
        ModeError,
        [f"MICRONS_TIMEOUT={value!r}", "positive number", "at most 3600"],
        lambda: connect(server_address=f"http://127.0.0.1:{closed_port()}"),
    )


@pytest.mark.parametrize("mode", ["REPLAY", " Offline ", "Live"])
def test_modes_in_any_case(home, mode, monkeypatch):
    with SampleService() as s:
        if mode.strip().lower() == "live":
            works(lambda: connect(server_address=s.url, mode=mode))
        else:
            works(lambda: modes.normalize_mode(mode))
    monkeypatch.setenv("MICRONS_MODE", mode)
    assert works(modes.current_mode) == mode.strip().lower()


@pytest.mark.parametrize("mode", ["bogus", "replay,offline", 3])
def test_a_bad_mode(home, caplog, mode):
    expect(caplog, ModeError, ["is not a mode", "offline"], lambda: connect(mode=mode))


def test_a_recordings_folder_that_is_a_file(home, caplog, monkeypatch, tmp_path):
    (tmp_path / "recordings.json").write_text("{}")
    monkeypatch.setenv("MICRONS_RECORDINGS", str(tmp_path / "recordings.json"))
    with modes.restored():
        expect(
            caplog,
            ModeError,
            ["is a file, not a folder", "MICRONS_RECORDINGS"],
            lambda: connect(mode="offline"),
        )


def test_the_doctor_says_the_recordings_path_is_a_file(home, capsys, monkeypatch, tmp_path):
    from microns_helpers import cli

    (tmp_path / "recordings.json").write_text("{}")
    monkeypatch.setenv("MICRONS_RECORDINGS", str(tmp_path / "recordings.json"))
    monkeypatch.setenv("MICRONS_MODE", "offline")
    HOSTILE_TALLY["tried"] += 1
    status = cli.main(["doctor"])
    out = capsys.readouterr().out
    clear = status == 1 and "is a file, not a folder" in out and "does not exist" not in out
    HOSTILE_TALLY["own" if clear else "raw"] += 1
    assert clear, out


def test_a_missing_recordings_folder(home, caplog, monkeypatch, tmp_path):
    monkeypatch.setenv("MICRONS_RECORDINGS", str(tmp_path / "nowhere"))
    expect(
        caplog, ModeError, ["does not exist", "MICRONS_RECORDINGS"], lambda: connect(mode="replay")
    )


@pytest.mark.parametrize("limit", [0, -1, 2.5, True, "10"])
def test_a_limit_that_is_no_number_of_rows(home, caplog, sample_service, limit):
    """caveclient asserts `limit > 0` with no message; on every caveclient of the matrix,
    see test_caveclient_matrix.py (this is the pinned one)."""
    import datetime

    materialize = connect(server_address=sample_service.url).materialize
    now = datetime.datetime.now(datetime.timezone.utc)
    table = "aibs_metamodel_celltypes_v661"
    for call in (
        lambda: materialize.query_table(table, limit=limit),
        lambda: materialize.live_query(table, now, limit=limit),
        lambda: materialize.synapse_query(pre_ids=864691135808473885, limit=limit),
    ):
        expect(caplog, InvalidInputError, [f"limit={limit!r}", "whole number of 1 or more"], call)
    assert len(works(lambda: materialize.query_table(table, limit=2))) == 2


# --- replay: what it shows of a request -----------------------------------------------------


def test_replay_answers_never_show_a_token_sent_outside_the_header(home, caplog, monkeypatch):
    # replay answers the public hosts from the sample: whatever a request carries, its
    # answer (a 404 for a route the sample does not model) shows no token
    import requests

    monkeypatch.setenv("CAVE_TOKEN", SECRET)
    with modes.using("replay"):
        base = modes.PUBLIC_LOCAL + "/materialize/api/v2/never"
        for call in (
            lambda: requests.get(base, params={"middle_auth_token": SECRET}),
            lambda: requests.get(base, params={"key": SECRET}),
            lambda: requests.post(base, json={"note": SECRET}),
            lambda: requests.get(base + "/" + SECRET),
            lambda: requests.get(base, cookies={"middle_auth_token": SECRET}),
        ):
            HOSTILE_TALLY["tried"] += 1
            answer = call()
            shown = answer.text + json.dumps(dict(answer.headers)) + caplog.text
            clear = answer.status_code == 404 and "MICRONS_MODE=live" in answer.text
            HOSTILE_TALLY["own" if clear else "raw"] += 1
            HOSTILE_TALLY["leaks"] += SECRET in shown
            assert clear, answer.text
            assert SECRET not in shown


class _Echoes(http.server.BaseHTTPRequestHandler):
    """A careless server: every answer, at the test's status, echoes the Authorization
    header and the cookies it got."""

    status = 500

    def do_GET(self):  # noqa: N802
        echoed = f"{self.headers.get('Authorization')} {self.headers.get('Cookie')}"
        body = json.dumps({"message": f"cannot serve {echoed}", "error": echoed}).encode()
        if self.status == 302 and "login" not in self.path:
            self.send_response(302)
            self.send_header("Location", f"/login?seen={echoed.replace(' ', '+')}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200 if self.status == 302 else self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Warning", f'201 - "echo {echoed}"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(
    "status, error",
    [
        (200, ServerIncompatibleError),
        (302, NetworkSignInError),  # a redirect to a page that is not CAVE's login
        (401, TokenRejectedError),
        (403, TokenRejectedError),
        (404, UnknownDatastackError),
        (500, ServerUnreachableError),
    ],
)
def test_a_server_echoing_the_token_leaves_it_in_no_error(home, caplog, status, error):
    handler = type("Echo", (_Echoes,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        err = expect(caplog, error, [], lambda: connect(server_address=url, token=SECRET))
        assert err.__context__ is None and err.__cause__ is None
    finally:
        server.shutdown()
        server.server_close()


def planted_recordings(folder: Path) -> Path:
    """Recordings made elsewhere that hold this learner's token: in a Warning header, in
    the body of an error (JSON), and plain and base64-encoded in a text body."""
    folder.mkdir()
    interactions = [
        {
            "request": {"method": "GET", "uri": modes.PUBLIC_GLOBAL + "/info/version"},
            "response": {
                "status": 200,
                "reason": "OK",
                "headers": {
                    "Content-Type": ["application/json"],
                    "Warning": [f'201 - "seen Bearer {SECRET}'],
                },
                "body": {"json": "2.0.0"},
            },
        },
        {
            "request": {
                "method": "GET",
                "uri": modes.PUBLIC_GLOBAL + "/info/api/v2/datastack/full/minnie65_public",
            },
            "response": {
                "status": 500,
                "reason": "Internal Server Error",
                "headers": {"Content-Type": ["application/json"]},
                "body": {"json": {"message": f"cannot serve Bearer {SECRET}"}},
            },
        },
        {
            "request": {"method": "GET", "uri": modes.PUBLIC_LOCAL + "/page"},
            "response": {
                "status": 200,
                "reason": "OK",
                "headers": {"Content-Type": ["text/plain"]},
                "body": {"text": f"token={ENCODED_SECRET} and {SECRET}"},
            },
        },
    ]
    text = json.dumps({"format": 1, "interactions": interactions})
    (folder / "planted.json").write_text(text, encoding="utf-8")
    return folder


def test_a_damaged_recording_holding_a_token_shows_it_nowhere(home, caplog, tmp_path):
    folder = planted_recordings(tmp_path / "recordings")
    planted = folder / "planted.json"
    planted.write_bytes(planted.read_bytes()[:-40])  # cut short: no longer JSON
    with modes.restored():
        err = expect(
            caplog,
            RecordingDamagedError,
            ["planted.json", "is damaged"],
            lambda: modes.activate("replay", folder),
        )
    # the JSON error (whose .doc is the whole file) is not chained to ours
    assert err.__context__ is None and err.__cause__ is None


def test_a_token_planted_in_a_recording_is_never_shown(home, caplog, capsys, tmp_path, monkeypatch):
    import caveclient
    import requests

    folder = planted_recordings(tmp_path / "recordings")
    monkeypatch.setenv("CAVE_TOKEN", SECRET)
    caplog.set_level(logging.DEBUG)
    HOSTILE_TALLY["tried"] += 1
    with modes.using("replay", folder):
        with pytest.raises(requests.HTTPError) as caught:
            caveclient.CAVEclient("minnie65_public", auth_token=SECRET)
        page = requests.get(modes.PUBLIC_LOCAL + "/page").text
        version = requests.get(modes.PUBLIC_GLOBAL + "/info/version")
    shown = "\n".join(
        [
            str(caught.value),
            "".join(traceback.format_exception(caught.value)),
            page,
            str(version.headers),
            *(record.getMessage() for record in caplog.records),
            *capsys.readouterr(),
        ]
    )
    forms = (SECRET, ENCODED_SECRET)
    HOSTILE_TALLY["leaks"] += any(form in shown for form in forms)
    assert not any(form in shown for form in forms), shown[:2000]
    assert "REDACTED" in str(caught.value) and "REDACTED" in page
    assert "REDACTED" in version.headers["Warning"]
    HOSTILE_TALLY["own"] += 1


# --- the helpers ----------------------------------------------------------------------------


class _Client:
    """Enough of a client for the helper's input checks, which come before any query."""

    class materialize:  # noqa: N801
        tables = None


@pytest.mark.parametrize(
    "ids, words",
    [
        ([True, False], ["not booleans"]),
        (np.array([True, True]), ["not booleans"]),
        ([2**64, 5], ["between 1 and 2**64"]),
        ([-864691135808473885], ["between 1 and 2**64"]),
        ([0], ["between 1 and 2**64"]),
        ([1.5e17], ["must be integers"]),
        (["864691135808473885"], ["must be integers"]),
        (864691135808473885, ["a list of one"]),
        ([], ["empty"]),
    ],
)
def test_query_by_root_ids_with_ids_that_are_none(caplog, ids, words):
    expect(caplog, InvalidInputError, words, lambda: query_by_root_ids(_Client(), "t", ids))


def test_plots_and_tables_with_bad_columns(caplog):
    sizes = pd.DataFrame({"size": ["big", "small"]})
    expect(caplog, InvalidInputError, ["not numbers"], lambda: plots.plot_synapse_sizes(sizes))
    ragged = pd.DataFrame({"pt_position": [[1, 2, 3], [4, 5]]})
    ragged.attrs["dataframe_resolution"] = [4, 4, 40]
    expect(caplog, InvalidInputError, ["three numbers"], lambda: plots.positions_um(ragged))
    points = pd.DataFrame({"pt_position": [[1, 2, 3]]})
    points.attrs["dataframe_resolution"] = [4, 4, 40]
    for bins in (0, -3, 2.5, "ten"):
        expect(
            caplog,
            InvalidInputError,
            ["bins"],
            lambda bins=bins: plots.plot_depth_profile(points, bins=bins),
        )
        expect(
            caplog,
            InvalidInputError,
            ["bins"],
            lambda bins=bins: plots.plot_synapse_sizes(pd.DataFrame({"size": [1, 2]}), bins=bins),
        )
    counts = pd.DataFrame({"syn_count": ["3", "x"]})
    expect(
        caplog, InvalidInputError, ["not numbers"], lambda: plots.plot_synapses_per_partner(counts)
    )
    expect(caplog, InvalidInputError, ["DataFrame"], lambda: connection_counts([1, 2]))
    expect(caplog, InvalidInputError, ["no column"], lambda: synapse_partners(sizes, 1))


def test_synapses_per_partner_bins_large_values_sensibly():
    import matplotlib.pyplot as plt

    counts = pd.DataFrame({"syn_count": [1, 2, 3, 10**9]})
    ax = works(lambda: plots.plot_synapses_per_partner(counts))
    assert len(ax.patches) <= 200  # not one bar per integer
    plt.close("all")


def test_import_never_fails_because_of_a_setting(home, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    for name, value in (
        ("MICRONS_MODE", "bogus"),
        ("MICRONS_RECORDINGS", str(tmp_path / "nowhere")),
        ("MICRONS_TIMEOUT", "soon"),
        ("MICRONS_VERSION", "latest"),
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICRONS_")}
        env.update({name: value, "PYTHONPATH": str(repo), "HOME": str(home)})
        if name == "MICRONS_RECORDINGS":
            env["MICRONS_MODE"] = "replay"
        HOSTILE_TALLY["tried"] += 1
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import microns_helpers, microns_helpers.plots, "
                "microns_helpers.synapses, microns_helpers.query; print('imported')",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0 and done.stdout.strip() == "imported", (name, done.stderr)
        assert "Traceback" not in done.stderr, done.stderr
        HOSTILE_TALLY["own"] += 1


# --- record mode and the recorder on any folder ---------------------------------------------


def files_under(folder: Path) -> set:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def read_only(folder: Path, argv: list) -> list:
    """``argv`` run with ``folder`` read-only: a read-only bind mount for root (whom file
    modes do not stop), else the folder's mode."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return argv
    script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1" && shift && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, "sh", str(folder), *argv]


@pytest.mark.parametrize(
    "name", ["../x", "../../x", "/tmp/elsewhere", "a" * 300, ".hidden", "a/b", "x\nmore", "-"]
)
def test_a_record_name_that_is_no_plain_file_name(home, caplog, tmp_path, monkeypatch, name):
    folder = tmp_path / "recordings" / "here"
    folder.mkdir(parents=True)
    monkeypatch.setenv("MICRONS_RECORD_NAME", name)
    before = files_under(tmp_path)
    with modes.restored():
        expect(
            caplog,
            ModeError,
            ["MICRONS_RECORD_NAME=", "not a plain file name", "letters, digits"],
            lambda: modes.activate("record", folder),
        )
        assert modes.active_mode() == "blocked"
        modes.flush()
    misplaced = files_under(tmp_path) - before
    HOSTILE_TALLY["lost"] += bool(misplaced)
    assert not misplaced


def record_settings(folder: Path, sample_service) -> dict:
    """Record mode into ``folder`` (made empty here), from the test's sample service."""
    folder.mkdir()
    return {
        "MICRONS_MODE": "record",
        "MICRONS_RECORDINGS": str(folder),
        "MICRONS_RECORD_TARGET": sample_service.url,
    }


RECORD_ONE_REQUEST = """
import sys, requests, microns_helpers
requests.get(microns_helpers.modes.PUBLIC_GLOBAL + sys.argv[1])
"""


def test_record_mode_into_a_read_only_folder_fails_at_once(home, tmp_path, sample_service):
    folder = tmp_path / "recordings"
    env = learner_env(home, **record_settings(folder, sample_service))
    argv = read_only(folder, [sys.executable, "-c", RECORD_ONE_REQUEST, "/info/version"])
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    HOSTILE_TALLY["tried"] += 1
    last = done.stderr.strip().splitlines()[-1]
    clear = done.returncode != 0 and "cannot write into" in last and "ModeError" in last
    HOSTILE_TALLY["own" if clear else "raw"] += 1
    assert clear, done.stderr[-2000:]
    assert "PermissionError" not in done.stderr and "OSError" not in done.stderr
    assert files_under(folder) == set()


def test_a_save_refused_at_exit_ends_with_a_non_zero_status(home, tmp_path, sample_service):
    folder = tmp_path / "recordings"
    code = (
        "import requests, microns_helpers\n"
        "requests.post(microns_helpers.modes.PUBLIC_GLOBAL + '/schema/api/v2/types', "
        "json={'note': 'http://127.0.0.1:9/'})\n"
    )
    done = run_python(code, home=home, **record_settings(folder, sample_service))
    HOSTILE_TALLY["tried"] += 1
    clear = done.returncode == 1 and "the recording was not saved" in done.stderr
    HOSTILE_TALLY["own" if clear and "Traceback" not in done.stderr else "raw"] += 1
    assert clear and "Traceback" not in done.stderr, done.stderr[-2000:]
    left = files_under(folder)
    HOSTILE_TALLY["lost"] += bool(left)
    assert left == set()  # nothing saved, and no partial file


def test_two_processes_recording_into_one_folder(home, tmp_path, sample_service):
    """Each saves its own file and manifest entry; no shared partial file, no raw error."""
    folder = tmp_path / "recordings"
    env = learner_env(home, **record_settings(folder, sample_service))
    code = (
        "import requests, microns_helpers\n"
        "for path in ('/info/version', '/materialize/version', '/schema/versions') * 20:\n"
        "    requests.get(microns_helpers.modes.PUBLIC_GLOBAL + path)\n"
        "    microns_helpers.modes.flush()\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env={**env, "MICRONS_RECORD_NAME": f"process_{k}"},
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(3)
    ]
    errors = [proc.communicate(timeout=180)[1] for proc in procs]
    HOSTILE_TALLY["tried"] += 1
    clean = all(proc.returncode == 0 for proc in procs) and not any(errors)
    HOSTILE_TALLY["own" if clean else "raw"] += 1
    assert clean, errors
    names = {f"process_{k}.json" for k in range(3)}
    manifest = json.loads((folder / "manifest.json").read_text())["recordings"]
    lost = files_under(folder) != {Path(n) for n in names | {"manifest.json"}}
    HOSTILE_TALLY["lost"] += lost or set(manifest) != names
    assert not lost and set(manifest) == names, (files_under(folder), manifest)


def run_recorder(chapters: Path, recordings: Path, **env_changes) -> subprocess.Popen:
    from tests.helpers import recorder

    return recorder(chapters, recordings, **env_changes)


def partials(*folders: Path) -> list:
    return [p for folder in folders for p in folder.rglob("*.partial")]


def test_the_recorder_refuses_a_read_only_folder_at_once(home, tmp_path):
    from tests.helpers import CHAPTER, write_chapter

    chapters, recordings = tmp_path / "chapters", tmp_path / "recordings"
    write_chapter(chapters, CHAPTER)
    recordings.mkdir()
    before = files_under(tmp_path)
    argv = [sys.executable, "-m", "microns_helpers", "record", "--chapters", str(chapters)]
    argv += ["--recordings", str(recordings)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICRONS_", "CAVE_"))}
    env.update(PYTHONPATH=str(REPO), MICRONS_MODE="live", HOME=str(home))
    done = subprocess.run(
        read_only(recordings, argv), env=env, capture_output=True, text=True, timeout=120
    )
    HOSTILE_TALLY["tried"] += 1
    clear = done.returncode == 2 and "cannot write into" in done.stderr
    HOSTILE_TALLY["own" if clear and "Traceback" not in done.stderr else "raw"] += 1
    assert clear and "Traceback" not in done.stderr, done.stderr[-2000:]
    changed = files_under(tmp_path) != before
    HOSTILE_TALLY["lost"] += changed
    assert not changed


def test_the_recorder_with_tmpdir_on_another_file_system(home, tmp_path):
    from tests.helpers import CHAPTER, write_chapter

    elsewhere = Path("/dev/shm")
    if not elsewhere.is_dir() or elsewhere.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system for TMPDIR (/dev/shm) on this machine")
    chapters, recordings = tmp_path / "chapters", tmp_path / "recordings"
    write_chapter(chapters, CHAPTER)
    proc = run_recorder(chapters, recordings, TMPDIR=str(elsewhere))
    out, err = proc.communicate(timeout=300)
    HOSTILE_TALLY["tried"] += 1
    HOSTILE_TALLY["own" if proc.returncode == 0 else "raw"] += 1
    assert proc.returncode == 0, err[-2000:]
    # the notebook is stored with its outputs (a recording of the sample is not kept)
    stored = json.loads((chapters / "01_demo.ipynb").read_text())
    assert any(cell.get("outputs") for cell in stored["cells"])
    assert (recordings / "manifest.json").is_file() and not partials(chapters, recordings)


def test_the_recorder_refuses_outputs_that_show_a_machine_path(home, tmp_path):
    from tests.helpers import CHAPTER, write_chapter

    chapters, recordings = tmp_path / "chapters", tmp_path / "recordings"
    # what a library warning printed with a file path looks like in a cell's output
    warning = (
        "import sys, warnings\n"
        "warnings.warn(sys.prefix + '/lib/python3.11/site-packages/dask/dataframe/io.py: "
        "no network, reading nothing')"
    )
    write_chapter(chapters, [*CHAPTER, warning])
    recordings.mkdir()
    before = files_under(tmp_path)
    proc = run_recorder(chapters, recordings)
    out, err = proc.communicate(timeout=300)
    HOSTILE_TALLY["tried"] += 1
    clear = proc.returncode == 1 and "a path of this machine" in out and "cell 4" in out
    HOSTILE_TALLY["own" if clear else "raw"] += 1
    assert clear, out[-2000:] + err[-2000:]
    changed = files_under(tmp_path) != before
    HOSTILE_TALLY["lost"] += changed
    assert not changed


def test_two_recorders_into_one_folder(home, tmp_path):
    """Both finish, or one is refused clearly; replay works after; no partial file."""
    from tests.helpers import CHAPTER, write_chapter

    chapters, recordings = tmp_path / "chapters", tmp_path / "recordings"
    write_chapter(chapters, CHAPTER)
    procs = [run_recorder(chapters, recordings) for _ in range(2)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    results = [(proc.returncode, out, err) for proc, (out, err) in zip(procs, outputs)]
    HOSTILE_TALLY["tried"] += 1
    finished = [r for r in results if r[0] == 0]
    refused = [r for r in results if r[0] == 2 and "Another recorder is writing" in r[2]]
    clear = len(finished) + len(refused) == 2 and finished
    clear = clear and not any("Traceback" in r[2] for r in results)
    HOSTILE_TALLY["own" if clear else "raw"] += 1
    assert clear, [(code, out[-500:], err[-1500:]) for code, out, err in results]
    left = partials(chapters, recordings)
    HOSTILE_TALLY["lost"] += bool(left)
    assert not left
    with modes.using("replay", recordings):
        client = works(connect)
        assert len(client.materialize.get_tables()) > 0


# What a kernel process writes to its own terminal (not to a cell's output), as ipykernel's
# "Uncaught exception in ZMQStream callback" traceback at shutdown did.
KERNEL_TERMINAL = (
    "import os\nos.write(2, b'Traceback (most recent call last): kernel-terminal-7f3a\\n')"
)


def test_a_kernels_own_terminal_output_is_shown_only_when_the_run_fails(home, tmp_path):
    """The recorder keeps its kernels' own terminal output aside: a run that went well
    shows none of it; a failed run shows its last lines after the FAILED line."""
    from tests.helpers import CHAPTER, write_chapter

    chapters, recordings = tmp_path / "chapters", tmp_path / "recordings"
    write_chapter(chapters, [*CHAPTER, KERNEL_TERMINAL])
    proc = run_recorder(chapters, recordings)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert "kernel-terminal-7f3a" not in out + err and "Traceback" not in err
    write_chapter(chapters, [KERNEL_TERMINAL, "1 / 0"])
    proc = run_recorder(chapters, recordings)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, out[-2000:] + err[-2000:]
    failed = out[out.index("FAILED 01_demo.ipynb while recording: ZeroDivisionError") :]
    assert "the kernel's own output ended with:" in failed and "kernel-terminal-7f3a" in failed
