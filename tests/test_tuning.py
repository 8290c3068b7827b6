"""Tests of microns_helpers.tuning: orientation differences are circular, with period 180°."""

import numpy as np
import pandas as pd
import pytest

from microns_helpers.errors import InvalidInputError
from microns_helpers.tuning import orientation_difference


def test_the_difference_wraps_around_half_a_turn():
    assert orientation_difference(5, 175, period=180) == pytest.approx(10)
    assert orientation_difference(0.1, np.pi - 0.1) == pytest.approx(0.2)
    assert orientation_difference(0, 90, period=180) == pytest.approx(90)  # the largest


def test_it_is_symmetric_and_never_more_than_a_quarter_turn():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, np.pi, 1000), rng.uniform(0, np.pi, 1000)
    d = orientation_difference(a, b)
    assert np.allclose(d, orientation_difference(b, a))
    assert d.min() >= 0 and d.max() <= np.pi / 2
    # for independent orientations the mean difference is a quarter of the period: 45°
    assert np.degrees(d.mean()) == pytest.approx(45, abs=2)


def test_a_direction_and_its_opposite_have_the_same_orientation():
    assert orientation_difference(0.3, 0.3 + np.pi) == pytest.approx(0, abs=1e-12)


def test_series_stay_series_and_nan_stays_nan():
    pre = pd.Series([0.0, 3.0, np.nan], index=[10, 11, 12])
    d = orientation_difference(pre, 0.1)
    assert isinstance(d, pd.Series) and list(d.index) == [10, 11, 12]
    assert d.iloc[0] == pytest.approx(0.1) and np.isnan(d.iloc[2])


def test_degrees_read_as_radians_are_refused_with_the_fix():
    with pytest.raises(InvalidInputError, match="period=180"):
        orientation_difference(np.array([10.0, 170.0]), 20.0)


@pytest.mark.parametrize("period", [0, -1, "pi", None])
def test_a_bad_period_is_refused(period):
    with pytest.raises(InvalidInputError, match="period"):
        orientation_difference(1.0, 2.0, period=period)


def test_non_numbers_are_refused():
    with pytest.raises(InvalidInputError, match="takes numbers"):
        orientation_difference("north", 1.0)


# -- the digital-twin tables' convention, and roots with one nucleus ------------------------


def test_v3_orientations_become_the_digital_twin_convention():
    from microns_helpers.tuning import v3_orientation_as_digital_twin

    # v3: 0 is a horizontal bar moving up, clockwise; digital twin: 0 is a vertical bar
    # moving right, counter-clockwise. Moving right is v3's 90 degrees, the twin's 0.
    got = v3_orientation_as_digital_twin(np.radians([0, 45, 90, 135, 180]))
    assert got.tolist() == pytest.approx([90, 45, 0, 135, 90])
    # a mirror image: differences within one table do not change
    a, b = np.radians(10), np.radians(170)
    twin = v3_orientation_as_digital_twin(np.array([a, b]))
    assert orientation_difference(twin[0], twin[1], period=180) == pytest.approx(
        np.degrees(orientation_difference(a, b))
    )
    series = v3_orientation_as_digital_twin(pd.Series([0.0], index=[7]))
    assert isinstance(series, pd.Series) and list(series.index) == [7]
    with pytest.raises(InvalidInputError, match="degrees already"):
        v3_orientation_as_digital_twin(np.array([45.0, 120.0]))


def test_roots_with_one_nucleus_count_every_nucleus_of_the_table():
    from microns_helpers.tuning import roots_with_one_nucleus

    # root 20 holds an imaged nucleus (2) and one that was not imaged (3): it must go
    nuclei = pd.DataFrame({"id": [1, 2, 3, 4, 5], "pt_root_id": [10, 20, 20, 0, 30]})
    assert roots_with_one_nucleus(nuclei).tolist() == [10, 30]
    with pytest.raises(InvalidInputError, match="nucleus_detection_v0"):
        roots_with_one_nucleus(pd.DataFrame({"id": [1]}))


def test_on_the_sample_merged_roots_hide_among_coregistered_nuclei_but_not_in_the_nucleus_table():
    # chapter 13's step: a root that merges an imaged nucleus with one that was not imaged
    # has one coregistered nucleus; only the nucleus table shows it holds two
    from microns_helpers.sample import load_sample_data
    from microns_helpers.tuning import roots_with_one_nucleus

    data = load_sample_data()
    nuclei = data.rows("nucleus_detection_v0", 1300)
    props = data.rows("functional_properties_v3_bcm", 1300)
    root_of_nucleus = nuclei.set_index("id")["pt_root_id"]  # a reference table's join
    best = props.drop_duplicates("target_id")
    coregistered_per_root = best["target_id"].map(root_of_nucleus).value_counts()
    pass_among_coregistered = set(coregistered_per_root.index[coregistered_per_root == 1])
    kept = set(roots_with_one_nucleus(nuclei))
    hidden_merges = pass_among_coregistered - kept - {0}
    assert hidden_merges, "the sample should hold merged roots that only the nucleus table shows"
    per_root = nuclei["pt_root_id"].value_counts()
    assert all(per_root[root] > 1 for root in hidden_merges)
    assert kept <= set(per_root.index[per_root == 1])
