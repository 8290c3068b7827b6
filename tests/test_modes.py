"""Record from the sample service with a planted token, then replay with it stopped; offline."""

from __future__ import annotations

import argparse
import base64
import json
import re
import secrets
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import requests

from microns_helpers import connect, modes
from microns_helpers.errors import (
    ModeError,
    NotRecordedError,
    RecordingDamagedError,
    RecordingRefusedError,
)
from microns_helpers.sample import SampleService
from tests.documented_calls import run_documented_calls


@pytest.fixture(autouse=True)
def restore_mode():
    """Each test leaves the process in the mode it found (make test runs in replay)."""
    with modes.restored():
        yield


@pytest.fixture(scope="module")
def token(documented_recording):
    return documented_recording[2]  # planted in the recording's home and CAVE_TOKEN


@pytest.fixture(scope="module")
def recorded(documented_recording):
    """A recordings folder made from the sample service (once per run: tests/conftest.py), and the
    results seen while recording."""
    folder, results, _ = documented_recording
    return folder, results


@pytest.fixture
def replaying(recorded, tmp_path, monkeypatch):
    """Replay mode on the recorded folder, with no token anywhere and the sample service stopped."""
    folder, _ = recorded
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CAVE_TOKEN", raising=False)
    monkeypatch.setenv("MICRONS_MODE", "replay")  # what connect() reads
    modes.activate("replay", recordings=folder)
    return folder


def all_bytes(folder: Path) -> bytes:
    return b"\n".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def base64_variants(secret: bytes) -> list[bytes]:
    """What the secret looks like base64-encoded at each of the three byte alignments."""
    variants = []
    for pad in range(3):
        encoded = base64.b64encode(b"x" * pad + secret + b"xx")
        core = encoded[4 if pad else 0 : -8]
        variants += [core, core.replace(b"+", b"-").replace(b"/", b"_")]
    return variants


def stored_interactions(folder: Path) -> list[dict]:
    items = []
    for path in sorted(folder.glob("*.json")):
        if path.name != "manifest.json":
            items += json.loads(path.read_text())["interactions"]
    return items


def assert_same(recorded_value, replayed_value):
    if isinstance(recorded_value, pd.DataFrame):
        pd.testing.assert_frame_equal(replayed_value, recorded_value)
    else:
        assert replayed_value == recorded_value


# --- what is stored -------------------------------------------------------------------


def test_recording_holds_every_documented_call(recorded):
    folder, results = recorded
    assert (folder / "documented_calls.json").is_file()
    assert results["caveclient:nucleus_formatted"].shape[0] == 10
    assert not results["caveclient:basket_cells"].empty
    uris = [item["request"]["uri"] for item in stored_interactions(folder)]
    assert any("/synapses_pni_2/query" in uri for uri in uris)


def test_planted_token_is_nowhere_in_the_recordings(recorded, token):
    folder, _ = recorded
    data = all_bytes(folder)
    assert token.encode() not in data
    for variant in base64_variants(token.encode()):
        assert variant not in data
    # ...although the sample service refused every request that lacked it: it was sent.
    assert stored_interactions(folder)


def test_a_token_in_a_query_string_or_body_is_scrubbed_and_still_replays(tmp_path, monkeypatch):
    secret = "planted-" + secrets.token_hex(20)
    url = modes.PUBLIC_GLOBAL + f"/info/api/v2/datastack/full/minnie65_public?token={secret}"
    post = modes.PUBLIC_GLOBAL + "/schema/api/v2/types"
    body = {"note": f"copied {secret} here", "middle_auth_token": secret}
    with SampleService(local_server=modes.PUBLIC_LOCAL) as service:
        monkeypatch.setenv("MICRONS_RECORD_TARGET", service.url)
        monkeypatch.setenv("CAVE_TOKEN", secret)
        modes.activate("record", recordings=tmp_path, name="query_token")
        recorded_info = requests.get(url).json()
        requests.post(post, json=body)
        modes.activate("live")
    data = all_bytes(tmp_path)
    assert secret.encode() not in data
    assert all(variant not in data for variant in base64_variants(secret.encode()))
    modes.activate("replay", recordings=tmp_path)
    assert requests.get(url).json() == recorded_info


@pytest.mark.parametrize("form", ["plain", "url-encoded", "base64 of url-encoded"])
def test_write_refuses_a_token_the_scrub_missed(tmp_path, form):
    """The last line of defence: whatever form of the token reached the file, no file."""
    from urllib.parse import quote

    from vcr.request import Request

    from microns_helpers.cassette import write_recording

    secret = "planted/" + secrets.token_hex(12) + "+=&"
    leaked = {
        "plain": secret,
        "url-encoded": quote(secret, safe=""),
        "base64 of url-encoded": base64.b64encode(quote(secret, safe="").encode()).decode(),
    }[form]
    request = Request("GET", modes.PUBLIC_GLOBAL + f"/info?note={leaked}", None, {})
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": {"Content-Type": ["text/plain"]},
        "body": {"string": b"ok"},
    }
    path = tmp_path / "leaky.json"
    with pytest.raises(RecordingRefusedError, match="a token would be stored"):
        write_recording(path, [(request, response)], secrets={secret})
    assert not path.exists() and not list(tmp_path.iterdir())


def test_no_loopback_address_and_only_public_urls(recorded):
    folder, _ = recorded
    data = all_bytes(folder)
    assert b"127.0.0.1" not in data
    assert b"localhost" not in data
    for item in stored_interactions(folder):
        assert item["request"]["uri"].startswith((modes.PUBLIC_GLOBAL, modes.PUBLIC_LOCAL))


def test_arrow_bodies_survive_byte_for_byte(tmp_path, monkeypatch):
    url = (
        modes.PUBLIC_LOCAL + "/materialize/api/v3/datastack/minnie65_public/version/1300"
        "/table/nucleus_detection_v0/query?return_pyarrow=True&arrow_format=True"
    )
    with SampleService(local_server=modes.PUBLIC_LOCAL) as service:
        monkeypatch.setenv("MICRONS_RECORD_TARGET", service.url)
        modes.activate("record", recordings=tmp_path, name="arrow")
        live = requests.post(url, json={"limit": 5})
        modes.activate("live")
    assert live.headers["Content-Type"] == "data.arrow" and len(live.content) > 100
    modes.activate("replay", recordings=tmp_path)
    replayed = requests.post(url, json={"limit": 5})
    assert replayed.content == live.content
    assert replayed.headers["Content-Type"] == "data.arrow"


def test_only_the_headers_replay_needs_are_stored(recorded):
    folder, _ = recorded
    names = set()
    for item in stored_interactions(folder):
        assert "headers" not in item["request"]
        names.update(name.lower() for name in item["response"]["headers"])
    assert "content-type" in names
    assert not names & {"set-cookie", "authorization", "cookie", "content-length", "date"}


def test_manifest_says_where_each_recording_came_from(recorded):
    folder, _ = recorded
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = manifest["recordings"]["documented_calls.json"]
    assert entry["source"] == "sample-service"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["recorded_at"])
    assert entry["datastacks"] == ["minnie65_public"]
    assert 1300 in entry["materialization_versions"]
    assert entry["interactions"] == len(stored_interactions(folder))
    assert entry["bytes"] == (folder / "documented_calls.json").stat().st_size
    assert entry["caveclient_version"]


# --- replay -------------------------------------------------------------------------------


def test_replay_gives_identical_results_with_the_service_stopped(recorded, replaying):
    _, results = recorded
    replayed = run_documented_calls(connect)
    assert replayed.keys() == results.keys()
    for name, value in results.items():
        assert_same(value, replayed[name])


def test_an_unrecorded_request_is_answered_by_the_sample_silently(replaying, capsys):
    # Recordings are for live answers; replay answers the rest from the shipped sample,
    # as offline mode does, without offline's line per request.
    from caveclient import CAVEclient

    client = CAVEclient("minnie65_public")
    client.materialize.version = 1300
    df = client.materialize.query_table("nucleus_detection_v0", limit=3)
    assert len(df) == 3
    assert modes.STATE.sample_service is not None
    assert "answered by the sample" not in capsys.readouterr().err


def test_a_request_to_another_host_raises_our_error_from_a_worker_thread(replaying):
    url = "https://example.org/materialize/api/v2/never/recorded"
    with ThreadPoolExecutor(2) as pool:
        with pytest.raises(NotRecordedError, match="public CAVE servers only") as caught:
            pool.submit(requests.get, url).result()
    assert "GET /materialize/api/v2/never/recorded" in str(caught.value)
    assert isinstance(caught.value, LookupError)


def test_a_damaged_recording_names_the_file_and_the_fix(recorded, tmp_path):
    folder, _ = recorded
    damaged = tmp_path / "damaged"
    shutil.copytree(folder, damaged)
    path = damaged / "documented_calls.json"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(RecordingDamagedError) as caught:
        modes.activate("replay", recordings=damaged)
    assert modes.active_mode() == modes.BLOCKED  # fail closed, not live
    message = str(caught.value)
    assert "documented_calls.json" in message
    assert "git checkout" in message and "microns-helpers record" in message
    assert caught.value.__context__ is None  # nothing chained: the JSON error holds the file


def recorded_query(folder: Path) -> dict:
    for item in stored_interactions(folder):
        body = item["request"].get("body", {}).get("json")
        if item["request"]["method"] == "POST" and isinstance(body, dict) and len(body) > 1:
            return item
    raise AssertionError("no POST with a JSON body was recorded")


def test_json_bodies_match_whatever_the_key_order_and_whitespace(replaying):
    item = recorded_query(replaying)
    body = item["request"]["body"]["json"]
    reordered = dict(reversed(list(body.items())))
    text = json.dumps(reordered, indent=4)
    assert text != json.dumps(body)
    answer = requests.post(item["request"]["uri"], data=text)
    expected = base64.b64decode(item["response"]["body"]["base64"])
    assert answer.content == expected  # Arrow bytes, byte for byte


def test_a_changed_body_is_not_matched(replaying):
    item = recorded_query(replaying)
    body = dict(item["request"]["body"]["json"], limit=123456)
    served = len(modes.STATE.sample_service.requests) if modes.STATE.sample_service else 0
    answer = requests.post(item["request"]["uri"], json=body)
    # not the recorded answer: the sample service answered it
    assert answer.content != base64.b64decode(item["response"]["body"]["base64"])
    assert len(modes.STATE.sample_service.requests) == served + 1


def test_a_request_is_served_any_number_of_times_from_many_threads(replaying):
    url = modes.PUBLIC_GLOBAL + "/info/api/v2/datastack/full/minnie65_public"
    start = threading.Barrier(8, timeout=30)
    answers, errors = [], []

    def fetch_five_times():
        try:
            start.wait()  # all threads ask at once
            answers.extend(requests.get(url, timeout=10).json() for _ in range(5))
        except Exception as err:  # reported below, with the thread's error
            errors.append(err)

    threads = [threading.Thread(target=fetch_five_times) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(answers) == 40 and all(answer == answers[0] for answer in answers)
    assert answers[0]["local_server"] == modes.PUBLIC_LOCAL


def test_loopback_traffic_passes_through_replay(replaying):
    # Other tests run their own sample service while MICRONS_MODE=replay: it must still answer.
    with SampleService() as service:
        answer = requests.get(service.url + "/info/api/v2/datastack/full/minnie65_public")
    assert answer.status_code == 200
    assert ("GET", "/info/api/v2/datastack/full/minnie65_public") in service.requests


# --- modes and the notice ----------------------------------------------------------------


def test_replay_prints_one_line_once_at_its_first_request(replaying, capsys, monkeypatch):
    # Silent while switching modes (a chapter's hidden first cell), one line in the output of
    # the first cell that asks the service something, and never again in the process.
    monkeypatch.setattr(modes.STATE, "notices_shown", set())
    modes.activate("live")
    modes.activate("replay", recordings=replaying)
    assert capsys.readouterr().out == ""
    for _ in range(2):
        connect(mode="replay")
    modes.activate("live")
    modes.activate("replay", recordings=replaying)
    connect(mode="replay")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert "recordings of the sample service, then the package's sample data" in lines[0]
    assert "MICRONS_MODE=live" in lines[0]


def test_activate_is_idempotent_and_keeps_the_folder_in_use(recorded):
    folder, _ = recorded
    modes.activate("replay", recordings=folder)
    cassette = modes.STATE.cassette
    modes.activate("replay")  # what connect() does
    assert modes.STATE.cassette is cassette and modes.active_folder() == folder
    modes.activate("live")
    assert modes.active_mode() == "live" and modes.STATE.cassette is None


def test_using_restores_the_mode_and_folder_before_it(recorded, tmp_path):
    folder, _ = recorded
    modes.activate("replay", recordings=folder)
    with modes.using("live"):
        assert modes.active_mode() == "live"
        with modes.using("offline", tmp_path):
            assert modes.active_mode() == "offline"
    assert (modes.active_mode(), modes.active_folder()) == ("replay", folder)


def test_bad_mode_and_bad_target_are_refused(monkeypatch):
    modes.activate("live")  # whatever the tests before left (make test imports in replay)
    monkeypatch.setenv("MICRONS_MODE", "offlin")
    with pytest.raises(ModeError, match="MICRONS_MODE='offlin'"):
        modes.current_mode()
    with pytest.raises(ModeError):
        modes.activate("offlin")
    monkeypatch.setenv("MICRONS_MODE", " REPLAY ")
    assert modes.current_mode() == "replay"
    monkeypatch.setenv("MICRONS_RECORD_TARGET", "https://example.org")
    assert modes.active_mode() == "live"  # a bad name changes nothing
    with pytest.raises(ModeError, match="loopback"):
        modes.activate("record")
    assert modes.active_mode() == modes.BLOCKED  # a mode that cannot start: closed


def test_a_missing_recordings_folder_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("MICRONS_RECORDINGS", str(tmp_path / "nowhere"))
    modes.activate("live")
    with pytest.raises(ModeError, match="MICRONS_RECORDINGS=.* does not exist"):
        modes.activate("replay")
    assert modes.active_mode() == modes.BLOCKED


# --- offline: recordings first, the sample service for the rest ---------------------------


def test_offline_answers_what_was_never_recorded_and_flags_it(recorded, tmp_path, capsys):
    folder, _ = recorded
    modes.activate("offline", recordings=folder)
    from caveclient import CAVEclient

    client = CAVEclient("minnie65_public")
    client.materialize.version = 1300
    martinotti = client.materialize.tables.aibs_metamodel_celltypes_v661(cell_type="MC").query(
        limit=20
    )
    assert len(martinotti) == 20 and set(martinotti["cell_type"]) == {"MC"}
    err = capsys.readouterr().err
    answered = {path for _, path in modes.STATE.sample_answered}
    assert any("/version/1300/query" in path for path in answered)
    # recorded answers were used first: the datastack info was recorded, so not the sample's
    assert not any("/datastack/full/" in path for path in answered)
    # said once in the notice, never once per request (they drowned the chapters' output)
    assert "/version/1300/query" not in err and "answered by" not in err


def test_offline_refuses_other_hosts_with_our_error(recorded):
    folder, _ = recorded
    modes.activate("offline", recordings=folder)
    with pytest.raises(NotRecordedError, match="public CAVE servers only"):
        requests.get("https://example.org/materialize/api/versions")


def test_offline_errors_name_the_public_address(recorded):
    folder, _ = recorded
    modes.activate("offline", recordings=folder)
    answer = requests.get(
        modes.PUBLIC_LOCAL + "/materialize/api/v2/datastack/minnie65_public/version/1078/tables"
    )
    assert answer.status_code == 410 and answer.url.startswith(modes.PUBLIC_LOCAL)
    modes.activate("live")
    assert modes.STATE.sample_service is None  # stopped with the mode


def test_recordings_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MICRONS_RECORDINGS", raising=False)
    assert modes.recordings_dir() == Path(modes.__file__).parent / "recordings"
    monkeypatch.setenv("MICRONS_RECORDINGS", str(tmp_path))
    assert modes.recordings_dir() == tmp_path


def test_recording_again_replaces_the_old_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "rec").mkdir()  # record mode writes into a folder that exists, or refuses
    with SampleService(local_server=modes.PUBLIC_LOCAL) as service:
        monkeypatch.setenv("MICRONS_RECORD_TARGET", service.url)
        for path in ("/info/version", "/materialize/version"):
            modes.activate("record", recordings=tmp_path / "rec", name="again")
            requests.get(modes.PUBLIC_GLOBAL + path)
            modes.activate("live")
    uris = [item["request"]["uri"] for item in stored_interactions(tmp_path / "rec")]
    assert uris == [modes.PUBLIC_GLOBAL + "/materialize/version"]


# --- the recorder command ------------------------------------------------------------------
# (imported in the tests: collection must not import it, test_doctor checks its absence)


def record_args(argv):
    from microns_helpers import recorder

    parser = argparse.ArgumentParser()
    recorder.add_arguments(parser)
    return recorder, parser.parse_args(argv)


def test_recorder_records_then_stores_replayed_outputs(tmp_path, capsys):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import microns_helpers"),
        nbformat.v4.new_markdown_cell("Plain caveclient, as the documentation writes it:"),
        nbformat.v4.new_code_cell(
            "from caveclient import CAVEclient\n"
            "client = CAVEclient('minnie65_public')\n"
            "client.materialize.version = 1300\n"
            "len(client.materialize.get_tables()) > 0"
        ),
    ]
    nbformat.write(nb, str(chapters / "01_demo.ipynb"))
    rec = str(tmp_path / "rec")
    recorder, args = record_args(["--chapters", str(chapters), "--recordings", rec])

    assert recorder.run(args) == 0

    out = capsys.readouterr().out
    assert re.search(r"01_demo\.ipynb .* recorded +\d+ requests .* replayed in", out)
    saved = nbformat.read(str(chapters / "01_demo.ipynb"), as_version=4)
    code = [cell for cell in saved.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == [1, 2]
    assert code[0].outputs == []  # the notice waits for the first request
    notice, answer = code[1].outputs
    assert notice["text"].startswith("Offline: answers come from the package's")
    assert answer["data"]["text/plain"] == "True"
    # a recording of the sample is not kept: replay answers from the sample itself
    manifest = json.loads((tmp_path / "rec" / "manifest.json").read_text())
    assert manifest["recordings"] == {} and not (tmp_path / "rec" / "01_demo.json").exists()
    assert b"127.0.0.1" not in all_bytes(tmp_path / "rec")


def test_recorder_live_refuses_without_a_token(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CAVE_TOKEN", raising=False)
    (tmp_path / "chapters").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), str(tmp_path / "chapters" / "x.ipynb"))
    recorder, args = record_args(["--live", "--chapters", str(tmp_path / "chapters")])
    assert recorder.run(args) == 2
    assert "needs a CAVE token" in capsys.readouterr().err


def test_the_documented_calls_are_recorded_once_per_run(tmp_path, monkeypatch):
    """recorded_once (the documented_recording fixture): the first call of a run records,
    every later one reads it back; a recording cut short (no ``done``) is made again."""
    from tests import documented_calls

    calls = []

    def record(folder, home, token, *, connect=None):
        calls.append(token)
        (folder / "documented_calls.json").write_text("{}")
        return {"caveclient:tables": ["a table"], "connect:tables": ["a table"]}

    monkeypatch.setattr(documented_calls, "record_from_sample_service", record)
    first = documented_calls.recorded_once(tmp_path)
    again = documented_calls.recorded_once(tmp_path)
    assert len(calls) == 1 and first == again and first[2] == calls[0]
    assert first[1] == {"caveclient:tables": ["a table"], "connect:tables": ["a table"]}
    (tmp_path / "documented-calls" / "done").unlink()  # killed before it finished
    documented_calls.recorded_once(tmp_path)
    assert len(calls) == 2
