"""The cell tables: ``nucleus_detection_v0`` and ``aibs_metamodel_celltypes_v661``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from microns_helpers.sample import SELECT_ORDER

from .common import (
    BC_ROWS_V1300,
    CELL_TYPE_ROWS,
    CLASS_OF,
    EXAMPLE_NEURON,
    NUCLEI_ROWS,
    SKEL_NUCLEUS,
    SKEL_ROOT,
    TAIL_PARTNERS_V1300,
    TOP_PARTNERS_V1300,
    Ids,
    nucleus_id_near,
    read_csv,
    shared,
    supervoxel,
    ts,
    vec,
    voxels,
)

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


# Real v1300 facts about named roots (FACTS.md, "Cell-level facts at v1300", from an export of
# the public tables): automatic type, manual column type (None: not in the column table),
# area and axon proofreading strategy. Their positions and nuclei are synthetic.
REAL_CELLS_V1300 = {
    EXAMPLE_NEURON: ("MC", "MC", "V1", "axon_partially_extended"),
    864691135273655569: ("5P-ET", None, "RL", "axon_fully_extended"),  # pcg_skel's test neuron
    864691136362774498: ("5P-ET", "5P-PT", "V1", "axon_partially_extended"),  # nglui's tests
    864691135101289504: ("BC", "BC", "V1", "axon_partially_extended"),
}
# Distinct roots per automatic type at v1300 (same source). The published value_counts after
# drop_duplicates('pt_root_id', keep=False) (aggregates.json) count the roots of one nucleus
# only; the difference is the roots shared by several nuclei, 1,120 in all.
UNIQUE_ROOTS_V1300 = {
    "23P": 19_673,
    "4P": 14_737,
    "6P-IT": 11_675,
    "5P-IT": 7_914,
    "astrocyte": 7_466,
    "oligo": 6_945,
    "6P-CT": 6_777,
    "BC": 3_321,
    "microglia": 2_488,
    "MC": 2_449,
    "5P-ET": 2_179,
    "OPC": 1_570,
    "BPC": 1_486,
    "pericyte": 1_159,
    "5P-NP": 963,
    "NGC": 621,
}
# Where a synthetic cell of the named areas may sit: x and z of the area maps in
# annotations.py (V1 medial, RL at small z between V1 and LM).
AREA_POSITION = {"V1": (X_RANGE[0], 240_000), "RL": (285_000, 375_000)}

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
        + [EXAMPLE_NEURON, SKEL_ROOT, *TOP_PARTNERS_V1300, *TAIL_PARTNERS_V1300]
        + list(REAL_CELLS_V1300),
    )

    def new_nucleus(pos, root, kind):
        median, spread = VOLUME_UM3[kind]
        volume = max(25.5, median * float(np.exp(rng.normal(0, spread))))
        nid = nucleus_ids.near(nucleus_id_near(pos[0]), 3000)
        sv = 0 if root == 0 else supervoxel(rng, pos[0])
        return nucleus_row(nid, None, round(volume, 6), pos, sv, root, False)

    def new_annotation(target, cell_type):
        aid = ann_ids.take(1, 140_000)
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

    # Nuclei of the documented example roots (positions synthetic; types real, above).
    named = [(SKEL_NUCLEUS, SKEL_ROOT, random_position("23P"), "23P")]
    named.append((None, EXAMPLE_NEURON, [179_600, 193_000, 20_100], "MC"))
    for root, (ctype, _, area, _) in REAL_CELLS_V1300.items():
        if root != EXAMPLE_NEURON:
            x_low, x_high = AREA_POSITION[area]
            pos = random_position(ctype)
            pos[0] = int(rng.integers(x_low, x_high))
            pos[2] = int(rng.integers(Z_RANGE[0], 19_000)) if area == "RL" else pos[2]
            named.append((None, root, pos, ctype))
    for nid, root, pos, ctype in named:
        n = new_nucleus(pos, root, kind_of(ctype))
        if nid is not None:
            nucleus_ids.used.discard(n["id"])
            n["id"] = nid
        add_nucleus(n)
        new_annotation(n["id"], ctype)
    for nid, ctype in allen_types.items():
        new_annotation(nid, ctype)

    # Synthetic cells up to the published v1300 cell-type counts (one row per root after
    # drop_duplicates('pt_root_id', keep=False), TUT-1300a), plus roots shared by several
    # nuclei (merges) up to the distinct roots per type (UNIQUE_ROOTS_V1300). The whole table
    # has 94,014 rows (table_specs.json), so 3,711 rows sit on the 1,120 shared roots; how
    # many per root was published for BC only (3,365 rows, 3,309 on roots of their own: 56
    # rows on 12 roots); the other types share the rest evenly (synthetic).
    counts = next(
        a["value"]
        for a in json.loads(shared("aggregates.json").read_text())
        if a["what"].endswith("cell_type value_counts") and a["materialization_version"] == 1300
    )
    shared_roots = {k: UNIQUE_ROOTS_V1300[k] - counts[k] for k in counts}
    bc_rows = BC_ROWS_V1300 - counts["BC"]
    other_rows = CELL_TYPE_ROWS - sum(counts.values()) - bc_rows
    others = [k for k in counts if k != "BC"]
    sizes = {"BC": _split(bc_rows, shared_roots["BC"])}
    flat = _split(other_rows, sum(shared_roots[k] for k in others))
    for k in others:
        sizes[k], flat = flat[: shared_roots[k]], flat[shared_roots[k] :]
    have = pd.Series([a["cell_type"] for a in annotations.values()]).value_counts()
    for cell_type, quota in counts.items():
        for _ in range(max(0, quota - int(have.get(cell_type, 0)))):
            n = new_nucleus(
                random_position(cell_type),
                roots.take(864691135_000_000_000, 864691137_300_000_000),
                kind_of(cell_type),
            )
            add_nucleus(n)
            new_annotation(n["id"], cell_type)
        for size in sizes[cell_type]:
            # the nuclei of one root sit side by side: a merge joins neighbouring cells
            root = roots.take(864691135_000_000_000, 864691137_300_000_000)
            first = random_position(cell_type)
            for k in range(size):
                pos = [first[0] + 1_500 * k, first[1] + int(rng.integers(-800, 800)), first[2]]
                n = new_nucleus(pos, root, kind_of(cell_type))
                add_nucleus(n)
                new_annotation(n["id"], cell_type)

    # Nuclei without a cell type: false positives, glia and cells at the edges of the volume,
    # up to the table's documented 144,120 rows (table_specs.json); a third of them have no
    # root (0), which is the sample's assumption.
    for _ in range(NUCLEI_ROWS - len(nuclei)):
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


def _split(rows: int, roots: int) -> list[int]:
    """``rows`` nuclei over ``roots`` shared roots, as evenly as can be (two at least each)."""
    if roots == 0:
        return []
    base, extra = divmod(rows, roots)
    if base < 2:
        raise SystemExit(f"{rows} rows cannot fill {roots} shared roots")
    return [base + 1] * extra + [base] * (roots - extra)
