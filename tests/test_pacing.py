"""Pacing: at most three call-out boxes per section of a numbered chapter.

A call-out is a MyST admonition, in either fence (```` ```{note} ```` or ``:::{note}``):
``note``, ``warning``, ``tip``, ``important``, ``caution``, ``seealso``, ``hint``,
``attention``, ``danger``, ``error`` and the titled ``admonition``; and a ``dropdown``,
which the reader also meets as a box in the text. Not counted: a box that hides an
exercise's solution (a ``dropdown``, a ``toggle``, or an admonition with
``:class: dropdown``, titled "Solution ..." or "Answer ..."), code cells hidden with
``hide-cell`` (not markdown), other directives (``{glossary}``, ``{figure}``, ...), and
anything inside a fenced code block.

A section runs from a heading of level 2 or deeper to the next heading of the same or a
higher level, across cells, so a ``##`` section counts the boxes of its ``###``
subsections too. Boxes above the first ``##`` (under the title) count for the title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nbformat
import pytest

from tests.helpers import NUMBERED

MAX_CALLOUTS = 3
CALLOUTS = {
    "note", "warning", "tip", "important", "caution", "seealso", "hint", "attention",
    "danger", "error", "admonition", "dropdown",
}  # fmt: skip
SOLUTION_BOXES = {"dropdown", "toggle", "admonition"}
_FENCE = re.compile(r"^ {0,3}(`{3,}|:{3,})\s*(.*)$")
_DIRECTIVE = re.compile(r"^\{([\w-]+)\}\s*(.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass
class Section:
    level: int
    title: str
    callouts: int = 0


def _is_solution(name: str, title: str, options: list[str]) -> bool:
    """A box that hides an exercise's solution: a toggle, or a dropdown titled Solution."""
    if name == "toggle":
        return True
    dropdown = name == "dropdown" or any(
        re.match(r":class:.*\bdropdown\b", option) for option in options
    )
    return name in SOLUTION_BOXES and dropdown and bool(re.match(r"(Solution|Answer)", title))


def callouts_per_section(text: str) -> list[Section]:
    """The sections of a chapter's markdown (cells joined) with their call-out counts.

    Each heading's count covers its subsections; the first entry is the title's (level 1).

    Example::

        callouts_per_section("# T\\n## A\\n```{note}\\nx\\n```\\n")[1].callouts  # 1
    """
    sections = [Section(1, "(before the first heading)")]
    lines = text.splitlines()
    # the open fences: (character, length, is a directive)
    fences: list[tuple[str, int, bool]] = []
    for index, line in enumerate(lines):
        fence = _FENCE.match(line)
        if fences and not fences[-1][2]:
            # inside a code block: only its own closing fence counts
            char, length, _ = fences[-1]
            if fence and fence.group(1)[0] == char and len(fence.group(1)) >= length:
                if not fence.group(2).strip():
                    fences.pop()
            continue
        if fence:
            marks, rest = fence.group(1), fence.group(2).strip()
            char, length = marks[0], len(marks)
            if not rest and fences and fences[-1][0] == char and length >= fences[-1][1]:
                fences.pop()  # closes the directive open at the top
                continue
            directive = _DIRECTIVE.match(rest)
            fences.append((char, length, bool(directive)))
            if directive and directive.group(1) in CALLOUTS | {"toggle"}:
                name, title = directive.group(1), directive.group(2).strip()
                options = []
                for option in lines[index + 1 :]:
                    if not option.strip().startswith(":") or _FENCE.match(option):
                        break
                    options.append(option.strip())
                if name in CALLOUTS and not _is_solution(name, title, options):
                    _count(sections)
            continue
        heading = _HEADING.match(line)
        if heading and not fences:
            sections.append(Section(len(heading.group(1)), heading.group(2)))
    return sections


def _count(sections: list[Section]) -> None:
    """One more call-out in the innermost section and in each ``##`` or deeper enclosing it.

    The title (level 1) counts only the boxes above the first ``##``, not the chapter's.
    """
    if sections[-1].level == 1:
        sections[-1].callouts += 1
        return
    level = 7
    for section in reversed(sections):
        if section.level == 1:
            break
        if section.level < level:
            section.callouts += 1
            level = section.level


def crowded_sections(text: str, limit: int = MAX_CALLOUTS) -> list[str]:
    """``["Section title: N call-outs", ...]`` for each section with more than ``limit``."""
    return [
        f"{s.title!r}: {s.callouts} call-outs"
        for s in callouts_per_section(text)
        if s.callouts > limit
    ]


def chapter_markdown(path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    return "\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.stem)
def test_at_most_three_callouts_per_section(path):
    crowded = crowded_sections(chapter_markdown(path))
    assert not crowded, f"{path.name}, more than {MAX_CALLOUTS} call-outs in " + "; ".join(crowded)


THREE = """# Chapter
## Section A
```{note}
One.
```
Text.
:::{tip}
Two.
:::
### A sub-section
````{warning}
Three, with a code block inside:
```python
print("```{note} in code is not a call-out")
```
````
## Section B
```{note}
Only one here.
```
"""
FOURTH = """
```{important}
A fourth, planted at the end of the sub-section.
```
"""


def test_the_counter_counts_both_fences_and_subsections():
    sections = {s.title: s.callouts for s in callouts_per_section(THREE)}
    assert sections == {
        "(before the first heading)": 0,
        "Chapter": 0,
        "Section A": 3,
        "A sub-section": 1,
        "Section B": 1,
    }
    assert crowded_sections(THREE) == []


def test_a_planted_fourth_callout_fails_naming_chapter_section_and_count(tmp_path):
    planted = THREE.replace("## Section B", FOURTH + "## Section B")
    assert crowded_sections(planted) == ["'Section A': 4 call-outs"]
    # the chapter test itself, on a notebook whose cells split the section
    cells = [nbformat.v4.new_markdown_cell(part) for part in planted.split("### ")]
    cells[1].source = "### " + cells[1].source
    path = tmp_path / "99_planted.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    with pytest.raises(AssertionError, match=r"99_planted\.ipynb.*'Section A': 4 call-outs"):
        test_at_most_three_callouts_per_section(path)
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(THREE)]), str(path)
    )
    test_at_most_three_callouts_per_section(path)  # three pass


def test_code_blocks_headings_in_code_and_other_directives_are_not_callouts():
    text = (
        "## S\n```bash\n# not a heading\n```\n```{glossary}\nterm\n  definition\n```\n"
        "```markdown\n```{note}\nshown, not rendered\n```\n"
    )
    assert [(s.title, s.callouts) for s in callouts_per_section(text)] == [
        ("(before the first heading)", 0),
        ("S", 0),
    ]


def test_a_hidden_solution_is_not_a_callout_but_a_dropdown_aside_is():
    text = (
        "## Exercises\n"
        "```{dropdown} Solution 1\nanswer\n```\n"
        "```{admonition} Solution 2\n:class: dropdown\nanswer\n```\n"
        "```{toggle}\nanswer\n```\n"
        "```{dropdown} Why a dropdown\nan aside\n```\n"
        "```{admonition} Careful\n:class: dropdown\nan aside too\n```\n"
    )
    assert callouts_per_section(text)[1].callouts == 2
