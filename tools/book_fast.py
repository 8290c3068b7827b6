"""``make book-fast``: rebuild the site in seconds while writing.

The site renders the chapters' stored outputs (``_config.yml``: ``execute_notebooks:
"off"``; nbval checks them at every test run), so no notebook runs here. ``make site``
starts from scratch (``--all``, every page read again and every warning shown); this build
is Sphinx's incremental one: only the pages that changed since the last build are read
again, so a prose edit takes seconds, and when no file the site is made of changed since the
last successful build (a digest in ``_build/``), nothing runs at all. It needs no git: it
builds in any copy of the book. After changing a cell's code, re-record the chapter (``make
record ARGS=...``) to see its new output.

    python tools/book_fast.py        # what make book-fast runs
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What the site is made of: its pages and configuration, the theme's extras, the Sphinx
# extensions, and the package (the published wheel).
SOURCES = ("*.md", "*.yml", "*.ipynb", "chapters", "_static", "_ext", "microns_helpers")
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints"}


def sources_digest(repo: Path = REPO) -> str:
    """A digest of every file the site is built from (names and bytes)."""
    files = set()
    for pattern in SOURCES:
        for path in repo.glob(pattern):
            files.update([path] if path.is_file() else (p for p in path.rglob("*") if p.is_file()))
    digest = hashlib.sha256()
    for path in sorted(files):
        if SKIP_PARTS.isdisjoint(path.parts) and path.suffix != ".pyc":
            digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build(repo: Path = REPO, jupyter_book: str | None = None, *, quiet: bool = False) -> int:
    """Build the site incrementally; ``quiet`` shows jupyter-book's log only if it fails."""
    stamp = repo / "_build" / ".book-fast-sources"
    digest = sources_digest(repo)
    if stamp.exists() and stamp.read_text() == digest and (repo / "_build" / "html").is_dir():
        print("book-fast: nothing changed since the last build (_build/html is current)")
        return 0
    command = jupyter_book or str(Path(sys.executable).with_name("jupyter-book"))
    done = subprocess.run(
        [command, "build", str(repo), "-W", "-n", "--keep-going"],
        cwd=repo,
        capture_output=quiet,
        text=True,
    )
    if done.returncode == 0:
        stamp.write_text(digest)
    elif quiet:
        print(done.stdout + done.stderr, file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(build())
