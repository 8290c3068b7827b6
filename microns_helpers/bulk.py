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
from pathlib import Path

from .errors import InvalidInputError
from .published_layout import SYNAPSE_VIEW, TableFiles, export_table, files_of

__all__ = [  # the layout's names are part of this module's API too
    "SYNAPSE_VIEW",
    "TableFiles",
    "dask_names",
    "duckdb_columns",
    "export_table",
    "files_of",
    "public_urls",
    "read_header",
    "sample_export",
]

#: Where the MICrONs team publishes the files of each version (HTTPS form of the bucket).
PUBLIC_BASE = "https://storage.googleapis.com/mat_dbs/public/minnie65_phase3_v1"

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


def sample_export(version: int = 1300) -> dict[str, TableFiles]:
    """The package's sample data in the published layout: ``{table name: TableFiles}``.

    Synthetic for the most part, like the sample service it was exported from (see
    ``microns_helpers/sample/dataset/README.md``). Written into the system's temporary
    folder on first use (a few seconds), then reused.
    """
    from .sample import load_sample_data
    from .sample.bulk_export import export_folder

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
