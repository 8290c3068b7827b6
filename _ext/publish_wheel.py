"""Sphinx extension of this book: publish the helper package's wheel with the site.

A chapter opened on its own installs ``microns_helpers`` from the repository; where that
fails (no git, the host out of reach) its setup cell tries ``<site_url>/wheels/<wheel>``
next (tools/setup_cell.py). This puts that wheel into the built site, under the name the
cell asks for. The wheel is built from a copy of the files git knows: setuptools reuses a
``build/`` folder left in the tree, with whatever files it once held.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools.setup_cell import WHEELS, wheel_name  # noqa: E402


def build_wheel(out: Path) -> Path:
    """Build the helper package's wheel into ``out``; returns its path."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        for name in listed:
            if (REPO / name).is_file():
                (copy / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, copy / name)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
            cwd=copy,
            capture_output=True,
            text=True,
        )
    wheel = out / wheel_name()
    if done.returncode != 0 or not wheel.exists():
        raise RuntimeError(f"the helper package's wheel did not build:\n{done.stderr[-2000:]}")
    return wheel


def _publish(app, exception):
    if exception is None and app.builder.format == "html":
        build_wheel(Path(app.outdir) / WHEELS)


def setup(app):
    app.connect("build-finished", _publish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
