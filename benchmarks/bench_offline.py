"""Offline mode: how fast an unrecorded query is answered, and how fast a session starts.

- An unrecorded, chapter-sized query (the Martinotti cells of the cell-type table, joined
  to their nuclei: the Filtering chapter's query with another cell type), answered by the
  in-process sample service; beside it, a recorded query answered by replay.
- ``import microns_helpers`` plus ``connect()``, in offline and in replay mode, each in a
  fresh interpreter: the whole cold start, caveclient's own import alone, and what is left,
  which is this package's share. The interpreter is ``.venv``'s, which leaves out
  rfc3987-syntax (requirements-dev-excluded.txt): in a learner install, where JupyterLab
  brings it, caveclient's import (of jsonschema) takes about 1 s more.

- A full-size cell table (``nucleus_detection_v0``, 144,120 rows; the cell-type table,
  94,014), unrecorded, with split positions: what the sample adds to a learner's query.
  Beside it the default call, where caveclient 8 itself joins the split x/y/z columns into
  lists on the client, as it does live (its share is reported, not ours to cut).
- The skeleton of the real neuron and its level-2 graph, offline.
- The package's data: the sample dataset, the recordings, and the wheel built from them.

Targets: the unrecorded query under 100 ms (median); a full-size table under 300 ms; import
+ connect() under 1 s once caveclient is imported; package data under 40 MB. caveclient's
import is reported beside it: it is not ours to cut.

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
MAX_FULL_TABLE_MS = 300
MAX_PACKAGE_DATA_MB = 40
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
        from microns_helpers import connect, modes

        timings = {}
        for mode, cell_type in (("offline", "MC"), ("replay", "BC")):
            with modes.using(mode):
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


def full_size_seconds(runs: int = 7) -> dict:
    """Seconds of full-size table queries and of the skeleton request, offline (no
    recordings: a temporary empty folder, so the sample answers everything)."""
    import tempfile

    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as empty:
        os.environ.update(HOME=home, MICRONS_MODE="offline")
        from microns_helpers import connect, modes

        with modes.using("offline", empty):
            client = connect(mode="offline")
            calls = {
                "nucleus table, split positions": lambda: client.materialize.query_table(
                    "nucleus_detection_v0", split_positions=True
                ),
                "cell-type table, split positions": lambda: client.materialize.query_table(
                    "aibs_metamodel_celltypes_v661", split_positions=True
                ),
                "nucleus table, default call": lambda: client.materialize.query_table(
                    "nucleus_detection_v0"
                ),
                "skeleton of the real neuron": lambda: client.skeleton.get_skeleton(
                    864691136040432126, output_format="dict"
                ),
                "its level-2 graph": lambda: client.chunkedgraph.level2_chunk_graph(
                    864691136040432126
                ),
            }
            timings = {}
            for name, call in calls.items():
                call()  # the sample starts, tables are read
                seconds = []
                for _ in range(runs):
                    started = time.perf_counter()
                    call()
                    seconds.append(time.perf_counter() - started)
                timings[name] = seconds
    return timings


def package_data_bytes() -> dict:
    """Bytes of the sample dataset, the recordings, and the wheel built from the tree."""
    import tempfile

    folder = REPO / "microns_helpers"
    sizes = {
        name: sum(p.stat().st_size for p in (folder / sub).rglob("*") if p.is_file())
        for name, sub in (("sample dataset", "sample/dataset"), ("recordings", "recordings"))
    }
    from tools.setup_cell import build_wheel

    with tempfile.TemporaryDirectory() as tmp:
        sizes["wheel"] = build_wheel(Path(tmp)).stat().st_size
    return sizes


def measure() -> dict:
    figures = query_seconds()
    figures["full size"] = full_size_seconds()
    figures["package data"] = package_data_bytes()
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
    for name, seconds in figures["full size"].items():
        ms = statistics.median(seconds) * 1000
        if "split positions" in name:
            table.append(
                row(
                    f"offline: {name}, median",
                    f"{ms:.0f} ms",
                    f"< {MAX_FULL_TABLE_MS} ms",
                    ms < MAX_FULL_TABLE_MS,
                )
            )
        elif "default" in name:
            table.append(
                row(
                    f"offline: {name}, median",
                    f"{ms:.0f} ms",
                    "(caveclient joins x/y/z into lists itself, live too)",
                )
            )
        else:
            table.append(row(f"offline: {name}, median", f"{ms:.0f} ms"))
    data = figures["package data"]
    total = (data["sample dataset"] + data["recordings"]) / 1e6
    table.append(
        row(
            "package data: sample dataset + recordings",
            f"{data['sample dataset'] / 1e6:.1f} + {data['recordings'] / 1e6:.1f} MB",
            f"< {MAX_PACKAGE_DATA_MB} MB",
            total < MAX_PACKAGE_DATA_MB,
        )
    )
    table.append(row("package data: the wheel", f"{data['wheel'] / 1e6:.1f} MB"))
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
                f"(caveclient's own import: {start['caveclient']:.2f} s in .venv)",
            )
        )
    return table


def main() -> int:
    return print_table(rows(measure()))


if __name__ == "__main__":
    sys.exit(main())
