"""Offline mode: how fast an unrecorded query is answered, and how fast a session starts.

- An unrecorded, chapter-sized query (the Martinotti cells of the cell-type table, joined
  to their nuclei: the Filtering chapter's query with another cell type), answered by the
  in-process sample service; beside it, a recorded query answered by replay.
- ``import microns_helpers`` plus ``connect()``, in offline and in replay mode, each in a
  fresh interpreter: the whole cold start, caveclient's own import alone, and what is left,
  which is this package's share.

Targets: the unrecorded query under 100 ms (median); import + connect() under 1 s once
caveclient is imported. caveclient's import is reported beside it: it is not ours to cut.

    python benchmarks/bench_offline.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from table import print_table, row  # noqa: E402

MAX_QUERY_MS = 100
MAX_START_S = 1.0
RUNS = 7

START = """
import json, sys, time
t0 = time.perf_counter()
import caveclient
t1 = time.perf_counter()
import microns_helpers
client = microns_helpers.connect()
t2 = time.perf_counter()
print(json.dumps({"caveclient": t1 - t0, "ours": t2 - t1, "total": t2 - t0}))
"""


def _env(mode: str, home: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICRONS_", "CAVE_"))}
    env.update(MICRONS_MODE=mode, HOME=home, PYTHONPATH=str(REPO))
    return env


def start_seconds(mode: str, runs: int = RUNS) -> dict:
    """{"caveclient" | "ours" | "total": [seconds per run]} of fresh interpreters."""
    import tempfile

    figures = {"caveclient": [], "ours": [], "total": []}
    with tempfile.TemporaryDirectory() as home:
        for _ in range(runs):
            done = subprocess.run(
                [sys.executable, "-c", START],
                env=_env(mode, home),
                capture_output=True,
                text=True,
                check=True,
            )
            for key, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
                figures[key].append(value)
    return figures


def query_seconds(runs: int = 15) -> dict:
    """Seconds of an unrecorded query offline, and of a recorded one in replay."""
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        os.environ.update(HOME=home, MICRONS_MODE="offline")
        from microns_helpers import connect, recording

        timings = {}
        for mode, cell_type in (("offline", "MC"), ("replay", "BC")):
            with recording.using(mode):
                client = connect(mode=mode)
                cell_types = client.materialize.tables.aibs_metamodel_celltypes_v661
                cell_types(cell_type=cell_type).query()  # the sample service starts here
                seconds = []
                for _ in range(runs):
                    started = time.perf_counter()
                    cell_types(cell_type=cell_type).query()
                    seconds.append(time.perf_counter() - started)
            timings["unrecorded query" if mode == "offline" else "recorded query"] = seconds
        return timings


def measure() -> dict:
    figures = query_seconds()
    for mode in ("offline", "replay"):
        figures[f"{mode} start"] = start_seconds(mode)
    return figures


def rows(figures: dict) -> list[tuple]:
    """The table rows of ``measure()``'s figures, each against its target."""
    query = statistics.median(figures["unrecorded query"]) * 1000
    table = [
        row(
            "offline: unrecorded query (chapter-sized), median",
            f"{query:.0f} ms",
            f"< {MAX_QUERY_MS} ms",
            query < MAX_QUERY_MS,
        ),
        row(
            "replay: the same query recorded, median",
            f"{statistics.median(figures['recorded query']) * 1000:.0f} ms",
        ),
    ]
    for mode in ("offline", "replay"):
        start = {key: statistics.median(v) for key, v in figures[f"{mode} start"].items()}
        table.append(
            row(
                f"{mode}: import microns_helpers + connect(), caveclient imported",
                f"{start['ours']:.2f} s",
                f"< {MAX_START_S} s",
                start["ours"] < MAX_START_S,
            )
        )
        table.append(
            row(
                f"{mode}: the same from a cold start, importing caveclient too",
                f"{start['total']:.2f} s",
                f"(caveclient's own import: {start['caveclient']:.2f} s)",
            )
        )
    return table


def main() -> int:
    return print_table(rows(measure()))


if __name__ == "__main__":
    sys.exit(main())
