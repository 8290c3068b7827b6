"""Root-id edits after the base version (``lineage.json``)."""

from __future__ import annotations

import pandas as pd

from .common import (
    BASE_VERSION,
    EXAMPLE_NEURON,
    TAIL_PARTNERS_V1300,
    TOP_PARTNERS_V1300,
    read_csv,
)
from .synapses import (
    EXAMPLE_NEURON_V1718,
    FIFTH_PARTNER_V1300,
    FIFTH_PARTNER_V1718,
    PUBLISHED_ROOT_CHANGES,
)

MERGES_BEFORE_1507 = 1  # 1035 partners at v1300 and at v1507 (DB-1507), with one more added
MERGES_BEFORE_1718 = 13  # 1022 partners at v1718 (TUT-1718b)


def _moment(rng, start: str, end: str) -> str:
    """A synthetic time between two version time stamps, to the millisecond."""
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    stamp = lo + (hi - lo) * float(rng.uniform(0.1, 0.9))
    return stamp.round("ms").strftime("%Y-%m-%dT%H:%M:%S.%f")


def build_lineage(rng, plan: dict, versions: dict) -> dict:
    """The root-id edits after v1300: the published ones, with synthetic times and fragments.

    Every edit is a merge: the published one-to-one changes merge the old root with a fragment
    of the sample that has no rows; 14 merges of two partners of the example neuron bring its
    partner count from 1035 to 1035 at v1507 and 1022 at v1718, as published.
    """
    roots = plan["roots"]
    stamp = {v: versions[v]["time_stamp"] for v in (1300, 1412, 1507, 1718)}
    new_root = lambda: roots.take(864691135_000_000_000, 864691137_300_000_000)  # noqa: E731
    edits = []

    def edit(before, after, start, end, source):
        edits.append(
            {
                "timestamp": _moment(rng, stamp[start], stamp[end]),
                "before": [int(b) for b in before],
                "after": int(after),
                "source": source,
            }
        )

    edit(
        [EXAMPLE_NEURON, plan["fragment"]],
        EXAMPLE_NEURON_V1718,
        1300,
        1412,
        "published roots (v1300, v1412/v1718); time and fragment synthetic",
    )
    for old, new in PUBLISHED_ROOT_CHANGES.items():
        edit(
            [old, new_root()],
            new,
            1300,
            1718,
            "published roots (v1300, v1718); time and fragment synthetic",
        )

    counts = plan["output_counts"]
    taken = set(TOP_PARTNERS_V1300) | set(TAIL_PARTNERS_V1300) | set(PUBLISHED_ROOT_CHANGES)
    small = [p for p, n in counts.items() if n <= 3 and p not in taken]
    rng.shuffle(small)
    twos = [p for p in small if counts[p] == 2]
    fifth_fragment = twos[0]
    small = [p for p in small if p != fifth_fragment]
    edit(
        [FIFTH_PARTNER_V1300, fifth_fragment],
        FIFTH_PARTNER_V1718,
        1507,
        1718,
        "published roots and counts (11 at v1300, 13 at v1718); time and fragment synthetic",
    )
    pairs = [small[2 * k : 2 * k + 2] for k in range(MERGES_BEFORE_1507 + MERGES_BEFORE_1718 - 1)]
    for k, pair in enumerate(pairs):
        start, end = (1300, 1507) if k < MERGES_BEFORE_1507 else (1507, 1718)
        edit(pair, new_root(), start, end, "synthetic: two partners of the example neuron merged")
    edits.sort(key=lambda e: e["timestamp"])
    for k, e in enumerate(edits):
        e["operation_id"] = 700_000 + 37 * k
    documented_edits = documented_root_changes(versions)
    documented = documented_roots(documented_edits)
    return {
        "about": "Root-id edits after version 1300, the base of the sample's rows, and the "
        "published changes of the roots the MICrONs documentation prints. See README.md.",
        # Roots that no edit made existed from before version 117 on (the sample's choice).
        "roots_created": "2021-01-01T00:00:00.000000",
        "edits": [{"operation_id": e.pop("operation_id"), **e} for e in edits] + documented_edits,
        "documented_roots": documented,
    }


def documented_root_changes(versions: dict) -> list[dict]:
    """One-to-one edits for the root changes the documentation prints (documented_root_facts.csv:
    a root whose suggested latest root at a version is another root). The edit falls midway
    between the version where the old root is printed and the one where the new one is."""
    facts = read_csv("documented_root_facts.csv")
    latest = facts[facts["fact"].str.startswith("suggest_latest_roots")]
    edits = []
    for k, row in enumerate(latest[latest["value"] != latest["root_id"]].itertuples()):
        old = int(row.root_id)
        seen_old = latest[(latest["root_id"] == row.root_id) & (latest["value"] == row.root_id)]
        start = int(seen_old["version"].max()) if len(seen_old) else BASE_VERSION
        lo = pd.Timestamp(versions[start]["time_stamp"])
        hi = pd.Timestamp(versions[int(row.version)]["time_stamp"])
        stamp = (lo + (hi - lo) / 2).round("ms").strftime("%Y-%m-%dT%H:%M:%S.%f")
        edits.append(
            {
                # numbered apart from the sample's own edits, so those keep their ids
                "operation_id": 600_000 + 37 * k,
                "timestamp": stamp,
                "before": [old],
                "after": int(row.value),
                "source": f"published roots (v{start}, v{row.version}: {row.page} cell "
                f"{row.cell}); time synthetic",
            }
        )
    return edits


def documented_roots(edits: list[dict]) -> dict[str, list[int]]:
    """{root: its supervoxels printed beside it} for every root the documentation prints
    (documented_ids.csv). A supervoxel printed beside both a root and the root an edit made
    of it belongs to the older one, from which the edits map it forward."""
    ids = read_csv("documented_ids.csv")
    roots = ids[ids["kind"] == "root"]
    made = {e["after"] for e in edits}
    supervoxels: dict[int, set] = {}
    for row in roots.itertuples():
        found = {int(sv) for sv in row.supervoxel_ids.split(";") if sv}
        supervoxels.setdefault(int(row.id), set()).update(found)
    for root in made & set(supervoxels):
        older = set().union(
            *(supervoxels.get(b, set()) for e in edits if e["after"] == root for b in e["before"])
        )
        supervoxels[root] -= older
    return {str(root): sorted(svs) for root, svs in sorted(supervoxels.items())}
