"""Sphinx extension of this book: publish the helper package's wheel with the site.

A chapter opened on its own installs ``microns_helpers`` from the repository; where that
fails (no git, the host out of reach) its setup cell tries ``<site_url>/wheels/<wheel>``
next (tools/setup_cell.py). This puts that wheel into the built site, under the name the
cell asks for: the run's wheel (``tools.setup_cell.run_wheel``, the one the learner
environments install too), built from the package's files, not from git, so a copy of the
book builds too (``make book-fast``); an incremental build whose package files did not
change keeps the wheel it has (a digest beside Sphinx's doctrees).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools.setup_cell import WHEELS, run_wheel, wheel_name, wheel_sources_digest  # noqa: E402


def _publish(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir) / WHEELS
    stamp = Path(app.doctreedir) / "published-wheel.sha256"
    digest = wheel_sources_digest(REPO)
    if (out / wheel_name()).exists() and stamp.exists() and stamp.read_text() == digest:
        return
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(run_wheel(REPO), out / wheel_name())
    stamp.write_text(digest)


def setup(app):
    app.connect("build-finished", _publish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
