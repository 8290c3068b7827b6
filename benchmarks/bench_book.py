"""How long the site takes to build, and the writer's rebuild.

The site build (``jupyter-book build . -W -n --keep-going --all``, exactly as ``make site``
builds it for the tests) renders the chapters' stored outputs: nbval checks them at every
test run, so no notebook runs here (``_config.yml``). Target: under 90 s from scratch.
Also the author's rebuild, ``make book-fast`` (tools/book_fast.py), on a copy of the
repository that is not a git checkout: a rebuild with nothing changed (no build at all: the
sources' digest is unchanged) under 10 s, and after
a prose-only edit of one chapter under 30 s. Prints one table (also part of ``make bench``);
exits 1 if a target is missed.

    python benchmarks/bench_book.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from table import print_table, row  # noqa: E402

from tests.site_build import build_site, toc_docnames  # noqa: E402

SITE_BUILD_TARGET_SECONDS = 90.0
NO_CHANGE_TARGET_SECONDS = 10.0
PROSE_EDIT_TARGET_SECONDS = 30.0


def toc_notebooks() -> list[Path]:
    """The notebooks of the table of contents, in its order."""
    paths = (REPO / f"{name}.ipynb" for name in toc_docnames(REPO))
    return [path for path in paths if path.exists()]


def fast_rebuilds() -> dict:
    """Seconds of book-fast on a copy of the repository (no .git: the writer's copy need not
    be a checkout): first build, no change, prose edit."""
    import json
    import shutil
    import tempfile

    from tools.book_fast import build

    skip = shutil.ignore_patterns(".git", ".venv*", "_build", "__pycache__", "*.egg-info")
    jupyter_book = str(Path(sys.executable).with_name("jupyter-book"))
    with tempfile.TemporaryDirectory(prefix="book-fast-") as tmp:
        copy = Path(tmp) / "book"
        shutil.copytree(REPO, copy, ignore=skip)
        seconds = {}
        for step in ("first build (fills the cache)", "no change", "prose-only edit"):
            if step == "prose-only edit":
                chapter = copy / "chapters" / "03_querying.ipynb"
                nb = json.loads(chapter.read_text())
                cell = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
                cell["source"] = "".join(cell["source"]) + "\n\nOne more sentence of prose."
                chapter.write_text(json.dumps(nb, indent=1))
            start = time.perf_counter()
            status = build(copy, jupyter_book, quiet=True)
            seconds[step] = (time.perf_counter() - start, status == 0)
        return seconds


def rows() -> list:
    """The table rows: the site build, then book-fast."""
    os.environ.setdefault("MICRONS_MODE", "replay")
    build = build_site(REPO)
    if not build.ok:
        print(build.report(), file=sys.stderr)
    table = [
        row(
            f"site build from scratch ({len(toc_notebooks())} notebooks rendered, none run)",
            f"{build.seconds:.1f} s",
            f"builds, < {SITE_BUILD_TARGET_SECONDS:.0f} s",
            build.ok and build.seconds < SITE_BUILD_TARGET_SECONDS,
        ),
    ]
    targets = {"no change": NO_CHANGE_TARGET_SECONDS, "prose-only edit": PROSE_EDIT_TARGET_SECONDS}
    for step, (seconds, ok) in fast_rebuilds().items():
        what, value = f"make book-fast, {step}", f"{seconds:.1f} s"
        if step in targets:
            met = ok and seconds < targets[step]
            table.append(row(what, value, f"< {targets[step]:.0f} s", met))
        else:
            table.append(row(what, value, "builds", ok))
    return table


if __name__ == "__main__":
    sys.exit(print_table(rows()))
