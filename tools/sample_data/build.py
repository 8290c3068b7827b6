"""Reads the published values in ``../shared/data`` (beside the repository; see its PROVENANCE.md
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

from .annotations import build_annotation_tables, load_specs
from .cells import build_cells
from .common import (
    BASE_VERSION,
    OUT,
    SEED,
    shared,
    to_frame,
    write_json,
    write_rows,
)
from .documented import place_documented_cells
from .lineage import build_lineage
from .live_sizes import build_live_sizes, live_totals
from .metadata import build_metadata
from .proofreading import build_proofreading
from .real_neurons import (
    build_real_neuron_morphology,
    link_to_proofread_cells,
    with_proofread_neuron,
)
from .schemas import SCHEMAS
from .synapses import build_proofread_network, build_synapses, proofread_axon_roots
from .versions import build_versions, tables_of_every_version


def build(sample: Path = OUT) -> dict:
    """Write ``sample/dataset/``; returns row counts."""
    out = sample / "dataset"
    rng = np.random.default_rng(SEED)
    tables_by_version = {
        v: json.loads(shared(f"tables_v{v}.json").read_text())
        for v in (117, 795, 1078, 1181, 1300, 1507, 1718)
    }
    versions = build_versions()
    by_version = {v["version"]: v for v in versions}
    nuclei, annotations = build_cells(rng)
    place_documented_cells(nuclei, annotations)  # the nuclei and types the pages print
    # Synthetic synaptic partners are drawn among the sample's neurons only: a synapse
    # joins two neurons, so a partner typed as a glial cell would teach something false.
    neuron_nuclei = {
        a["target_id"] for a in annotations if a["classification_system"] != "nonneuron"
    }
    neuron_roots = [n["pt_root_id"] for n in nuclei if n["pt_root_id"] and n["id"] in neuron_nuclei]
    synapses, edits_plan = build_synapses(rng, neuron_roots)
    lineage = build_lineage(rng, edits_plan, by_version)
    proofreading = with_proofread_neuron(build_proofreading(rng, nuclei, annotations, by_version))
    t1300 = pd.Timestamp(by_version[BASE_VERSION]["time_stamp"], tz="UTC")
    link_to_proofread_cells(synapses, proofreading, t1300)
    synapses += build_proofread_network(rng, proofreading, nuclei, synapses, t1300)

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
    frames = {
        "nucleus_detection_v0": to_frame(nuclei, "nucleus_detection"),
        "aibs_metamodel_celltypes_v661": to_frame(annotations, "cell_type_reference"),
        "synapses_pni_2": to_frame(synapses, "synapse"),
        "proofreading_status_and_strategy": to_frame(
            proofreading, "proofreading_status_and_strategy"
        ),
    }
    others, notes = build_annotation_tables(
        rng,
        frames["nucleus_detection_v0"],
        frames["aibs_metamodel_celltypes_v661"],
        frames["synapses_pni_2"],
        proofread_axon_roots(proofreading, t1300),
    )
    frames.update(others)
    write_json(out / "table_metadata.json", build_metadata(tables_by_version, load_specs(), notes))
    write_json(out / "schemas.json", SCHEMAS)
    write_json(out / "lineage.json", lineage)
    build_real_neuron_morphology(out)  # numpy and pandas only, unlike --morphology
    for name, df in frames.items():
        write_rows(out / "rows" / f"{name}.parquet", df)
    live = build_live_sizes(
        frames["nucleus_detection_v0"],
        frames["aibs_metamodel_celltypes_v661"],
        frames["proofreading_status_and_strategy"],
        frames["synapses_pni_2"],
        t1300,
    )
    write_rows(out / "live_sizes.parquet", live)
    write_json(out / "live_sizes.json", live_totals())
    counts = {name: len(df) for name, df in frames.items()}
    counts["real_nucleus_rows"] = sum(n["_real"] for n in nuclei)
    counts["real_cell_type_rows"] = sum(a["_real"] for a in annotations)
    counts["root_id_edits"] = len(lineage["edits"])
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/build_sample_data.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write dataset/ into")
    parser.add_argument(
        "--morphology",
        action="store_true",
        help="also rebuild dataset/morphology/ (the skeleton: needs pcg_skel, from "
        "tools/sample_data/requirements-build.txt); without it that folder is left as it is",
    )
    args = parser.parse_args(argv)
    counts = build(args.out)
    if args.morphology:
        from .morphology import build_morphology

        summary = build_morphology(args.out / "dataset")
        counts["skeleton vertices"] = summary["n_vertices"]
    size = sum(
        p.stat().st_size
        for folder in ("dataset",)
        for p in (args.out / folder).rglob("*")
        if p.is_file()
    )
    for name, n in counts.items():
        print(f"{name:40s} {n:>7d}")
    print(f"sample data: {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
