"""Build the sample dataset of minnie65_public: ``python tools/build_sample_data.py``.

Reads the published values in ``../shared/data`` (beside the repository; see its PROVENANCE.md
and FACTS.md) and writes ``microns_helpers/sample/dataset/``, the package data the sample
service answers from: real values where they were published, seeded synthetic rows elsewhere,
at about 1 in 20 of the real cells. The rows hold the root ids of version 1300; the root-id
edits after it (``lineage.json``) give versions 1507 and 1718 their published root ids.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a clone: the package beside this folder

from microns_helpers.sample import DELETED, SELECT_ORDER, columns_from_schema  # noqa: E402

SEED = 20240605  # the day v1078 was frozen
SCALE = 20  # about 1 in SCALE of the real cells
RES = np.array([4, 4, 40])  # voxel size of every sample table, nm

SHARED = REPO.parent / "shared" / "data"
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

    # v1300 BC head and tail, and the three-root rows (TUT-1300a), positions in voxels; then
    # the BC rows shown only at v1718 (TUT-1718a), whose v1300 roots were not published: the
    # v1718 root stands for both.
    bc = read_csv("v1300/aibs_metamodel_celltypes_v661__cell_type_BC__head5_tail5.csv")
    roots3 = read_csv("v1300/aibs_metamodel_celltypes_v661__pt_root_id_3_roots.csv")
    bc_1718 = read_csv("v1718/aibs_metamodel_celltypes_v661__cell_type_BC__head5_tail5.csv")
    bc_1718_only = bc_1718[~bc_1718["id"].isin(bc["target_id"])]
    for frame, bucket in (
        (bc.iloc[:5], order_ann_bc_head),
        (bc.iloc[5:], order_ann_bc_tail),
        (roots3, order_ann_roots),
        (bc_1718_only, []),
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
    # select/limit-10 rows (TUT-1300a). Their ids, volumes, dates are synthetic below.
    nuc_select = read_csv(
        "v1300/nucleus_detection_v0__limit10__split__res1__select_pt_position_pt_root_id.csv"
    )
    for _, r in read_csv(
        "v1300/aibs_metamodel_celltypes_v661__tables_query__limit10__split__res1__select.csv"
    ).iterrows():
        select_ann.append((r.cell_type, voxels(r, "pt_position", True), int(r.pt_root_id)))

    nucleus_ids = Ids(rng, nuclei)
    ann_ids = Ids(rng, annotations)
    roots = Ids(
        rng,
        [n["pt_root_id"] for n in nuclei.values()]
        + [EXAMPLE_NEURON, SKEL_ROOT, *TOP_PARTNERS_V1300, *TAIL_PARTNERS_V1300],
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
    if DELETED in df.columns:
        out[DELETED] = pd.to_datetime(df[DELETED], utc=True).dt.round("us")
    return out


# -- synapses -----------------------------------------------------------------------------------


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
    return [rows[i] for i in order + rest], edits_plan


# -- root-id edits ---------------------------------------------------------------------------

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
    return {
        "about": "Root-id edits after version 1300, the base of the sample's rows. See README.md.",
        # Roots that no edit made existed from before version 117 on (the sample's choice).
        "roots_created": "2021-01-01T00:00:00.000000",
        "edits": [{"operation_id": e.pop("operation_id"), **e} for e in edits],
    }


# -- proofreading ----------------------------------------------------------------------------

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
PROOFREAD_AXON_FALSE_V1300 = 30  # synthetic: cells whose dendrite only was proofread


def build_proofreading(rng, nuclei: list[dict], annotations: list[dict], versions: dict):
    """Rows of proofreading_status_and_strategy at the published counts of v1300 and v1507.

    The cells are sample neurons (the example neuron among them, as partially extended):
    which cell has which status is synthetic. Between v1300 and v1507, 100 axons go from
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
    example = next(n for n in neurons if n["pt_root_id"] == EXAMPLE_NEURON)
    others = [n for n in neurons if n is not example and n["pt_root_id"] != PCG_NEURON]
    order = [others[i] for i in rng.permutation(len(others))]
    t1300 = pd.Timestamp(versions[1300]["time_stamp"], tz="UTC")
    t1507 = pd.Timestamp(versions[1507]["time_stamp"], tz="UTC")
    changed_at = t1300 + (t1507 - t1300) / 2

    at_1300 = [(s, True) for s, k in PROOFREAD_AXON_TRUE_V1300.items() for _ in range(k)]
    at_1300.remove(("axon_partially_extended", True))
    rng.shuffle(at_1300)
    at_1300 = [("axon_partially_extended", True)] + at_1300
    at_1300 += [("none", False)] * PROOFREAD_AXON_FALSE_V1300
    cells = [example] + order[: len(at_1300) - 1]
    pool = order[len(at_1300) - 1 :]

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
    partial = [r for r in base[1:] if r["strategy_axon"] == "axon_partially_extended"]
    interareal = [r for r in base if r["strategy_axon"] == "axon_interareal"]
    upgraded = [partial[i] for i in rng.choice(len(partial), 100, replace=False)]
    reclassed = [interareal[i] for i in rng.choice(len(interareal), 6, replace=False)]
    later = changed_at
    cell_of = {id(r): c for r, c in zip(base, cells)}
    for old, strategy in [(r, "axon_fully_extended") for r in upgraded] + [
        (r, "axon_partially_extended") for r in reclassed
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


# -- outputs of proofread cells ---------------------------------------------------------------

PROOFREAD_WITH_OUTPUTS = 80  # cells of the proofreading table given synthetic outputs


def build_proofread_outputs(rng, proofreading, nuclei, neuron_roots, synapses):
    """Synthetic outputs of some proofread cells, for the cell-type connectivity chapter.

    80 cells whose axon is proofread at v1300 (partially or fully extended) each make 15 to
    60 synapses near their soma. Partners are drawn uniformly at random: 60 % among the
    sample's neurons, the rest fragments without a soma. So a connection table of these
    synapses shows only the sample's mix of cell types, the same for every presynaptic
    type: no pattern of connectivity, by construction.
    """
    proofread = [
        r
        for r in proofreading
        if r["_deleted"] is None
        and r["status_axon"]
        and r["strategy_axon"] in ("axon_partially_extended", "axon_fully_extended")
        and r["valid_id"] not in (EXAMPLE_NEURON, PCG_NEURON)
    ]
    chosen = [
        proofread[i]
        for i in sorted(rng.choice(len(proofread), PROOFREAD_WITH_OUTPUTS, replace=False))
    ]
    position = {
        n["pt_root_id"]: np.array(n["pt_position"], dtype=float) for n in nuclei if n["pt_root_id"]
    }
    ids = Ids(rng, {r["id"] for r in synapses})
    roots = Ids(
        rng,
        {r["pre_pt_root_id"] for r in synapses}
        | {r["post_pt_root_id"] for r in synapses}
        | set(neuron_roots),
    )
    created_pool = sorted({r["created"] for r in synapses})
    sizes = np.array([r["size"] for r in synapses])
    partners = [r for r in neuron_roots if r not in (EXAMPLE_NEURON, PCG_NEURON)]
    draw = SynapseDraw(rng, ids, created_pool, sizes)
    rows = []
    for cell in chosen:
        pre_root = cell["valid_id"]
        soma = position[pre_root]
        for _ in range(int(rng.integers(15, 61))):
            if rng.random() < 0.6:
                post_root = int(partners[int(rng.integers(len(partners)))])
            else:
                post_root = roots.take(864691131_000_000_000, 864691137_300_000_000)
            pre = soma + np.array(
                [rng.normal(0, 12_000), rng.normal(0, 15_000), rng.normal(0, 600)]
            )
            rows.append(draw(pre_root, post_root, pre, cleft_jitter=False))
    return rows


# -- the bulk export ---------------------------------------------------------------------------

BULK_TABLES = (
    "nucleus_detection_v0",
    "aibs_metamodel_celltypes_v661",
    "proofreading_status_and_strategy",
    "synapses_pni_2",
)


def build_bulk_export(dataset: Path, out: Path, version: int = BASE_VERSION) -> dict:
    """The sample at ``version`` in the published bulk layout (microns_helpers.bulk)."""
    from microns_helpers.bulk import SYNAPSE_VIEW, export_table
    from microns_helpers.sample import SampleData

    data = SampleData(dataset)
    folder = out / f"v{version}"
    shutil.rmtree(folder, ignore_errors=True)
    counts = {}
    nuclei = data.rows("nucleus_detection_v0", version).drop(
        columns=[SELECT_ORDER], errors="ignore"
    )
    for table in BULK_TABLES:
        df = data.rows(table, version).drop(columns=[SELECT_ORDER], errors="ignore")
        name = table
        if table == "synapses_pni_2":
            name = SYNAPSE_VIEW
            df = df.drop(columns=["created", "superceded_id", "valid"])
        elif table == "aibs_metamodel_celltypes_v661":
            # a reference table is published merged with the table it annotates
            df = df.drop(columns=["superceded_id"]).merge(
                nuclei.drop(columns=["created", "superceded_id", "valid"]).rename(
                    columns={"id": "target_id"}
                ),
                on="target_id",
                how="inner",
            )
        df = df.drop(columns=[c for c in df.columns if c.startswith(("bb_start", "bb_end"))])
        export_table(df.reset_index(drop=True), folder, name)
        counts[name] = len(df)
    return counts


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


# live-service-2026.md: which versions the service still serves in late 2026.
LONG_TERM_VERSIONS = (117, 943, 1300)
EXPIRED_VERSIONS = (343, 661, 795, 1078, 1181, 1412)
# expires_on was never published. These dates agree with every published version list
# (FACTS.md: 343, 661, 795 and 1078 listed in 2024-10, none of the expired ones in 2026-05;
# 1507 announced to expire within 6 months of 2026-06); the rest is a year after release.
EXPIRES_ON = {
    343: "2025-01-13T10:10:01.286229",
    661: "2025-01-13T10:10:01.286229",
    795: "2025-01-13T10:10:01.286229",
    1078: "2025-06-05T10:10:01.203215",
    1181: "2025-09-16T10:10:01.121167",
    1412: "2026-04-29T10:10:01.200893",
    1507: "2026-12-31T08:10:01.117494",
}
# The order of the server's lists (its database order): 1300 first, as in the 2026-05 list
# (FACTS.md), then the 2024-10 list and the newer versions.
SERVER_ORDER = (1300, 1078, 117, 661, 343, 1181, 795, 943, 1412, 1507, 1621, 1718, 1822)


def build_versions() -> list[dict]:
    """The server's version records: real time stamps, validity as of late 2026."""
    published = {v["version"]: v for v in json.loads(shared("versions.json").read_text())}
    out = []
    for version in SERVER_ORDER:
        stamp = pd.Timestamp(published[version]["time_stamp_iso"]).tz_convert("UTC")
        stamp = stamp.tz_localize(None)
        if version in LONG_TERM_VERSIONS:
            expires = (stamp + pd.DateOffset(years=100)).strftime("%Y-%m-%dT%H:%M:%S.%f")
        else:
            default = (stamp + pd.DateOffset(years=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")
            expires = EXPIRES_ON.get(version, default)
        valid = version not in EXPIRED_VERSIONS
        out.append(
            {
                "version": version,
                "time_stamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.%f"),
                "expires_on": expires,
                "valid": valid,
                "status": "AVAILABLE" if valid else "EXPIRED",
            }
        )
    return out


def tables_of_every_version(published: dict[int, list[str]], versions: list[int]) -> dict:
    """Each version's table list: its own where published, else the newest published one
    that is not newer, else the oldest published one."""
    known = sorted(published)
    out = {}
    for v in versions:
        older = [k for k in known if k <= v]
        out[str(v)] = published[older[-1] if older else known[0]]
    return out


# ---------------------------------------------------------------------------------------------


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n")


def write_rows(path: Path, df: pd.DataFrame) -> None:
    df.to_parquet(path, index=False, compression="zstd")


def build(sample: Path = OUT) -> dict:
    """Write ``sample/dataset/`` and its bulk export ``sample/bulk/``; returns row counts."""
    out = sample / "dataset"
    bulk_out = sample / "bulk"
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
    versions = build_versions()
    by_version = {v["version"]: v for v in versions}
    nuclei, annotations = build_cells(rng)
    # Synthetic synaptic partners are drawn among the sample's neurons only: a synapse
    # joins two neurons, so a partner typed as a glial cell would teach something false.
    neuron_nuclei = {
        a["target_id"] for a in annotations if a["classification_system"] != "nonneuron"
    }
    neuron_roots = [n["pt_root_id"] for n in nuclei if n["pt_root_id"] and n["id"] in neuron_nuclei]
    synapses, edits_plan = build_synapses(rng, neuron_roots)
    lineage = build_lineage(rng, edits_plan, by_version)
    proofreading = build_proofreading(rng, nuclei, annotations, by_version)
    synapses += build_proofread_outputs(rng, proofreading, nuclei, neuron_roots, synapses)

    if out.exists():
        shutil.rmtree(out / "rows", ignore_errors=True)
    (out / "rows").mkdir(parents=True, exist_ok=True)
    write_json(
        out / "datastack_info.json",
        json.loads(shared("datastack_info_minnie65_public.json").read_text()),
    )
    write_json(out / "versions.json", versions)
    write_json(
        out / "tables_by_version.json",
        tables_of_every_version(tables_by_version, [v["version"] for v in versions]),
    )
    write_json(out / "table_metadata.json", build_metadata(tables_by_version))
    write_json(out / "schemas.json", SCHEMAS)
    write_json(out / "lineage.json", lineage)
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
    counts["root_id_edits"] = len(lineage["edits"])
    bulk = build_bulk_export(out, bulk_out)
    counts.update({f"bulk export: {name}": n for name, n in bulk.items()})
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/build_sample_data.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--out", type=Path, default=OUT, help="folder to write dataset/ and bulk/ into"
    )
    args = parser.parse_args(argv)
    counts = build(args.out)
    size = sum(
        p.stat().st_size
        for folder in ("dataset", "bulk")
        for p in (args.out / folder).rglob("*")
        if p.is_file()
    )
    for name, n in counts.items():
        print(f"{name:40s} {n:>7d}")
    print(f"sample data and bulk export: {size / 1e6:.2f} MB in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
