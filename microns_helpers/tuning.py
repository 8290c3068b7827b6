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
