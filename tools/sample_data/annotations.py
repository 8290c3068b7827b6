"""Every other table the versions list: rows in each table's documented schema and vocabulary.

``inputs/table_specs.json`` (from the MICrONs documentation's annotation-table pages, with
sources) gives each table's schema type, columns, the values of its categorical columns and
its row count where one was published. This module makes synthetic rows to that
specification, at the published count, or at the documented order of magnitude, or (where
neither exists) at the spec's own sizing guess, capped so the package stays small; the
table's metadata description says which. Rows point at the sample's own cells and synapses,
so joins work: a cell-type table labels nuclei of ``nucleus_detection_v0`` in agreement
with their ``aibs_metamodel_celltypes_v661`` type (with a share of disagreement), the
functional tables share their units (``functional.py``), and the synapse-level tables label
synapses of ``synapses_pni_2``. None of the values is a measurement.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from microns_helpers.sample import columns_from_schema

from .cells import REAL_CELLS_V1300
from .common import CLASS_OF, THREE_ROOTS, shared
from .functional import TABLES as FUNCTIONAL_TABLES
from .functional import build_functional_tables
from .schemas import SCHEMAS

# Built elsewhere (cells, synapses, proofreading); the rest come from here.
BUILT_ELSEWHERE = {
    "nucleus_detection_v0",
    "aibs_metamodel_celltypes_v661",
    "synapses_pni_2",
    "proofreading_status_and_strategy",
}
# A table with no published count gets the spec's sizing guess, at most this many rows.
MAX_UNPUBLISHED_ROWS = 20_000
# Annotation tables were uploaded in bulk: one creation time per table, before v117.
CREATED = pd.Timestamp("2021-05-01 12:00:00", tz="UTC")

# Vocabularies the documentation does not list: the sample uses a documented neighbour's,
# and the table's description says so.
BORROWED_VOCABULARY = {
    ("allen_column_mtypes_v2", "cell_type"): "aibs_metamodel_mtypes_v661_v2",
    ("pt_synapse_targets", "cell_type"): "aibs_metamodel_celltypes_v661",
}
UNDOCUMENTED_TAGS = {("gamlin_2023_mcs_met_types", "tag"): ["MET-1", "MET-2", "MET-3", "MET-4"]}

# The aibs types -> the labels other cell-type tables use for the same cells.
MTYPE_OF = {
    "23P": ["L2a", "L2b", "L3a", "L3b", "L3c"],
    "4P": ["L4a", "L4b", "L4c"],
    "5P-IT": ["L5a", "L5b"],
    "5P-ET": ["L5ET"],
    "5P-NP": ["L5NP"],
    "6P-IT": ["L6a", "L6b", "L6c"],
    "6P-CT": ["L6CT", "L6wm"],
    "BC": ["PTC"],
    "BPC": ["ITC"],
    "MC": ["DTC"],
    "NGC": ["STC"],
}
BAYLOR_FINE_OF = {"5P-ET": "5P-PT"}
CG_OF = {"23P": "23P", "4P": "4P", "5P-IT": "5P_IT", "5P-ET": "5P_PT", "5P-NP": "5P_NP"}
DISAGREE = 0.08  # share of cells another model labels differently from the aibs type

# The manual column table (allen_v1_column_types_slanted_ref): labels the real rows use
# beyond the documentation page's list ('5P-PT' for the extratelencephalic cells, FACTS.md;
# 'Unsure E', 'Unsure I', 'Unsure', 'WM-P', which the MICrONs synapse quickstart drops from
# its pivot by name, so every one of them is on proofread cells there).
MANUAL_OF = {"5P-ET": "5P-PT", "NGC": "Unsure"}
MANUAL_UNSURE = {"excitatory_neuron": "Unsure E", "inhibitory_neuron": "Unsure I"}
MANUAL_UNSURE_SHARE = 0.03  # synthetic: how many column neurons the anatomists left unsure
MANUAL_INHIBITORY = ["BC", "BPC", "MC", "NGC", "Unsure", "Unsure I"]
# Area per distinct root of the cell-type table at v1300 (FACTS.md, same export as
# REAL_CELLS_V1300): the synthetic borders are placed so that these counts come out.
AREA_ROOTS_V1300 = {"V1": 59_818, "RL": 21_327, "AL": 9_960, "LM": 318}


def load_specs() -> dict[str, dict]:
    specs = json.loads(shared("table_specs.json").read_text())
    return {e["table"]: e for e in specs["tables"]}


def row_count(spec: dict) -> tuple[int, str]:
    """How many rows the sample serves, and the words that say where the number comes from."""
    rows = spec["rows"]
    if rows.get("count") and rows.get("published"):
        return int(rows["count"]), "the published row count"
    if rows.get("count"):
        return int(rows["count"]), "the documented order of magnitude (no count published)"
    guess = int(rows.get("scale_guess_unsourced") or 2_000)
    return min(guess, MAX_UNPUBLISHED_ROWS), "a size chosen for the sample (no count published)"


def vocabulary(specs, table, column) -> list:
    if (table, column) in UNDOCUMENTED_TAGS:
        return UNDOCUMENTED_TAGS[(table, column)]
    if (table, column) in BORROWED_VOCABULARY:
        other = BORROWED_VOCABULARY[(table, column)]
        if other == "aibs_metamodel_celltypes_v661":
            return sorted(CLASS_OF)
        return specs[other]["vocabularies"][column]["values"]
    return list(specs[table]["vocabularies"].get(column, {}).get("values") or [])


class Cells:
    """The sample's cells, as the synthetic tables draw on them."""

    def __init__(self, nuclei, cell_types, synapses, proofread_roots=()):
        typed = cell_types.drop_duplicates("target_id").set_index("target_id")["cell_type"]
        self.nuclei = nuclei.assign(cell_type=nuclei["id"].map(typed))
        self.synapses = synapses
        self.proofread_roots = list(proofread_roots)  # a proofread axon at v1300, in order

    def ids(self, where=None) -> np.ndarray:
        n = self.nuclei if where is None else self.nuclei[where(self.nuclei)]
        return n["id"].to_numpy()


def build_annotation_tables(rng, nuclei, cell_types, synapses, proofread_roots):
    """{table: stored frame} of every table but the four built elsewhere, and the words of
    each one's metadata description."""
    specs = load_specs()
    cells = Cells(nuclei, cell_types, synapses, proofread_roots)
    frames, notes = {}, {}
    # The functional tables share their units, so they are made together, from a generator
    # of their own: changing them leaves the other tables' rows as they are.
    functional, how_functional = build_functional_tables(
        rng.spawn(1)[0], _imaged(cells), {t: row_count(specs[t])[0] for t in FUNCTIONAL_TABLES}
    )
    for table, spec in specs.items():
        if table in BUILT_ELSEWHERE:
            continue
        if table in FUNCTIONAL_TABLES:
            frame, basis = _stored(table, spec, functional[table]), row_count(spec)[1]
            frames[table] = frame
            notes[table] = (
                f"{len(frame):,} rows ({basis}); {how_functional[table]} Synthetic rows in the "
                "table's documented schema, made for the sample: not measurements."
            )
            continue
        n, basis = row_count(spec)
        frame, how = _rows(rng, specs, table, spec, n, cells)
        frames[table] = frame
        notes[table] = (
            f"{len(frame):,} rows ({basis}); {how} Synthetic rows in the table's documented "
            "schema and vocabulary, made for the sample: not measurements."
        )
    return frames, notes


def _stored(table, spec, columns: dict) -> pd.DataFrame:
    """Columns -> the stored frame, in the order the schema gives, with the server's own."""
    schema = SCHEMAS[spec["schema_type"]]
    n = len(next(iter(columns.values())))
    out = {
        "id": np.arange(1, n + 1, dtype=np.int64),
        "created": pd.Series([CREATED] * n, dtype="datetime64[ns, UTC]"),
        "superceded_id": np.full(n, np.nan),
        "valid": np.ones(n, dtype=bool),
    }
    for name, dtype in columns_from_schema(schema).items():
        if name in out:
            continue
        if name not in columns:
            raise SystemExit(f"{table}: no values made for column {name}")
        out[name] = pd.Series(columns[name]).astype(dtype).to_numpy()
    return pd.DataFrame(out)


def _imaged(cells: Cells) -> np.ndarray:
    """The cells the functional tables can hold: excitatory neurons with a root id, of
    layers 2/3 to 5 (y above 225,000 voxels), as the two-photon imaging reached."""
    nuc = cells.nuclei
    imaged = nuc["cell_type"].map(CLASS_OF).eq("excitatory_neuron")
    imaged &= nuc["pt_root_id"].ne(0) & nuc["pt_position_y"].lt(225_000)
    return nuc.loc[imaged, "id"].to_numpy()


def _bound_point(prefix, cells: Cells, nucleus_ids) -> dict:
    rows = cells.nuclei.set_index("id").loc[nucleus_ids]
    return {
        f"{prefix}_position_x": rows["pt_position_x"].to_numpy(),
        f"{prefix}_position_y": rows["pt_position_y"].to_numpy(),
        f"{prefix}_position_z": rows["pt_position_z"].to_numpy(),
        f"{prefix}_supervoxel_id": rows["pt_supervoxel_id"].to_numpy(),
        f"{prefix}_root_id": rows["pt_root_id"].to_numpy(),
    }


def _choose(rng, ids, n, *, repeat=False):
    ids = np.asarray(ids)
    if not repeat and n > len(ids):
        n = len(ids)
    picked = rng.choice(ids, size=n, replace=repeat)
    return np.sort(picked)


def _relabel(rng, labels, vocab):
    """The aibs-derived labels, with a share DISAGREE drawn at random from ``vocab``."""
    labels = np.array(labels, dtype=object)
    flip = rng.random(len(labels)) < DISAGREE
    labels[flip] = rng.choice(np.array(vocab, dtype=object), size=int(flip.sum()))
    return labels


def _rows(rng, specs, table, spec, n, cells: Cells):
    schema = spec["schema_type"]
    ref = spec.get("reference_table")
    nuc = cells.nuclei
    neuron = nuc["cell_type"].map(CLASS_OF).isin(["excitatory_neuron", "inhibitory_neuron"])
    with_root = nuc["pt_root_id"].ne(0)
    vocab = {c: vocabulary(specs, table, c) for c in spec.get("vocabularies", {})}
    type_of = nuc.set_index("id")["cell_type"]

    if schema == "cell_type_reference" and ref == "synapses_pni_2":
        targets = _choose(rng, cells.synapses["id"], n)
        labels = rng.choice(np.array(vocab["cell_type"], dtype=object), size=len(targets))
        system = rng.choice(np.array(vocab["classification_system"], dtype=object), len(targets))
        how = "each labels a synapse of the sample at random."
        cols = {"target_id": targets, "classification_system": system, "cell_type": labels}
        return _stored(table, spec, cols), how

    if schema == "cell_type_reference":
        system = vocab["classification_system"]
        types = vocab["cell_type"]
        if table == "nucleus_ref_neuron_svm":
            targets = nuc["id"].to_numpy()
            labels = np.where(neuron, "neuron", "not-neuron")
            how = "one per nucleus: 'neuron' where the aibs table calls it a neuron."
        elif table == "aibs_column_nonneuronal_ref":
            column = nuc["pt_position_x"].between(170_000, 230_000)
            pool = cells.ids(lambda d: column & d["cell_type"].map(CLASS_OF).eq("nonneuron"))
            targets = _choose(rng, pool, n)
            labels = type_of.loc[targets].to_numpy()
            how = "non-neuronal cells of a column of the sample, with their aibs type."
        elif table == "allen_v1_column_types_slanted_ref":
            targets, labels = _manual_column(rng, cells, n, types)
            how = (
                "neurons of a column of the sample, labelled after their aibs type, with the "
                "real labels of the named cells and every label of the real table on cells "
                "with a proofread axon."
            )
        elif table == "allen_column_mtypes_v2":
            column = nuc["pt_position_x"].between(170_000, 230_000)
            targets = _choose(rng, cells.ids(lambda d: column & neuron), n)
            base = [rng.choice(MTYPE_OF[t]) for t in type_of.loc[targets].to_numpy()]
            labels = _relabel(rng, base, types)
            how = "neurons of a column of the sample, labelled after their aibs type."
        else:
            pool = cells.ids(lambda d: neuron & with_root)
            targets = _choose(rng, pool, n)
            base = type_of.loc[targets].to_numpy()
            if "mtypes" in table:
                base = [rng.choice(MTYPE_OF[t]) for t in base]
            elif table.startswith("baylor_log_reg"):
                base = [CLASS_OF[t].split("_")[0] for t in base]
            elif table.startswith("baylor_gnn"):
                base = [BAYLOR_FINE_OF.get(t, t) for t in base]
            else:
                base = rng.choice(np.array(types, dtype=object), size=len(targets))
            labels = _relabel(rng, base, types)
            how = "neurons of the sample, labelled after their aibs type."
        labels = np.array([t if t in types else rng.choice(types) for t in labels], dtype=object)
        if len(system) == 2 and {"excitatory", "inhibitory"} == set(system):
            inhibitory = {"PTC", "DTC", "STC", "ITC", "BC", "BPC", "MC", "NGC", "inhibitory"}
            systems = np.where(np.isin(labels, list(inhibitory)), "inhibitory", "excitatory")
        elif set(system) == {"aibs_coarse_excitatory", "aibs_coarse_inhibitory"}:
            inhibitory = np.isin(labels, MANUAL_INHIBITORY)
            systems = np.where(inhibitory, "aibs_coarse_inhibitory", "aibs_coarse_excitatory")
        else:
            systems = rng.choice(np.array(system, dtype=object), size=len(targets))
        cols = {"target_id": targets, "classification_system": systems, "cell_type": labels}
        return _stored(table, spec, cols), how

    if schema in ("reference_tag", "reference_integer") and ref == "synapses_pni_2":
        targets = _choose(rng, cells.synapses["id"], n)
        column = "tag" if schema == "reference_tag" else "value"
        values = rng.choice(np.array(vocab[column], dtype=object), size=len(targets))
        how = "each labels a synapse of the sample at random."
        return _stored(table, spec, {"target_id": targets, column: values}), how

    if schema == "reference_tag_float":
        if table == "nucleus_functional_area_assignment":
            targets = nuc["id"].to_numpy()
            tags, values = _areas(rng, cells)
            how = (
                "one per nucleus, the area from synthetic borders across the cortical sheet, "
                "placed so that the distinct roots of the cell-type table per area are the real "
                "v1300 counts; the named cells have their real area."
            )
        else:
            targets = _choose(rng, cells.ids(lambda d: neuron & with_root), n)
            tags = rng.choice(np.array(vocab["tag"], dtype=object), size=len(targets))
            values = np.round(rng.uniform(0, 1, len(targets)), 3)
            how = "neurons of the sample, tagged at random."
        return _stored(table, spec, {"target_id": targets, "tag": tags, "value": values}), how

    if schema == "simple_reference":
        pool = cells.ids(lambda d: d["cell_type"].eq("5P-ET") & with_root)
        targets = _choose(rng, pool, n)
        return _stored(table, spec, {"target_id": targets}), "5P-ET cells of the sample."

    if schema == "reference_point":
        targets = _choose(rng, cells.ids(lambda d: with_root), n)
        point = _bound_point("pt", cells, targets)
        point["pt_position_x"] = point["pt_position_x"] + rng.integers(-200, 200, len(targets))
        cols = {"target_id": targets, **point}
        return _stored(table, spec, cols), "nuclei of the sample, a point near each."

    # Tables of bound points without a reference: points on cells of the sample.
    if table == "vortex_astrocyte_proofreading_status":
        pool = cells.ids(lambda d: d["cell_type"].eq("astrocyte") & with_root)
    elif table == "bodor_pt_cells":
        pool = cells.ids(lambda d: d["cell_type"].eq("5P-ET") & with_root)
    else:
        pool = cells.ids(lambda d: neuron & with_root)
    owners = rng.choice(pool, size=min(len(pool), max(1, n // 20)), replace=False)
    nucleus_ids = rng.choice(owners, size=n, replace=True) if n > len(owners) else owners[:n]
    cols = _bound_point("pt", cells, np.sort(nucleus_ids))
    k = len(nucleus_ids)
    if "valid_id" in [c["name"] for c in spec["columns"]]:
        cols["valid_id"] = cols["pt_root_id"]
    if table in ("vortex_manual_nodes_of_ranvier", "vortex_manual_myelination_v0"):
        # points along the cell's axon, below its soma
        cols["pt_position_y"] = cols["pt_position_y"] + rng.integers(2_000, 60_000, k)
    for column, values in vocab.items():
        cols[column] = rng.choice(np.array(values, dtype=object), size=k)
    if "tag" in cols and spec["schema_type"] == "bound_tag_bool_valid":
        cols["tag"] = cols["tag"].astype(bool)
    return _stored(table, spec, cols), "points on cells of the sample."


def _manual_column(rng, cells: Cells, n, vocab):
    """Targets and labels of the manual column table: ``n`` neurons of a column, labelled after
    their aibs type as the anatomists' vocabulary names it, a share DISAGREE relabelled and a
    share MANUAL_UNSURE_SHARE left unsure; the named cells with their real manual label; and
    two cells with a proofread axon, on roots of their own, for each label the quickstart's
    pivot drops by name."""
    nuc = cells.nuclei
    type_of = nuc.set_index("id")["cell_type"]
    neuron = nuc["cell_type"].map(CLASS_OF).isin(["excitatory_neuron", "inhibitory_neuron"])
    column = nuc["pt_position_x"].between(170_000, 230_000)
    fixed = {}  # nucleus id -> label
    first_of = nuc[nuc["pt_root_id"].ne(0)].drop_duplicates("pt_root_id").set_index("pt_root_id")
    for root, (_, manual, _, _) in REAL_CELLS_V1300.items():
        if manual is not None:
            fixed[int(first_of.loc[root, "id"])] = manual
    single = nuc["pt_root_id"].ne(0) & ~nuc["pt_root_id"].duplicated(keep=False)
    roots = set(cells.proofread_roots) - set(REAL_CELLS_V1300)
    candidates = nuc[single & neuron & nuc["pt_root_id"].isin(roots)]
    wanted = {  # label -> the class of cell it goes on
        "Unsure E": "excitatory_neuron",
        "WM-P": "excitatory_neuron",
        "Unsure I": "inhibitory_neuron",
        "Unsure": "inhibitory_neuron",
    }
    for label, cls in wanted.items():
        pool = candidates[candidates["cell_type"].map(CLASS_OF).eq(cls)]
        pool = pool[~pool["id"].isin(list(fixed))]
        for nid in rng.choice(pool["id"].to_numpy(), size=2, replace=False):
            fixed[int(nid)] = label
    pool = cells.ids(lambda d: column & neuron & ~d["id"].isin(list(fixed)))
    targets = _choose(rng, pool, n - len(fixed))
    base = np.array([MANUAL_OF.get(t, t) for t in type_of.loc[targets]], dtype=object)
    labels = _relabel(rng, base, [t for t in vocab if t not in wanted])
    unsure = rng.random(len(labels)) < MANUAL_UNSURE_SHARE
    classes = type_of.loc[targets].map(CLASS_OF).to_numpy()
    labels[unsure] = [MANUAL_UNSURE[c] for c in classes[unsure]]
    order = np.argsort(np.concatenate([targets, list(fixed)]), kind="stable")
    all_targets = np.concatenate([targets, list(fixed)]).astype(np.int64)[order]
    all_labels = np.concatenate([labels, list(fixed.values())])[order]
    return all_targets, all_labels


def _areas(rng, cells: Cells):
    """Area tag and distance (micrometres to another area) of every nucleus.

    Synthetic borders across the cortical sheet (x and z; y is depth): V1 on the medial side,
    LM lateral, RL and AL between them, split in z. The borders are placed by rank, so that
    the distinct roots of the cell-type table (one nucleus each: the nuclei of a shared root
    sit side by side and take its area) per area are the real v1300 counts (AREA_ROOTS_V1300),
    the named cells in their real area. The value, like the documented one, is never negative.
    """
    nuc = cells.nuclei
    x_um = nuc["pt_position_x"].to_numpy() * 4 / 1000
    z_um = nuc["pt_position_z"].to_numpy() * 40 / 1000
    named = {root: area for root, (_, _, area, _) in REAL_CELLS_V1300.items()}
    named.update({root: "V1" for root in THREE_ROOTS})
    typed = nuc[nuc["cell_type"].notna() & nuc["pt_root_id"].ne(0)]
    first = typed.drop_duplicates("pt_root_id")
    ranked = first[~first["pt_root_id"].isin(list(named))]
    left = dict(AREA_ROOTS_V1300)
    for area in named.values():
        left[area] -= 1
    by_x = ranked.sort_values(["pt_position_x", "id"])
    n_v1, n_lm = left["V1"], left["LM"]
    v1 = by_x.iloc[:n_v1]
    lm = by_x.iloc[len(by_x) - n_lm :]
    middle = by_x.iloc[n_v1 : len(by_x) - n_lm].sort_values(["pt_position_z", "id"])
    rl, al = middle.iloc[: left["RL"]], middle.iloc[left["RL"] :]
    if len(al) != left["AL"]:
        raise SystemExit(f"area counts: {len(al)} AL roots, {left['AL']} expected")

    def border(low, high, column, scale):
        return (low[column].max() + high[column].min()) / 2 * scale

    v1_border = border(v1, middle, "pt_position_x", 4 / 1000)
    lm_border = border(middle, lm, "pt_position_x", 4 / 1000)
    rl_al_border = border(rl, al, "pt_position_z", 40 / 1000)
    tags = np.where(
        x_um < v1_border,
        "V1",
        np.where(x_um > lm_border, "LM", np.where(z_um < rl_al_border, "RL", "AL")),
    ).astype(object)
    # The ranks decide for every root of the cell-type table, and all its nuclei follow.
    area_of_root = dict(named)
    for area, frame in (("V1", v1), ("LM", lm), ("RL", rl), ("AL", al)):
        area_of_root.update(dict.fromkeys(frame["pt_root_id"].tolist(), area))
    by_root = nuc["pt_root_id"].map(area_of_root)
    tags = np.where(by_root.notna(), by_root.to_numpy(dtype=object), tags)
    to_sides = np.minimum(x_um - v1_border, lm_border - x_um)
    distance = np.select(
        [tags == "V1", tags == "LM"],
        [v1_border - x_um, x_um - lm_border],
        np.minimum(to_sides, np.abs(z_um - rl_al_border)),
    )
    values = np.round(np.abs(distance) + np.abs(rng.normal(0, 5, len(x_um))), 2)
    return tags, values
