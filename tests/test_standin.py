"""The loopback stand-in answers the documented calls as the real service did.

Runs caveclient 8.2.1 in-process against ``StandIn()``, and caveclient 5.23.0 in a subprocess
(its own virtual environment) for the RecursionError of the documentation.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import requests

from tests.standin import StandIn
from tests.standin.build_sample_data import SHARED

caveclient = pytest.importorskip("caveclient")

REPO = Path(__file__).resolve().parents[1]
VENV_523 = REPO / ".venv-caveclient523" / "bin" / "python"
EXAMPLE = 864691135808473885
THREE_ROOTS = [864691135771677771, 864691135560505569, 864691136723556861]
LIMIT_WARNING = '201 - "Limited query to 10 rows'

# The comparisons with the published values need ../shared beside the clone (this
# project's CI has it; a clone elsewhere, or the code host's workflow, may not).
needs_shared = pytest.mark.skipif(
    not SHARED.exists(), reason=f"published reference data not found at {SHARED}"
)
# `make test` always builds the 5.23.0 environment, so in CI a missing one is a failure.
IN_CI = bool(os.environ.get("CI"))


def make_client(url):
    client = caveclient.CAVEclient("minnie65_public", server_address=url, write_server_cache=False)
    client.materialize.version = 1078
    return client


@pytest.fixture
def client(standin, home):
    return make_client(standin.url)


def published(name):
    return pd.read_csv(SHARED / name, dtype=str, keep_default_na=False)


# -- info, versions, tables, metadata --------------------------------------------------------


@needs_shared
def test_datastack_info_is_the_real_one_with_the_standin_as_local_server(client, standin):
    info = client.info.get_datastack_info()
    real = json.loads((SHARED / "datastack_info_minnie65_public.json").read_text())
    assert info["local_server"] == standin.url
    assert {k: v for k, v in info.items() if k != "local_server"} == {
        k: v for k, v in real.items() if k != "local_server"
    }


@needs_shared
def test_tables_and_nucleus_metadata_are_real_at_1078(client):
    assert client.materialize.get_tables() == json.loads((SHARED / "tables_v1078.json").read_text())
    md = client.materialize.get_table_metadata("nucleus_detection_v0")
    real = json.loads((SHARED / "table_metadata_nucleus_detection_v0_v1078.json").read_text())
    assert md == real
    assert md["id"] == 38256 and md["voxel_resolution"] == [4.0, 4.0, 40.0]


def test_versions_listed_are_the_2024_10_list_and_1078_has_its_timestamp(client):
    assert client.materialize.get_versions() == [1078, 117, 661, 343, 1181, 795, 943]
    assert str(client.materialize.get_timestamp(1078)) == "2024-06-05 10:10:01.203215+00:00"


def test_placeholder_metadata_says_it_is_a_placeholder(client):
    md = client.materialize.get_table_metadata("synapses_pni_2")
    assert md["description"].startswith("Stand-in placeholder")


# -- query_table -----------------------------------------------------------------------------


@needs_shared
def test_query_table_head_rows_are_the_published_ones(client):
    df = client.materialize.query_table("nucleus_detection_v0", split_positions=True)
    real = published("v1078/nucleus_detection_v0__query_split_positions__head5.csv")
    head = df.head(5)
    assert head["id"].tolist() == [int(v) for v in real["id"]]
    assert head["pt_root_id"].tolist() == [int(v) for v in real["pt_root_id"]]
    assert head["pt_position_x"].tolist() == [int(v) for v in real["pt_position_x"]]
    assert head["volume"].round(6).tolist() == [float(v) for v in real["volume"]]
    assert head["created"].astype(str).tolist() == real["created"].tolist()
    assert head["valid"].tolist() == [True] * 5
    assert list(df.columns) == list(real.columns)


@needs_shared
def test_select_split_resolution_limit_gives_the_published_rows_and_warns(client, caplog):
    with caplog.at_level(logging.WARNING):
        df = client.materialize.query_table(
            "nucleus_detection_v0",
            split_positions=True,
            desired_resolution=[1, 1, 1],
            select_columns=["pt_position", "pt_root_id"],
            limit=10,
        )
    real = published(
        "v1181/nucleus_detection_v0__limit10__split__res1__select_pt_position_pt_root_id.csv"
    )
    assert list(df.columns) == ["pt_position_x", "pt_position_y", "pt_position_z", "pt_root_id"]
    assert df["pt_position_y"].tolist() == [int(float(v)) for v in real["pt_position_y"]]
    assert df["pt_root_id"].tolist() == [int(v) for v in real["pt_root_id"]]
    assert LIMIT_WARNING in caplog.text


def test_desired_resolution_scales_positions_from_voxels(client):
    voxels = client.materialize.query_table("nucleus_detection_v0", split_positions=True, limit=3)
    nm = client.materialize.query_table(
        "nucleus_detection_v0", split_positions=True, desired_resolution=[1, 1, 1], limit=3
    )
    for axis, factor in zip("xyz", (4, 4, 40)):
        col = f"pt_position_{axis}"
        assert (nm[col] == voxels[col] * factor).all()
    assert nm.attrs["dataframe_resolution"] == [1.0, 1.0, 1.0]


def test_filters_are_applied(client):
    nuc = client.materialize.query_table(
        "nucleus_detection_v0", filter_greater_dict={"volume": 500}
    )
    assert len(nuc) > 0 and (nuc["volume"] > 500).all()
    out = client.materialize.query_table(
        "nucleus_detection_v0", filter_out_dict={"pt_root_id": [0]}, limit=50
    )
    assert (out["pt_root_id"] != 0).all()
    one = client.materialize.query_table(
        "nucleus_detection_v0", filter_equal_dict={"pt_root_id": 864691135356151759}
    )
    assert one["id"].tolist() == [490689]


def test_unknown_table_is_a_404_with_the_servers_message(client):
    with pytest.raises(requests.HTTPError) as err:
        client.materialize.query_table("no_such_table")
    assert err.value.response.status_code == 404
    assert "analysis table no_such_table not found for version 1078" in err.value.response.text


def test_table_without_sample_rows_gives_an_empty_frame_with_its_columns(client):
    df = client.materialize.query_table("vortex_manual_myelination_v0", split_positions=True)
    assert len(df) == 0
    assert {"id", "valid", "pt_root_id", "pt_position_x"} <= set(df.columns)


def test_table_owner_notice_is_logged(client, caplog):
    with caplog.at_level(logging.WARNING):
        df = client.materialize.query_table("proofreading_status_and_strategy")
    assert "Table Owner Notice on proofreading_status_and_strategy: NOTE:" in caplog.text
    assert df["strategy_axon"].value_counts().to_dict() == {
        "axon_column_truncated": 598,
        "axon_partially_extended": 341,
        "none": 213,
        "axon_interareal": 146,
        "axon_fully_extended": 77,
    }


# -- the tables interface (joins on the reference table) -------------------------------------


@needs_shared
def test_tables_interface_bc_rows(client):
    df = client.materialize.tables.aibs_metamodel_celltypes_v661(cell_type="BC").query()
    real = published("v1181/aibs_metamodel_celltypes_v661__cell_type_BC__head5_tail5.csv")
    assert list(df.columns) == list(real.columns)
    assert (df["cell_type"] == "BC").all()
    assert len(df) == 168
    assert len(df.drop_duplicates("pt_root_id", keep=False)) == 166  # 3310 / 20
    assert df["id_ref"].head(5).tolist() == [int(v) for v in real["id_ref"][:5]]
    assert df["id_ref"].tail(5).tolist() == [int(v) for v in real["id_ref"][5:]]


@needs_shared
def test_tables_interface_three_roots(client):
    df = client.materialize.tables.aibs_metamodel_celltypes_v661(pt_root_id=THREE_ROOTS).query()
    real = published("v1181/aibs_metamodel_celltypes_v661__pt_root_id_3_roots.csv")
    assert list(df.columns) == list(real.columns)
    assert df["id"].tolist() == [19116, 21783, 4074]
    assert df["cell_type"].tolist() == ["23P"] * 3


@needs_shared
def test_query_table_on_the_reference_table_suffixes_the_nucleus_columns(client, caplog):
    df = client.materialize.query_table("aibs_metamodel_celltypes_v661", limit=10)
    assert ["id", "created", "valid", "target_id"] == list(df.columns[:4])
    assert {"id_ref", "volume", "pt_root_id"} <= set(df.columns)
    assert df["id"].head(5).tolist() == [36916, 1070, 1099, 13259, 13271]
    with caplog.at_level(logging.WARNING):
        sel = client.materialize.tables.aibs_metamodel_celltypes_v661().query(
            select_columns=["pt_position", "pt_root_id", "cell_type"], limit=10
        )
    assert list(sel.columns) == ["cell_type", "pt_root_id", "pt_position"]
    assert "Select_columns is deprecated for join queries" in caplog.text


# -- synapses ---------------------------------------------------------------------------------


@needs_shared
def test_synapse_query_outputs_of_the_example_neuron(client):
    syn = client.materialize.synapse_query(pre_ids=EXAMPLE)
    assert len(syn) == 1498
    counts = syn.groupby("post_pt_root_id").size().sort_values(ascending=False)
    assert len(counts) == 1035
    assert counts.head(5).tolist() == [20, 16, 15, 13, 11]
    assert counts.tail(5).tolist() == [1] * 5
    real = published("v1181/synapse_query__pre_864691135808473885__head5.csv")
    assert syn["id"].head(5).tolist() == [int(v) for v in real["id"]]


def test_synapse_query_inputs_and_both(client):
    assert len(client.materialize.synapse_query(post_ids=EXAMPLE)) == 4628
    both = client.materialize.synapse_query(pre_ids=EXAMPLE, post_ids=864691135865557118)
    assert len(both) == 20  # pre AND post: the top partner's 20 synapses


def test_limit_10_synapses_are_the_published_rows(client):
    df = client.materialize.query_table("synapses_pni_2", limit=10)
    assert df["id"].tolist() == [4456, 4503, 4508, 4568, 4581, 4582, 4588, 4590, 4606, 4611]


# -- the HTTP level: formats and options ---------------------------------------------------------

QUERY = (
    "/materialize/api/v3/datastack/minnie65_public/version/1078/table/nucleus_detection_v0/query"
    "?return_pyarrow=True&arrow_format=True&split_positions=True&direct_sql_pandas=True"
)


def test_query_answer_is_a_zstd_arrow_stream_with_the_headers(standin):
    r = requests.post(standin.url + QUERY, json={"limit": 10}, headers={"Accept-Encoding": "zstd"})
    assert r.headers["Content-Type"] == "data.arrow"
    assert r.headers["Warning"] == LIMIT_WARNING
    assert r.headers["dataframe_resolution"] == "4.0, 4.0, 40.0"
    assert pa.ipc.open_stream(r.content).read_all().num_rows == 10
    assert ("POST", QUERY) in standin.requests

    # ZSTD-compressed buffers: much smaller than the same stream uncompressed.
    big = requests.post(standin.url + QUERY, json={"limit": 5000}).content
    table = pa.ipc.open_stream(big).read_all()
    plain = pa.BufferOutputStream()
    with pa.ipc.new_stream(plain, table.schema) as writer:
        writer.write_table(table)
    assert table.num_rows == 5000
    assert len(big) < 0.7 * len(plain.getvalue())


def test_bulk_metadata_without_reference_drops_the_nucleus_table(home):
    path = "/materialize/api/v3/datastack/minnie65_public/version/1078/tables/metadata"
    with StandIn() as full, StandIn(bulk_metadata_without_reference=True) as cut:
        names_full = {m["table_name"] for m in requests.get(full.url + path).json()}
        names_cut = {m["table_name"] for m in requests.get(cut.url + path).json()}
    assert names_full - names_cut == {"nucleus_detection_v0"}


def test_required_token_answers_401_without_and_403_with_another(home):
    with StandIn(required_token="planted-token") as s:
        url = s.url + "/materialize/api/versions"
        assert requests.get(url).status_code == 401
        assert requests.get(url, headers={"Authorization": "Bearer other"}).status_code == 403
        assert requests.get(url, cookies={"middle_auth_token": "planted-token"}).ok
        assert "planted-token" not in requests.get(url).text


def test_unknown_datastack_is_a_404(standin, home):
    with pytest.raises(requests.HTTPError) as err:
        caveclient.CAVEclient("minnie65_nope", server_address=standin.url, write_server_cache=False)
    assert err.value.response.status_code == 404


def test_old_materialize_server_is_refused_by_caveclient_8(home):
    with StandIn(materialize_server_version="4.0.0") as s:
        client = make_client(s.url)
        with pytest.raises(caveclient.base.ServerIncompatibilityError):
            client.materialize.query_table("nucleus_detection_v0", limit=1)


def test_delay_makes_a_client_time_out(home):
    with StandIn(delay=1.0) as s:
        with pytest.raises(requests.Timeout):
            requests.get(s.url + "/materialize/version", timeout=0.2)


# -- caveclient 5.23.0: the documentation's RecursionError ----------------------------------------

CLIENT_523 = textwrap.dedent(
    """
    import sys
    from caveclient import CAVEclient
    client = CAVEclient("minnie65_public", server_address=sys.argv[1], write_server_cache=False)
    try:
        client.materialize.version = 1078
    except RecursionError:
        print("RecursionError")
        sys.exit(0)
    df = client.materialize.tables.aibs_metamodel_celltypes_v661(cell_type="BC").query()
    print("rows", len(df))
    """
)


@pytest.mark.skipif(
    not IN_CI and not VENV_523.exists(), reason=f"caveclient 5.23.0 venv absent ({VENV_523})"
)
@pytest.mark.parametrize("cut, expected", [(True, "RecursionError"), (False, "rows 168")])
def test_caveclient_523_recursion_error_only_without_the_reference_table(tmp_path, cut, expected):
    script = tmp_path / "client523.py"
    script.write_text(CLIENT_523)
    with StandIn(bulk_metadata_without_reference=cut) as s:
        run = subprocess.run(
            [str(VENV_523), str(script), s.url],
            capture_output=True,
            text=True,
            timeout=120,
            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == expected


# -- the sample is reproducible ---------------------------------------------------------------


@needs_shared
def test_sample_data_rebuilds_identically(tmp_path):
    from tests.standin import build_sample_data
    from tests.standin.data import SAMPLE_DIR

    build_sample_data.build(tmp_path)
    for path in SAMPLE_DIR.rglob("*.json"):
        assert (tmp_path / path.relative_to(SAMPLE_DIR)).read_text() == path.read_text(), path
    for path in (SAMPLE_DIR / "rows").glob("*.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "rows" / path.name), pd.read_parquet(path)
        )


def test_python_dash_m_serves_until_interrupted(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.standin", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = line.split(" at ")[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/materialize/api/versions", timeout=5).json() == [2, 3]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
