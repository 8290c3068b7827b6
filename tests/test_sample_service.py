"""The sample service answers like the live service of late 2026, from its sample dataset.

Runs caveclient 8.2.1 in-process against ``SampleService()``, and caveclient 5.23.0 in a
subprocess (its own virtual environment) for the RecursionError of the documentation.
Published values come from the builder's inputs, tools/sample_data/inputs/ (copied from the
project's shared data with their provenance), so every clone runs every comparison.
"""

import datetime
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

from microns_helpers.sample import DATASET_DIR, SampleService
from tests.environments import release_python
from tests.helpers import make_client

caveclient = pytest.importorskip("caveclient")

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = REPO / "tools" / "sample_data" / "inputs"
EXAMPLE, EXAMPLE_1718 = 864691135808473885, 864691136968109774
THREE_ROOTS = [864691135771677771, 864691135560505569, 864691136723556861]
LIMIT_WARNING = '201 - "Limited query to 10 rows'
MAT = "/materialize/api/v3/datastack/minnie65_public"
UTC = datetime.timezone.utc


@pytest.fixture
def client(sample_service, home):
    return make_client(sample_service.url)


@pytest.fixture
def client_1718(sample_service, home):
    return make_client(sample_service.url, 1718)


def published(name):
    return pd.read_csv(PUBLISHED / name, dtype=str, keep_default_na=False)


def ints(values):
    """Published numbers as ints: ids exactly (they overflow a float), positions from '1.0'."""
    return [int(v) if str(v).lstrip("-").isdigit() else int(float(v)) for v in values]


# -- versions: valid, expired, unknown --------------------------------------------------------


def test_versions_listed_are_the_valid_ones_and_expired_ones_only_when_asked(client):
    assert client.materialize.get_versions() == [1300, 117, 943, 1507, 1621, 1718, 1822]
    everything = client.materialize.get_versions(expired=True)
    assert set(everything) - set(client.materialize.get_versions()) == {
        343,
        661,
        795,
        1078,
        1181,
        1412,
    }


def test_every_version_has_its_published_time_stamp(client):
    published_stamps = {
        v["version"]: v["time_stamp"] for v in json.loads((PUBLISHED / "versions.json").read_text())
    }
    for version in client.materialize.get_versions(expired=True):
        assert str(client.materialize.get_timestamp(version)) == published_stamps[version]


def test_version_metadata_of_an_expired_version_says_so(client):
    meta = client.materialize.get_version_metadata(1078)
    assert meta["valid"] is False and meta["status"] == "EXPIRED"
    assert meta["expires_on"] < datetime.datetime(2026, 5, 1, tzinfo=UTC)
    assert client.materialize.get_version_metadata(1300)["valid"] is True


def test_1507_expires_on_its_published_date_and_is_still_served(client):
    # its release manifest: "will expire July 31, 2026"; still served in late 2026
    meta = client.materialize.get_version_metadata(1507)
    assert meta["expires_on"].date() == datetime.date(2026, 7, 31), meta["expires_on"]
    assert meta["valid"] is True and 1507 in client.materialize.get_versions()


def test_data_at_an_expired_version_is_410_with_the_servers_message(sample_service, home):
    for path in ("/tables", "/table/nucleus_detection_v0/metadata", "/tables/metadata"):
        answer = requests.get(f"{sample_service.url}{MAT}/version/1078{path}")
        assert answer.status_code == 410, path
        assert answer.json() == {"message": "This materialization version is not available"}
    query = requests.post(
        f"{sample_service.url}{MAT}/version/1078/table/nucleus_detection_v0/query", json={}
    )
    assert query.status_code == 410


def test_raw_caveclient_accepts_the_expired_1078_and_its_first_query_gets_410(sample_service, home):
    client = caveclient.CAVEclient(
        "minnie65_public", server_address=sample_service.url, write_server_cache=False
    )
    client.materialize.version = 1078  # accepted: caveclient checks the list with expired ones
    with pytest.raises(requests.HTTPError, match="410 Client Error: Gone") as err:
        client.materialize.query_table("nucleus_detection_v0", limit=3)
    assert "This materialization version is not available" in str(err.value)


def test_an_unknown_version_is_404_everywhere(sample_service, home):
    assert requests.get(f"{sample_service.url}{MAT}/version/1079").status_code == 404
    assert requests.get(f"{sample_service.url}{MAT}/version/1079/tables").status_code == 404


# -- info, tables, metadata -----------------------------------------------------------------


def test_datastack_info_is_the_real_one_with_the_service_as_local_server(client, sample_service):
    info = client.info.get_datastack_info()
    real = json.loads((PUBLISHED / "datastack_info_minnie65_public.json").read_text())
    assert info["local_server"] == sample_service.url
    assert {k: v for k, v in info.items() if k != "local_server"} == {
        k: v for k, v in real.items() if k != "local_server"
    }


@pytest.mark.parametrize("version", [1300, 1507, 1718])
def test_tables_and_nucleus_metadata_are_real_at_published_versions(sample_service, home, version):
    client = make_client(sample_service.url, version)
    listed = json.loads((PUBLISHED / f"tables_v{version}.json").read_text())
    assert client.materialize.get_tables() == listed
    md = client.materialize.get_table_metadata("nucleus_detection_v0")
    real = json.loads(
        (PUBLISHED / f"table_metadata_nucleus_detection_v0_v{version}.json").read_text()
    )
    assert md == real


def test_metadata_says_what_is_made_for_the_sample(client):
    md = client.materialize.get_table_metadata("synapses_pni_2")
    assert md["description"].startswith("Sample service: no metadata for this table")
    md = client.materialize.get_table_metadata("coregistration_manual_v4")
    assert md["description"].startswith("Sample service: ")
    assert "19,181 rows (the published row count)" in md["description"]
    assert "not measurements" in md["description"]


def test_a_listed_table_without_rows_is_refused_clearly(client_1718):
    # 1718 lists tables the sample does not model: one clear refusal, never an empty frame
    modelled = set(client_1718.materialize.get_tables()) - {"synapses_pni_2"}
    missing = sorted(t for t in modelled if not (DATASET_DIR / "rows" / f"{t}.parquet").exists())
    assert missing
    with pytest.raises(requests.HTTPError, match="has no rows for it.*MICRONS_MODE=live"):
        client_1718.materialize.query_table(missing[0], limit=5)


def test_every_table_listed_at_1300_has_rows(client):
    for table in client.materialize.get_tables():
        if table == "synapses_pni_2":
            continue
        df = client.materialize.query_table(table, limit=3)
        assert len(df) == 3, table


def test_functional_tables_join_on_their_unit_keys(client):
    # On the real service a unit is (session, scan_idx, unit_id) and the tables are joined
    # on it: every unit with properties is a manual match of the same nucleus and root, and
    # every manual unit has an automatic match, most on the same nucleus.
    keys = ["session", "scan_idx", "unit_id"]
    query = client.materialize.query_table
    props = query("functional_properties_v3_bcm")
    manual = query("coregistration_manual_v4")
    combined = query("coregistration_auto_phase3_fwd_apl_vess_combined_v2")
    for df in (props, manual, combined):
        assert not df.duplicated(keys).any()
    joined = props.merge(manual, on=keys, suffixes=("", "_manual"))
    assert len(joined) == len(props) == 12_094
    assert (joined["target_id"] == joined["target_id_manual"]).all()
    assert (joined["pt_root_id"] == joined["pt_root_id_manual"]).all()
    both = manual.merge(combined, on=keys, suffixes=("", "_auto"))
    assert len(both) == len(manual)
    assert (both["field"] == both["field_auto"]).all()  # one unit, one imaging field
    agree = both["target_id"] == both["target_id_auto"]
    assert 0.5 < agree.mean() < 1  # the methods disagree on some units, as live
    # the combined table reconciles its two inputs: each of its matches is one of theirs
    inputs = pd.concat(
        [query(t) for t in ("coregistration_auto_phase3_fwd_v2", "apl_functional_coreg_vess_fwd")]
    )
    found = combined.merge(inputs, on=[*keys, "target_id", "score"]).drop_duplicates(keys)
    assert len(found) == len(combined) == inputs.drop_duplicates(keys).shape[0]


# -- query_table -----------------------------------------------------------------------------


def test_query_table_head_rows_are_the_published_ones(client):
    df = client.materialize.query_table("nucleus_detection_v0")
    real = published("v1300/nucleus_detection_v0__query__head5.csv")
    head = df.head(5)
    assert head["id"].tolist() == ints(real["id"])
    assert head["pt_root_id"].tolist() == ints(real["pt_root_id"])
    assert head["pt_position"].map(list).tolist() == [json.loads(p) for p in real["pt_position"]]
    assert head["volume"].round(6).tolist() == [float(v) for v in real["volume"]]
    assert head["created"].astype(str).tolist() == real["created"].tolist()


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
        "v1300/nucleus_detection_v0__limit10__split__res1__select_pt_position_pt_root_id.csv"
    )
    assert list(df.columns) == ["pt_position_x", "pt_position_y", "pt_position_z", "pt_root_id"]
    assert df["pt_position_y"].tolist() == ints(real["pt_position_y"])
    assert df["pt_root_id"].tolist() == ints(real["pt_root_id"])
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


# -- proofreading over versions -------------------------------------------------------------


def test_proofreading_counts_are_the_published_ones_at_1300_and_1507(
    client, caplog, home, monkeypatch
):
    # the package says each notice once per table and process (a filter on caveclient's
    # logger, tests/test_quiet.py): without it here, so that this test sees the notice
    # whatever an earlier test of the session queried
    monkeypatch.setattr(logging.getLogger("caveclient.base"), "filters", [])
    with caplog.at_level(logging.WARNING):
        at_1300 = client.materialize.tables.proofreading_status_and_strategy(
            status_axon=True
        ).query()
    assert "Table Owner Notice on proofreading_status_and_strategy: NOTE:" in caplog.text
    # aggregates.json: v1300 with status_axon='t' (TUT-1300), all rows at v1507 (DB-1507)
    assert at_1300["strategy_axon"].value_counts().to_dict() == {
        "axon_partially_extended": 1459,
        "axon_interareal": 130,
        "axon_fully_extended": 127,
        "none": 7,
    }
    client_1507 = make_client(client.materialize.server_address.split("/materialize")[0], 1507)
    at_1507 = client_1507.materialize.query_table("proofreading_status_and_strategy")
    assert at_1507["strategy_axon"].value_counts().to_dict() == {
        "axon_partially_extended": 1750,
        "axon_fully_extended": 267,
        "axon_interareal": 124,
        "none": 41,
    }


# -- the tables interface (joins on the reference table) -------------------------------------


def test_tables_interface_bc_rows(client):
    df = client.materialize.tables.aibs_metamodel_celltypes_v661(cell_type="BC").query()
    real = published("v1300/aibs_metamodel_celltypes_v661__cell_type_BC__head5_tail5.csv")
    assert (df["cell_type"] == "BC").all()
    assert df["id"].head(5).tolist() == ints(real["target_id"][:5])
    assert df["id"].tail(5).tolist() == ints(real["target_id"][5:])
    assert df["pt_root_id"].head(5).tolist() == ints(real["pt_root_id"][:5])


def test_tables_interface_three_roots(client):
    df = client.materialize.tables.aibs_metamodel_celltypes_v661(pt_root_id=THREE_ROOTS).query()
    assert df["id"].tolist() == [19116, 21783, 4074]
    assert df["cell_type"].tolist() == ["23P"] * 3


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


# -- synapses, and root ids over versions ---------------------------------------------------


def test_synapse_query_outputs_of_the_example_neuron_at_1300(client):
    syn = client.materialize.synapse_query(pre_ids=EXAMPLE)
    assert len(syn) == 1498
    counts = syn.groupby("post_pt_root_id").size().sort_values(ascending=False, kind="stable")
    assert len(counts) == 1035
    real = published(
        "v1300/synapse_query__pre_864691135808473885__syn_count_by_partner__head5_tail5.csv"
    )
    assert counts.head(5).to_dict() == dict(
        zip(ints(real["post_pt_root_id"][:5]), ints(real["syn_count"][:5]))
    )
    real_head = published("v1300/synapse_query__pre_864691135808473885__head5.csv")
    assert syn["id"].head(5).tolist() == ints(real_head["id"])


def test_the_example_neuron_has_its_new_root_and_published_counts_at_1718(client_1718):
    assert client_1718.materialize.synapse_query(pre_ids=EXAMPLE).empty
    syn = client_1718.materialize.synapse_query(pre_ids=EXAMPLE_1718)
    assert len(syn) == 1499
    counts = syn.groupby("post_pt_root_id").size().sort_values(ascending=False, kind="stable")
    assert len(counts) == 1022
    assert counts.head(5).tolist() == [20, 16, 15, 13, 13]
    real = published("v1718/synapse_query__pre_864691136968109774__head5.csv")
    assert dict(zip(syn["id"], syn["post_pt_root_id"]))[158405512] == 864691135015586198
    assert set(ints(real["id"])) <= set(syn["id"])
    assert len(client_1718.materialize.synapse_query(post_ids=EXAMPLE_1718)) == 4628


def test_1507_has_the_new_root_and_1035_partners(sample_service, home):
    syn = make_client(sample_service.url, 1507).materialize.synapse_query(pre_ids=EXAMPLE_1718)
    assert len(syn) == 1499 and syn["post_pt_root_id"].nunique() == 1035


def test_the_nucleus_id_finds_the_neuron_at_both_versions(client, client_1718):
    nucleus = client.materialize.query_table(
        "nucleus_detection_v0", filter_equal_dict={"pt_root_id": EXAMPLE}
    )
    assert len(nucleus) == 1
    later = client_1718.materialize.query_table(
        "nucleus_detection_v0", filter_equal_dict={"id": int(nucleus["id"].iloc[0])}
    )
    assert later["pt_root_id"].tolist() == [EXAMPLE_1718]


def test_chunkedgraph_lineage_routes(client, client_1718):
    cg = client.chunkedgraph
    # client.version pins the time stamp: at 1300 the old root is the latest one
    assert cg.is_latest_roots([EXAMPLE]).tolist() == [True]
    assert cg.is_latest_roots([EXAMPLE], timestamp=client_1718.timestamp).tolist() == [False]
    assert cg.get_latest_roots(EXAMPLE, timestamp=client_1718.timestamp).tolist() == [EXAMPLE_1718]
    made = cg.get_root_timestamps([EXAMPLE_1718])[0]
    assert client.timestamp < made < client_1718.timestamp
    assert client_1718.chunkedgraph.is_latest_roots([EXAMPLE_1718]).tolist() == [True]


def test_lineage_of_any_cell_of_the_sample(client):
    cg = client.chunkedgraph
    cells = client.materialize.query_table("nucleus_detection_v0", limit=200)
    cells = cells[cells["pt_root_id"] != 0].iloc[150:160]
    roots = cells["pt_root_id"].tolist()
    # a supervoxel of a row gives that row's root, one by one and in bulk
    assert [cg.get_root_id(sv) for sv in cells["pt_supervoxel_id"]] == roots
    assert cg.get_roots(cells["pt_supervoxel_id"].tolist()).tolist() == roots
    assert cg.is_latest_roots(roots).tolist() == [True] * len(roots)
    # a root no edit touched is its own latest, made before the first version
    assert cg.suggest_latest_roots(roots[0]) == roots[0]
    assert cg.get_latest_roots(roots[1]).tolist() == [roots[1]]
    assert all(t.year == 2021 for t in cg.get_root_timestamps(roots[:3]))
    graph = cg.get_lineage_graph(roots[2])
    assert [n["id"] for n in graph["nodes"]] == [roots[2]] and graph["links"] == []


def test_lineage_of_an_edited_partner_follows_the_published_roots(client, client_1718):
    old, new = 864691135280056225, 864691135362104647  # the strongest partner, v1300 -> v1718
    cg = client.chunkedgraph
    assert cg.suggest_latest_roots(old, timestamp=client_1718.timestamp) == new
    graph = cg.get_lineage_graph(old)
    assert {old, new} <= {n["id"] for n in graph["nodes"]}


def test_unknown_roots_and_supervoxels_are_refused_by_name(client):
    cg = client.chunkedgraph
    with pytest.raises(requests.HTTPError, match=r"root 864691135808473886 is not in the sample"):
        cg.get_root_timestamps([EXAMPLE + 1])
    with pytest.raises(requests.HTTPError, match=r"root 864691135808473886 is not in the sample"):
        cg.suggest_latest_roots(EXAMPLE + 1)
    with pytest.raises(requests.HTTPError, match=r"supervoxel 12345 is not in the sample"):
        cg.get_root_id(12345)
    with pytest.raises(requests.HTTPError, match="MICRONS_MODE=live"):
        cg.is_latest_roots([EXAMPLE + 1])


def test_expired_data_by_time_stamp_through_the_nearest_valid_version(client):
    """query_table(timestamp=) queries the newest valid version before it (943 for 1078's
    moment) and maps the root ids to that moment through the chunkedgraph."""
    at_1078 = datetime.datetime(2024, 6, 5, 10, 10, 1, 203215, tzinfo=UTC)
    df = client.materialize.query_table(
        "nucleus_detection_v0", filter_equal_dict={"id": 490689}, timestamp=at_1078
    )
    assert df["pt_root_id"].tolist() == [864691135356151759]


def test_limit_10_synapses_are_the_published_rows_of_1300(client):
    df = client.materialize.query_table("synapses_pni_2", limit=10)
    assert df["id"].head(3).tolist() == [482324897, 111356912, 219362361]


# -- the HTTP level: formats and options ---------------------------------------------------------

QUERY = (
    f"{MAT}/version/1300/table/nucleus_detection_v0/query"
    "?return_pyarrow=True&arrow_format=True&split_positions=True&direct_sql_pandas=True"
)


def test_query_answer_is_a_zstd_arrow_stream_with_the_headers(sample_service):
    url = sample_service.url + QUERY
    r = requests.post(url, json={"limit": 10}, headers={"Accept-Encoding": "zstd"})
    assert r.headers["Content-Type"] == "data.arrow"
    assert r.headers["Warning"] == LIMIT_WARNING
    assert r.headers["dataframe_resolution"] == "4.0, 4.0, 40.0"
    assert pa.ipc.open_stream(r.content).read_all().num_rows == 10
    assert ("POST", QUERY) in sample_service.requests

    # ZSTD-compressed buffers: much smaller than the same stream uncompressed.
    big = requests.post(url, json={"limit": 5000}).content
    table = pa.ipc.open_stream(big).read_all()
    plain = pa.BufferOutputStream()
    with pa.ipc.new_stream(plain, table.schema) as writer:
        writer.write_table(table)
    assert table.num_rows == 5000
    assert len(big) < 0.7 * len(plain.getvalue())


def test_bulk_metadata_without_reference_drops_the_nucleus_table(home):
    path = f"{MAT}/version/1300/tables/metadata"
    with SampleService() as full, SampleService(bulk_metadata_without_reference=True) as cut:
        names_full = {m["table_name"] for m in requests.get(full.url + path).json()}
        names_cut = {m["table_name"] for m in requests.get(cut.url + path).json()}
    assert names_full - names_cut == {"nucleus_detection_v0"}


def test_required_token_answers_401_without_and_403_with_another(home):
    with SampleService(required_token="planted-token") as s:
        url = s.url + "/materialize/api/versions"
        assert requests.get(url).status_code == 401
        assert requests.get(url, headers={"Authorization": "Bearer other"}).status_code == 403
        assert requests.get(url, cookies={"middle_auth_token": "planted-token"}).ok
        assert "planted-token" not in requests.get(url).text


def test_unknown_datastack_is_a_404(sample_service, home):
    with pytest.raises(requests.HTTPError) as err:
        caveclient.CAVEclient(
            "minnie65_nope", server_address=sample_service.url, write_server_cache=False
        )
    assert err.value.response.status_code == 404


def test_old_materialize_server_is_refused_by_caveclient_8(home):
    with SampleService(materialize_server_version="4.0.0") as s:
        client = make_client(s.url)
        with pytest.raises(caveclient.base.ServerIncompatibilityError):
            client.materialize.query_table("nucleus_detection_v0", limit=1)


def test_delay_makes_a_client_time_out(home):
    with SampleService(delay=1.0) as s:
        with pytest.raises(requests.Timeout):
            requests.get(s.url + "/materialize/version", timeout=0.2)


# -- caveclient 5.23.0: the documentation's RecursionError ----------------------------------------

CLIENT_523 = textwrap.dedent(
    """
    import sys
    from caveclient import CAVEclient
    client = CAVEclient("minnie65_public", server_address=sys.argv[1], write_server_cache=False)
    try:
        client.materialize.version = 1300
    except RecursionError:
        print("RecursionError")
        sys.exit(0)
    df = client.materialize.tables.aibs_metamodel_celltypes_v661(cell_type="BC").query()
    print("rows", len(df))
    """
)


@pytest.mark.parametrize("cut, expected", [(True, "RecursionError"), (False, "rows 3365")])
def test_caveclient_523_recursion_error_only_without_the_reference_table(tmp_path, cut, expected):
    python = release_python("5.23.0")
    script = tmp_path / "client523.py"
    script.write_text(CLIENT_523)
    with SampleService(bulk_metadata_without_reference=cut) as s:
        run = subprocess.run(
            [str(python), str(script), s.url],
            capture_output=True,
            text=True,
            timeout=120,
            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == expected


# -- the sample is reproducible ---------------------------------------------------------------


def test_sample_data_rebuilds_identically(tmp_path):
    run = subprocess.run(
        [sys.executable, "tools/build_sample_data.py", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    # byte for byte, every file of the dataset but its README (prose, written by hand) and
    # morphology/ (one skeleton needs pcg_skel: --morphology; tests/test_morphology.py checks
    # it against the level-2 graph, and rebuilds the other neuron's files byte for byte),
    # from the inputs kept in the repository
    shipped = sorted(
        p.relative_to(DATASET_DIR)
        for p in DATASET_DIR.rglob("*")
        if p.is_file() and p.name != "README.md" and "morphology" not in p.parts
    )
    rebuilt = tmp_path / "dataset"
    assert shipped == sorted(
        p.relative_to(rebuilt)
        for p in rebuilt.rglob("*")
        if p.is_file() and "morphology" not in p.relative_to(rebuilt).parts
    )
    for relative in shipped:
        assert (rebuilt / relative).read_bytes() == (DATASET_DIR / relative).read_bytes(), relative


@pytest.mark.parametrize("sigint", ["default", "ignored"])
def test_python_dash_m_serves_until_interrupted(tmp_path, sigint):
    """Ctrl-C stops it and it says so, also where it was started with SIGINT ignored (a
    shell's background job): Python then raises no KeyboardInterrupt of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRONS_")}

    def start() -> None:
        if sigint == "ignored":
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = subprocess.Popen(
        [sys.executable, "-m", "microns_helpers.sample", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=start,
    )
    try:
        line = proc.stdout.readline()
        url = line.split(" at ")[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        # the first request loads the dataset: seconds on a loaded machine
        assert requests.get(url + "/materialize/api/versions", timeout=60).json() == [2, 3]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()  # never left serving after the test
            proc.wait()
    rest = proc.stdout.read()
    assert proc.returncode == 0 and rest == "Press Ctrl-C to stop.\nstopped\n", (
        proc.returncode,
        rest,
    )
