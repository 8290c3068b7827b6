"""connect() against the sample service (late 2026): the pin, the token, the errors, the home."""

from __future__ import annotations

import datetime
import logging
import time
import traceback
from pathlib import Path

import caveclient
import numpy as np
import pytest
import requests
from caveclient import base as caveclient_base
from caveclient import materializationengine

from microns_helpers.client import connect, find_token, version_tuple
from microns_helpers.errors import (
    ModeError,
    NoTokenError,
    ServerIncompatibleError,
    ServerUnreachableError,
    TokenRejectedError,
    UnknownDatastackError,
    UnsupportedCaveclientError,
    VersionExpiredError,
    VersionNotAvailableError,
)
from microns_helpers.sample import SampleService
from tests.helpers import closed_port

# A token nobody could mistake for anything else; it must never come back out.
PLANTED_TOKEN = "planted-0f1e2d3c-NEVER-PRINT-4b5a6978"
VERSIONS_PATH = "/materialize/api/v3/datastack/minnie65_public/versions?expired=True"
METADATA_PATH = "/materialize/api/v3/datastack/minnie65_public/version/1300"
SERVER_MAP = Path(".cloudvolume", "secrets", "cave_datastack_to_server_map.json")
STAMP_1300 = datetime.datetime(2025, 1, 13, 10, 10, 1, 286229, tzinfo=datetime.timezone.utc)
PINS_TIMESTAMP = version_tuple(caveclient.__version__) >= (5, 24)


def tree(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def save_token_file(home: Path, token: str) -> None:
    secrets = home / ".cloudvolume" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "cave-secret.json").write_text(f'{{"token": "{token}"}}')


# --- the pin and the documented calls ------------------------------------------------------


def test_connect_pins_1300_and_its_time_stamp_and_the_documented_calls_work(home):
    with SampleService() as s:
        client = connect(server_address=s.url)
        assert client.materialize.version == 1300
        assert ("GET", VERSIONS_PATH) in s.requests
        if PINS_TIMESTAMP:
            assert client.version == 1300 and client.timestamp == STAMP_1300
            assert client.chunkedgraph.timestamp == STAMP_1300

        assert "nucleus_detection_v0" in client.materialize.get_tables()
        metadata = client.materialize.get_table_metadata("nucleus_detection_v0")
        assert metadata["table_name"] == "nucleus_detection_v0"
        nuclei = client.materialize.query_table("nucleus_detection_v0", limit=10)
        assert len(nuclei) == 10

        n = len(s.requests)
        bc = client.materialize.tables.aibs_metamodel_celltypes_v661(cell_type="BC").query()
        assert len(bc) > 0 and set(bc["cell_type"]) == {"BC"}
        # the reference table is joined to nucleus_detection_v0 at the pinned version
        joins = [p for m, p in s.requests[n:] if m == "POST" and "/version/1300/query?" in p]
        assert joins, s.requests[n:]


def test_connect_makes_at_most_one_request_more_than_the_documented_init(home):
    with SampleService() as s:
        raw = caveclient.CAVEclient(
            "minnie65_public", server_address=s.url, write_server_cache=False
        )
        raw.materialize.version = 1300
        documented = s.requests
        connect(server_address=s.url)
        ours = s.requests[len(documented) :]
    extra = [("GET", METADATA_PATH)] if PINS_TIMESTAMP else []  # the version's metadata
    assert ours == documented + extra


def test_microns_version_replaces_the_default_but_not_a_version_passed(home, monkeypatch):
    monkeypatch.setenv("MICRONS_VERSION", "1718")
    with SampleService() as s:
        assert connect(server_address=s.url).materialize.version == 1718
        assert connect(version=1300, server_address=s.url).materialize.version == 1300


@pytest.mark.parametrize("version", [np.int64(1300), "1300", " 1300 "])
def test_any_whole_number_is_a_version(home, version):
    with SampleService() as s:
        assert connect(version=version, server_address=s.url).materialize.version == 1300


@pytest.mark.parametrize("version", [True, 13.5, "latest", -1, [1300]])
def test_what_is_no_version_is_named(home, version):
    with pytest.raises(VersionNotAvailableError, match="is not a materialization version"):
        connect(version=version, server_address=f"http://127.0.0.1:{closed_port()}")


# --- expired and unknown versions ---------------------------------------------------------


def test_an_expired_version_says_since_when_and_what_to_use(home):
    with SampleService() as s, pytest.raises(VersionExpiredError) as caught:
        connect(version=1078, server_address=s.url)
    err, message = caught.value, str(caught.value)
    assert isinstance(err, VersionNotAvailableError) and isinstance(err, LookupError)
    assert "expired on 2025-06-05" in message  # the sample service's date (not published)
    assert "long-term version (117, 943, 1300" in message
    assert "the newest valid one is 1822" in message and "connect(version=1300)" in message
    assert "timestamp=datetime(2024, 6, 5, 10, 10, 1, 203215, tzinfo=timezone.utc)" in message
    assert err.version == 1078 and 1300 in err.available_versions
    assert err.time_stamp == datetime.datetime(
        2024, 6, 5, 10, 10, 1, 203215, tzinfo=datetime.timezone.utc
    )


def test_an_unknown_version_keeps_the_unknown_version_message(home):
    with SampleService() as s, pytest.raises(VersionNotAvailableError) as caught:
        connect(version=1079, server_address=s.url)
    assert not isinstance(caught.value, VersionExpiredError)
    message = str(caught.value)
    assert "version 1079 is not available" in message
    assert "Available versions: 117, 943, 1300, 1507, 1621, 1718, 1822." in message
    assert "connect(version=1300)" in message


def test_a_later_version_assignment_re_pins_with_the_same_checks(home):
    """The documentation's `client.materialize.version = N` works on connect()'s client."""
    with SampleService() as s:
        client = connect(server_address=s.url)
        client.materialize.version = 1718
        assert client.materialize.version == 1718
        if PINS_TIMESTAMP:
            assert client.timestamp.year == 2026  # 1718's moment: the tables and lineage agree
        with pytest.raises(VersionExpiredError, match="expired"):
            client.materialize.version = 1078
        assert client.materialize.version == 1718  # the pin it had is kept
        with pytest.raises(VersionNotAvailableError, match="1079"):
            client.materialize.version = 1079
        assert len(client.materialize.synapse_query(pre_ids=864691136968109774)) == 1499


def test_a_microns_version_that_is_no_number_is_named(home, monkeypatch):
    monkeypatch.setenv("MICRONS_VERSION", "latest")
    with pytest.raises(VersionNotAvailableError, match="MICRONS_VERSION='latest'"):
        connect(server_address=f"http://127.0.0.1:{closed_port()}")


def test_the_timeout_ends_with_connect(home, monkeypatch):
    """Queries after connect() are not cut short, and caveclient is left as it was."""
    monkeypatch.setenv("MICRONS_TIMEOUT", "0.2")
    with SampleService() as s:
        client = connect(server_address=s.url)
        s.delay = 0.5  # slower than MICRONS_TIMEOUT from now on
        assert "nucleus_detection_v0" in client.materialize.get_tables()
    assert caveclient_base.requests is requests
    assert materializationengine.TableManager.__name__ == "TableManager"


# --- tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["argument", "CAVE_TOKEN", "file"])
def test_the_token_is_found_in_each_place(home, monkeypatch, where):
    if where == "CAVE_TOKEN":
        monkeypatch.setenv("CAVE_TOKEN", PLANTED_TOKEN)
    if where == "file":
        save_token_file(home, PLANTED_TOKEN)
    token = PLANTED_TOKEN if where == "argument" else None
    assert find_token(token) == (PLANTED_TOKEN, where)
    with SampleService(required_token=PLANTED_TOKEN) as s:
        assert connect(server_address=s.url, token=token).materialize.version == 1300


def test_the_argument_wins_over_cave_token_which_wins_over_the_file(home, monkeypatch):
    save_token_file(home, "from-the-file")
    monkeypatch.setenv("CAVE_TOKEN", PLANTED_TOKEN)
    assert find_token() == (PLANTED_TOKEN, "CAVE_TOKEN")
    assert find_token("from-the-argument") == ("from-the-argument", "argument")


def test_no_token_says_how_to_get_one(home):
    with SampleService(required_token=PLANTED_TOKEN) as s, pytest.raises(NoTokenError) as caught:
        connect(server_address=s.url)
    message = str(caught.value)
    assert "client.auth.setup_token(make_new=True)" in message
    assert "client.auth.save_token(token=" in message
    assert "CAVE_TOKEN" in message and "MICRONS_MODE=offline" in message


@pytest.mark.parametrize("where", ["argument", "CAVE_TOKEN"])
def test_a_rejected_token_names_where_it_came_from(home, monkeypatch, where):
    if where == "CAVE_TOKEN":
        monkeypatch.setenv("CAVE_TOKEN", "an-old-token")
    token = "an-old-token" if where == "argument" else None
    with (
        SampleService(required_token=PLANTED_TOKEN) as s,
        pytest.raises(TokenRejectedError) as caught,
    ):
        connect(server_address=s.url, token=token)
    message = str(caught.value)
    assert "HTTP 403" in message and "setup_token(make_new=True)" in message
    assert ("token=..." if where == "argument" else "CAVE_TOKEN") in message


# --- the other errors, each from a real answer or a real failure ---------------------------


def test_unknown_datastack_lists_the_known_ones(home):
    with SampleService() as s, pytest.raises(UnknownDatastackError) as caught:
        connect("minnie99_public", server_address=s.url)
    assert "'minnie99_public'" in str(caught.value)
    assert "It knows: minnie65_public." in str(caught.value)


def test_a_closed_port_is_unreachable(home):
    port = closed_port()
    with pytest.raises(ServerUnreachableError) as caught:
        connect(server_address=f"http://127.0.0.1:{port}")
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "refused" in message
    assert "MICRONS_MODE=offline" in message


def test_a_silent_server_times_out_within_the_limit(home, monkeypatch):
    monkeypatch.setenv("MICRONS_TIMEOUT", "0.2")
    with SampleService(delay=1.0) as s:
        started = time.perf_counter()
        with pytest.raises(ServerUnreachableError) as caught:
            connect(server_address=s.url)
        elapsed = time.perf_counter() - started
    assert "no answer within 0.2 s" in str(caught.value)
    assert "MICRONS_MODE=offline" in str(caught.value)
    # caveclient tries a request four times (3 retries): about 4 x 0.2 s plus backoff
    assert elapsed < 3.0


def test_a_bad_timeout_setting_is_named(home, monkeypatch):
    monkeypatch.setenv("MICRONS_TIMEOUT", "soon")
    with pytest.raises(ModeError, match="MICRONS_TIMEOUT='soon'"):
        connect(server_address=f"http://127.0.0.1:{closed_port()}")


@pytest.mark.skipif(
    version_tuple(caveclient.__version__) < (8,), reason="only caveclient 8+ needs server 5.13"
)
def test_a_server_too_old_for_this_caveclient(home):
    with (
        SampleService(materialize_server_version="4.0.0") as s,
        pytest.raises(ServerIncompatibleError) as caught,
    ):
        connect(server_address=s.url)
    message = str(caught.value)
    assert "4.0.0" in message and "5.13.0" in message and "caveclient<8" in message


def test_a_caveclient_older_than_5_17_is_refused(home, monkeypatch):
    monkeypatch.setattr(caveclient, "__version__", "5.16.0")
    with pytest.raises(UnsupportedCaveclientError, match="caveclient 5.16.0 is older than 5.17"):
        connect(server_address=f"http://127.0.0.1:{closed_port()}")


def test_a_caveclient_that_cannot_be_imported(home, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "caveclient", None)
    with pytest.raises(UnsupportedCaveclientError, match="pip install 'caveclient>=5.17,<9'"):
        connect(server_address=f"http://127.0.0.1:{closed_port()}")


def test_an_unknown_mode_fails_before_any_request(home):
    with SampleService() as s, pytest.raises(ModeError, match="'offlin' is not a mode"):
        connect(server_address=s.url, mode="offlin")
    assert s.requests == []


def test_modes_are_case_blind(home):
    with SampleService() as s:
        assert connect(server_address=s.url, mode=" LIVE ").materialize.version == 1300


def test_errors_come_without_a_chained_traceback(home):
    with pytest.raises(ServerUnreachableError) as caught:
        connect(server_address=f"http://127.0.0.1:{closed_port()}")
    printed = "".join(traceback.format_exception(caught.value))
    assert "During handling of the above exception" not in printed
    assert "The above exception was the direct cause" not in printed


# --- what connect() leaves behind ----------------------------------------------------------


def test_the_home_folder_is_left_untouched(home):
    save_token_file(home, PLANTED_TOKEN)
    before = tree(home)
    with SampleService() as s:
        connect(server_address=s.url)
        assert tree(home) == before
        assert not (home / SERVER_MAP).exists()
        # The check can fail: caveclient's own default writes the server map.
        caveclient.CAVEclient("minnie65_public", server_address=s.url)
    assert (home / SERVER_MAP).exists()


def test_the_token_never_shows(home, monkeypatch, caplog):
    """Planted in every call: in no message, repr, traceback or log record afterwards."""
    caplog.set_level(logging.DEBUG)
    seen = []

    def failure(error_type, service, **kwargs):
        with pytest.raises(error_type) as caught:
            connect(server_address=service.url, token=PLANTED_TOKEN, **kwargs)
        err = caught.value
        seen.extend([str(err), repr(err), "".join(traceback.format_exception(err))])

    with SampleService(required_token="another-token") as s:
        failure(TokenRejectedError, s)
    with SampleService(required_token=PLANTED_TOKEN) as s:
        failure(UnknownDatastackError, s, datastack="minnie99_public")
        client = connect(server_address=s.url, token=PLANTED_TOKEN)
        seen.extend([repr(client), str(client)])
    with SampleService(required_token=PLANTED_TOKEN) as s:
        failure(VersionExpiredError, s, version=1078)
    monkeypatch.setenv("MICRONS_TIMEOUT", "0.1")
    with SampleService(required_token=PLANTED_TOKEN, delay=0.5) as s:
        failure(ServerUnreachableError, s)
    seen.extend(record.getMessage() for record in caplog.records)
    assert len(seen) > 10
    assert not [text for text in seen if PLANTED_TOKEN in text]
