"""The sample at a version in the published bulk-download layout (``sample/bulk/``)."""

from __future__ import annotations

import shutil
from pathlib import Path

from microns_helpers.sample import SELECT_ORDER

from .common import (
    BASE_VERSION,
)

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
