"""What every part of the builder shares: paths, the published identities it keeps, readers of
the published values in ``inputs/``, id and row helpers, and writers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from microns_helpers.sample import DELETED, SELECT_ORDER, columns_from_schema

from .schemas import SCHEMAS

REPO = Path(__file__).resolve().parents[2]
SEED = 20240605  # the day v1078 was frozen
RES = np.array([4, 4, 40])  # voxel size of every sample table, nm

# The published values the builder reads, kept beside it (inputs/PROVENANCE.md).
INPUTS = Path(__file__).resolve().parent / "inputs"
OUT = REPO / "microns_helpers" / "sample"  # dataset/ and bulk/ are written in it
BASE_VERSION = 1300  # the rows hold this version's root ids

EXAMPLE_NEURON = 864691135808473885  # the synapse_query example of the documentation
PCG_NEURON = 864691136040432126  # real synapses from pcg_skel's test data
SKEL_ROOT, SKEL_NUCLEUS = 864691135356151759, 490689  # TUT-skel lookup at v1078
THREE_ROOTS = (864691135771677771, 864691135560505569, 864691136723556861)

CLASSES = {  # FACTS.md, "Cell types"
    "excitatory_neuron": ["23P", "4P", "5P-IT", "5P-ET", "5P-NP", "6P-IT", "6P-CT"],
    "inhibitory_neuron": ["BC", "BPC", "MC", "NGC"],
    "nonneuron": ["astrocyte", "oligo", "OPC", "microglia", "pericyte"],
}
CLASS_OF = {t: c for c, types in CLASSES.items() for t in types}

TOP_PARTNERS_V1300 = {  # syn_count head of the example neuron's outputs (TUT-1300b)
    864691135280056225: 20,
    864691135617649257: 16,
    864691134949547516: 15,
    864691135784316467: 13,
    864691136275521549: 11,
}
TAIL_PARTNERS_V1300 = [  # syn_count tail (single synapses) of the same frame
    864691136913679601,
    864691136923311076,
    864691136923570404,
    864691136924123364,
    864691136973673244,
]
N_OUTPUTS, N_OUTPUT_PARTNERS, N_INPUTS = 1498, 1035, 4628  # FACTS.md, v1300
# Documented totals of the two cell tables (inputs/table_specs.json, the annotation-tables page).
NUCLEI_ROWS, CELL_TYPE_ROWS = 144_120, 94_014
BC_ROWS_V1300 = 3365  # tables.aibs_metamodel_celltypes_v661(cell_type="BC") at v1300 (FACTS.md)
N_INPUT_PARTNERS = 3500  # not published: an assumption, most inputs are single contacts


# ---------------------------------------------------------------------------------------------
# Reading the published values


def shared(name: str) -> Path:
    return INPUTS / name


def read_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(shared(name), dtype=str, keep_default_na=False)


def vec(text: str) -> list[int]:
    return [int(float(v)) for v in text.strip("[]").split(",")]


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_convert("UTC")


def voxels(row, prefix: str, at_res1: bool) -> list[int]:
    """A position from split columns (voxels, or nm when ``at_res1``) or a list column."""
    if f"{prefix}_x" in row:
        xyz = np.array([float(row[f"{prefix}_{a}"]) for a in "xyz"])
        if at_res1:
            xyz = xyz / RES
        return [int(round(v)) for v in xyz]
    return vec(row[prefix])


# ---------------------------------------------------------------------------------------------
# Synthetic helpers


class Ids:
    """Unique integers: those already used by real rows are never handed out again."""

    def __init__(self, rng, used=()):
        self.rng, self.used = rng, set(int(u) for u in used)

    def take(self, low: int, high: int) -> int:
        while True:
            v = int(self.rng.integers(low, high))
            if v not in self.used:
                self.used.add(v)
                return v

    def near(self, centre: float, spread: float, low: int = 1) -> int:
        while True:
            v = int(round(centre + self.rng.normal(0, spread)))
            if v >= low and v not in self.used:
                self.used.add(v)
                return v


def supervoxel(rng, x: int) -> int:
    # Supervoxel ids grow with x (chunk coordinates in the high bits): fitted on the published
    # rows, e.g. x 63936 -> 7.35e16, x 344880 -> 1.12e17.
    return int(64_750_000_000_000_000 + x * 137_540_000_000 + rng.integers(0, 2**31))


def supervoxels(rng, x: np.ndarray) -> np.ndarray:
    """:func:`supervoxel` for many x at once."""
    return (
        64_750_000_000_000_000
        + x.astype(np.int64) * 137_540_000_000
        + rng.integers(0, 2**31, size=len(x))
    )


def unique_ids_near(rng, centres: np.ndarray, spread: float, used: set) -> np.ndarray:
    """Ids near ``centres`` (normal, ``spread``), all distinct and none in ``used``."""
    ids = np.round(centres + rng.normal(0, spread, len(centres))).astype(np.int64)
    taken = np.array(sorted(used), dtype=np.int64)
    # whether each id is taken or too small, looked up again only where an id was drawn again
    refused = np.isin(ids, taken) | (ids < 10_000)
    while True:
        # every repeat of an id but its first, found by hashing (np.unique sorts, and this
        # runs a few hundred rounds)
        clash = pd.Series(ids).duplicated(keep="first").to_numpy() | refused
        if not clash.any():
            return ids
        ids[clash] = np.round(centres[clash] + rng.normal(0, spread, int(clash.sum()))).astype(
            np.int64
        )
        refused[clash] = np.isin(ids[clash], taken) | (ids[clash] < 10_000)


def nucleus_id_near(x: int) -> float:
    # Nucleus ids (flat segmentation ids) grow with x in the published rows:
    # x 63936 -> 4074, x 209760 -> 336365, x 381312 -> 730537.
    return 2.289 * x - 142_275


def to_frame(rows: list[dict], schema: str) -> pd.DataFrame:
    """Rows with list positions -> the stored frame (split positions, schema dtypes)."""
    columns = columns_from_schema(SCHEMAS[schema])
    df = pd.DataFrame(rows)
    for base in [c[:-2] for c in columns if c.endswith("_position_x")]:
        xyz = np.array(df[base].tolist(), dtype=float)
        for i, a in enumerate("xyz"):
            df[f"{base}_{a}"] = xyz[:, i]
    out = pd.DataFrame(
        {
            c: df[c].astype(t)
            if t != "datetime64[ns, UTC]"
            else pd.to_datetime(df[c], utc=True).dt.round("us")
            for c, t in columns.items()
        }
    )
    for c in out.columns:  # positions are whole voxels wherever they are known
        if c.endswith(("_position_x", "_position_y", "_position_z")) and out[c].notna().all():
            out[c] = out[c].astype("int64")
    if SELECT_ORDER in df.columns and df[SELECT_ORDER].notna().any():
        out[SELECT_ORDER] = df[SELECT_ORDER].astype("float64")
    if DELETED in df.columns:
        out[DELETED] = pd.to_datetime(df[DELETED], utc=True).dt.round("us")
    return out


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n")


def write_rows(path: Path, df: pd.DataFrame) -> None:
    df.to_parquet(path, index=False, compression="zstd")
