"""Build the stand-in's sample of minnie65_public: ``python -m tests.standin.build_sample_data``.

Reads the published values in ``../shared/data`` (relative to the repository root; see its
PROVENANCE.md and FACTS.md) and writes ``tests/standin/sample_data/``: real values where they
were published, seeded synthetic rows elsewhere, at about 1 in 20 of the real cells.
Deterministic: the same inputs give byte-identical JSON and identical Parquet rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .data import SELECT_ORDER, columns_from_schema

SEED = 20240605  # the day v1078 was frozen
SCALE = 20  # about 1 in SCALE of the real cells
RES = np.array([4, 4, 40])  # voxel size of every sample table, nm

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
OUT = Path(__file__).resolve().parent / "sample_data"

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

# Depth bands (y, voxels of 4 nm) of the synthetic somata, from the published rows: 23P at
# y 108656-149472, 5P-IT at 180832, BC from 90336 to 262944, white matter below ~280000.
DEPTH = {
    "23P": (100_000, 150_000),
    "4P": (150_000, 180_000),
    "5P-IT": (180_000, 225_000),
    "5P-ET": (185_000, 225_000),
    "5P-NP": (185_000, 225_000),
    "6P-IT": (225_000, 275_000),
    "6P-CT": (228_000, 280_000),
}
VOLUME_UM3 = {  # median, spread (log) of the synthetic nucleus volumes, after the real rows
    "excitatory_neuron": (285.0, 0.18),
    "inhibitory_neuron": (420.0, 0.25),
    "astrocyte": (160.0, 0.2),
    "oligo": (95.0, 0.2),
    "OPC": (130.0, 0.2),
    "microglia": (80.0, 0.25),
    "pericyte": (65.0, 0.25),
    None: (120.0, 0.8),
}
X_RANGE, Y_RANGE, Z_RANGE = (60_000, 385_000), (85_000, 285_000), (15_000, 27_500)

PROOFREAD_STRATEGY_AXON_V1078 = {  # aggregates.json (SWDB24): all 1375 rows at v1078
    "axon_column_truncated": 598,
    "axon_partially_extended": 341,
    "none": 213,
    "axon_interareal": 146,
    "axon_fully_extended": 77,
}
TOP_PARTNERS_V1181 = {  # syn_count head of the example neuron's outputs (TUT-1181b)
    864691135865557118: 20,
    864691135214122296: 16,
    864691136578647572: 15,
    864691136066504856: 13,
    864691135841325283: 11,
}
N_OUTPUTS, N_OUTPUT_PARTNERS, N_INPUTS = 1498, 1035, 4628  # FACTS.md
N_INPUT_PARTNERS = 3500  # not published: an assumption, most inputs are single contacts

NOTICES = {  # FACTS.md, "Table Owner Notice"
    "proofreading_status_and_strategy": "NOTE: this table supercedes "
    "'proofreading_status_public_release'. For more details, see: "
    "www.microns-explorer.org/manifests/mm3-proofreading.",
    "proofreading_status_public_release": "NOTE: this table is deprecated and no longer "
    "receiving updates; please use 'proofreading_status_and_strategy' which is available in "
    "datastack version >= 1078 (datastack = minnie65_public or minnie65_phase3_v1).",
    "vortex_manual_myelination_v0": "Myelination status assessed for the axon of the VALID_ID, "
    "not the pt_root_id.",
    "vortex_manual_nodes_of_ranvier": "Nodes and myelination assessed for the VALID_ID; if "
    "pt_root_id does not match valid_id, the segment has undergone proofreading. Proceed with "
    "caution.",
}
CELL_TYPE_REFERENCE_TABLES = (  # reference tables on nucleus_detection_v0
    "aibs_metamodel_celltypes_v661",
    "aibs_metamodel_mtypes_v661_v2",
    "allen_v1_column_types_slanted_ref",
    "aibs_column_nonneuronal_ref",
    "nucleus_ref_neuron_svm",
)
KNOWN_SCHEMA = {
    "nucleus_detection_v0": "nucleus_detection",
    "synapses_pni_2": "synapse",
    "proofreading_status_and_strategy": "proofreading_status_and_strategy",
    "proofreading_status_public_release": "compartment_proofread_status",
    **{t: "cell_type_reference" for t in CELL_TYPE_REFERENCE_TABLES},
}
PLACEHOLDER = (
    "Stand-in placeholder: no metadata for this table was published, so this description, "
    "its schema type, id and dates are made up for the loopback stand-in. Not the real table."
)
PLACEHOLDER_KNOWN_SCHEMA = (
    "Stand-in placeholder: no metadata for this table was published. The schema type and "
    "reference table match its published query results; this description, id and dates are "
    "made up for the loopback stand-in."
)


# ---------------------------------------------------------------------------------------------
# Schemas (JSON schema as the schema service sends it, trimmed to what clients read)


def _point(bound: bool) -> dict:
    props = {
        "position": {
            "title": "position",
            "type": "array",
            "description": "spatial position in voxels of x,y,z of annotation",
        }
    }
    if bound:
        props["supervoxel_id"] = {
            "title": "supervoxel_id",
            "type": "integer",
            "description": "supervoxel id of this point",
        }
        props["root_id"] = {
            "title": "root_id",
            "type": "integer",
            "description": "root id of the bound point",
        }
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": props,
        "required": ["position"],
    }


def _schema(class_name: str, fields: dict) -> dict:
    kinds = {
        "float": {"type": "number", "format": "float"},
        "integer": {"type": "integer"},
        "string": {"type": "string"},
        "boolean": {"type": "boolean"},
    }
    props = {
        "valid": {"title": "valid", "type": "boolean", "description": "is this annotation valid"}
    }
    for name, kind in fields.items():
        if kind in ("BoundSpatialPoint", "SpatialPoint"):
            props[name] = {"type": "object", "$ref": f"#/definitions/{kind}"}
        else:
            props[name] = {"title": name, **kinds[kind]}
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {
            class_name: {
                "type": "object",
                "additionalProperties": True,
                "properties": props,
                "required": [n for n in fields if n != "valid"],
            },
            "BoundSpatialPoint": _point(True),
            "SpatialPoint": _point(False),
        },
        "$ref": f"#/definitions/{class_name}",
    }


SCHEMAS = {
    "nucleus_detection": _schema(
        "NucleusDetection",
        {
            "volume": "float",
            "pt": "BoundSpatialPoint",
            "bb_start": "SpatialPoint",
            "bb_end": "SpatialPoint",
        },
    ),
    "cell_type_reference": _schema(
        "CellTypeReference",
        {"target_id": "integer", "classification_system": "string", "cell_type": "string"},
    ),
    "synapse": _schema(
        "SynapseSchema",
        {
            "pre_pt": "BoundSpatialPoint",
            "post_pt": "BoundSpatialPoint",
            "ctr_pt": "SpatialPoint",
            "size": "integer",
        },
    ),
    "proofreading_status_and_strategy": _schema(
        "ProofreadingStatusAndStrategy",
        {
            "valid_id": "integer",
            "status_dendrite": "boolean",
            "status_axon": "boolean",
            "strategy_dendrite": "string",
            "strategy_axon": "string",
            "pt": "BoundSpatialPoint",
        },
    ),
    "compartment_proofread_status": _schema(
        "CompartmentProofreadStatus",
        {
            "pt": "BoundSpatialPoint",
            "valid_id": "integer",
            "status_dendrite": "string",
            "status_axon": "string",
        },
    ),
    "bound_tag": _schema("BoundTagAnnotation", {"tag": "string", "pt": "BoundSpatialPoint"}),
}


# ---------------------------------------------------------------------------------------------
# Reading the published values


def shared(name: str) -> Path:
    return SHARED / name


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


def nucleus_id_near(x: int) -> float:
    # Nucleus ids (flat segmentation ids) grow with x in the published rows:
    # x 63936 -> 4074, x 209760 -> 336365, x 381312 -> 730537.
    return 2.289 * x - 142_275


# ---------------------------------------------------------------------------------------------
# Tables


NUCLEUS_CREATED_0 = ts("2020-09-28 22:40:41.786000+00:00")
ANNOTATION_CREATED_0 = ts("2023-12-19 22:38:00.472115+00:00")  # annotation id 1070


def nucleus_row(nid, created, volume, pos, sv, root, real):
    return {
        "id": int(nid),
        "created": created,
        "superceded_id": np.nan,
        "valid": True,
        "volume": float(volume),
        "pt_position": [int(v) for v in pos],
        "bb_start_position": [np.nan] * 3,
        "bb_end_position": [np.nan] * 3,
        "pt_supervoxel_id": int(sv),
        "pt_root_id": int(root),
        "_real": real,
    }


def build_cells(rng):
    """nucleus_detection_v0 and aibs_metamodel_celltypes_v661 rows (lists of dicts)."""
    nuclei: dict[int, dict] = {}
    annotations: dict[int, dict] = {}
    order_nucleus_first, order_select_nucleus = [], []
    order_ann_head, order_ann_bc_head, order_ann_bc_tail, order_ann_roots = [], [], [], []
    select_ann = []  # (cell_type, voxel position, root) of the limit-10 select rows

    def add_nucleus(row):
        nuclei.setdefault(row["id"], row)

    def add_merged_nucleus(r):
        """The nucleus of a published merged cell-type row (nucleus columns end in _ref)."""
        add_nucleus(
            nucleus_row(
                r.id_ref,
                ts(r.created_ref),
                r.volume,
                voxels(r, "pt_position", True),
                r.pt_supervoxel_id,
                r.pt_root_id,
                True,
            )
        )

    def add_annotation(aid, created, target, cell_type):
        annotations.setdefault(
            int(aid),
            {
                "id": int(aid),
                "created": created,
                "superceded_id": np.nan,
                "valid": True,
                "target_id": int(target),
                "classification_system": CLASS_OF[cell_type],
                "cell_type": cell_type,
                "_real": True,
            },
        )

    # v1078 nucleus head(5): split positions in voxels (SWDB24)
    for _, r in read_csv("v1078/nucleus_detection_v0__query_split_positions__head5.csv").iterrows():
        add_nucleus(
            nucleus_row(
                r.id,
                ts(r.created),
                r.volume,
                voxels(r, "pt_position", False),
                r.pt_supervoxel_id,
                r.pt_root_id,
                True,
            )
        )
        order_nucleus_first.append(int(r.id))

    # v1078 merged cell-type head(5) (SWDB24), positions at desired_resolution [1,1,1]
    for _, r in read_csv(
        "v1078/aibs_metamodel_celltypes_v661__merged__dedup__head5.csv"
    ).iterrows():
        add_merged_nucleus(r)
        add_annotation(r.id, ts(r.created), r.target_id, r.cell_type)
        order_ann_head.append(int(r.id))

    # v1078 nuclei seen through allen_v1_column_types_slanted_ref (SWDB24); their cell type in
    # that table is used as a synthetic guess for aibs_metamodel_celltypes_v661 below.
    allen = read_csv("v1078/allen_v1_column_types_slanted_ref__merged__dedup__head5.csv")
    allen_types = {}
    for _, r in allen.iterrows():
        add_merged_nucleus(r)
        allen_types[int(r.id_ref)] = r.cell_type

    # v1181 BC head and tail, and the three-root rows (TUT-1181a), positions in voxels
    bc = read_csv("v1181/aibs_metamodel_celltypes_v661__cell_type_BC__head5_tail5.csv")
    roots3 = read_csv("v1181/aibs_metamodel_celltypes_v661__pt_root_id_3_roots.csv")
    for frame, bucket in (
        (bc.iloc[:5], order_ann_bc_head),
        (bc.iloc[5:], order_ann_bc_tail),
        (roots3, order_ann_roots),
    ):
        for _, r in frame.iterrows():
            add_nucleus(
                nucleus_row(
                    r.id,
                    ts(r.created),
                    r.volume,
                    vec(r.pt_position),
                    r.pt_supervoxel_id,
                    r.pt_root_id,
                    True,
                )
            )
            add_annotation(r.id_ref, ts(r.created_ref), r.target_id, r.cell_type)
            bucket.append(int(r.id_ref))

    # Rows published without ids: the nucleus select/limit-10 rows and the cell-type
    # select/limit-10 rows (TUT-1181a). Their ids, volumes, dates are synthetic below.
    nuc_select = read_csv(
        "v1181/nucleus_detection_v0__limit10__split__res1__select_pt_position_pt_root_id.csv"
    )
    for _, r in read_csv(
        "v1181/aibs_metamodel_celltypes_v661__tables_query__limit10__split__res1__select.csv"
    ).iterrows():
        select_ann.append((r.cell_type, voxels(r, "pt_position", True), int(r.pt_root_id)))

    nucleus_ids = Ids(rng, nuclei)
    ann_ids = Ids(rng, annotations)
    roots = Ids(
        rng,
        [n["pt_root_id"] for n in nuclei.values()]
        + [EXAMPLE_NEURON, SKEL_ROOT, *TOP_PARTNERS_V1181],
    )

    def new_nucleus(pos, root, kind):
        median, spread = VOLUME_UM3[kind]
        volume = max(25.5, median * float(np.exp(rng.normal(0, spread))))
        nid = nucleus_ids.near(nucleus_id_near(pos[0]), 3000)
        sv = 0 if root == 0 else supervoxel(rng, pos[0])
        return nucleus_row(nid, None, round(volume, 6), pos, sv, root, False)

    def new_annotation(target, cell_type):
        aid = ann_ids.take(1, 94_500)
        created = ANNOTATION_CREATED_0 + pd.to_timedelta(
            (aid - 1070) * 0.015246 + rng.uniform(0, 0.5), unit="s"
        )
        annotations[aid] = {
            "id": aid,
            "created": created,
            "superceded_id": np.nan,
            "valid": True,
            "target_id": int(target),
            "classification_system": CLASS_OF[cell_type],
            "cell_type": cell_type,
            "_real": False,
        }
        return aid

    def random_position(cell_type):
        lo, hi = DEPTH.get(cell_type, Y_RANGE)
        return [int(rng.integers(*X_RANGE)), int(rng.integers(lo, hi)), int(rng.integers(*Z_RANGE))]

    def kind_of(cell_type):
        c = CLASS_OF[cell_type]
        return cell_type if c == "nonneuron" else c

    for _, r in nuc_select.iterrows():
        n = new_nucleus(voxels(r, "pt_position", True), int(r.pt_root_id), None)
        add_nucleus(n)
        order_select_nucleus.append(n["id"])
    select_ann_ids = []
    by_root = {n["pt_root_id"]: n for n in nuclei.values() if n["pt_root_id"]}
    for cell_type, pos, root in select_ann:
        if root in by_root:  # 864691136723556861 is nucleus 4074, one of the three roots
            n = by_root[root]
            aid = next(a for a in annotations.values() if a["target_id"] == n["id"])["id"]
        else:
            n = new_nucleus(pos, root, kind_of(cell_type))
            add_nucleus(n)
            aid = new_annotation(n["id"], cell_type)
        select_ann_ids.append(aid)

    # Nuclei of the documented example roots (positions synthetic).
    for nid, root, pos, ctype in (
        (SKEL_NUCLEUS, SKEL_ROOT, random_position("23P"), "23P"),
        (None, EXAMPLE_NEURON, [179_600, 193_000, 20_100], "5P-IT"),
    ):
        n = new_nucleus(pos, root, kind_of(ctype))
        if nid is not None:
            nucleus_ids.used.discard(n["id"])
            n["id"] = nid
        add_nucleus(n)
        new_annotation(n["id"], ctype)
    for nid, ctype in allen_types.items():
        new_annotation(nid, ctype)

    # Synthetic cells up to the v1078 cell-type counts / SCALE, with a few merged nuclei
    # (two nuclei, one root) so that drop_duplicates('pt_root_id', keep=False) has work.
    counts = next(
        a["value"]
        for a in json.loads(shared("aggregates.json").read_text())
        if a["what"].endswith("cell_type value_counts") and a["materialization_version"] == 1078
    )
    have = pd.Series([a["cell_type"] for a in annotations.values()]).value_counts()
    for cell_type, real_count in counts.items():
        quota = int(np.ceil(real_count / SCALE))
        for _ in range(max(0, quota - int(have.get(cell_type, 0)))):
            n = new_nucleus(
                random_position(cell_type),
                roots.take(864691135_000_000_000, 864691137_300_000_000),
                kind_of(cell_type),
            )
            add_nucleus(n)
            new_annotation(n["id"], cell_type)
        for _ in range(int(round(quota * 0.0083))):
            root = roots.take(864691135_000_000_000, 864691137_300_000_000)
            for _ in range(2):
                n = new_nucleus(random_position(cell_type), root, kind_of(cell_type))
                add_nucleus(n)
                new_annotation(n["id"], cell_type)

    # Nuclei without a cell type: false positives, glia and cells at the edges of the volume,
    # about a third of all nuclei as in the real table; a third of them have no root (0).
    n_typed = len(nuclei)
    for _ in range(int(n_typed * 0.55)):
        root = (
            0 if rng.random() < 0.33 else roots.take(864691135_000_000_000, 864691137_300_000_000)
        )
        add_nucleus(new_nucleus(random_position("unclassified"), root, None))

    # Row order: the published heads first, as the real server returned them.
    rest = [i for i in nuclei if i not in order_nucleus_first]
    rng.shuffle(rest)
    nucleus_order = order_nucleus_first + rest
    t = NUCLEUS_CREATED_0
    for nid in nucleus_order:
        n = nuclei[nid]
        n[SELECT_ORDER] = order_select_nucleus.index(nid) if nid in order_select_nucleus else np.nan
        if n["created"] is None:
            t = t + pd.to_timedelta(rng.uniform(0.01, 0.07), unit="s")
            n["created"] = t

    fixed = order_ann_head + order_ann_bc_head + order_ann_roots + order_ann_bc_tail
    rest = [i for i in annotations if i not in fixed]
    rng.shuffle(rest)
    ann_order = order_ann_head + order_ann_bc_head + order_ann_roots + rest + order_ann_bc_tail
    for aid in ann_order:
        annotations[aid][SELECT_ORDER] = (
            select_ann_ids.index(aid) if aid in select_ann_ids else np.nan
        )
    return ([nuclei[i] for i in nucleus_order], [annotations[i] for i in ann_order])


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
    return out


# -- synapses -----------------------------------------------------------------------------------


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


def _spread(rng, n_items: int, total: int, cap: int) -> np.ndarray:
    """``n_items`` counts of at least 1 summing to ``total``, long-tailed, each <= cap."""
    counts = np.ones(n_items, dtype=int)
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.9
    weights /= weights.sum()
    while counts.sum() < total:
        i = rng.choice(n_items, p=weights)
        if counts[i] < cap:
            counts[i] += 1
    return counts


def build_synapses(rng, cell_roots: list[int]):
    rows: dict[int, dict] = {}
    head: list[int] = []

    def add(r, first=False):
        if r["id"] not in rows:
            rows[r["id"]] = r
            if first:
                head.append(r["id"])

    # The 10 rows a limit=10 query returns (v1078 = v1181 = v1718), at resolution [1,1,1].
    for _, r in read_csv("v1078/synapses_pni_2__limit10__split__res1.csv").iterrows():
        add(
            synapse_row(
                r.id,
                ts(r.created),
                r["size"],
                voxels(r, "pre_pt_position", True),
                voxels(r, "post_pt_position", True),
                voxels(r, "ctr_pt_position", True),
                r.pre_pt_supervoxel_id,
                r.pre_pt_root_id,
                r.post_pt_supervoxel_id,
                r.post_pt_root_id,
            ),
            first=True,
        )
    # synapse_query heads of the example neuron: outputs v1181 then v1300, inputs v1300.
    for name in (
        "v1181/synapse_query__pre_864691135808473885__head5.csv",
        "v1300/synapse_query__pre_864691135808473885__head5.csv",
        "v1300/synapse_query__post_864691135808473885__head5.csv",
    ):
        for _, r in read_csv(name).iterrows():
            add(
                synapse_row(
                    r.id,
                    ts(r.created),
                    r["size"],
                    vec(r.pre_pt_position),
                    vec(r.post_pt_position),
                    vec(r.ctr_pt_position),
                    r.pre_pt_supervoxel_id,
                    r.pre_pt_root_id,
                    r.post_pt_supervoxel_id,
                    r.post_pt_root_id,
                ),
                first=True,
            )
    # Real synapses of 864691136040432126 (pcg_skel test data, v795), without created/valid.
    pcg = pd.concat(
        [pd.read_feather(shared(f"synapses_{PCG_NEURON}_{s}.feather")) for s in ("pre", "post")]
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

    ids = Ids(rng, rows)
    roots = Ids(
        rng,
        set(cell_roots)
        | {EXAMPLE_NEURON, PCG_NEURON}
        | set(pcg.pre_pt_root_id)
        | set(pcg.post_pt_root_id)
        | {r["pre_pt_root_id"] for r in rows.values()}
        | {r["post_pt_root_id"] for r in rows.values()},
    )
    partners_pool = [r for r in cell_roots if r not in (EXAMPLE_NEURON, 0)]

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

    def synth(pre_root, post_root, pre_pos):
        pre = np.array(pre_pos)
        post = pre + np.array([rng.normal(0, 70), rng.normal(0, 70), rng.normal(0, 4)])
        ctr = (pre + post) / 2 + np.array([rng.normal(0, 20), rng.normal(0, 20), 0])
        pre, post, ctr = (np.round(p).astype(int).tolist() for p in (pre, post, ctr))
        sid = ids.near(1525.1 * pre[0] - 80_600_000, 20_000_000, low=10_000)
        return synapse_row(
            sid,
            created_pool[int(rng.integers(len(created_pool)))],
            sizes[int(rng.integers(len(sizes)))],
            pre,
            post,
            ctr,
            supervoxel(rng, pre[0]),
            pre_root,
            supervoxel(rng, post[0]),
            post_root,
        )

    # Outputs of the example neuron: 1498 synapses onto 1035 partners, top counts
    # 20, 16, 15, 13, 11, a tail of single contacts; the axon climbs from layer 5 to 2/3.
    real_out = [r for r in rows.values() if r["pre_pt_root_id"] == EXAMPLE_NEURON]
    real_partners = list(dict.fromkeys(r["post_pt_root_id"] for r in real_out))
    tail_v1181 = [
        864691136926552138,
        864691136952088543,
        864691135241125665,
        864691136952690399,
        864691136974682652,
    ]
    others = partner_roots(
        N_OUTPUT_PARTNERS - len(TOP_PARTNERS_V1181),
        [p for p in real_partners if p not in TOP_PARTNERS_V1181],
    )
    others = [p for p in others if p not in tail_v1181][: N_OUTPUT_PARTNERS - 10] + tail_v1181
    n_rest = N_OUTPUTS - sum(TOP_PARTNERS_V1181.values())
    counts = _spread(rng, len(others) - len(tail_v1181), n_rest - len(tail_v1181), cap=9)
    plan = dict(TOP_PARTNERS_V1181)
    plan.update(zip(others[: len(counts)], counts.tolist()))
    plan.update({p: 1 for p in tail_v1181})
    for r in real_out:
        plan[r["post_pt_root_id"]] -= 1
    for partner, n in plan.items():
        for _ in range(n):
            y = rng.uniform(104_000, 195_000)
            add(
                synth(
                    EXAMPLE_NEURON,
                    partner,
                    [rng.normal(178_000, 7_000), y, rng.normal(19_800, 400)],
                )
            )

    # Inputs of the example neuron: 4628 synapses on its dendrites around the soma.
    real_in = [r for r in rows.values() if r["post_pt_root_id"] == EXAMPLE_NEURON]
    partners = partner_roots(N_INPUT_PARTNERS, [r["pre_pt_root_id"] for r in real_in])
    counts = _spread(rng, len(partners), N_INPUTS, cap=12)
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
    return [rows[i] for i in head + rest]


# -- proofreading ----------------------------------------------------------------------------


def build_proofreading(rng, nuclei: list[dict], annotations: list[dict]):
    """1375 rows at the real v1078 strategy_axon counts; the cells are sample neurons."""
    typed = {a["target_id"]: a["classification_system"] for a in annotations}
    neurons = [n for n in nuclei if n["pt_root_id"] and typed.get(n["id"], "").endswith("neuron")]
    example = next(n for n in neurons if n["pt_root_id"] == EXAMPLE_NEURON)
    others = [n for n in neurons if n is not example]
    total = sum(PROOFREAD_STRATEGY_AXON_V1078.values())
    picked = [example] + [others[i] for i in rng.choice(len(others), total - 1, replace=False)]
    strategies = [s for s, k in PROOFREAD_STRATEGY_AXON_V1078.items() for _ in range(k)]
    strategies.remove("axon_partially_extended")
    rng.shuffle(strategies)
    strategies = ["axon_partially_extended"] + strategies
    created0 = ts("2024-05-30 15:00:00.000000+00:00")
    rows = []
    for k, (n, strategy) in enumerate(zip(picked, strategies)):
        rows.append(
            {
                "id": k + 1,
                "created": created0 + pd.to_timedelta(k * 0.8, unit="s"),
                "superceded_id": np.nan,
                "valid": True,
                "valid_id": n["pt_root_id"],
                "status_dendrite": True,
                "status_axon": strategy != "none",
                "strategy_dendrite": "dendrite_extended"
                if rng.random() < 0.8
                else "dendrite_clean",
                "strategy_axon": strategy,
                "pt_position": n["pt_position"],
                "pt_supervoxel_id": n["pt_supervoxel_id"],
                "pt_root_id": n["pt_root_id"],
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# Metadata, versions, tables


def server_form(md: dict) -> dict:
    """Client-printed metadata (``voxel_resolution`` list) -> the server's JSON."""
    md = dict(md)
    vx, vy, vz = md.pop("voxel_resolution")
    md.update(voxel_resolution_x=vx, voxel_resolution_y=vy, voxel_resolution_z=vz)
    return md


def build_metadata(tables_by_version: dict[int, list[str]]):
    real = {
        v: server_form(
            json.loads(shared(f"table_metadata_nucleus_detection_v0_v{v}.json").read_text())
        )
        for v in (795, 1078, 1181, 1300, 1507, 1718)
    }
    nucleus = real[1078]
    all_tables = sorted({t for names in tables_by_version.values() for t in names})
    metadata = {}
    for k, t in enumerate(all_tables):
        if t == "nucleus_detection_v0":
            metadata[t] = nucleus
            continue
        schema = KNOWN_SCHEMA.get(t, "bound_tag")
        metadata[t] = {
            "created": "2023-12-19T22:37:58.000000",
            "schema": schema,
            "table_name": t,
            "id": 38200 + k,
            "aligned_volume": "minnie65_phase3",
            "valid": True,
            "schema_type": schema,
            "user_id": "0",
            "description": PLACEHOLDER_KNOWN_SCHEMA if t in KNOWN_SCHEMA else PLACEHOLDER,
            "notice_text": NOTICES.get(t),
            "reference_table": (
                "nucleus_detection_v0" if t in CELL_TYPE_REFERENCE_TABLES else None
            ),
            "flat_segmentation_source": None,
            "write_permission": "PRIVATE",
            "read_permission": "PUBLIC",
            "last_modified": "2024-06-05T10:00:00.000000",
            "segmentation_source": "",
            "pcg_table_name": nucleus["pcg_table_name"],
            "last_updated": nucleus["last_updated"],
            "voxel_resolution_x": 4.0,
            "voxel_resolution_y": 4.0,
            "voxel_resolution_z": 40.0,
        }
    by_version = {str(v): {"nucleus_detection_v0": md} for v, md in real.items() if v != 1078}
    return {"all_versions": metadata, "by_version": by_version}


def build_versions():
    out = []
    for v in json.loads(shared("versions.json").read_text()):
        stamp = pd.Timestamp(v["time_stamp_iso"]).tz_convert("UTC").tz_localize(None)
        out.append(
            {
                "version": v["version"],
                "time_stamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                # expires_on was never published; long-term versions get a far date here.
                "expires_on": (stamp + pd.DateOffset(years=100)).strftime("%Y-%m-%dT%H:%M:%S.%f"),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n")


def write_rows(path: Path, df: pd.DataFrame) -> None:
    df.to_parquet(path, index=False, compression="zstd")


def build(out: Path = OUT) -> dict:
    if not (SHARED / "PROVENANCE.md").exists():
        raise SystemExit(
            f"The published reference data was not found at {SHARED}. It is expected in "
            "../shared/data next to the repository; copy it there and run again."
        )
    rng = np.random.default_rng(SEED)
    tables_by_version = {
        v: json.loads(shared(f"tables_v{v}.json").read_text())
        for v in (795, 1078, 1181, 1300, 1507, 1718)
    }
    nuclei, annotations = build_cells(rng)
    # Synthetic synaptic partners are drawn among the sample's neurons only: a synapse
    # joins two neurons, so a partner typed as a glial cell would teach something false.
    neuron_nuclei = {
        a["target_id"] for a in annotations if a["classification_system"] != "nonneuron"
    }
    neuron_roots = [n["pt_root_id"] for n in nuclei if n["pt_root_id"] and n["id"] in neuron_nuclei]
    synapses = build_synapses(rng, neuron_roots)
    proofreading = build_proofreading(rng, nuclei, annotations)

    if out.exists():
        shutil.rmtree(out / "rows", ignore_errors=True)
    (out / "rows").mkdir(parents=True, exist_ok=True)
    write_json(
        out / "datastack_info.json",
        json.loads(shared("datastack_info_minnie65_public.json").read_text()),
    )
    write_json(out / "versions.json", build_versions())
    write_json(out / "tables_by_version.json", {str(k): v for k, v in tables_by_version.items()})
    write_json(out / "table_metadata.json", build_metadata(tables_by_version))
    write_json(out / "schemas.json", SCHEMAS)
    frames = {
        "nucleus_detection_v0": to_frame(nuclei, "nucleus_detection"),
        "aibs_metamodel_celltypes_v661": to_frame(annotations, "cell_type_reference"),
        "synapses_pni_2": to_frame(synapses, "synapse"),
        "proofreading_status_and_strategy": to_frame(
            proofreading, "proofreading_status_and_strategy"
        ),
    }
    for name, df in frames.items():
        write_rows(out / "rows" / f"{name}.parquet", df)
    counts = {name: len(df) for name, df in frames.items()}
    counts["real_nucleus_rows"] = sum(n["_real"] for n in nuclei)
    counts["real_cell_type_rows"] = sum(a["_real"] for a in annotations)
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.standin.build_sample_data", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    args = parser.parse_args(argv)
    counts = build(args.out)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    for name, n in counts.items():
        print(f"{name:40s} {n:>7d}")
    print(f"sample data: {size / 1e6:.2f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
