"""Tests of microns_helpers.synapses on small synapse tables built here."""

import pandas as pd
import pytest

from microns_helpers.errors import InvalidInputError, MicronsHelpersError
from microns_helpers.synapses import connection_counts, synapse_partners

A, B, C, D = 864691135808473885, 864691135771677771, 864691135560505569, 864691136723556861


@pytest.fixture
def outputs():
    """Six output synapses of neuron A: 3 onto B, 2 onto C, 1 onto D."""
    return pd.DataFrame(
        {
            "id": [11, 12, 13, 14, 15, 16],
            "pre_pt_root_id": [A] * 6,
            "post_pt_root_id": [C, B, D, B, C, B],
            "size": [400, 100, 50, 300, 600, 200],
        }
    )


def test_connection_counts_counts_each_pair_strongest_first(outputs):
    counts = connection_counts(outputs)
    assert list(counts.columns) == ["pre_pt_root_id", "post_pt_root_id", "syn_count"]
    assert counts["post_pt_root_id"].tolist() == [B, C, D]
    assert counts["syn_count"].tolist() == [3, 2, 1]
    assert counts.index.tolist() == [0, 1, 2]


def test_connection_counts_agrees_with_the_documented_groupby(outputs):
    documented = (
        outputs.groupby(["pre_pt_root_id", "post_pt_root_id"])
        .count()[["id"]]
        .rename(columns={"id": "syn_count"})
    )
    ours = connection_counts(outputs).set_index(["pre_pt_root_id", "post_pt_root_id"])
    pd.testing.assert_series_equal(
        ours["syn_count"].sort_index(), documented["syn_count"].sort_index()
    )


def test_connection_counts_breaks_ties_by_root_id_whatever_the_row_order(outputs):
    tied = pd.DataFrame({"pre_pt_root_id": [A, A, C, A], "post_pt_root_id": [D, B, B, C]})
    first = connection_counts(tied)
    again = connection_counts(tied.sample(frac=1, random_state=3))
    pd.testing.assert_frame_equal(first, again)
    # all counts are 1, so the pairs are in ascending (pre, post) order
    assert list(zip(first["pre_pt_root_id"], first["post_pt_root_id"])) == sorted(
        [(A, D), (A, B), (C, B), (A, C)]
    )


def test_connection_counts_names_the_missing_column():
    with pytest.raises(InvalidInputError, match="'post_pt_root_id'"):
        connection_counts(pd.DataFrame({"pre_pt_root_id": [A]}))


def test_connection_counts_rejects_what_is_not_a_dataframe():
    with pytest.raises(MicronsHelpersError, match="got list"):
        connection_counts([A, B])


def test_invalid_input_is_also_a_value_error():
    with pytest.raises(ValueError):
        connection_counts(pd.DataFrame())


def test_synapse_partners_summarises_outputs_and_inputs(outputs):
    inputs = pd.DataFrame(
        {"id": [21, 22], "pre_pt_root_id": [D, D], "post_pt_root_id": [A, A], "size": [10, 30]}
    )
    partners = synapse_partners(pd.concat([outputs, inputs]), A)
    assert partners["direction"].tolist() == ["output", "output", "output", "input"]
    assert partners["partner_root_id"].tolist() == [B, C, D, D]
    assert partners["syn_count"].tolist() == [3, 2, 1, 2]
    assert partners["total_size"].tolist() == [600, 1000, 50, 40]
    assert partners["median_size"].tolist() == [200.0, 500.0, 50.0, 20.0]


def test_synapse_partners_without_sizes(outputs):
    partners = synapse_partners(outputs.drop(columns="size"), A, size_column=None)
    assert list(partners.columns) == ["direction", "partner_root_id", "syn_count"]


def test_synapse_partners_of_a_neuron_not_in_the_table(outputs):
    with pytest.raises(InvalidInputError, match=f"{B} as its pre- or postsynaptic"):
        synapse_partners(outputs[outputs["post_pt_root_id"] != B], B)


def test_synapse_partners_of_a_neuron_with_no_synapses_is_empty(outputs):
    partners = synapse_partners(outputs.iloc[:0], A)
    assert len(partners) == 0
    assert "syn_count" in partners.columns
