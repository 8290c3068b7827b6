"""Orientation tuning: differences of preferred orientation, which live on a circle.

An orientation and the same orientation turned by half a turn are one orientation: a bar at
10° and a bar at 190° look alike. So preferred orientations run over a period of 180° (π
radians), and the difference between 5° and 175° is 10°, not 170°::

    from microns_helpers.tuning import orientation_difference
    orientation_difference(0.1, 3.0)              # radians, period π: 0.2416
    orientation_difference(5, 175, period=180)    # degrees: 10.0
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InvalidInputError


def orientation_difference(a, b, *, period: float = np.pi):
    """The absolute difference of orientations ``a`` and ``b`` around a circle of ``period``.

    ``a`` and ``b`` are numbers, arrays or pandas Series of the same shape (or one of them a
    number), in radians by default (``functional_properties_v3_bcm.pref_ori``); pass
    ``period=180`` for degrees. The result lies between 0 and ``period / 2``; a missing
    value (NaN) gives NaN.

    >>> orientation_difference(5, 175, period=180)
    10.0
    """
    if isinstance(period, bool) or not isinstance(period, (int, float, np.number)) or period <= 0:
        raise InvalidInputError(f"period must be a positive number, got {period!r}.")
    try:
        a_values = np.asarray(a, dtype=float)
        b_values = np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(
            "orientation_difference takes numbers (or arrays or Series of them), got "
            f"{type(a).__name__} and {type(b).__name__}."
        ) from None
    # Radians read as degrees would wrap silently and give nonsense: say so instead.
    largest = np.nanmax(np.abs(np.concatenate([a_values.ravel(), b_values.ravel()])), initial=0)
    if largest > 2 * period:
        raise InvalidInputError(
            f"orientation_difference got a value of {largest:g}, more than two periods "
            f"({period:g}). If the orientations are in degrees, pass period=180."
        )
    difference = np.abs(a_values - b_values) % period
    result = np.minimum(difference, period - difference)
    if hasattr(a, "index") and np.shape(a) == result.shape:  # keep a Series a Series
        return type(a)(result, index=a.index)
    return result.item() if result.ndim == 0 else result


def v3_orientation_as_digital_twin(pref_ori_v3):
    """A ``functional_properties_v3_bcm`` orientation in the digital-twin tables' convention.

    The two conventions differ by more than the unit (MICrONs tutorial, the tables' pages):
    in ``functional_properties_v3_bcm`` ``pref_ori`` is in radians, 0 is a horizontal bar
    moving upward and angles grow clockwise; in ``digital_twin_properties_bcm_coreg_v4`` (and
    its automatic companions) it is in degrees, 0 is a vertical bar moving right and angles
    grow counter-clockwise. Upward motion is 90° counter-clockwise from rightward motion, so
    an orientation ``θ`` (radians, v3) is ``(90 - degrees(θ)) mod 180`` there: a reflection
    and a quarter turn. The absolute difference of two orientations of one table is the same
    in both conventions; values of the two tables are comparable only after this.

    >>> v3_orientation_as_digital_twin(0.0)   # a horizontal bar moving upward
    90.0
    """
    try:
        values = np.asarray(pref_ori_v3, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(
            "v3_orientation_as_digital_twin takes radians (numbers, arrays or Series), got "
            f"{type(pref_ori_v3).__name__}."
        ) from None
    if np.nanmax(np.abs(values), initial=0) > 2 * np.pi:
        raise InvalidInputError(
            "functional_properties_v3_bcm's pref_ori is in radians (0 to pi), but a value is "
            "larger than 2 pi: these look like degrees already."
        )
    result = (90.0 - np.degrees(values)) % 180.0
    if hasattr(pref_ori_v3, "index") and np.shape(pref_ori_v3) == result.shape:
        return type(pref_ori_v3)(result, index=pref_ori_v3.index)
    return result.item() if result.ndim == 0 else result


def roots_with_one_nucleus(nuclei: pd.DataFrame, *, root_column: str = "pt_root_id") -> pd.Index:
    """The root ids that hold exactly one nucleus of ``nuclei`` (``nucleus_detection_v0``).

    A root with several nuclei is several cells the segmentation has not separated yet
    (merged nuclei): its synapses could be any of theirs. A coregistration or
    functional table lists only the nuclei that were imaged, so counting nuclei there misses
    a merge with a cell that was not imaged; count them in the nucleus table, which lists
    every nucleus. Root 0 (no cell) is never kept.

    >>> nuclei = pd.DataFrame({"id": [1, 2, 3, 4], "pt_root_id": [10, 20, 20, 0]})
    >>> roots_with_one_nucleus(nuclei).tolist()
    [10]
    """
    if not isinstance(nuclei, pd.DataFrame) or root_column not in nuclei.columns:
        raise InvalidInputError(
            f"roots_with_one_nucleus needs the nucleus table with its {root_column!r} column: "
            "client.materialize.query_table('nucleus_detection_v0')."
        )
    counts = nuclei.loc[nuclei[root_column] != 0, root_column].value_counts()
    return pd.Index(sorted(counts.index[counts == 1]), name=root_column)
