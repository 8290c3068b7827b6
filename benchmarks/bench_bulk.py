"""The whole connectome from the bulk downloads: synapses per cell-type pair, three ways.

The analysis of the bulk chapter: join each synapse's ``pre_pt_root_id`` and
``post_pt_root_id`` to the cell-type table (``aibs_metamodel_celltypes_v661``, merged with
its nuclei) on ``pt_root_id``, after dropping root 0 and every root on more than one row
(merged nuclei), and count the synapses of each (pre cell type, post cell type) pair.

The synapse tables are SYNTHETIC, of 1, 3 and 10 million rows, written into a temporary
folder in exactly the published layout (``synapses_pni_2_v1_filtered_view.csv.gz`` without
a header row, plus ``..._header.csv``; the columns and types of the package's sample
export), with one synthetic cell table of 100,000 cells whose roots two thirds of the
synapse roots miss, as real fragments do. Each size is read by:

- DuckDB on the published CSV layout, as downloaded;
- DuckDB on a Parquet copy made once from the CSV (the conversion is timed apart);
- pandas, ``read_csv`` of the file as a learner first writes it (every column), then two
  merges and a groupby; and pandas reading only the two root columns, for context.

Each run is a fresh interpreter, so its peak memory (``ru_maxrss``) is that method's
alone; its time is the analysis, imports excluded, with the files in the OS page cache.
The three answers are compared at every size. Times are scaled linearly to the real
table's 337,312,429 rows; DuckDB's memory is taken as flat when it stayed so, pandas' (or
a DuckDB peak that grew) is fitted linearly. DuckDB gets the cell table as a table of its
own first: its size is then known exactly, and both joins build their hash tables on the
cells, not on the synapses (with the cells as a sub-query DuckDB guessed them smaller than
the joined synapses, and its memory grew with the rows).

Targets: DuckDB on Parquet at least 5x faster than pandas at 10 million rows; DuckDB's
peak at 10 million rows at most 2x its peak at 1 million; the whole table through DuckDB
on Parquet in under 10 minutes on this machine; and pandas' whole-table peak beyond this
machine's memory (the reason the chapter does not use it).

    python benchmarks/bench_bulk.py [--sizes 1000000 3000000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from table import print_table, row  # noqa: E402

from microns_helpers.bulk import (  # noqa: E402
    SYNAPSE_VIEW,
    dask_names,
    duckdb_columns,
    export_table,
    files_of,
    read_header,
    sample_export,
)

MIN_SPEEDUP = 5  # pandas time / DuckDB-on-Parquet time, at the largest size
MAX_MEMORY_GROWTH = 2.0  # DuckDB peak at the largest size / at the smallest
MAX_MINUTES = 10  # the whole table through DuckDB on Parquet, extrapolated
SIZES = (1_000_000, 3_000_000, 10_000_000)
REAL_ROWS = 337_312_429  # synapses_pni_2_v1_filtered_view, the published table
CELL_TABLE = "aibs_metamodel_celltypes_v661"
CELLS = 100_000
# Synapse roots are drawn from 3x as many segments as there are cells: most miss the table.
SEGMENTS = 3 * CELLS
ROOT_BASE = 864_691_135_000_000_000
ROOT_STEP = 7_919  # spreads the roots over realistic 18-digit ids
# The 16 cell types, weighted as in the package's sample export.
CELL_TYPES = {
    "23P": 999, "4P": 749, "5P-IT": 401, "5P-ET": 110, "5P-NP": 48, "6P-IT": 592,
    "6P-CT": 344, "BC": 168, "BPC": 77, "MC": 124, "NGC": 32, "astrocyte": 362,
    "oligo": 351, "OPC": 75, "microglia": 122, "pericyte": 43,
}  # fmt: skip
INHIBITORY = {"BC", "BPC", "MC", "NGC"}
NONNEURON = {"astrocyte", "oligo", "OPC", "microglia", "pericyte"}
METHODS = ("duckdb-csv", "duckdb-parquet", "pandas", "pandas-two-columns")
LABELS = {
    "duckdb-csv": "DuckDB on the CSV",
    "duckdb-parquet": "DuckDB on Parquet",
    "pandas": "pandas (every column)",
    "pandas-two-columns": "pandas (the two root columns)",
}

# One method in a fresh interpreter: argv[1] is a JSON job; prints one JSON line.
CHILD = r"""
import json, resource, sys, time
job = json.loads(sys.argv[1])
method = job["method"]
if method.startswith("pandas"):
    import pandas as pd
else:
    import duckdb

CSV_SQL = "read_csv('{data}', header=false, compression='gzip', columns={columns})"
CELLS_SQL = '''
CREATE TEMP TABLE cells AS
SELECT pt_root_id, any_value(cell_type) AS cell_type FROM {cells}
WHERE pt_root_id <> 0 GROUP BY pt_root_id HAVING count(*) = 1
'''
QUERY = '''
SELECT pre.cell_type, post.cell_type, count(*)
FROM {synapses} AS s
JOIN cells AS pre ON s.pre_pt_root_id = pre.pt_root_id
JOIN cells AS post ON s.post_pt_root_id = post.pt_root_id
GROUP BY ALL
'''


def duckdb_counts(synapses):
    con = duckdb.connect()
    cells = CSV_SQL.format(data=job["cells"], columns=job["cell_columns"])
    con.execute(CELLS_SQL.format(cells=cells))
    rows = con.sql(QUERY.format(synapses=synapses)).fetchall()
    return [[pre, post, int(n)] for pre, post, n in rows]


def pandas_counts(every_column):
    roots = ["pre_pt_root_id", "post_pt_root_id"]
    synapses = pd.read_csv(job["synapses"], header=None, names=job["names"],
                           dtype=job["dtype"], compression="gzip",
                           usecols=None if every_column else roots)
    cells = pd.read_csv(job["cells"], header=None, names=job["cell_names"],
                        dtype=job["cell_dtype"], compression="gzip",
                        usecols=["pt_root_id", "cell_type"])
    cells = cells.drop_duplicates("pt_root_id", keep=False)
    cells = cells[cells["pt_root_id"] != 0]
    pre = cells.rename(columns={"pt_root_id": roots[0], "cell_type": "pre"})
    post = cells.rename(columns={"pt_root_id": roots[1], "cell_type": "post"})
    pairs = synapses.merge(pre, on=roots[0]).merge(post, on=roots[1])
    counts = pairs.groupby(["pre", "post"]).size()
    return [[pre, post, int(n)] for (pre, post), n in counts.items()]


started = time.perf_counter()
if method == "convert":
    synapses = CSV_SQL.format(data=job["synapses"], columns=job["columns"])
    duckdb.sql(f"COPY (SELECT * FROM {synapses}) TO '{job['parquet']}' (FORMAT parquet)")
    counts = None
elif method == "duckdb-csv":
    counts = duckdb_counts(CSV_SQL.format(data=job["synapses"], columns=job["columns"]))
elif method == "duckdb-parquet":
    counts = duckdb_counts(f"read_parquet('{job['parquet']}')")
else:
    counts = pandas_counts(every_column=method == "pandas")
seconds = time.perf_counter() - started
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
print(json.dumps({"seconds": seconds, "peak_mib": peak_mib, "counts": counts}))
"""


def _machine_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def write_cells(folder: Path, seed: int = 0):
    """The synthetic cell table, through the package's own export_table (100,000 rows)."""
    rng = np.random.default_rng(seed)
    types = np.array(list(CELL_TYPES))
    weights = np.array(list(CELL_TYPES.values()), dtype=float)
    cell_type = rng.choice(types, size=CELLS, p=weights / weights.sum())
    roots = ROOT_BASE + np.arange(CELLS, dtype=np.int64) * ROOT_STEP
    merged = rng.choice(CELLS - 1, size=CELLS // 100, replace=False)
    roots[merged] = roots[merged + 1]  # merged nuclei: two rows, one root; both dropped
    roots[rng.choice(CELLS, size=CELLS // 30, replace=False)] = 0  # nuclei without a root
    system = np.where(
        np.isin(cell_type, list(INHIBITORY)),
        "inhibitory_neuron",
        np.where(np.isin(cell_type, list(NONNEURON)), "nonneuron", "excitatory_neuron"),
    )
    created = pd.Timestamp("2023-12-19 22:38", tz="UTC")
    cells = pd.DataFrame(
        {
            "id": np.arange(1, CELLS + 1),
            "created": created + pd.to_timedelta(rng.integers(0, 600, CELLS), unit="s"),
            "valid": True,
            "target_id": rng.permutation(CELLS) + 1,
            "classification_system": system,
            "cell_type": cell_type,
            "volume": rng.gamma(9.0, 30.0, CELLS),
            "pt_position_x": rng.integers(50_000, 450_000, CELLS),
            "pt_position_y": rng.integers(80_000, 300_000, CELLS),
            "pt_position_z": rng.integers(14_000, 28_000, CELLS),
            "pt_supervoxel_id": rng.integers(7 * 10**16, 10**17, CELLS),
            "pt_root_id": roots,
        }
    )
    files = export_table(cells, folder, CELL_TABLE)
    # The same columns and types as the published table (the sample export's header)
    assert read_header(files.header) == read_header(sample_export()[CELL_TABLE].header)
    return files


def _synapse_select(header, rows: int) -> str:
    """SQL of ``rows`` synthetic synapses, columns in the header's order, all BIGINT."""
    # x, y, z: a cleft centre in voxels; j: bits for the pre/post offsets from it
    inner = (
        "SELECT range AS i, 50000 + hash(range, 1) % 400000 AS x, "
        "80000 + hash(range, 2) % 220000 AS y, 14000 + hash(range, 3) % 14000 AS z, "
        f"hash(range, 4) AS j FROM range({rows})"
    )
    root = f"{ROOT_BASE} + (hash(i, {{}}) % {SEGMENTS}) * {ROOT_STEP}"
    supervoxel = "70000000000000000 + hash(i, {}) % 30000000000000000"
    sql = {
        "id": "i + 1",
        "pre_pt_position_x": "x - 30 + j % 61",
        "pre_pt_position_y": "y - 30 + (j >> 8) % 61",
        "pre_pt_position_z": "z - 2 + (j >> 16) % 5",
        "post_pt_position_x": "x - 30 + (j >> 24) % 61",
        "post_pt_position_y": "y - 30 + (j >> 32) % 61",
        "post_pt_position_z": "z - 2 + (j >> 40) % 5",
        "ctr_pt_position_x": "x",
        "ctr_pt_position_y": "y",
        "ctr_pt_position_z": "z",
        "size": "40 + hash(i, 5) % 8000",
        "pre_pt_supervoxel_id": supervoxel.format(6),
        "pre_pt_root_id": root.format(7),
        "post_pt_supervoxel_id": supervoxel.format(8),
        "post_pt_root_id": root.format(9),
    }
    names = [name for name, _ in header]
    assert sorted(names) == sorted(sql), "the sample synapse header changed"
    columns = ", ".join(f"CAST({sql[name]} AS BIGINT) AS {name}" for name in names)
    return f"SELECT {columns} FROM ({inner})"


def _gzip(source: Path, target: Path) -> None:
    # Level 1: DuckDB's own gzip writer (level 6, one thread) took 14 s per million rows.
    with source.open("rb") as rows, gzip.GzipFile(target, "wb", compresslevel=1, mtime=0) as out:
        shutil.copyfileobj(rows, out, 1 << 22)
    source.unlink()


def write_synapses(root: Path, sizes) -> dict:
    """{rows: folder} of synthetic synapse tables in the published layout."""
    header = read_header(sample_export()[SYNAPSE_VIEW].header)
    assert {kind for _, kind in header} == {"bigint"}
    empty = pd.DataFrame({name: pd.Series(dtype="int64") for name, _ in header})
    tables, plain = {}, []
    for rows in sizes:
        # export_table writes the header file (and an empty data file, replaced below)
        files = export_table(empty, root / f"rows_{rows}", SYNAPSE_VIEW)
        assert read_header(files.header) == header
        csv = files.data.with_suffix("")  # DuckDB writes plain CSV fast, in parallel
        duckdb.sql(f"COPY ({_synapse_select(header, rows)}) TO '{csv}' (HEADER false)")
        tables[rows] = files.data.parent
        plain.append((csv, files.data))
    with ThreadPoolExecutor(max_workers=2) as pool:  # zlib lets go of the GIL
        list(pool.map(lambda pair: _gzip(*pair), sorted(plain, key=lambda p: -p[0].stat().st_size)))
    return tables


def _run(job: dict, cwd: Path) -> dict:
    # Through sh, which forks the child: a child forked by this (large) process inherits
    # its resident size into ru_maxrss (Linux keeps the pre-exec peak), sh's is small.
    done = subprocess.run(
        ["/bin/sh", "-c", '"$@"; exit $?', "sh", sys.executable, "-c", CHILD, json.dumps(job)],
        cwd=cwd,  # DuckDB spills into ./.tmp: keep it in the temporary folder
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{job['method']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(sizes=SIZES) -> dict:
    """Every figure: per size, each method's seconds, peak MiB and counts; the files."""
    sizes = sorted(sizes)
    figures = {"sizes": sizes, "machine_gib": _machine_gib(), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="bench_bulk_") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        write_cells(root / "cells")
        folders = write_synapses(root, sizes)
        figures["generate_seconds"] = time.perf_counter() - started
        # Read back by the published names, as a reader of the downloads would
        cells = files_of(root / "cells", CELL_TABLE)
        cell_header = read_header(cells.header)
        cell_names, cell_dtype = dask_names(cell_header)
        for rows in sizes:
            print(f"measuring: {rows:,} rows ...", file=sys.stderr, flush=True)
            files = files_of(folders[rows], SYNAPSE_VIEW)
            header = read_header(files.header)
            names, dtype = dask_names(header)
            parquet = files.data.parent / f"{SYNAPSE_VIEW}.parquet"
            job = {
                "synapses": str(files.data),
                "parquet": str(parquet),
                "columns": duckdb_columns(header),
                "names": names,
                "dtype": dtype,
                "cells": str(cells.data),
                "cell_columns": duckdb_columns(cell_header),
                "cell_names": cell_names,
                "cell_dtype": cell_dtype,
            }
            run = {"convert": _run({**job, "method": "convert"}, root)}
            for method in METHODS:
                run[method] = _run({**job, "method": method}, root)
            run["csv_mb"] = files.data.stat().st_size / 1e6
            run["parquet_mb"] = parquet.stat().st_size / 1e6
            figures["runs"][rows] = run
    return figures


def _agreement(run: dict):
    """(all the methods agree, pairs, synapses counted) for one size."""
    answers = [{(pre, post): n for pre, post, n in run[m]["counts"]} for m in METHODS]
    return all(a == answers[0] for a in answers), len(answers[0]), sum(answers[0].values())


def extrapolate(figures: dict) -> dict:
    """Whole-table seconds per method (linear from the largest size) and peak MiB.

    Times scale in proportion to the rows from the largest size, fixed costs included (an
    upper bound). A DuckDB peak within the memory target is taken as flat; any other peak
    (pandas, or DuckDB when it grew) follows a straight line through the sizes.
    """
    sizes = figures["sizes"]
    largest = figures["runs"][sizes[-1]]
    scale = REAL_ROWS / sizes[-1]
    whole = {m: {"seconds": largest[m]["seconds"] * scale} for m in (*METHODS, "convert")}
    for method in METHODS:
        peaks = [figures["runs"][rows][method]["peak_mib"] for rows in sizes]
        flat = method.startswith("duckdb") and peaks[-1] / peaks[0] <= MAX_MEMORY_GROWTH
        if flat:  # streams (and spills past its memory_limit): the largest peak measured
            whole[method]["peak_mib"] = max(peaks)
        elif len(sizes) > 1:
            slope, intercept = np.polyfit(sizes, peaks, 1)
            whole[method]["peak_mib"] = intercept + slope * REAL_ROWS
        else:
            whole[method]["peak_mib"] = peaks[0] * REAL_ROWS / sizes[0]
        whole[method]["memory"] = "flat" if flat else "linear"
    return whole


def _peak(figure: dict) -> str:
    mib = figure["peak_mib"]
    size = f"{mib / 1024:.1f} GiB" if mib >= 1024 else f"{mib:.0f} MiB"
    return f"{size} peak ({figure['memory']})"


def rows(figures: dict) -> list:
    """Table rows ``(what, value, target, verdict)``; verdict "" for context figures."""
    sizes = figures["sizes"]
    runs = figures["runs"]
    table = [
        row(
            "synthetic tables (published layout), written",
            f"{figures['generate_seconds']:.0f} s",
            f"{CELLS:,} cells; synapses {', '.join(f'{n:,}' for n in sizes)}",
        )
    ]
    for n in sizes:
        run = runs[n]
        table.append(
            row(
                f"{n:,} rows: files",
                f"{run['csv_mb']:.0f} MB csv.gz, {run['parquet_mb']:.0f} MB Parquet",
            )
        )
        table.append(row(f"{n:,} rows: CSV -> Parquet, once", f"{run['convert']['seconds']:.1f} s"))
        for method in METHODS:
            figure = run[method]
            table.append(
                row(
                    f"{n:,} rows: {LABELS[method]}",
                    f"{figure['seconds']:.1f} s, {figure['peak_mib']:.0f} MiB peak",
                )
            )
        same, pairs, synapses = _agreement(run)
        table.append(
            row(
                f"{n:,} rows: the answers of every method",
                f"{'identical' if same else 'DIFFER'}: {pairs} pairs, {synapses:,} synapses",
                "identical",
                same,
            )
        )
    big, small = runs[sizes[-1]], runs[sizes[0]]
    speedup = big["pandas"]["seconds"] / big["duckdb-parquet"]["seconds"]
    table.append(
        row(
            f"{sizes[-1]:,} rows: pandas / DuckDB on Parquet",
            f"{speedup:.1f}x faster",
            f">= {MIN_SPEEDUP}x",
            speedup >= MIN_SPEEDUP,
        )
    )
    for method in ("duckdb-parquet", "duckdb-csv"):
        growth = big[method]["peak_mib"] / small[method]["peak_mib"]
        table.append(
            row(
                f"{LABELS[method]}: peak at {sizes[-1]:,} / at {sizes[0]:,} rows",
                f"{growth:.2f}x",
                f"<= {MAX_MEMORY_GROWTH:g}x (flat)",
                growth <= MAX_MEMORY_GROWTH if len(sizes) > 1 else None,
            )
        )
    whole = extrapolate(figures)
    real = f"whole table ({REAL_ROWS:,} rows)"
    minutes = whole["duckdb-parquet"]["seconds"] / 60
    table.append(
        row(
            f"{real}: DuckDB on Parquet, extrapolated",
            f"{minutes:.1f} min, {_peak(whole['duckdb-parquet'])}",
            f"< {MAX_MINUTES} min",
            minutes < MAX_MINUTES,
        )
    )
    table.append(
        row(
            f"{real}: DuckDB on the CSV, extrapolated",
            f"{whole['duckdb-csv']['seconds'] / 60:.1f} min, {_peak(whole['duckdb-csv'])}",
        )
    )
    table.append(
        row(f"{real}: CSV -> Parquet, once", f"{whole['convert']['seconds'] / 60:.1f} min")
    )
    pandas_gib = whole["pandas"]["peak_mib"] / 1024
    machine = figures["machine_gib"]
    table.append(
        row(
            f"{real}: pandas (every column), extrapolated",
            f"{whole['pandas']['seconds'] / 60:.1f} min, {_peak(whole['pandas'])}",
            f"peak > {machine:.1f} GiB (this machine)",
            pandas_gib > machine,
        )
    )
    two = whole["pandas-two-columns"]
    table.append(
        row(
            f"{real}: pandas (two root columns), extrapolated",
            f"{two['seconds'] / 60:.1f} min, {_peak(two)}",
        )
    )
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    status = print_table(rows(measure(parser.parse_args(argv).sizes)))
    print("The synapse and cell tables are synthetic, in the published layout.")
    return status


if __name__ == "__main__":
    sys.exit(main())
