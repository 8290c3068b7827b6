"""How much time replay adds, and how big the recordings are.

Per chapter, the cells' execution time in a fresh kernel against the loopback
sample service (record mode into a scratch folder: real HTTP, as live as this machine
allows) and in replay mode from the committed recordings (where they hold none of the
chapter, as until a live recording is made, replay answers from the sample inside the
kernel), the fastest of RUNS runs each way, and the difference. With --calls, the
documented calls (tests/documented_calls.py) are timed instead, in this process.
Targets: replay adds at most 0.5 s per chapter; the committed recordings together at most
10 MB.

    python benchmarks/bench_replay.py              # every chapter
    python benchmarks/bench_replay.py 02_basics    # some chapters
    python benchmarks/bench_replay.py --calls      # the documented calls only
"""

from __future__ import annotations

import argparse
import datetime
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from microns_helpers import modes  # noqa: E402
from microns_helpers.cassette import FolderPersister, recording_files  # noqa: E402

MAX_OVERHEAD_S = 0.5
# Runs of each chapter each way: one run of a chapter varies by half a second here (the
# same chapter was 0.8 s faster in replay in one run, 0.6 s slower in the next), as much
# as the target; the fastest of two is steadier.
RUNS = 2
MAX_TOTAL_MB = 10.0


def cell_seconds(notebook: Path, env_changes: dict) -> float:
    """Sum of the code cells' execution times, in a fresh kernel with the given variables."""
    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICRONS_", "CAVE_"))}
    env.update(env_changes, PYTHONPATH=str(REPO))
    nb = nbformat.read(str(notebook), as_version=4)
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        record_timing=True,
        resources={"metadata": {"path": str(notebook.parent)}},
        # jupyter_client's public setting (8.10+): keys for the kernel, so ipykernel 7 does
        # not warn at each start that it runs over TCP without encryption
        config=Config({"KernelManager": {"transport_encryption": "auto"}}),
    ).execute(env=env)
    total = 0.0
    for cell in nb.cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start = datetime.datetime.fromisoformat(timing["iopub.execute_input"].rstrip("Z"))
            end = datetime.datetime.fromisoformat(timing["shell.execute_reply"].rstrip("Z"))
            total += (end - start).total_seconds()
    return total


def bench_chapters(notebooks: list[Path], recordings: Path) -> list[tuple[str, float, float]]:
    """Per chapter, (name, seconds against the sample service over HTTP, seconds in replay).

    Both sides start cold: a chapter the committed recordings do not hold is answered in
    replay by a sample service inside its kernel, which reads the tables it is asked for
    (a view of the synapses takes a second). So the HTTP side gets a sample service of its
    own, with its own copy of the dataset, for each chapter, not one kept warm by earlier
    chapters: the difference is what replay adds, not what a warm cache saves."""
    from microns_helpers.sample import SampleService
    from microns_helpers.sample.data import SampleData

    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for notebook in notebooks:
            live, replayed = [], []
            for _ in range(RUNS):  # each way in turn; the fastest of each counts
                with SampleService(local_server=modes.PUBLIC_LOCAL, data=SampleData()) as service:
                    live.append(
                        cell_seconds(
                            notebook,
                            {
                                "MICRONS_MODE": "record",
                                "MICRONS_RECORD_TARGET": service.url,
                                "MICRONS_RECORDINGS": scratch,
                                "MICRONS_RECORD_NAME": notebook.stem,
                                "HOME": scratch,
                            },
                        )
                    )
                replay_env = {"MICRONS_MODE": "replay", "MICRONS_RECORDINGS": str(recordings)}
                replayed.append(cell_seconds(notebook, {**replay_env, "HOME": scratch}))
            rows.append((notebook.stem, min(live), min(replayed)))
            print(f"  {notebook.stem}: done", file=sys.stderr, flush=True)
    return rows


def bench_documented_calls() -> tuple[list[tuple[str, float, float]], Path]:
    """The documented calls in this process: against the sample service, then replayed."""
    from tests.documented_calls import record_from_sample_service, run_documented_calls

    folder = Path(tempfile.mkdtemp(prefix="bench-recordings-"))
    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    token = "planted-" + secrets.token_hex(16)
    warm_up = folder / "warm-up"
    warm_up.mkdir()
    record_from_sample_service(warm_up, home, token)  # imports, caches
    start = time.perf_counter()
    record_from_sample_service(folder, home, token)
    live = time.perf_counter() - start
    with mock.patch.dict(os.environ, {"MICRONS_MODE": "replay", "HOME": str(home)}):
        modes.activate("replay", recordings=folder)
        start = time.perf_counter()
        run_documented_calls()
        replayed = time.perf_counter() - start
        modes.activate("live")
    return [("documented calls", live, replayed)], folder


def load_seconds(folder: Path) -> float:
    """What replay pays once per process: reading and indexing every recording."""
    if not recording_files(folder):  # the package ships none until a live recording is made
        return 0.0
    start = time.perf_counter()
    FolderPersister.load_cassette(str(folder), serializer=None)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter names; default: all")
    parser.add_argument("--calls", action="store_true", help="time the documented calls only")
    args = parser.parse_args(argv)

    committed = modes.recordings_dir()
    notebooks = sorted((REPO / "chapters").glob("*.ipynb"))
    if args.chapters:
        notebooks = [n for n in notebooks if n.stem in args.chapters]
    # Chapters need no committed recording: one they lack is answered in replay by a
    # sample service inside the kernel (bench_chapters)
    if args.calls or not notebooks:
        rows, replayed_from = bench_documented_calls()
        title = "the documented calls, in this process"
    else:
        rows = bench_chapters(notebooks, committed)
        replayed_from = committed
        title = "chapters: cell time in a fresh kernel"
    load = load_seconds(replayed_from)
    # The size target is the package's: its committed recordings, not a scratch folder
    files = recording_files(committed)
    total_mb = sum(path.stat().st_size for path in committed.glob("*.json")) / 1e6

    print(f"\nReplay vs live against the sample service ({title})")
    print(f"{'':<24}{'sample service s':>12}{'replay s':>10}{'difference s':>14}")
    for name, live, replayed in rows:
        verdict = "ok" if replayed - live <= MAX_OVERHEAD_S else "OVER TARGET"
        print(f"{name:<24}{live:>12.2f}{replayed:>10.2f}{replayed - live:>+14.2f}  {verdict}")
    print(
        f"\nCommitted recordings: {len(files)} file(s), {total_mb:.2f} MB "
        f"(target <= {MAX_TOTAL_MB:g} MB): {'ok' if total_mb <= MAX_TOTAL_MB else 'OVER TARGET'}"
    )
    print(
        f"Reading and indexing those replayed, once per process: {load:.3f} s "
        f"(target: replay adds <= {MAX_OVERHEAD_S} s per chapter): "
        f"{'ok' if load <= MAX_OVERHEAD_S else 'OVER TARGET'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
