"""`make bench`: every speed and size target of the project in one table.

Each row is a figure measured now on this machine, its target, and whether it is met:
site build time beside the raw execution of the same notebooks, nbval time,
connect() time and request count beside the documented raw init, replay overhead
per chapter, the size of the recordings, and the time and size of the learner install
beside the full one (fresh venvs, from pip's cache). The separate scripts in this folder
print more detail for one topic each.

    python benchmarks/run_all.py

Exits 1 when a target is missed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_book  # noqa: E402
import bench_bulk  # noqa: E402
import bench_connect  # noqa: E402
import bench_install  # noqa: E402
import bench_offline  # noqa: E402
import bench_replay  # noqa: E402
import bench_requests  # noqa: E402
from table import print_table, row  # noqa: E402

from microns_helpers import recording  # noqa: E402


def site_rows():
    return bench_book.rows()


def nbval_rows():
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "chapters"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    last = (done.stdout.strip().splitlines() or ["no output"])[-1]
    return [row("nbval, all chapters (strict)", f"{seconds:.1f} s", last, done.returncode == 0)]


def connect_rows(runs=20):
    return bench_connect.rows(bench_connect.connect_results(runs))


def requests_rows():
    return bench_requests.rows()


def bulk_rows():
    return bench_bulk.rows(bench_bulk.measure())


def install_rows():
    return bench_install.rows(bench_install.measure())


def offline_rows():
    return bench_offline.rows(bench_offline.measure())


def replay_rows():
    recordings = recording.recordings_dir()
    notebooks = bench_book.toc_notebooks()
    rows = []
    for name, live, replayed in bench_replay.bench_chapters(notebooks, recordings):
        overhead = replayed - live
        rows.append(
            row(
                f"replay overhead, {name}",
                f"{overhead:+.2f} s",
                f"<= {bench_replay.MAX_OVERHEAD_S} s (stand-in {live:.2f} s)",
                overhead <= bench_replay.MAX_OVERHEAD_S,
            )
        )
    size_mb = sum(p.stat().st_size for p in recordings.glob("*.json")) / 1e6
    rows.append(
        row(
            "recordings on disk",
            f"{size_mb:.2f} MB",
            f"<= {bench_replay.MAX_TOTAL_MB:g} MB",
            size_mb <= bench_replay.MAX_TOTAL_MB,
        )
    )
    return rows


def main() -> int:
    os.environ.setdefault("MICRONS_MODE", "replay")
    rows = []
    # connect() last: it scrubs HOME and the MICRONS_* variables of this process.
    parts = (
        site_rows,
        nbval_rows,
        replay_rows,
        offline_rows,
        requests_rows,
        bulk_rows,
        install_rows,
        connect_rows,
    )
    for part in parts:
        print(f"measuring: {part.__name__[:-5]} ...", file=sys.stderr, flush=True)
        rows += part()
    return print_table(rows)


if __name__ == "__main__":
    sys.exit(main())
