"""The sample in the published bulk-download layout, made when it is first asked for.

The MICrONs team publishes whole tables as header-less ``.csv.gz`` files with a ``*_header.csv``
beside each (:mod:`microns_helpers.published_layout`). The sample's export of itself in that
layout would double the package's size if it were shipped, so it is written from the shipped
dataset on first use, into a folder of the system's temporary directory named after a digest
of the rows it came from: the same dataset always gives the same files, byte for byte, and a
changed dataset a new folder. Writing is atomic (a staging folder renamed into place), so
two processes asking at once both get a whole export.

Example::

    folder = export_folder(1300)   # .../microns-helpers-export-<digest>/v1300
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ..published_layout import SYNAPSE_VIEW, export_table
from .data import DATASET_DIR, SELECT_ORDER, load_sample_data

# The tables the export holds, as the bulk chapter reads them.
BULK_TABLES = (
    "nucleus_detection_v0",
    "aibs_metamodel_celltypes_v661",
    "proofreading_status_and_strategy",
    "synapses_pni_2",
)


def _digest() -> str:
    sha = hashlib.sha256()
    for table in BULK_TABLES:
        path = DATASET_DIR / "rows" / f"{table}.parquet"
        sha.update(table.encode())
        sha.update(path.read_bytes() if path.exists() else b"")
    sha.update((DATASET_DIR / "lineage.json").read_bytes())
    return sha.hexdigest()[:16]


def export_folder(version: int = 1300) -> Path:
    """The folder holding the sample's export at ``version``, written if it is not there."""
    root = Path(tempfile.gettempdir()) / f"microns-helpers-export-{_digest()}"
    folder = root / f"v{int(version)}"
    if folder.is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".v{int(version)}-", dir=root))
    try:
        write_export(staging, version)
        try:
            os.rename(staging, folder)
        except OSError:  # another process got there first: its export is the same
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def write_export(folder: Path, version: int = 1300) -> dict[str, int]:
    """Write the sample at ``version`` in the published layout into ``folder``; row counts."""
    data = load_sample_data()
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
