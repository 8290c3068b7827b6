"""The synapse table ``synapses_pni_2``: the real synapses that were published, and
synthetic ones around them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import (
    EXAMPLE_NEURON,
    N_INPUT_PARTNERS,
    N_INPUTS,
    N_OUTPUT_PARTNERS,
    N_OUTPUTS,
    PCG_NEURON,
    TAIL_PARTNERS_V1300,
    TOP_PARTNERS_V1300,
    Ids,
    read_csv,
    shared,
    supervoxel,
    supervoxels,
    ts,
    unique_ids_near,
    vec,
    voxels,
)
from .real_neurons import NGLUI_NEURON, PROOFREAD_NEURON, real_neuron_synapses  # real neurons


class SynapseDraw:
    """One synthetic synapse near a presynaptic point: the partner's side ~70 nm away, an id
    near those of real synapses at that x, a creation time and a size drawn from the real
    rows. The order of the random draws is part of the dataset: keep it."""

    def __init__(self, rng, ids, created_pool, sizes):
        self.rng, self.ids, self.created_pool, self.sizes = rng, ids, created_pool, sizes

    def __call__(self, pre_root, post_root, pre, *, cleft_jitter):
        rng = self.rng
        post = pre + np.array([rng.normal(0, 70), rng.normal(0, 70), rng.normal(0, 4)])
        ctr = (pre + post) / 2
        if cleft_jitter:
            ctr = ctr + np.array([rng.normal(0, 20), rng.normal(0, 20), 0])
        pre, post, ctr = (np.round(p).astype(int).tolist() for p in (pre, post, ctr))
        return synapse_row(
            self.ids.near(1525.1 * pre[0] - 80_600_000, 20_000_000, low=10_000),
            self.created_pool[int(rng.integers(len(self.created_pool)))],
            self.sizes[int(rng.integers(len(self.sizes)))],
            pre,
            post,
            ctr,
            supervoxel(rng, pre[0]),
            pre_root,
            supervoxel(rng, post[0]),
            post_root,
        )


def synapse_row(sid, created, size, pre, post, ctr, pre_sv, pre_root, post_sv, post_root):
    return {
        "id": int(sid),
        "created": created,
        "superceded_id": np.nan,
        "valid": True,
        "pre_pt_position": list(pre),
        "post_pt_position": list(post),
        "ctr_pt_position": list(ctr),
        "size": int(size),
        "pre_pt_supervoxel_id": int(pre_sv),
        "pre_pt_root_id": int(pre_root),
        "post_pt_supervoxel_id": int(post_sv),
        "post_pt_root_id": int(post_root),
    }


def _counts(rng, n_items: int, total: int, below: int) -> np.ndarray:
    """``n_items`` counts of at least 1 summing to ``total``, each < ``below``.

    Drawn geometrically (most partners get one synapse, fewer get each higher count) and
    then nudged to the total among the small counts, so no count piles up at the bound.
    """
    mean_extra = (total - n_items) / n_items
    counts = 1 + rng.geometric(1 / (1 + mean_extra), n_items) - 1
    counts = np.minimum(counts, below - 1)
    while counts.sum() != total:
        i = int(rng.integers(n_items))
        if counts.sum() < total and counts[i] < 4:
            counts[i] += 1
        elif counts.sum() > total and counts[i] > 1:
            counts[i] -= 1
    return counts


# The example neuron after the proofreading edit of 2025 (FACTS.md: from v1412 on), and the
# synapse that edit added to it: 162611261 is a real output of the new root at v1718
# (TUT-1718b) that the v1300 head does not show; that it is the 1,499th is the sample's guess.
EXAMPLE_NEURON_V1718 = 864691136968109774
ADDED_OUTPUT_V1718 = 162611261
# Roots of published rows at v1300 and at v1718 (TUT-1300a/b, TUT-1718a/b): the edits between
# the two versions that the published outputs show. When each happened is not published.
PUBLISHED_ROOT_CHANGES = {
    864691135546540484: 864691135015586198,  # partner of output synapse 158405512
    864691135060075931: 864691136619529179,  # partner of output synapse 138110803
    864691135280056225: 864691135362104647,  # strongest partner (20 synapses)
    864691135617649257: 864691135456207722,  # second (16)
    864691134949547516: 864691135866975708,  # third (15)
    864691135773033723: 864691135272003237,  # presynaptic cell of input synapse 159676064
    864691136145011252: 864691136276011533,  # basket cell, nucleus 369908
    864691135684976823: 864691135578780933,  # basket cell, nucleus 193846
    864691136311774525: 864691135183493378,  # basket cell, nucleus 615735
    864691135395662581: 864691135212348352,  # basket cell, nucleus 438586
    864691136691390838: 864691135294355638,  # basket cell, nucleus 419363
    864691136050858227: 864691135655940290,  # oligodendrocyte, nucleus 197927
}
# The fifth partner has 11 synapses at v1300 and, as 864691135431712560, 13 at v1718: merged
# (in the sample) with a fragment that received 2 of the neuron's synapses.
FIFTH_PARTNER_V1300, FIFTH_PARTNER_V1718 = 864691136275521549, 864691135431712560


def build_synapses(rng, cell_roots: list[int]):
    """The synapse rows, and the plan of the lineage edits that some of them need."""
    rows: dict[int, dict] = {}
    head: list[int] = []

    def add(r, first=False):
        if r["id"] not in rows:
            rows[r["id"]] = r
            if first:
                head.append(r["id"])

    def published(name, at_res1):
        for _, r in read_csv(name).iterrows():
            if at_res1:
                pre, post, ctr = (
                    voxels(r, f"{p}_pt_position", True) for p in ("pre", "post", "ctr")
                )
            else:
                pre, post, ctr = (vec(r[f"{p}_pt_position"]) for p in ("pre", "post", "ctr"))
            yield (
                r,
                synapse_row(
                    r.id,
                    ts(r.created),
                    r["size"],
                    pre,
                    post,
                    ctr,
                    r.pre_pt_supervoxel_id,
                    r.pre_pt_root_id,
                    r.post_pt_supervoxel_id,
                    r.post_pt_root_id,
                ),
            )

    # The 10 rows a limit=10 query returned at v1300, then the 10 of v1078 = v1181 = v1718
    # (FACTS.md: the order under a limit is not guaranteed), at resolution [1,1,1].
    for name in (
        "v1300/synapses_pni_2__limit10__split__res1.csv",
        "v1078/synapses_pni_2__limit10__split__res1.csv",
    ):
        for _, row in published(name, True):
            add(row, first=True)
    # The synapse the 2025 edit added (v1718 values; its presynaptic root at v1300 is a
    # fragment of the sample's), then the synapse_query heads of the example neuron:
    # outputs v1300 then v1181, inputs v1300.
    fragment = None
    for r, row in published("v1718/synapse_query__pre_864691136968109774__head5.csv", False):
        if r.id == str(ADDED_OUTPUT_V1718):
            fragment = row
    for name in (
        "v1300/synapse_query__pre_864691135808473885__head5.csv",
        "v1181/synapse_query__pre_864691135808473885__head5.csv",
        "v1300/synapse_query__post_864691135808473885__head5.csv",
    ):
        for _, row in published(name, False):
            add(row, first=True)
    # Real synapses of 864691136040432126 (pcg_skel test data, v795), without created/valid.
    pcg = pd.concat(
        [
            pd.read_parquet(shared(f"morphology/synapses_{PCG_NEURON}_{s}.parquet"))
            for s in ("pre", "post")
        ]
    )
    created_pool = sorted({r["created"] for r in rows.values()})
    for r in pcg.itertuples():
        add(
            synapse_row(
                r.id,
                created_pool[int(rng.integers(len(created_pool)))],
                r.size,
                r.pre_pt_position,
                r.post_pt_position,
                r.ctr_pt_position,
                r.pre_pt_supervoxel_id,
                r.pre_pt_root_id,
                r.post_pt_supervoxel_id,
                r.post_pt_root_id,
            )
        )
    sizes = pcg["size"].to_numpy()  # real size distribution to draw synthetic sizes from

    ids = Ids(rng, set(rows) | {ADDED_OUTPUT_V1718})
    roots = Ids(
        rng,
        set(cell_roots)
        | {EXAMPLE_NEURON, EXAMPLE_NEURON_V1718, PCG_NEURON, FIFTH_PARTNER_V1718}
        | set(PUBLISHED_ROOT_CHANGES)
        | set(PUBLISHED_ROOT_CHANGES.values())
        | set(pcg.pre_pt_root_id)
        | set(pcg.post_pt_root_id)
        | {r["pre_pt_root_id"] for r in rows.values()}
        | {r["post_pt_root_id"] for r in rows.values()},
    )
    # Synthetic partners are sample neurons, never the two neurons whose real synapses are
    # in the sample (their published synapse counts must stay exact).
    partners_pool = [r for r in cell_roots if r not in (EXAMPLE_NEURON, PCG_NEURON, 0)]

    def partner_roots(n, fixed):
        out = list(fixed)
        while len(out) < n:
            if rng.random() < 0.4:  # a cell of the sample, so partner cell types can be joined
                root = int(partners_pool[int(rng.integers(len(partners_pool)))])
                if root in out:
                    continue
            else:
                root = roots.take(864691131_000_000_000, 864691137_300_000_000)
            out.append(root)
        return out

    draw = SynapseDraw(rng, ids, created_pool, sizes)

    def synth(pre_root, post_root, pre_pos):
        return draw(pre_root, post_root, np.array(pre_pos), cleft_jitter=True)

    def axon_position():  # the example neuron's axon climbs from layer 5 to 2/3
        return [rng.normal(178_000, 7_000), rng.uniform(104_000, 195_000), rng.normal(19_800, 400)]

    # Outputs of the example neuron at v1300: 1498 synapses onto 1035 partners, the published
    # top counts 20, 16, 15, 13, 11 and tail partners, the rest synthetic.
    real_out = [r for r in rows.values() if r["pre_pt_root_id"] == EXAMPLE_NEURON]
    real_partners = list(dict.fromkeys(r["post_pt_root_id"] for r in real_out))
    fixed = set(TOP_PARTNERS_V1300) | set(TAIL_PARTNERS_V1300)
    n_free = N_OUTPUT_PARTNERS - len(fixed)
    free = partner_roots(n_free, [p for p in real_partners if p not in fixed])[:n_free]
    n_rest = N_OUTPUTS - sum(TOP_PARTNERS_V1300.values()) - len(TAIL_PARTNERS_V1300)
    # Below 11: the published fifth partner (11) stays the fifth strongest.
    plan = dict(zip(free, _counts(rng, len(free), n_rest, below=11).tolist()))
    plan.update(TOP_PARTNERS_V1300)
    plan.update({p: 1 for p in TAIL_PARTNERS_V1300})
    for r in real_out:
        if plan.get(r["post_pt_root_id"], 0) < 1:
            raise SystemExit(f"published output {r['id']} has no place in the plan")
        plan[r["post_pt_root_id"]] -= 1
    for partner, n in plan.items():
        for _ in range(n):
            add(synth(EXAMPLE_NEURON, partner, axon_position()))

    # The fragment that the 2025 edit joined to the example neuron, with its one synapse.
    fragment_root = roots.take(864691135_000_000_000, 864691137_300_000_000)
    fragment["pre_pt_root_id"] = fragment_root
    add(fragment)

    # Inputs of the example neuron: 4628 synapses on its dendrites around the soma.
    real_in = [r for r in rows.values() if r["post_pt_root_id"] == EXAMPLE_NEURON]
    partners = partner_roots(N_INPUT_PARTNERS, [r["pre_pt_root_id"] for r in real_in])
    counts = _counts(rng, len(partners), N_INPUTS, below=40)
    for r in real_in:
        counts[partners.index(r["pre_pt_root_id"])] -= 1
    for partner, n in zip(partners, counts.tolist()):
        for _ in range(n):
            apical = rng.random() < 0.25
            y = 193_000 - abs(rng.normal(0, 45_000)) if apical else rng.normal(193_000, 9_000)
            post = [rng.normal(179_600, 5_000), y, rng.normal(20_100, 800)]
            r = synth(partner, EXAMPLE_NEURON, post)
            r["pre_pt_position"], r["post_pt_position"] = (
                r["post_pt_position"],
                r["pre_pt_position"],
            )
            add(r)

    rest = [i for i in rows if i not in head]
    rng.shuffle(rest)
    # The added synapse sits just before the v1300 outputs head, so that at v1718 it comes
    # first, as published.
    order = [i for i in head if i != ADDED_OUTPUT_V1718]
    first_output = order.index(real_out[0]["id"])
    order.insert(first_output, ADDED_OUTPUT_V1718)
    rest = [i for i in rest if i != ADDED_OUTPUT_V1718]
    edits_plan = {"fragment": fragment_root, "output_counts": plan, "roots": roots}
    return [rows[i] for i in order + rest] + real_neuron_synapses(rows), edits_plan


# -- outputs of proofread cells ---------------------------------------------------------------

# Synapses among the cells with a proofread axon, autapses excluded: 132,438 in the MICrONs
# synapse quickstart at v1181 (TUT-1181b, the query of its "synapses between proofread
# neurons" step); the count at v1300 was not published, so the sample serves that one.
PROOFREAD_NETWORK_SYNAPSES = 132_438
# Synapses per connection: 1 + a geometric draw (mean 1.33): most connections are single.
MULTI_SYNAPSE_P = 0.75


def proofread_axon_roots(proofreading, moment) -> list[int]:
    """Roots whose proofreading row at ``moment`` has ``status_axon`` true, in row order."""
    alive = [
        r
        for r in proofreading
        if r["created"] <= moment and (r["_deleted"] is None or r["_deleted"] > moment)
    ]
    return list(dict.fromkeys(r["valid_id"] for r in alive if r["status_axon"]))


def build_proofread_network(rng, proofreading, nuclei, synapses, moment):
    """Synthetic synapses among the cells with a proofread axon at ``moment`` (v1300).

    Every such cell sends and receives at least one synapse (a ring through all of them),
    and the rest of the connections join cells drawn uniformly at random, so the count of
    the published query is met with no structure at all: no cell type, layer or distance
    prefers another, by construction. Synapses sit on the postsynaptic cell's dendrites
    within about 50 µm of its soma. The real neurons (the example neuron, pcg_skel's two and
    nglui's) keep their published synapses only, and those they already have with proofread
    cells count.
    """
    cells = proofread_axon_roots(proofreading, moment)
    counted = set(cells)
    existing = sum(
        1
        for r in synapses
        if r["pre_pt_root_id"] in counted
        and r["post_pt_root_id"] in counted
        and r["pre_pt_root_id"] != r["post_pt_root_id"]
    )
    real = (EXAMPLE_NEURON, PCG_NEURON, PROOFREAD_NEURON, NGLUI_NEURON)
    free = np.array([c for c in cells if c not in real], dtype=np.int64)
    target = PROOFREAD_NETWORK_SYNAPSES - existing

    # Connections: the ring first, then random pairs, each with 1 + geometric synapses.
    # nglui's neuron joins the ring only (one synthetic input and output among the proofread
    # cells, so it has its row and column in the network): its 2020 partners are none of them.
    ring = np.concatenate([free, [NGLUI_NEURON]]) if NGLUI_NEURON in counted else free
    order = ring[rng.permutation(len(ring))]
    pre, post = [order], [np.roll(order, -1)]
    total = len(order)
    while total < target:
        n = max(1000, int((target - total) / 1.3))
        a = free[rng.integers(len(free), size=n)]
        b = free[rng.integers(len(free), size=n)]
        keep = a != b
        pre.append(a[keep])
        post.append(b[keep])
        total += int(keep.sum() / MULTI_SYNAPSE_P)
    pre, post = np.concatenate(pre), np.concatenate(post)
    counts = rng.geometric(MULTI_SYNAPSE_P, size=len(pre))
    counts[: len(order)] = 1
    ends = np.cumsum(counts)
    cut = int(np.searchsorted(ends, target))
    pre, post, counts = pre[: cut + 1], post[: cut + 1], counts[: cut + 1]
    counts[-1] -= int(ends[cut] - target)
    pre, post = np.repeat(pre, counts), np.repeat(post, counts)

    soma = {n["pt_root_id"]: n["pt_position"] for n in nuclei if n["pt_root_id"] in counted}
    n = len(pre)
    centre = np.array([soma[int(r)] for r in post], dtype=float)
    post_pt = centre + rng.normal(0, 1, (n, 3)) * np.array([12_000, 12_000, 1_200])
    pre_pt = post_pt + rng.normal(0, 1, (n, 3)) * np.array([70, 70, 4])
    ctr_pt = (pre_pt + post_pt) / 2
    pre_pt, post_pt, ctr_pt = (np.round(p).astype(np.int64) for p in (pre_pt, post_pt, ctr_pt))
    ids = unique_ids_near(
        rng, 1525.1 * pre_pt[:, 0] - 80_600_000, 20_000_000, {r["id"] for r in synapses}
    )
    created_pool = sorted({r["created"] for r in synapses})
    sizes = np.array([r["size"] for r in synapses])
    created = rng.integers(len(created_pool), size=n)
    size = sizes[rng.integers(len(sizes), size=n)]
    pre_sv = supervoxels(rng, pre_pt[:, 0])
    post_sv = supervoxels(rng, post_pt[:, 0])
    # Python's own numbers, each column converted once (not each array indexed per row)
    columns = (ids, created, size, pre_pt, post_pt, ctr_pt, pre_sv, pre, post_sv, post)
    return [
        synapse_row(sid, created_pool[c], sz, pp, qp, cp, psv, pr, qsv, qr)
        for sid, c, sz, pp, qp, cp, psv, pr, qsv, qr in zip(*(a.tolist() for a in columns))
    ]
