"""The sample knows how many rows live would return, cuts where live cuts, and says when an
answer holds fewer rows than live (issue 23, items 1 and 2).

Plain caveclient 8.2.1 in-process against ``SampleService()``; what caveclient logs is read
from its logger, as a learner sees it on stderr.
"""

import logging

import pandas as pd
import pytest

from microns_helpers.sample import DATASET_DIR
from microns_helpers.sample.engine import MAX_LIMIT, PARTIAL_MARK

# caveclient's logger, by its public name (caveclient.base logs the server's warnings)
CAVECLIENT_LOGGER = "caveclient.base"

caveclient = pytest.importorskip("caveclient")

EXAMPLE = 864691135808473885
STRONGEST_PARTNER = 864691135280056225
BASKET_CELL = 864691136966336647
CAP_WARNING = f'201 - "Limited query to {MAX_LIMIT} rows'
SIZES = pd.read_parquet(DATASET_DIR / "live_sizes.parquet").set_index("root_id")


@pytest.fixture
def client(sample_service, home):
    return caveclient.CAVEclient(
        "minnie65_public", server_address=sample_service.url, write_server_cache=False, version=1300
    )


def said(caplog, run):
    """What ``run()`` returns, and the warnings caveclient logged meanwhile."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=CAVECLIENT_LOGGER):
        result = run()
    return result, " | ".join(r.getMessage() for r in caplog.records)


def test_the_table_count_is_the_published_live_one(client):
    assert client.materialize.get_annotation_count("synapses_pni_2") == 337_312_429


def test_the_example_neuron_has_its_published_sizes_and_no_note(client, caplog):
    assert SIZES.loc[EXAMPLE, ["outputs", "inputs"]].tolist() == [1498, 4628]
    outputs, log = said(caplog, lambda: client.materialize.synapse_query(pre_ids=EXAMPLE))
    assert len(outputs) == 1498 and PARTIAL_MARK not in log and "Limited" not in log


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [
        ({"pre_ids": STRONGEST_PARTNER}, SIZES.loc[STRONGEST_PARTNER, "outputs"]),
        ({"pre_ids": BASKET_CELL}, SIZES.loc[BASKET_CELL, "outputs"]),
        ({"post_ids": BASKET_CELL}, SIZES.loc[BASKET_CELL, "inputs"]),
    ],
)
def test_a_partial_answer_says_how_many_rows_live_has(client, caplog, kwargs, size):
    rows, log = said(caplog, lambda: client.materialize.synapse_query(**kwargs))
    assert size > len(rows)
    assert f"holds {len(rows):,} of about {size:,} rows" in log, log
    assert "MICRONS_MODE=live" in log


def test_every_partial_answer_says_so_not_only_the_first(client, caplog):
    for _ in range(2):
        _, log = said(caplog, lambda: client.materialize.synapse_query(pre_ids=BASKET_CELL))
        assert PARTIAL_MARK in log


def test_a_query_live_would_cap_gets_the_cap_warning(client, caplog):
    rows, log = said(caplog, lambda: client.materialize.query_table("synapses_pni_2"))
    assert log.startswith(CAP_WARNING), log
    assert len(rows) <= MAX_LIMIT
    assert f"holds {len(rows):,} of about {MAX_LIMIT:,} rows" in log
    assert "of about 337,312,429 that match" in log


def test_the_typed_cells_outputs_are_capped_as_live_caps_them(client, caplog):
    cells = client.materialize.query_table("aibs_metamodel_celltypes_v661", limit=5000)
    roots = [int(r) for r in cells["pt_root_id"].unique() if r]
    live = int(SIZES["outputs"].reindex(roots).fillna(0).sum())
    rows, log = said(caplog, lambda: client.materialize.synapse_query(pre_ids=roots))
    assert live > MAX_LIMIT > len(rows)
    assert CAP_WARNING in log and f"of about {MAX_LIMIT:,} rows" in log
    assert f"of about {live:,} that match live" in log


def test_a_limit_under_the_live_size_is_no_partial_answer(client, caplog):
    rows, log = said(caplog, lambda: client.materialize.query_table("synapses_pni_2", limit=10))
    assert len(rows) == 10 and log == '201 - "Limited query to 10 rows'


def test_a_box_keeps_the_share_of_rows_it_keeps_in_the_sample(client, caplog):
    # The example neuron's inputs are all held: a box of them is complete, no note.
    inputs = client.materialize.synapse_query(post_ids=EXAMPLE, desired_resolution=[4, 4, 40])
    x = inputs["post_pt_position"].map(lambda p: p[0])
    box = [[int(x.median()), 0, 0], [int(x.max()) + 1, 10**6, 10**5]]
    rows, log = said(
        caplog, lambda: client.materialize.synapse_query(post_ids=EXAMPLE, bounding_box=box)
    )
    assert 0 < len(rows) < len(inputs) and PARTIAL_MARK not in log, log


def test_live_sizes_are_never_below_what_the_sample_holds():
    synapses = pd.read_parquet(DATASET_DIR / "rows" / "synapses_pni_2.parquet")
    for column, size in (("pre_pt_root_id", "outputs"), ("post_pt_root_id", "inputs")):
        held = synapses[column].value_counts()
        assert (SIZES[size].reindex(held.index) >= held).all(), column


def test_live_sizes_follow_proofreading():
    basis = SIZES["basis"]
    proofread = SIZES[basis.str.contains("axon axon_")]["outputs"]
    unproofread = SIZES[basis.str.endswith("axon unproofread")]["outputs"]
    assert proofread.between(100, 10_000).all() and proofread.median() > 1000
    assert unproofread.max() <= 400 and unproofread.median() < 50


def test_a_root_replaced_by_then_has_no_rows_live_and_no_note(sample_service, home, caplog):
    client_1718 = caveclient.CAVEclient(
        "minnie65_public", server_address=sample_service.url, write_server_cache=False, version=1718
    )
    rows, log = said(caplog, lambda: client_1718.materialize.synapse_query(pre_ids=EXAMPLE))
    assert len(rows) == 0 and PARTIAL_MARK not in log, log
    rows, log = said(
        caplog, lambda: client_1718.materialize.synapse_query(pre_ids=864691136968109774)
    )
    assert len(rows) == 1499 and PARTIAL_MARK not in log, log


def test_a_null_among_the_roots_is_no_server_error():
    from microns_helpers.sample import load_sample_data
    from microns_helpers.sample.engine import simple_query

    body = {"filter_in_dict": {"synapses_pni_2": {"pre_pt_root_id": [None, EXAMPLE]}}}
    rows, warnings, _ = simple_query(load_sample_data(), "synapses_pni_2", body, version=1300)
    assert len(rows) == 1498 and not any(PARTIAL_MARK in w for w in warnings), warnings


# -- counts, joins with the synapse table, random samples (as MaterializationEngine answers
# them: blueprints/client/common.py, generate_simple_query_dataframe and
# generate_complex_query_dataframe) ---------------------------------------------------------


def test_a_count_says_lives_number_uncapped(client, caplog):
    mat = client.materialize
    assert mat.query_table("synapses_pni_2", get_counts=True)["count"].tolist() == [337_312_429]
    count, log = said(
        caplog,
        lambda: mat.query_table(
            "synapses_pni_2", filter_equal_dict={"post_pt_root_id": BASKET_CELL}, get_counts=True
        ),
    )
    assert count["count"].tolist() == [SIZES.loc[BASKET_CELL, "inputs"]] and not log, log
    held = mat.query_table("nucleus_detection_v0", filter_equal_dict={"pt_root_id": EXAMPLE})
    counted = mat.query_table(
        "nucleus_detection_v0", filter_equal_dict={"pt_root_id": EXAMPLE}, get_counts=True
    )
    assert counted["count"].tolist() == [len(held)]
    # many proofread axons: live has more rows than the cap, and the count says so
    cells = mat.query_table("aibs_metamodel_celltypes_v661", limit=5000)
    roots = [int(r) for r in cells["pt_root_id"].unique() if r]
    counted = mat.query_table(
        "synapses_pni_2", filter_in_dict={"pre_pt_root_id": roots}, get_counts=True
    )
    assert counted["count"].iloc[0] == int(SIZES["outputs"].reindex(roots).fillna(0).sum())
    assert counted["count"].iloc[0] > MAX_LIMIT


def test_a_count_of_a_complete_answer_equals_its_rows(client):
    mat = client.materialize
    rows = mat.synapse_query(pre_ids=EXAMPLE)
    counted = mat.query_table(
        "synapses_pni_2", filter_equal_dict={"pre_pt_root_id": EXAMPLE}, get_counts=True
    )
    assert counted["count"].tolist() == [len(rows)] == [1498]


def _join_inputs(client, root):
    return client.materialize.join_query(
        [["nucleus_detection_v0", "pt_root_id"], ["synapses_pni_2", "post_pt_root_id"]],
        filter_equal_dict={"nucleus_detection_v0": {"pt_root_id": root}},
    )


def test_a_join_with_the_synapse_table_knows_the_live_size(client, caplog):
    rows, log = said(caplog, lambda: _join_inputs(client, EXAMPLE))
    assert len(rows) == 4628 and PARTIAL_MARK not in log, log
    rows, log = said(caplog, lambda: _join_inputs(client, BASKET_CELL))
    size = int(SIZES.loc[BASKET_CELL, "inputs"])
    assert f"holds {len(rows):,} of about {size:,} rows" in log, log


def test_a_join_live_would_cap_is_capped_as_live_caps_it(client, caplog):
    rows, log = said(
        caplog,
        lambda: client.materialize.join_query(
            [["nucleus_detection_v0", "pt_root_id"], ["synapses_pni_2", "pre_pt_root_id"]]
        ),
    )
    assert CAP_WARNING in log and f"of about {MAX_LIMIT:,} rows" in log, log
    assert len(rows) <= MAX_LIMIT


def test_a_random_sample_is_a_share_of_live_rows(client, caplog):
    mat = client.materialize
    # the synapse table: 1,000 rows of 337 million live, about none of them in the sample
    rows, log = said(caplog, lambda: mat.query_table("synapses_pni_2", random_sample=1000))
    assert f"holds {len(rows):,} of about 1,000 rows" in log, log
    # a table the sample holds whole: about the rows asked, and no note
    rows, log = said(caplog, lambda: mat.query_table("nucleus_detection_v0", random_sample=1000))
    assert 900 < len(rows) < 1100 and PARTIAL_MARK not in log, log
    # N at least the table's rows: no sampling, the whole table (common.py)
    whole = mat.query_table("proofreading_status_and_strategy")
    sampled = mat.query_table("proofreading_status_and_strategy", random_sample=10**6)
    assert len(sampled) == len(whole)
    # the sample before the filters: the example neuron's outputs, 1 in 100 of the table
    share = 3_373_124  # rows of 337,312,429: about 1 % of each root's synapses
    rows, log = said(
        caplog,
        lambda: mat.query_table(
            "synapses_pni_2", random_sample=share, filter_equal_dict={"pre_pt_root_id": EXAMPLE}
        ),
    )
    assert 3 <= len(rows) <= 40 and PARTIAL_MARK not in log, (len(rows), log)
