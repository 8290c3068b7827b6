"""Each chapter's stored outputs come from one fresh kernel run top to bottom.

A notebook saved after re-running a cell, running cells out of order, or clearing one
cell's output would show it in its execution counts: they must read 1, 2, …, n down
the code cells. Error outputs are only stored where a cell says it raises on purpose.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.site_build import REPO_ROOT

CHAPTERS = REPO_ROOT / "chapters"
EXPECTED_ERROR_TAG = "raises-exception"


def order_problems(path: Path) -> list[str]:
    """What shows that a notebook's outputs were not made top to bottom in one fresh kernel.

    Example: ``order_problems(Path("chapters/01_setup.ipynb")) == []``
    """
    notebook = json.loads(path.read_text(encoding="utf-8"))
    code_cells = [cell for cell in notebook.get("cells", []) if cell["cell_type"] == "code"]
    problems = []
    for position, cell in enumerate(code_cells, start=1):
        count = cell.get("execution_count")
        first_line = "".join(cell.get("source", "")).strip().splitlines()[:1]
        where = f"code cell {position} {first_line}"
        if count is None:
            problems.append(f"{where} was never run (no execution count)")
        elif count != position:
            problems.append(f"{where} has execution count {count}, expected {position}")
        for output in cell.get("outputs", []):
            result_count = output.get("execution_count")
            if output.get("output_type") == "execute_result" and result_count != count:
                problems.append(f"{where} holds a result of run [{result_count}]")
            tags = cell.get("metadata", {}).get("tags", [])
            if output.get("output_type") == "error" and EXPECTED_ERROR_TAG not in tags:
                problems.append(
                    f"{where} stores an error ({output.get('ename')}) without the "
                    f"{EXPECTED_ERROR_TAG!r} tag"
                )
    return problems


def _chapter_notebooks() -> list[Path]:
    return sorted(CHAPTERS.glob("*.ipynb"))


def test_there_are_chapter_notebooks():
    assert _chapter_notebooks(), "no executed notebooks in chapters/"


@pytest.mark.parametrize("notebook", _chapter_notebooks(), ids=lambda p: p.stem)
def test_outputs_come_from_one_run_top_to_bottom(notebook):
    problems = order_problems(notebook)
    assert problems == [], f"{notebook.name}: re-run it top to bottom in a fresh kernel:\n" + (
        "\n".join(problems)
    )


# ---------------------------------------------------- planted: each must be caught
def _cell(count, *, outputs=(), tags=()):
    return {
        "cell_type": "code",
        "execution_count": count,
        "metadata": {"tags": list(tags)},
        "outputs": list(outputs),
        "source": f"step_{count}()",
    }


def _result(count):
    return {"output_type": "execute_result", "execution_count": count, "data": {}, "metadata": {}}


def _error():
    return {"output_type": "error", "ename": "ValueError", "evalue": "x", "traceback": []}


def _saved(tmp_path: Path, cells) -> Path:
    """A copy of the first chapter (or a minimal notebook) with ``cells`` as its code."""
    chapters = _chapter_notebooks()
    notebook = json.loads(chapters[0].read_text()) if chapters else {"metadata": {}}
    markdown = [c for c in notebook.get("cells", []) if c["cell_type"] == "markdown"][:1]
    notebook.update(cells=markdown + list(cells), nbformat=4, nbformat_minor=5)
    path = tmp_path / "planted.ipynb"
    path.write_text(json.dumps(notebook))
    return path


def test_a_copy_of_each_chapter_saved_out_of_order_is_caught(tmp_path):
    """Swapping two code cells of a real chapter (as after re-running one) is reported."""
    swapped = 0
    for chapter in _chapter_notebooks():
        notebook = json.loads(chapter.read_text(encoding="utf-8"))
        code = [i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"]
        if len(code) < 2:
            continue
        swapped += 1
        cells = notebook["cells"]
        cells[code[0]], cells[code[1]] = cells[code[1]], cells[code[0]]
        copy = tmp_path / chapter.name
        copy.write_text(json.dumps(notebook))
        assert order_problems(copy), f"swapping two cells of {chapter.name} went unnoticed"
    assert swapped, "no chapter with two code cells to swap"


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([_cell(1), _cell(3), _cell(2)], "has execution count 3, expected 2"),
        ([_cell(2), _cell(3)], "has execution count 2, expected 1"),
        ([_cell(1), _cell(None)], "was never run"),
        ([_cell(1, outputs=[_result(4)])], "holds a result of run [4]"),
        ([_cell(1, outputs=[_error()])], "stores an error (ValueError)"),
    ],
    ids=["out-of-order", "not-fresh-kernel", "unrun-cell", "stale-result", "untagged-error"],
)
def test_planted_disorder_is_caught(tmp_path, cells, expected):
    problems = order_problems(_saved(tmp_path, cells))
    assert any(expected in problem for problem in problems), problems


def test_in_order_notebook_with_a_tagged_error_passes(tmp_path):
    cells = [
        _cell(1, outputs=[_result(1)]),
        _cell(2, outputs=[_error()], tags=["raises-exception"]),
    ]
    assert order_problems(_saved(tmp_path, cells)) == []
