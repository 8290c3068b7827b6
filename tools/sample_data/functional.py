"""The five functional tables of 1300, made together so that they share their units.

On the real service a functional unit, one ROI of the two-photon imaging, is named by
``(session, scan_idx, unit_id)``, and the tables are joined on those keys: the functional
properties to the coregistration that matched their units, the automatic matches to the
manual ones (MICrONs tutorial, ``_coregistration_manual_v4.qmd``,
``_coregistration_auto_phase3_fwd_apl_vess_combined_v2.qmd``, ``em_functional_intro.md``).
So the sample draws one set of units first, each on one nucleus, and every table takes its
rows from it:

- ``coregistration_manual_v4``: units matched by hand, to their own nucleus.
- ``functional_properties_v3_bcm``: every unit of some of the manually matched cells (the
  table is documented as "as of coregistration_manual_v3", which v4 supersedes and which
  1300 does not list), with the same keys and nucleus.
- ``coregistration_auto_phase3_fwd_v2`` and ``apl_functional_coreg_vess_fwd``: automatic
  matches of most units; a match is to the unit's own nucleus more often the higher its
  score, else to another imaged nucleus.
- ``coregistration_auto_phase3_fwd_apl_vess_combined_v2``: every unit either automatic table
  matched, with the match of the higher score where both did (the page: it "reconciles" the
  two).

Row counts are the spec's; the distinct cells are the documented ones (15,352 of the manual
table, 10,631 of the properties, 35,466 of the combined table, up to the units whose every
automatic match went to another cell). Every value is synthetic.
"""

from __future__ import annotations

import numpy as np

TABLES = (
    "coregistration_manual_v4",
    "functional_properties_v3_bcm",
    "coregistration_auto_phase3_fwd_v2",
    "apl_functional_coreg_vess_fwd",
    "coregistration_auto_phase3_fwd_apl_vess_combined_v2",
)
# Distinct cells, from the documentation (annotation-tables.ipynb counts root ids; the MICrONs
# orientation example counts 10,631 nucleus ids after keeping one row per id).
CELLS = {
    "coregistration_manual_v4": 15_352,
    "functional_properties_v3_bcm": 10_631,
    "coregistration_auto_phase3_fwd_apl_vess_combined_v2": 35_466,
}
SESSIONS = range(4, 10)  # the index ranges the sample has always used
SCANS = range(1, 12)
FIELDS = range(1, 9)
MAX_UNIT_ID = 10_000


def build_functional_tables(rng, imaged_ids, n_rows: dict) -> tuple[dict, dict]:
    """{table: columns} of the five tables, and the words of each one's description.

    ``imaged_ids``: the nuclei that can have been imaged; ``n_rows``: each table's row count.
    """
    combined = "coregistration_auto_phase3_fwd_apl_vess_combined_v2"
    nuclei = rng.permutation(np.asarray(imaged_ids))[: CELLS[combined]]
    manual_n, props_n = CELLS["coregistration_manual_v4"], CELLS["functional_properties_v3_bcm"]

    # Units of the manually matched cells: most have one unit, some two or three (a cell in
    # more than one field or scan). The properties take every unit of some of those cells.
    manual_rows, props_rows = (
        n_rows["coregistration_manual_v4"],
        n_rows["functional_properties_v3_bcm"],
    )
    per_cell = _units_per_cell(manual_n, manual_rows)
    props_cells = nuclei[_cells_with_units(rng, per_cell, props_n, props_rows)]
    owner = np.repeat(nuclei[:manual_n], per_cell)
    manual_units = np.arange(manual_rows)

    # The other units the automatic methods found: each new cell once, the rest on any cell.
    others = n_rows[combined] - manual_rows
    new_cells = nuclei[manual_n:]
    extra = rng.choice(nuclei, size=others - len(new_cells), replace=True)
    owner = np.concatenate([owner, new_cells, extra])
    units = _unit_keys(rng, len(owner))

    # Which units each automatic method matched: both, or one of them; together all.
    fwd_n, apl_n = (
        n_rows["coregistration_auto_phase3_fwd_v2"],
        n_rows["apl_functional_coreg_vess_fwd"],
    )
    order = rng.permutation(len(owner))
    only_fwd, only_apl = len(owner) - apl_n, len(owner) - fwd_n
    fwd, apl = np.sort(order[:fwd_n]), np.sort(order[only_fwd:])  # both: order[only_fwd:fwd_n]
    assert len(apl) == apl_n and len(np.union1d(fwd, apl)) == len(owner) == fwd_n + only_apl

    manual = _matches(rng, owner[manual_units], manual_units, nuclei, spread=1.5, automatic=False)
    auto = {
        "coregistration_auto_phase3_fwd_v2": _matches(rng, owner[fwd], fwd, nuclei, spread=2.5),
        "apl_functional_coreg_vess_fwd": _matches(rng, owner[apl], apl, nuclei, spread=2.5),
    }
    # The reconciled table: per unit, the match of the higher score.
    both = np.concatenate(list(auto.values()))
    both = both[np.lexsort((-both["score"], both["unit"]))]
    reconciled = both[np.r_[True, both["unit"][1:] != both["unit"][:-1]]]

    props_units = manual_units[np.isin(owner[manual_units], props_cells)]
    assert len(props_units) == props_rows
    k = len(props_units)
    ori = rng.uniform(0, np.pi, k)
    properties = {
        "target_id": owner[props_units],
        **{key: units[key][props_units] for key in ("session", "scan_idx", "unit_id")},
        "pref_ori": np.round(ori, 4),
        "pref_dir": np.round(ori + np.pi * rng.integers(0, 2, k), 4),
        "gOSI": np.round(rng.beta(2, 5, k), 4),
        "gDSI": np.round(rng.beta(1.5, 8, k), 4),
        "cc_abs": np.round(rng.beta(5, 4, k), 4),
    }

    frames = {
        "coregistration_manual_v4": _coreg_columns(manual, units),
        "functional_properties_v3_bcm": _sorted(properties),
        **{table: _coreg_columns(m, units) for table, m in auto.items()},
        combined: _coreg_columns(reconciled, units),
    }
    agree = (
        "most to the unit's own cell, the others (more often at a low score) to another imaged cell"
    )
    notes = {
        "coregistration_manual_v4": (
            "units of excitatory neurons above layer 6 of the sample, each matched to its own "
            "cell; its units (session, scan_idx, unit_id) are those the other functional "
            "tables use."
        ),
        "functional_properties_v3_bcm": (
            "every unit of some of the cells of coregistration_manual_v4, with its keys and "
            "nucleus; the properties are drawn at random, independent of the synapses."
        ),
        "coregistration_auto_phase3_fwd_v2": f"automatic matches of the sample's units: {agree}.",
        "apl_functional_coreg_vess_fwd": f"automatic matches of the sample's units: {agree}.",
        combined: (
            "every unit of coregistration_auto_phase3_fwd_v2 and apl_functional_coreg_vess_fwd, "
            "with the match of the higher score where both have one."
        ),
    }
    return frames, notes


def _units_per_cell(cells: int, rows: int) -> np.ndarray:
    """Units of each cell, summing to ``rows``: a tenth of the repeats as three units, the
    rest as two, the remaining cells one each."""
    repeats = rows - cells
    threes = repeats // 10
    twos = repeats - 2 * threes
    per_cell = np.ones(cells, dtype=int)
    per_cell[:threes] = 3
    per_cell[threes : threes + twos] = 2
    return per_cell


def _cells_with_units(rng, per_cell: np.ndarray, cells: int, rows: int) -> np.ndarray:
    """Indexes of ``cells`` of the cells whose units sum to ``rows``, in the same proportions."""
    repeats = rows - cells
    threes = repeats // 10
    twos = repeats - 2 * threes
    picked = [
        rng.choice(np.flatnonzero(per_cell == m), size=n, replace=False)
        for m, n in ((3, threes), (2, twos), (1, cells - threes - twos))
    ]
    return np.sort(np.concatenate(picked))


def _unit_keys(rng, n: int) -> dict:
    """``n`` distinct units: a scan (session, scan_idx), a field, and a unit_id unique in it."""
    session = rng.choice(np.array(SESSIONS), n)
    scan_idx = rng.choice(np.array(SCANS), n)
    unit_id = np.zeros(n, dtype=np.int64)
    scan = session * 100 + scan_idx
    for value in np.unique(scan):
        where = np.flatnonzero(scan == value)
        unit_id[where] = rng.choice(MAX_UNIT_ID, size=len(where), replace=False) + 1
    return {
        "session": session,
        "scan_idx": scan_idx,
        "unit_id": unit_id,
        "field": rng.choice(np.array(FIELDS), n),
    }


MATCH = np.dtype(
    [("unit", np.int64), ("target_id", np.int64), ("residual", float), ("score", float)]
)


def _matches(rng, own, unit, nuclei, *, spread: float, automatic: bool = True) -> np.ndarray:
    """One match per unit: the residual and separation score in micrometres (the score is the
    distance to the nearest other cell minus the residual, so it can be negative), and the
    nucleus matched: its own, or for an automatic match at a low score often another one."""
    k = len(unit)
    residual = rng.gamma(2.0, spread, k)
    score = rng.gamma(4.0, 2.0, k) - residual
    target = np.array(own, dtype=np.int64)
    if automatic:
        wrong = rng.random(k) > 1 / (1 + np.exp(-(score + 1) / 1.5))
        target[wrong] = rng.choice(nuclei, size=int(wrong.sum()))
    out = np.empty(k, dtype=MATCH)
    out["unit"], out["target_id"] = unit, target
    out["residual"], out["score"] = np.round(residual, 3), np.round(score, 3)
    return out


def _coreg_columns(matches: np.ndarray, units: dict) -> dict:
    u = matches["unit"]
    return _sorted(
        {
            "target_id": matches["target_id"],
            **{key: values[u] for key, values in units.items()},
            "residual": matches["residual"],
            "score": matches["score"],
        }
    )


def _sorted(columns: dict) -> dict:
    """Rows in the order of nucleus, then unit."""
    order = np.lexsort(
        (columns["unit_id"], columns["scan_idx"], columns["session"], columns["target_id"])
    )
    return {key: np.asarray(values)[order] for key, values in columns.items()}
