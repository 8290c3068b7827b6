"""The "Key points" page: every chapter's key points, collected in book order.

    python tools/key_points.py          # write chapters/key_points.md
    python tools/key_points.py --check  # exit 1 if the page is out of date

Each chapter ends with a "## Key points" section (before "## What's next"); this page
repeats them under the chapter's title, so a learner can review the book in one page.
A test checks the page is up to date.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.setup_cell import chapters  # noqa: E402

PAGE = Path(__file__).resolve().parents[1] / "chapters" / "key_points.md"
INTRO = (
    "# Key points\n\n"
    "What each chapter leaves you with, in the order of the book. Each chapter ends with its\n"
    "own key points; this page puts them together, for review before a session or after it.\n"
)


def key_points(path: Path) -> tuple[str, str]:
    """(chapter title, the markdown of its key points) of one chapter notebook."""
    nb = nbformat.read(str(path), as_version=4)
    title = next(
        line[2:].strip()
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("# ")
    )
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## Key points"):
            body = cell.source[len("## Key points") :].split("\n## ")[0]
            return title, body.strip()
    raise SystemExit(f"{path.name} has no '## Key points' section")


def page() -> str:
    sections = [INTRO]
    numbered = [p for p in chapters() if re.match(r"\d\d_", p.name)]
    for number, path in enumerate(numbered, start=1):
        title, body = key_points(path)
        sections.append(f"## {number}. [{title}]({path.name})\n\n{body}\n")
    return "\n".join(sections)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, change nothing")
    args = parser.parse_args(argv)
    text = page()
    if args.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != text:
            print(f"{PAGE.name} is out of date: run tools/key_points.py")
            return 1
        return 0
    PAGE.write_text(text, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(PAGE.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
