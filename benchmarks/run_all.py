"""`make bench`: every speed and size target of the project in one table.

Each row is a figure measured now on this machine, its target, and whether it is met:
site build time beside the raw execution of the same notebooks, nbval time,
connect() time and request count beside the documented raw init, replay overhead
per chapter, the size of the recordings, and the time and size of the learner install
beside the full one (fresh venvs, from pip's cache). The separate scripts in this folder
print more detail for one topic each.

    python benchmarks/run_all.py            # every row (make bench)
    python benchmarks/run_all.py --quick    # the rows of QUICK only (make bench-quick, CI)

Each part is a ``*_rows`` function returning rows (``table.row``), listed once in ``PARTS``;
a new figure is a new function and a line there. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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

from microns_helpers import modes  # noqa: E402
from tests.environments import nbval_runs_here  # noqa: E402


def site_rows():
    return bench_book.rows()


def nbval_rows():
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "notebooks"],
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
    recordings = modes.recordings_dir()
    notebooks = bench_book.toc_notebooks()
    rows = []
    for name, live, replayed in bench_replay.bench_chapters(notebooks, recordings):
        overhead = replayed - live
        rows.append(
            row(
                f"replay overhead, {name}",
                f"{overhead:+.2f} s",
                f"<= {bench_replay.MAX_OVERHEAD_S} s (sample service {live:.2f} s)",
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


# Tests that run a chapter notebook again, in another environment, on purpose: the learner
# install on each Python, offline on a caveclient release, a Colab-like fresh Python.
# (nbval's runs in the learner install's kernels are nbval's: NBVAL_IN_THE_LEARNER_INSTALL.)
NBVAL_IN_THE_LEARNER_INSTALL = "test_every_chapter_passes_nbval_on_the_learner_install["
OTHER_ENVIRONMENT_RUNS = re.compile(
    r"test_every_chapter_runs_offline_on_the_learner_install_and_says_little\[|"
    r"test_chapter_runs_offline_with_only_loopback\[|"
    r"test_opened_alone_with_the_wheel_reachable_the_chapter_runs"
)


def executions_rows():
    """How many times ``make test`` executes a chapter notebook, read from what it collects:
    nbval runs each notebook once, in the learner install's kernels where they are built
    (else each notebook collected here); the site build runs every notebook of the table of
    contents again unless ``_config.yml`` turns execution off; some tests run a chapter in
    another environment. Target: the site build adds none (one run per notebook, nbval's,
    besides the deliberate runs in other environments)."""
    import yaml

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "--every-family",
            "-p",
            "no:xdist",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    nbval = len({line.split("::")[0] for line in ids if ".ipynb::" in line})
    if nbval_runs_here():  # else they are skipped, and nbval runs each notebook collected
        nbval += sum(NBVAL_IN_THE_LEARNER_INSTALL in line for line in ids)
    others = sum(bool(OTHER_ENVIRONMENT_RUNS.search(line)) for line in ids)
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    executes = str(config.get("execute", {}).get("execute_notebooks", "auto")) != "off"
    site = len(bench_book.toc_notebooks()) if executes else 0
    total = nbval + site + others
    return [
        row(
            "notebook executions per make test",
            f"{total}",
            f"nbval {nbval}, site build {site}, other environments {others}",
            done.returncode == 0 and nbval > 0 and site == 0,
        )
    ]


def environments_rows():
    """The environments ``make test`` needs beside .venv (tools/env_cache.py): how many the
    cache holds for what they must contain now, so a run reuses them instead of building.
    Context, no target: a fresh machine has none until its first ``make test``."""
    from tools import caveclient_envs, env_cache, learner_envs

    wanted = [
        (f"caveclient-{r}", sys.executable, "\n".join(caveclient_envs.requirements(r)))
        for r in caveclient_envs.CI_RELEASES
    ]
    for python in learner_envs.SUPPORTED:
        interpreter = learner_envs.find_interpreter(python)
        if interpreter is None:
            continue
        extras = [False, True] if python == learner_envs.WITH_EXTRA else [False]
        for extra in extras:
            name = f"learner-{learner_envs.install_name(python, extra)}"
            wanted.append((name, str(interpreter), learner_envs.requirements_text(extra)))
    root = env_cache.cache_root()
    ready = [
        name
        for name, python, text in wanted
        if env_cache.is_complete(root / f"{name}-{env_cache.env_key(python, text)}")
    ]
    return [
        row(
            "test environments already built (cache)",
            f"{len(ready)} of {len(wanted)}",
            "reused by make test; the others it builds (tools/env_cache.py)",
        )
    ]


# Every part, in the order they run; connect() last: it scrubs HOME and the MICRONS_*
# variables of this process.
PARTS = (
    site_rows,
    executions_rows,
    environments_rows,
    nbval_rows,
    replay_rows,
    offline_rows,
    requests_rows,
    bulk_rows,
    install_rows,
    connect_rows,
)
# --quick (CI, every push): the parts of a minute or two each; the others install
# environments, run every chapter again or write millions of rows.
QUICK = (site_rows, executions_rows, environments_rows, offline_rows, requests_rows, connect_rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the quick parts (CI)")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("MICRONS_MODE", "replay")
    rows = []
    for part in PARTS:
        if args.quick and part not in QUICK:
            continue
        print(f"measuring: {part.__name__[:-5]} ...", file=sys.stderr, flush=True)
        rows += part()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return print_table(rows)


if __name__ == "__main__":
    sys.exit(main())
