"""The proofreading table ``proofreading_status_and_strategy``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .cells import REAL_CELLS_V1300
from .common import PCG_NEURON

# tables.proofreading_status_and_strategy(status_axon='t') at v1300 (TUT-1300), and all rows
# at v1507 (DB-1507): aggregates.json. The rows at v1300 with status_axon false, and which
# rows changed between the versions, were not published.
PROOFREAD_AXON_TRUE_V1300 = {
    "axon_partially_extended": 1459,
    "axon_interareal": 130,
    "axon_fully_extended": 127,
    "none": 7,
}
PROOFREAD_ALL_V1507 = {
    "axon_partially_extended": 1750,
    "axon_fully_extended": 267,
    "axon_interareal": 124,
    "none": 41,
}
# status_axon false at v1300: 142 rows, all with strategy none (1,865 rows at v1300, 1,723 of
# them status_axon true, 149 strategy none: table_specs.json, from TUT-1300 outputs).
PROOFREAD_AXON_FALSE_V1300 = 142
# Distinct roots of the cell-type table per axon strategy at v1300 (FACTS.md, "Cell-level
# facts at v1300"): 1,444 partially extended of the 1,459 rows, so 15 such rows are on roots
# the cell-type table does not hold (the sample takes nuclei without a cell type).
PARTIAL_OUTSIDE_CELL_TYPES_V1300 = 1459 - 1444


def build_proofreading(rng, nuclei: list[dict], annotations: list[dict], versions: dict):
    """Rows of proofreading_status_and_strategy at the published counts of v1300 and v1507.

    The cells are sample neurons, the named cells of REAL_CELLS_V1300 among them with their
    real strategy (the example neuron partially extended), and 15 partially extended axons on
    roots outside the cell-type table, as the real v1300 table has: which other cell has
    which status is synthetic. Between v1300 and v1507, 100 axons go from
    partially to fully extended and 6 interareal ones are re-classed as partially extended
    (a new row replaces the old one), and new cells are added, so that both versions show
    their published counts.
    """
    typed = {a["target_id"]: a["classification_system"] for a in annotations}
    neurons = [
        n
        for n in nuclei
        if n["pt_root_id"] and typed.get(n["id"]) in ("excitatory_neuron", "inhibitory_neuron")
    ]
    # one nucleus per root: a row names a root, and a merged root is not a proofread cell
    shared = pd.Series([n["pt_root_id"] for n in nuclei]).value_counts()
    single = {r for r, k in shared.items() if k == 1}
    by_root = {n["pt_root_id"]: n for n in neurons}
    named = {root: by_root[root] for root in REAL_CELLS_V1300}
    others = [
        n
        for n in neurons
        if n["pt_root_id"] not in named
        and n["pt_root_id"] != PCG_NEURON
        and n["pt_root_id"] in single
    ]
    order = [others[i] for i in rng.permutation(len(others))]
    untyped = [n for n in nuclei if n["pt_root_id"] in single and n["id"] not in typed]
    outside = [
        untyped[i]
        for i in rng.choice(len(untyped), PARTIAL_OUTSIDE_CELL_TYPES_V1300, replace=False)
    ]
    t1300 = pd.Timestamp(versions[1300]["time_stamp"], tz="UTC")
    t1507 = pd.Timestamp(versions[1507]["time_stamp"], tz="UTC")
    changed_at = t1300 + (t1507 - t1300) / 2

    # The named cells first, with their real strategy; then the rest of the published counts.
    first = [(REAL_CELLS_V1300[root][3], True) for root in named]
    first += [("axon_partially_extended", True)] * PARTIAL_OUTSIDE_CELL_TYPES_V1300
    at_1300 = [(s, True) for s, k in PROOFREAD_AXON_TRUE_V1300.items() for _ in range(k)]
    for item in first:
        at_1300.remove(item)
    rng.shuffle(at_1300)
    at_1300 = first + at_1300
    at_1300 += [("none", False)] * PROOFREAD_AXON_FALSE_V1300
    n_fixed = len(named) + len(outside)
    cells = [*named.values(), *outside] + order[: len(at_1300) - n_fixed]
    pool = order[len(at_1300) - n_fixed :]

    rows = []
    created0 = pd.Timestamp("2024-05-30 15:00:00", tz="UTC")

    def row(cell, strategy, status_axon, created, deleted=None):
        rows.append(
            {
                "id": len(rows) + 1,
                "created": created,
                "superceded_id": np.nan,
                "valid": True,
                "valid_id": cell["pt_root_id"],
                "status_dendrite": True,
                "status_axon": status_axon,
                "strategy_dendrite": "dendrite_extended"
                if rng.random() < 0.8
                else "dendrite_clean",
                "strategy_axon": strategy,
                "pt_position": cell["pt_position"],
                "pt_supervoxel_id": cell["pt_supervoxel_id"],
                "pt_root_id": cell["pt_root_id"],
                "_deleted": deleted,
            }
        )
        return rows[-1]

    base = [
        row(cell, strategy, status, created0 + pd.to_timedelta(k * 0.8, unit="s"))
        for k, (cell, (strategy, status)) in enumerate(zip(cells, at_1300))
    ]
    # Changes between v1300 and v1507: a new row replaces the old one.
    partial = [r for r in base[n_fixed:] if r["strategy_axon"] == "axon_partially_extended"]
    interareal = [r for r in base[n_fixed:] if r["strategy_axon"] == "axon_interareal"]
    upgraded = [partial[i] for i in rng.choice(len(partial), 100, replace=False)]
    reclassed = [interareal[i] for i in rng.choice(len(interareal), 6, replace=False)]
    # 149 rows have strategy none at v1300 and 41 at v1507 (all rows, DB-1507): 108 of the
    # axons not yet proofread at v1300 are partially extended by v1507 (which, synthetic).
    pending = [r for r in base if r["strategy_axon"] == "none" and not r["status_axon"]]
    resolved = [pending[i] for i in rng.choice(len(pending), 108, replace=False)]
    later = changed_at
    cell_of = {id(r): c for r, c in zip(base, cells)}
    for old, strategy in [(r, "axon_fully_extended") for r in upgraded] + [
        (r, "axon_partially_extended") for r in reclassed + resolved
    ]:
        old["_deleted"] = later
        old["superceded_id"] = float(len(rows) + 1)
        row(cell_of[id(old)], strategy, True, later)
        later += pd.Timedelta(seconds=3)
    # New cells by v1507, up to its published counts.
    count = pd.Series([r["strategy_axon"] for r in rows if r["_deleted"] is None]).value_counts()
    new = []
    for strategy, k in PROOFREAD_ALL_V1507.items():
        new += [strategy] * (k - int(count.get(strategy, 0)))
    rng.shuffle(new)
    for cell, strategy in zip(pool, new):
        row(cell, strategy, strategy != "none", later)
        later += pd.Timedelta(seconds=2)
    if len(new) > len(pool):
        raise SystemExit("not enough sample neurons for the proofreading table")
    return rows
