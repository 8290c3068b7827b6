"""The layout of the MICrONs bulk downloads, and writing a table in it.

Each published table is two files: the rows as a header-less ``{table}_merged.csv.gz`` and
``{table}_merged_header.csv`` with one ``name,type`` line per column (Postgres types); the
synapses are ``synapses_pni_2_v1_filtered_view``. :mod:`microns_helpers.bulk` reads this
layout (and re-exports these names); :mod:`microns_helpers.sample.bulk_export` writes the
sample in it. Both import this module, so neither imports the other.

Example::

    files = export_table(df, folder, "nucleus_detection_v0")   # files.data, files.header
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InvalidInputError

SYNAPSE_VIEW = "synapses_pni_2_v1_filtered_view"

# pandas dtype kind -> the Postgres type names the published header files use
_POSTGRES = {"i": "bigint", "u": "bigint", "f": "double precision", "b": "boolean"}


@dataclass(frozen=True)
class TableFiles:
    """The two files of one published table: its rows and its header."""

    data: Path
    header: Path


def files_of(folder, name: str) -> TableFiles:
    """The data and header paths of table ``name`` in ``folder`` (published names)."""
    folder = Path(folder)
    stem = name if name == SYNAPSE_VIEW else f"{name}_merged"
    return TableFiles(folder / f"{stem}.csv.gz", folder / f"{stem}_header.csv")


def export_table(df: pd.DataFrame, folder, name: str) -> TableFiles:
    """Write ``df`` as published table ``name``: header-less ``.csv.gz`` plus its header.

    Positions must be split into ``*_x``, ``*_y``, ``*_z`` columns, as in the published
    files. Returns the two paths.
    """
    files = files_of(folder, name)
    files.data.parent.mkdir(parents=True, exist_ok=True)
    header = [(column, _postgres_type(df[column])) for column in df.columns]
    with files.header.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(header)
    # mtime=0: the same rows give the same bytes (a reproducible package file)
    with gzip.GzipFile(files.data, "wb", mtime=0) as raw:
        text = df.to_csv(header=False, index=False, lineterminator="\n")
        raw.write(text.encode("utf-8"))
    return files


def _postgres_type(series: pd.Series) -> str:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return "timestamp with time zone"
    kind = np.dtype(series.dtype).kind if not isinstance(series.dtype, pd.CategoricalDtype) else "O"
    if kind == "O" and len(series.dropna()) and isinstance(series.dropna().iloc[0], list):
        raise InvalidInputError(
            f"Column {series.name!r} holds lists: split positions into x, y, z columns "
            "first (query with split_positions=True), as the published files do."
        )
    return _POSTGRES.get(kind, "character varying")
