"""``make book-fast``: rebuild the site in seconds while writing.

The site renders the chapters' stored outputs (``_config.yml``: ``execute_notebooks: "off"``;
nbval checks them at every test run), so no notebook runs here. ``make book`` starts from
scratch (``--all``, every page read again and every warning shown); this build is Sphinx's
incremental one: only the pages that changed since the last build are read again, so a
no-change rebuild or a prose edit takes seconds. It needs no git: it builds in any copy of
the book. After changing a cell's code, re-record the chapter (``make record ARGS=...``) to
see its new output.

    python tools/book_fast.py        # what make book-fast runs
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build(repo: Path = REPO, jupyter_book: str | None = None, *, quiet: bool = False) -> int:
    """Build the site incrementally; ``quiet`` shows jupyter-book's log only if it fails."""
    command = jupyter_book or str(Path(sys.executable).with_name("jupyter-book"))
    done = subprocess.run(
        [command, "build", str(repo), "-W", "-n", "--keep-going"],
        cwd=repo,
        capture_output=quiet,
        text=True,
    )
    if done.returncode != 0 and quiet:
        print(done.stdout + done.stderr, file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(build())
