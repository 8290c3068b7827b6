"""Sphinx extension of this book: publish the helper package's wheel with the site.

A chapter opened on its own installs ``microns_helpers`` from the repository; where that
fails (no git, the host out of reach) its setup cell tries ``<site_url>/wheels/<wheel>``
next (tools/setup_cell.py). This puts that wheel into the built site, under the name the
cell asks for (``tools.setup_cell.build_wheel``).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools.setup_cell import WHEELS, build_wheel  # noqa: E402


def _publish(app, exception):
    if exception is None and app.builder.format == "html":
        build_wheel(Path(app.outdir) / WHEELS)


def setup(app):
    app.connect("build-finished", _publish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
