"""How many synapses each root of the sample has on the live service: ``live_sizes.parquet``.

The sample holds a few of the 337 million synapses. So that a query can say how many rows
live would return (and be cut at the server's row cap where live would), every root of the
sample's rows carries its live numbers of output and input synapses at version 1300:
published where they were published, otherwise drawn by cell class and proofreading status
(seeded, deterministic; **synthetic**, realistic in size only). Never fewer than the sample
holds. The table's live total goes to ``live_sizes.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import documented
from .common import CLASS_OF, EXAMPLE_NEURON, PCG_NEURON, SEED

# FACTS.md: get_annotation_count('synapses_pni_2') at v1300, v1412 and v1718.
SYNAPSE_TABLE_ROWS = 337_312_429

# Published live sizes, (outputs, inputs), with their source (FACTS.md); the counts the
# documentation's pages print (the example neuron's root from v1412 on among them) come from
# documented_root_facts.csv (documented.py).
PUBLISHED = {
    EXAMPLE_NEURON: (1498, 4628, "published (TUT-1300)"),
    864691135273655569: (585, 11823, "published (pcg-skel 1.3.1 sdist test data)"),
    864691136362774498: (149, 4944, "published (nglui 4.9.0 sdist test data)"),
}

# Outputs of a neuron by its axon's proofreading at v1300 (strategy_axon of a row with
# status_axon true): (median, spread of the log, lowest, highest). A proofread axon carries
# hundreds to ten thousand outputs; an unproofread one is mostly cut off near the soma.
OUTPUTS_BY_AXON = {
    "axon_fully_extended": (3000, 0.6, 300, 10_000),
    "axon_partially_extended": (1500, 0.6, 150, 10_000),
    "axon_interareal": (1000, 0.6, 150, 8_000),  # local outputs of a long-range axon
    "none": (300, 0.6, 50, 2_000),  # clean but not extended
    "unproofread": (25, 1.0, 0, 400),
}
# Inputs of a neuron by class: dendrites are mostly well segmented without proofreading.
INPUTS_BY_CLASS = {
    "excitatory_neuron": (3500, 0.5, 500, 20_000),
    "inhibitory_neuron": (4000, 0.5, 500, 20_000),
}


def _lognormal(rng, n, spec):
    median, sigma, low, high = spec
    return np.clip(np.round(median * np.exp(rng.normal(0, sigma, n))), low, high).astype(np.int64)


def build_live_sizes(nuclei, cell_types, proofreading, synapses, moment) -> pd.DataFrame:
    """One row per root of the sample's rows: ``root_id``, ``outputs``, ``inputs``, ``basis``.

    ``nuclei``, ``cell_types``, ``proofreading``, ``synapses`` are the built frames of
    those tables; ``moment`` is v1300's time stamp (the proofreading it reads).
    """
    rng = np.random.default_rng([SEED, 23])  # its own stream: the rows' draws stay as they are
    held_out = synapses["pre_pt_root_id"].value_counts()
    held_in = synapses["post_pt_root_id"].value_counts()

    type_of_nucleus = dict(zip(cell_types["target_id"], cell_types["cell_type"]))
    roots = nuclei[nuclei["pt_root_id"] != 0].drop_duplicates("pt_root_id")
    cls = roots["id"].map(type_of_nucleus).map(CLASS_OF)
    alive = (proofreading["created"] <= moment) & ~(proofreading["_deleted"] <= moment)
    axons = proofreading[alive & proofreading["status_axon"]].drop_duplicates("pt_root_id")
    strategy = dict(zip(axons["pt_root_id"], axons["strategy_axon"]))

    frame = pd.DataFrame({"root_id": roots["pt_root_id"].to_numpy(), "cls": cls.to_numpy()})
    n = len(frame)
    frame["outputs"] = 0
    frame["inputs"] = 0
    frame["basis"] = ""
    neuron = frame["cls"].isin(list(INPUTS_BY_CLASS)).to_numpy()
    axon = frame["root_id"].map(strategy).fillna("unproofread").to_numpy()
    # Draw every class's numbers for every row, in a fixed order, then pick: one row's
    # numbers do not depend on how many rows another class has.
    out_draws = {k: _lognormal(rng, n, spec) for k, spec in OUTPUTS_BY_AXON.items()}
    in_draws = {k: _lognormal(rng, n, spec) for k, spec in INPUTS_BY_CLASS.items()}
    glia_out, glia_in = rng.poisson(1, n), rng.poisson(3, n)
    untyped_out = rng.poisson(5, n)
    untyped_in = _lognormal(rng, n, (300, 1.0, 0, 5_000))
    for k, draws in out_draws.items():
        pick = neuron & (axon == k)
        frame.loc[pick, "outputs"] = draws[pick]
    for k, draws in in_draws.items():
        pick = (frame["cls"] == k).to_numpy()
        frame.loc[pick, "inputs"] = draws[pick]
        frame.loc[pick, "basis"] = [f"synthetic: {k}, axon {a}" for a in axon[pick]]
    glia = (frame["cls"] == "nonneuron").to_numpy()
    frame.loc[glia, "outputs"], frame.loc[glia, "inputs"] = glia_out[glia], glia_in[glia]
    frame.loc[glia, "basis"] = "synthetic: nonneuron"
    untyped = frame["cls"].isna().to_numpy()
    frame.loc[untyped, "outputs"] = untyped_out[untyped]
    frame.loc[untyped, "inputs"] = untyped_in[untyped]
    frame.loc[untyped, "basis"] = "synthetic: nucleus without a cell type"

    # Roots that only synapses hold (fragments, partners without a nucleus): a few more
    # than the sample holds.
    others = sorted((set(held_out.index) | set(held_in.index)) - set(frame["root_id"]))
    extra = rng.poisson(3, (len(others), 2))
    fragments = pd.DataFrame(
        {
            "root_id": np.array(others, dtype=np.int64),
            "cls": None,
            "outputs": extra[:, 0],
            "inputs": extra[:, 1],
            "basis": "synthetic: fragment without a nucleus",
        }
    )
    frame = pd.concat([frame, fragments], ignore_index=True)

    # The pcg_skel neuron's synapses are all held (its test data has every one).
    frame.loc[frame["root_id"] == PCG_NEURON, ["outputs", "inputs", "basis"]] = [
        0,
        0,
        "all held (pcg_skel 1.3.1 test data, v795)",
    ]
    for root, (outputs, inputs, source) in PUBLISHED.items():
        if (frame["root_id"] == root).any():
            frame.loc[frame["root_id"] == root, ["outputs", "inputs", "basis"]] = [
                outputs,
                inputs,
                source,
            ]
        else:
            frame.loc[len(frame)] = [root, None, outputs, inputs, source]
    printed = documented.live_sizes(frame["root_id"])
    for row in printed.itertuples():
        mine = frame["root_id"] == row.root_id
        if row.at_least and mine.any():  # a lower bound: the larger of it and the draw
            frame.loc[mine, "inputs"] = np.maximum(frame.loc[mine, "inputs"], row.inputs)
            frame.loc[mine, "basis"] = row.basis
        elif mine.any():
            frame.loc[mine, ["outputs", "inputs", "basis"]] = [row.outputs, row.inputs, row.basis]
        else:
            frame.loc[len(frame)] = [row.root_id, None, row.outputs, row.inputs, row.basis]
    # Never fewer than the sample holds.
    frame["outputs"] = np.maximum(frame["outputs"], frame["root_id"].map(held_out).fillna(0))
    frame["inputs"] = np.maximum(frame["inputs"], frame["root_id"].map(held_in).fillna(0))
    frame = frame.drop(columns="cls").sort_values("root_id", kind="stable")
    return frame.astype({"root_id": "int64", "outputs": "int64", "inputs": "int64"}).reset_index(
        drop=True
    )


def live_totals() -> dict:
    return {
        "synapses_pni_2": {
            "rows": SYNAPSE_TABLE_ROWS,
            "source": "get_annotation_count at v1300, v1412 and v1718 (FACTS.md)",
        }
    }
