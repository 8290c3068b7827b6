"""The learner install beside the full one: time and size of each, in a fresh venv.

    python benchmarks/bench_install.py

The learner install is ``pip install -r requirements-learner.txt`` (what the README's steps
and Binder run); the full one is what ``make install`` runs (the site, the tests, the
linters). Both install from pip's local cache as a second install does on a laptop, so the
time is pip's and the unpacking's, not the network's. Sizes are the venv folders on disk.

The learner install's figures (packages, size, time) are also written to
``benchmarks/install_figures.json``, which the README quotes: tests/test_learner_install.py
keeps the two equal, so a new measurement means a README edit in the same commit.

    python benchmarks/bench_install.py --learner   # the learner installs only (a minute or two)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIGURES = REPO / "benchmarks" / "install_figures.json"
LEARNER = ("learner install", "learner install with the Neuroglancer extra")
sys.path.insert(0, str(REPO / "benchmarks"))

from table import print_table, row  # noqa: E402

INSTALLS = {
    "learner install": [["-r", "requirements-learner.txt"]],
    "learner install with the Neuroglancer extra": [["-r", "requirements-neuroglancer.txt"]],
    "full install (make install)": [
        ["-r", "requirements.txt", "-r", "requirements-dev.txt"],
        ["--no-deps", "-e", "."],
    ],
}


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def measure_one(steps) -> tuple[float, int, int]:
    """(seconds, bytes, packages) of one install into a fresh venv."""
    with tempfile.TemporaryDirectory() as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        started = time.perf_counter()
        for step in steps:
            subprocess.run(
                [python, "-m", "pip", "install", "--quiet", *step],
                cwd=REPO,
                check=True,
                capture_output=True,
            )
        seconds = time.perf_counter() - started
        frozen = subprocess.run(
            [python, "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True
        ).stdout.split()
        return seconds, folder_bytes(venv), len(frozen)


def measure(names=tuple(INSTALLS)) -> dict:
    figures = {name: measure_one(INSTALLS[name]) for name in names}
    write_figures(figures)
    return figures


def write_figures(figures: dict) -> None:
    """The learner installs' figures, rounded as the README quotes them."""
    found = {
        name: {"packages": packages, "megabytes": round(size / 1e6), "seconds": round(seconds)}
        for name, (seconds, size, packages) in figures.items()
        if name in LEARNER
    }
    text = json.dumps(found, indent=2) + "\n"
    FIGURES.write_text(text, encoding="utf-8")


def rows(figures: dict) -> list[tuple]:
    table = []
    for name, (seconds, size, packages) in figures.items():
        table.append(row(f"{name}, time (pip cache)", f"{seconds:.0f} s"))
        table.append(row(f"{name}, size", f"{size / 1e6:.0f} MB"))
        table.append(row(f"{name}, packages", f"{packages}"))
    if "full install (make install)" in figures:
        learner = figures["learner install"][1]
        full = figures["full install (make install)"][1]
        met = learner < full
        table.append(row("learner install vs full, size", f"{learner / full:.0%}", "< 100%", met))
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", action="store_true", help="the learner installs only")
    names = LEARNER if parser.parse_args().learner else tuple(INSTALLS)
    sys.exit(print_table(rows(measure(names))))
