"""The hidden first cell of every chapter: install the helper package where it is missing,
and work offline without a token.

    python tools/setup_cell.py          # write it into every chapter of _toc.yml
    python tools/setup_cell.py --check  # exit 1 if a chapter's first cell is not it

A chapter opened on its own (Colab from the launch button, a fresh Python) has no
``microns_helpers``: the cell installs it from the repository named by ``repository.url``
in ``_config.yml``, the one place the site's buttons come from too. Then
``microns_helpers.choose_mode()`` goes offline, and says so, when no CAVE token is found and
``MICRONS_MODE`` is not set. The cell is tagged ``remove-cell``: hidden on the site, run by
nbval and every reader's kernel.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

REPO = Path(__file__).resolve().parents[1]
TAG = "remove-cell"


def install_url(config: Path = REPO / "_config.yml") -> str:
    """``git+<repository.url>``, what pip installs the helper package from."""
    url = yaml.safe_load(config.read_text(encoding="utf-8"))["repository"]["url"].rstrip("/")
    return f"git+{url}"


def cell_source(url: str | None = None) -> str:
    url = url or install_url()
    return (
        "# Opened on its own (Colab, a fresh Python): install the book's helper package if it\n"
        "# is missing, and work offline when there is no CAVE token. Hidden on the site.\n"
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("microns_helpers") is None:\n'
        f'    %pip install --quiet "microns_helpers[chapters] @ {url}"\n'
        "import microns_helpers\n"
        "\n"
        'mode = microns_helpers.choose_mode()  # "live", "offline" or "replay"'
    )


def chapters() -> list[Path]:
    """The notebooks of ``_toc.yml``, in order."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [REPO / f"{name}.ipynb" for name in files if (REPO / f"{name}.ipynb").exists()]


def first_code_cell(nb):
    return next(cell for cell in nb.cells if cell.cell_type == "code")


def is_current(path: Path) -> bool:
    cell = first_code_cell(nbformat.read(str(path), as_version=4))
    return cell.source == cell_source() and TAG in cell.metadata.get("tags", [])


def write(path: Path) -> bool:
    """Put the cell first (replacing an older one); True if the file changed."""
    nb = nbformat.read(str(path), as_version=4)
    first = first_code_cell(nb)
    if TAG in first.metadata.get("tags", []):
        if first.source == cell_source():
            return False
        first.source = cell_source()
    else:
        cell = nbformat.v4.new_code_cell(cell_source(), id=f"{path.stem.split('_')[0]}-setup")
        cell.metadata["tags"] = [TAG]
        nb.cells.insert(nb.cells.index(first), cell)
    nbformat.write(nb, str(path))
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, change nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = [p.name for p in chapters() if not is_current(p)]
        for name in stale:
            print(f"{name}: the first cell is not the setup cell; run tools/setup_cell.py")
        return 1 if stale else 0
    for path in chapters():
        if write(path):
            print(f"{path.name}: setup cell written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
