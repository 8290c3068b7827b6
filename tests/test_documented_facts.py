"""What the MICrONs documentation prints about its roots, the sample answers as printed
(issue 23, item 5): one check per row of ``tools/sample_data/inputs/documented_root_facts.csv``,
through plain caveclient against ``SampleService()``, and each check shown failing on a
planted wrong value.

A fact printed at a version the sample serves (1300, 1507, 1718) is asked at that version.
One printed at an expired version (661, 1078, 1412) is asked of the chunkedgraph at that
version's time stamp, and of the tables at 1300, where the sample assumes the root unedited
(the dataset README says so).
"""

import logging
import re
from pathlib import Path

import pandas as pd
import pytest

from microns_helpers.sample.engine import PARTIAL_MARK

caveclient = pytest.importorskip("caveclient")

FACTS = Path(__file__).resolve().parents[1] / "tools" / "sample_data" / "inputs"
ROWS = pd.read_csv(FACTS / "documented_root_facts.csv", dtype=str, keep_default_na=False)
SERVED = (1300, 1507, 1718)
CAVECLIENT_LOGGER = "caveclient.base"  # logs the server's Warning headers
LIVE_ROWS = re.compile(r"of about ([0-9,]+) rows")


@pytest.fixture(scope="module")
def clients(sample_service):
    return {
        v: caveclient.CAVEclient(
            "minnie65_public",
            server_address=sample_service.url,
            write_server_cache=False,
            version=v,
        )
        for v in SERVED
    }


def live_size(run, caplog) -> int:
    """How many rows live holds for ``run()``'s synapse query: the rows, or the number the
    sample's partial-answer warning names."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=CAVECLIENT_LOGGER):
        rows = run()
    said = " ".join(r.getMessage() for r in caplog.records if PARTIAL_MARK in r.getMessage())
    found = LIVE_ROWS.search(said)
    return int(found.group(1).replace(",", "")) if found else len(rows)


def check(fact: dict, clients: dict, caplog) -> None:
    """Assert the sample answers ``fact`` (a row of the csv) as the page prints it."""
    root, version = int(fact["root_id"]), int(fact["version"])
    text, value = fact["fact"], fact["value"]
    served = version in SERVED
    client = clients[version if served else 1300]
    mat, cg = client.materialize, client.chunkedgraph
    moment = mat.get_timestamp(version)
    if text.startswith(("root of nucleus", "nucleus id")):
        nucleus = mat.query_table("nucleus_detection_v0", filter_equal_dict={"id": int(value)})
        assert len(nucleus) == 1, f"nucleus {value}: {len(nucleus)} rows"
        sv = int(nucleus["pt_supervoxel_id"].iloc[0])
        printed_sv = re.search(r"pt_supervoxel_id (\d+)", text)
        if printed_sv:
            assert sv == int(printed_sv.group(1)), sv
        if served or text.startswith("nucleus id"):  # the rows at 1300 hold a root unedited since
            assert int(nucleus["pt_root_id"].iloc[0]) == root, nucleus["pt_root_id"].iloc[0]
        assert cg.get_root_id(sv, timestamp=moment) == root
    elif text.startswith("suggest_latest_roots"):
        assert cg.suggest_latest_roots(root, timestamp=moment) == int(value)
    elif text.startswith("is_latest_roots"):
        assert cg.is_latest_roots([root], timestamp=moment).tolist() == [value == "True"]
    elif text.startswith("nucleus_detection_v0 rows with this pt_root_id"):
        rows = mat.query_table("nucleus_detection_v0", filter_equal_dict={"pt_root_id": root})
        assert len(rows) == int(value), len(rows)
    elif text.startswith("synapse_query counts"):
        inputs = live_size(lambda: mat.synapse_query(post_ids=root), caplog)
        outputs = live_size(lambda: mat.synapse_query(pre_ids=root), caplog)
        wanted = (int(fact["n_input_synapses"]), int(fact["n_output_synapses"]))
        assert (inputs, outputs) == wanted, (inputs, outputs)
    elif text.startswith("distinct postsynaptic partners"):
        partners = mat.synapse_query(pre_ids=root)["post_pt_root_id"].nunique()
        assert partners == int(value), partners
    elif text.startswith("synapses from"):
        sender = int(text.split()[-1])
        rows = mat.synapse_query(pre_ids=sender, post_ids=root)
        assert len(rows) == int(value), len(rows)
    elif "at least" in text:
        least = int(re.search(r"at least (\d+) inputs", text).group(1))
        inputs = live_size(lambda: mat.synapse_query(post_ids=root), caplog)
        assert inputs >= least, inputs
    elif text.startswith("the page names it"):
        types = mat.tables.aibs_metamodel_celltypes_v661(pt_root_id=root).query()
        assert types["cell_type"].tolist() == ["BC"], types["cell_type"].tolist()
    else:  # printed without a fact beside it: the root is known, unedited at the version
        assert cg.get_latest_roots(root, timestamp=moment).tolist() == [root]


def fact_id(fact: dict) -> str:
    return f"{fact['root_id']}-{fact['cell']}"


@pytest.mark.parametrize("fact", ROWS.to_dict("records"), ids=fact_id)
def test_the_sample_answers_each_printed_fact(fact, clients, caplog):
    check(fact, clients, caplog)


def planted(fact: dict) -> dict | None:
    """The fact with one printed value made wrong, or None where it has no value to plant."""
    wrong = dict(fact)
    if fact["n_input_synapses"]:
        wrong["n_input_synapses"] = str(int(fact["n_input_synapses"]) + 1)
    elif fact["value"] in ("True", "False"):
        wrong["value"] = "False" if fact["value"] == "True" else "True"
    elif fact["value"].isdigit():
        wrong["value"] = str(int(fact["value"]) + 1)
    elif "at least" in fact["fact"]:
        wrong["fact"] = re.sub(r"at least \d+", "at least 1000000", fact["fact"])
    elif fact["fact"].startswith("the page names it"):
        wrong["root_id"] = "864691135808473885"  # the example neuron, a Martinotti cell
    else:
        return None
    return wrong


@pytest.mark.parametrize(
    "fact",
    [f for f in ROWS.to_dict("records") if planted(f)],
    ids=fact_id,
)
def test_each_check_fails_on_a_planted_wrong_value(fact, clients, caplog):
    with pytest.raises(AssertionError):
        check(planted(fact), clients, caplog)
