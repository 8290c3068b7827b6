"""How long the site takes to build, beside the time its notebooks take to run.

The site build (``jupyter-book build . -W -n --keep-going --all``, replay mode, exactly as the
tests build it) executes every notebook of ``_toc.yml`` and then renders the pages. Running
the same notebooks one after the other with nbclient, in replay mode too, gives the floor the
build cannot go below; the difference is what Sphinx and the rendering add.

Targets (issue 4): the whole site builds in under 60 s on a 2-core machine, and within 1.5x
of the raw execution time. Prints one table; exits 1 if the build fails or misses a target.

    python benchmarks/bench_book.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.site_build import build_site, toc_docnames  # noqa: E402

BUILD_TARGET_SECONDS = 60.0
RATIO_TARGET = 1.5


def toc_notebooks() -> list[Path]:
    """The notebooks of the table of contents, in its order."""
    paths = (REPO / f"{name}.ipynb" for name in toc_docnames(REPO))
    return [path for path in paths if path.exists()]


def execute_seconds(notebook: Path, timeout: int = 120) -> float:
    """Wall time to run ``notebook`` top to bottom in a fresh kernel, in replay mode."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(str(notebook), as_version=4)
    env = {**os.environ, "MICRONS_MODE": "replay"}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    start = time.perf_counter()
    client.execute(env=env)
    return time.perf_counter() - start


def main() -> int:
    rows = []
    raw_total = 0.0
    for notebook in toc_notebooks():
        seconds = execute_seconds(notebook)
        raw_total += seconds
        rows.append((f"  run {notebook.name} (nbclient, replay)", f"{seconds:.1f} s", ""))
    rows.append(("raw execution, all notebooks", f"{raw_total:.1f} s", "sum of the above"))

    os.environ.setdefault("MICRONS_MODE", "replay")
    build = build_site(REPO)
    ratio = build.seconds / raw_total if raw_total else float("inf")
    fast_enough = build.seconds < BUILD_TARGET_SECONDS
    close_enough = ratio <= RATIO_TARGET
    rows.append(
        (
            "site build (jupyter-book, replay)",
            f"{build.seconds:.1f} s",
            ("ok" if build.ok else "FAILED")
            + f"; target < {BUILD_TARGET_SECONDS:.0f} s: "
            + ("met" if fast_enough else "MISSED"),
        )
    )
    rows.append(
        (
            "build / raw execution",
            f"{ratio:.2f}x",
            f"target <= {RATIO_TARGET}x: " + ("met" if close_enough else "MISSED"),
        )
    )
    width = max(len(row[0]) for row in rows)
    for what, value, note in rows:
        print(f"{what:<{width}}  {value:>8}  {note}")
    if not build.ok:
        print(build.report(), file=sys.stderr)
    return 0 if build.ok and fast_enough and close_enough else 1


if __name__ == "__main__":
    sys.exit(main())
