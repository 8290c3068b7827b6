"""No chapter asks a question that live would cut at the row cap (issue 24, item 1).

The stored outputs of every notebook are made by the recorder from the sample service,
which knows how many rows live holds for each synapse query and sends the server's row-cap
``Warning`` wherever live would cut the answer (``tests/test_live_sizes.py``); caveclient
prints it on stderr, so it lands in the stored outputs, and nbval checks that those match a
fresh run. A chapter query that live would cap therefore shows here as that warning.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from microns_helpers.sample.engine import MAX_LIMIT, limit_warning

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "chapters").glob("*.ipynb"))
CAP_WARNING = limit_warning(MAX_LIMIT)


def capped_cells(path: Path) -> list[str]:
    """The cells of a notebook whose stored output carries the row cap's warning."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = []
    for cell in cells:
        printed = "".join(
            "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
            for output in cell.get("outputs", [])
        )
        if CAP_WARNING in printed:
            found.append(f"{cell.get('id')}: {''.join(cell['source'])[:200]}")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_chapter_query_is_cut_at_the_row_cap(path):
    capped = capped_cells(path)
    assert not capped, (
        f"{path.name}: live would cut these queries at {MAX_LIMIT:,} rows (ask by chunks, "
        "microns_helpers.query.query_by_root_ids, or restrict both ends):\n" + "\n".join(capped)
    )


def test_the_notebooks_are_found():
    assert len(NOTEBOOKS) >= 13
