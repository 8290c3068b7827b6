"""The MICrONs bulk downloads: whole tables as compressed CSV files, and how to read them.

For questions about the whole connectome, the MICrONs team publishes every table of a
version as static files, under ``gs://mat_dbs/public/minnie65_phase3_v1/v{N}/``
(``https://storage.googleapis.com/mat_dbs/public/minnie65_phase3_v1/v{N}/``):

- ``{table}_merged.csv.gz``: the rows, without a header row;
- ``{table}_merged_header.csv``: one line per column, ``name,type`` (Postgres types);
- the synapses as ``synapses_pni_2_v1_filtered_view.csv.gz`` with
  ``synapses_pni_2_v1_filtered_view_header.csv`` (about 20 GB for 337 million rows).

:func:`sample_export` is an export of the package's sample data in exactly that layout
(written on first use, see :mod:`microns_helpers.sample.bulk_export`), so the bulk chapter
runs offline; :func:`read_header`, :func:`duckdb_columns` and
:func:`dask_names` turn a header file into what DuckDB, pandas or Dask need to read the
rows. :func:`export_table` writes a frame in the layout (the sample export, the benchmark).

Example::

    files = sample_export()
    header = read_header(files["synapses_pni_2_v1_filtered_view"].header)
    duckdb.sql(f"SELECT count(*) FROM read_csv('{files[...].data}', header=false, "
               f"columns={duckdb_columns(header)})")
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InvalidInputError

#: Where the MICrONs team publishes the files of each version (HTTPS form of the bucket).
PUBLIC_BASE = "https://storage.googleapis.com/mat_dbs/public/minnie65_phase3_v1"
SYNAPSE_VIEW = "synapses_pni_2_v1_filtered_view"

# pandas dtype kind -> the Postgres type names the published header files use
_POSTGRES = {"i": "bigint", "u": "bigint", "f": "double precision", "b": "boolean"}
# Postgres type -> DuckDB type, and -> a pandas dtype for reading with pandas or Dask
_DUCKDB = {
    "bigint": "BIGINT",
    "integer": "INTEGER",
    "double precision": "DOUBLE",
    "real": "FLOAT",
    "boolean": "BOOLEAN",
    "character varying": "VARCHAR",
    "text": "VARCHAR",
    "timestamp with time zone": "TIMESTAMPTZ",
    "timestamp without time zone": "TIMESTAMP",
}
_PANDAS = {
    "bigint": "int64",
    "integer": "int64",
    "double precision": "float64",
    "real": "float64",
    "boolean": "bool",
    "character varying": "object",
    "text": "object",
}


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


def public_urls(version: int, name: str) -> TableFiles:
    """Where table ``name`` of ``version`` is published (URLs; nothing is downloaded)."""
    stem = name if name == SYNAPSE_VIEW else f"{name}_merged"
    base = f"{PUBLIC_BASE}/v{int(version)}"
    return TableFiles(f"{base}/{stem}.csv.gz", f"{base}/{stem}_header.csv")


def read_header(path) -> list[tuple[str, str]]:
    """``[(column, Postgres type), ...]`` from a published ``*_header.csv``."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(
            f"There is no header file {path}. Each published table comes as two files, "
            "the rows (*.csv.gz) and *_header.csv: download both into the same folder."
        )
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows or any(len(row) < 2 for row in rows):
        raise InvalidInputError(
            f"{path.name} is not a published header file: each line should be "
            "'column,type' (for example 'id,bigint')."
        )
    return [(row[0].strip(), row[1].strip()) for row in rows]


def duckdb_columns(header) -> dict:
    """The ``columns=`` argument of DuckDB's ``read_csv`` for these header rows."""
    return {name: _DUCKDB.get(kind, "VARCHAR") for name, kind in header}


def dask_names(header) -> tuple[list[str], dict]:
    """``(names, dtype)`` for ``pandas.read_csv`` or ``dask.dataframe.read_csv``."""
    names = [name for name, _ in header]
    dtype = {name: _PANDAS[kind] for name, kind in header if kind in _PANDAS}
    return names, dtype


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


def sample_export(version: int = 1300) -> dict[str, TableFiles]:
    """The package's sample data in the published layout: ``{table name: TableFiles}``.

    Synthetic for the most part, like the sample service it was exported from (see
    ``microns_helpers/sample/dataset/README.md``). Written into the system's temporary
    folder on first use (a few seconds), then reused.
    """
    from .sample.bulk_export import export_folder
    from .sample.engine import load_sample_data

    if int(version) not in load_sample_data().versions:
        raise InvalidInputError(
            f"The sample has no version {version}: its export is made at one of "
            f"{', '.join(str(v) for v in sorted(load_sample_data().versions))} (1300 as in "
            "the bulk chapter)."
        )
    folder = export_folder(version)
    found = {}
    for header in sorted(folder.glob("*_header.csv")):
        stem = header.name[: -len("_header.csv")]
        name = stem[: -len("_merged")] if stem.endswith("_merged") else stem
        found[name] = files_of(folder, name)
    return found
