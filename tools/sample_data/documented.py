"""The cells the MICrONs documentation prints, as it prints them (issue 23, item 5).

``inputs/documented_root_facts.csv`` holds what the tutorial's pages print about their roots,
``inputs/documented_nucleus_rows.csv`` the one nucleus row they print whole (nucleus 260620,
on the page about versions). The sample serves them:

- a nucleus the pages name by id gets its row in ``nucleus_detection_v0``: the printed row
  where one is printed, otherwise the row of a synthetic nucleus without a cell type, which
  takes the printed id and root (its position, volume and date stay **synthetic**);
- a root the pages name as a cell type (a basket cell) gets a synthetic cell of that type;
- printed synapse counts become that root's live size (``live_sizes.py``); a count printed
  only as "at least" is a lower bound; every other printed root gets a **synthetic** live
  size, so that a query on it says how many rows live holds instead of a silent 0.

A root printed at an older version (661, 1078) is assumed unedited up to 1300 (the rows'
version), unless the pages print its change.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

from microns_helpers.sample import SELECT_ORDER

from .common import SEED, read_csv, ts, vec

# fact (documented_root_facts.csv) -> what the sample serves of it
NUCLEUS_OF_ROOT = re.compile(r"(root of nucleus|nucleus id)")
AT_LEAST_INPUTS = re.compile(r"at least (\d+) inputs")
CELL_TYPE_NAMES = {"basket cell": "BC"}  # the page's words -> the cell type's label


def facts() -> pd.DataFrame:
    return read_csv("documented_root_facts.csv")


def printed_nuclei() -> dict[int, int]:
    """{nucleus id: root} of every nucleus the pages name, at the latest version they name it."""
    rows = facts()[facts()["fact"].str.match(NUCLEUS_OF_ROOT)].copy()
    rows["version"] = rows["version"].astype(int)
    latest = rows.sort_values("version", kind="stable").drop_duplicates("value", keep="last")
    return {int(r.value): int(r.root_id) for r in latest.itertuples()}


def printed_cell_types() -> dict[int, str]:
    """{root: cell type} of the roots the pages name as a type."""
    return {
        int(r.root_id): CELL_TYPE_NAMES[r.value]
        for r in facts().itertuples()
        if r.value in CELL_TYPE_NAMES
    }


def place_documented_cells(nuclei: list[dict], annotations: list[dict]) -> None:
    """Give the printed nuclei and cell types their rows, in place.

    Each takes over a synthetic row (a nucleus without a cell type, or a cell of the named
    type on a root of its own), so the tables keep their documented sizes and every other
    row stays as it was."""
    printed = {int(r.id): r for r in read_csv("documented_nucleus_rows.csv").itertuples()}
    typed = {a["target_id"] for a in annotations}
    roots_count = Counter(n["pt_root_id"] for n in nuclei)
    by_id = {n["id"]: n for n in nuclei}
    taken = set()  # the rows given to a printed cell already

    def donor(eligible):
        for n in nuclei:
            if (
                not n["_real"]
                and id(n) not in taken
                and n["pt_root_id"]
                and roots_count[n["pt_root_id"]] == 1
                and np.isnan(n.get(SELECT_ORDER, np.nan))  # not a row of a published select
                and eligible(n)
            ):
                return n
        raise SystemExit("no synthetic nucleus left to hold a documented one")

    for nid, root in printed_nuclei().items():
        n = by_id.get(nid)
        if n is not None and n["_real"]:
            if n["pt_root_id"] != root:
                raise SystemExit(f"nucleus {nid} holds {n['pt_root_id']}, printed {root}")
            continue
        if n is None:
            n = donor(lambda n: n["id"] not in typed)
            del by_id[n["id"]]
        elif roots_count[n["pt_root_id"]] != 1:  # a synthetic nucleus of that id: it takes the root
            raise SystemExit(f"synthetic nucleus {nid} shares its root: pick another")
        roots_count[root] += 1
        taken.add(id(n))
        n.update(id=nid, pt_root_id=root)
        row = printed.get(nid)
        if row is not None:  # the printed row, whole
            n.update(
                created=ts(row.created),
                volume=float(row.volume),
                pt_position=vec(row.pt_position),
                pt_supervoxel_id=int(row.pt_supervoxel_id),
                _real=True,
            )
        by_id[nid] = n

    type_of = {a["target_id"]: a["cell_type"] for a in annotations}
    for root, cell_type in printed_cell_types().items():
        if any(n["pt_root_id"] == root for n in nuclei):
            continue
        n = donor(lambda n, wanted=cell_type: type_of.get(n["id"]) == wanted)
        roots_count[root] += 1
        taken.add(id(n))
        n["pt_root_id"] = root


def live_sizes(known_roots) -> pd.DataFrame:
    """Live sizes of the printed roots: ``root_id``, ``outputs``, ``inputs``, ``basis``,
    ``at_least`` (True where the printed count is a lower bound of the inputs).

    Printed counts as printed; every printed root without one and not in ``known_roots``
    (the roots the other builders give a live size) gets a synthetic one, small, as a
    fragment's (most printed roots the sample holds no row of are pieces of a table)."""
    rows = []
    for r in facts().itertuples():
        where = f"{r.page.rsplit('/', 1)[-1]} cell {r.cell}, v{r.version}"
        if r.n_input_synapses or r.n_output_synapses:
            rows.append(
                (
                    int(r.root_id),
                    int(r.n_output_synapses),
                    int(r.n_input_synapses),
                    f"published ({where})",
                    False,
                )
            )
        found = AT_LEAST_INPUTS.search(r.fact)
        if found:
            rows.append(
                (
                    int(r.root_id),
                    -1,
                    int(found.group(1)),
                    f"inputs: at least the published rows ({where}); outputs synthetic",
                    True,
                )
            )
    frame = pd.DataFrame(rows, columns=["root_id", "outputs", "inputs", "basis", "at_least"])
    ids = read_csv("documented_ids.csv")
    printed = sorted({int(i) for i in ids.loc[ids["kind"] == "root", "id"]})
    given = set(known_roots) | set(frame["root_id"])
    others = [r for r in printed if r not in given]
    rng = np.random.default_rng([SEED, 5])  # its own stream: no other draw moves
    drawn = rng.poisson(3, (len(others) + len(frame), 2))
    frame.loc[frame["outputs"] < 0, "outputs"] = drawn[len(others) :, 0][frame["outputs"] < 0]
    extra = pd.DataFrame(
        {
            "root_id": others,
            "outputs": drawn[: len(others), 0],
            "inputs": drawn[: len(others), 1],
            "basis": "synthetic: a root the documentation prints, no row of the sample on it",
            "at_least": False,
        }
    )
    return pd.concat([frame, extra], ignore_index=True)
