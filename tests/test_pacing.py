"""Pacing: call-outs per section, each chapter's time to learn, data early, the agendas.

At most three call-out boxes per section of a numbered chapter.

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
from pathlib import Path

import nbformat
import pytest

from tests.helpers import NUMBERED

REPO = Path(__file__).resolve().parents[1]

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


# --- Time to learn, measured ------------------------------------------------------------
#
# Each numbered chapter states its "**Time to learn**: N minutes". N is measured, not
# guessed: the chapter's prose (its markdown cells) read at WORDS_PER_MINUTE, plus
# MINUTES_PER_CODE_CELL for each code cell a learner meets (reading the call, running it,
# reading its output), hidden solutions included (a learner tries each exercise first),
# the hidden setup cell not. The label is a multiple of five, at most one such step from
# the measure. The instructor guide states the same pace, and plans with these labels.

WORDS_PER_MINUTE = 150
MINUTES_PER_CODE_CELL = 1
LABEL_STEP = 5  # minutes: labels are multiples of this, and may be one step off the measure
_TIME_LABEL = re.compile(r"\*\*Time to learn\*\*:\s*(\d+)\s+minutes")


def _shown_code_cells(nb) -> list:
    return [
        c
        for c in nb.cells
        if c.cell_type == "code" and "remove-cell" not in c.metadata.get("tags", [])
    ]


def measured_minutes(nb) -> float:
    """Minutes a learner needs for a chapter, at the stated pace.

    Example::

        measured_minutes(nbformat.read("chapters/02_basics.ipynb", as_version=4))  # ~15
    """
    words = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    return words / WORDS_PER_MINUTE + MINUTES_PER_CODE_CELL * len(_shown_code_cells(nb))


def time_label(nb) -> int | None:
    """The N of the chapter's "**Time to learn**: N minutes", or None."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = _TIME_LABEL.search(cell.source)
            if found:
                return int(found.group(1))
    return None


def time_label_problem(nb) -> str | None:
    """Why a chapter's time label does not match its measure, or None when it does."""
    label, measure = time_label(nb), measured_minutes(nb)
    if label is None:
        return "no '**Time to learn**: N minutes' line"
    if label % LABEL_STEP or abs(label - measure) > LABEL_STEP:
        closest = max(LABEL_STEP, LABEL_STEP * round(measure / LABEL_STEP))
        return (
            f"labelled {label} minutes, measured {measure:.0f} "
            f"({WORDS_PER_MINUTE} words a minute, {MINUTES_PER_CODE_CELL} a code cell): "
            f"label it {closest} minutes, or cut the chapter"
        )
    return None


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.stem)
def test_each_chapters_time_to_learn_is_measured(path):
    problem = time_label_problem(nbformat.read(str(path), as_version=4))
    assert problem is None, f"{path.name}: {problem}"


def _chapter(words: int, code_cells: int, label: int | None):
    cells = [nbformat.v4.new_markdown_cell(" ".join(["word"] * words))]
    cells += [nbformat.v4.new_code_cell("x = 1") for _ in range(code_cells)]
    hidden = nbformat.v4.new_code_cell("import os")
    hidden.metadata["tags"] = ["remove-cell"]
    cells.append(hidden)  # the setup cell: not counted
    if label is not None:
        cells.append(nbformat.v4.new_markdown_cell(f"- **Time to learn**: {label} minutes"))
    return nbformat.v4.new_notebook(cells=cells)


def test_a_long_chapter_labelled_short_fails_and_a_measured_label_passes():
    # 2,500 words and 25 code cells, labelled 30 minutes: the planted fault of issue 24
    long_chapter = _chapter(2500, 25, 30)
    assert round(measured_minutes(long_chapter)) == 42
    assert "label it 40 minutes" in time_label_problem(long_chapter)
    assert time_label_problem(_chapter(2500, 25, 40)) is None
    assert time_label_problem(_chapter(2500, 25, 45)) is None  # one step off: allowed
    assert "labelled 42" in time_label_problem(_chapter(2500, 25, 42))  # not a multiple of 5
    assert "no '**Time to learn" in time_label_problem(_chapter(300, 2, None))


# --- No chapter longer than one sitting ---------------------------------------------------
#
# A chapter is one sitting: at most MAX_CHAPTER_MINUTES at the stated pace, measured, not
# labelled (a label may be one step under its measure). A longer chapter is split or cut.

MAX_CHAPTER_MINUTES = 35


def too_long(nb) -> str | None:
    """Why a chapter is too long for one sitting, or None."""
    measure = measured_minutes(nb)
    if measure <= MAX_CHAPTER_MINUTES:
        return None
    return (
        f"measures {measure:.1f} minutes ({WORDS_PER_MINUTE} words a minute, "
        f"{MINUTES_PER_CODE_CELL} a code cell), more than {MAX_CHAPTER_MINUTES}: split it "
        "or cut it (reference material goes to Troubleshooting or the glossary)"
    )


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.stem)
def test_no_chapter_is_longer_than_35_minutes(path):
    problem = too_long(nbformat.read(str(path), as_version=4))
    assert problem is None, f"{path.name}: {problem}"


def test_a_chapter_over_35_minutes_fails_even_when_labelled_honestly():
    # 3,000 words and 30 code cells, labelled 50: honest, and too long (issue 24's chapter 11)
    long_chapter = _chapter(3000, 30, 50)
    assert time_label_problem(long_chapter) is None
    assert "measures 50.0 minutes" in too_long(long_chapter)
    # the label line adds six words: 2,994 + 6 words and 15 cells measure 35.0, the limit
    assert too_long(_chapter(2994, 15, 35)) is None
    assert "measures 35.1" in too_long(_chapter(3009, 15, 35))


# --- Data early --------------------------------------------------------------------------
#
# A learner should see data soon: at most MAX_WORDS_BEFORE_DATA words (markdown and shown
# code) before the first table of rows a chapter prints (a data frame); a chapter that
# prints none is held to the same number of words in all.

MAX_WORDS_BEFORE_DATA = 1500


def _shows_a_data_frame(cell) -> bool:
    return any(
        "dataframe" in "".join(output.get("data", {}).get("text/html", ""))
        for output in cell.get("outputs", [])
    )


def words_before_first_data(nb) -> int:
    """Words of markdown and shown code before the first cell that prints a data frame."""
    words = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and _shows_a_data_frame(cell):
            break
        if cell.cell_type == "markdown" or "remove-cell" not in cell.metadata.get("tags", []):
            words += len(cell.source.split())
    return words


@pytest.mark.parametrize("path", NUMBERED, ids=lambda p: p.stem)
def test_data_comes_within_1500_words(path):
    words = words_before_first_data(nbformat.read(str(path), as_version=4))
    assert words <= MAX_WORDS_BEFORE_DATA, (
        f"{path.name}: {words} words before the first table of rows (at most "
        f"{MAX_WORDS_BEFORE_DATA}): move material to Troubleshooting or the instructor guide"
    )


def test_words_before_data_stop_at_the_first_data_frame():
    frame = nbformat.v4.new_code_cell("df")
    frame.outputs = [
        nbformat.v4.new_output(
            "execute_result", data={"text/html": '<table class="dataframe"></table>'}
        )
    ]
    early = _chapter(1400, 1, None)  # 1,400 words, then "x = 1" (3), the hidden cell (0)
    early.cells.insert(3, frame)
    early.cells.append(nbformat.v4.new_markdown_cell(" ".join(["after"] * 900)))
    assert words_before_first_data(early) == 1403
    late = _chapter(1400, 1, None)  # the planted fault: the data after 900 more words
    late.cells.append(nbformat.v4.new_markdown_cell(" ".join(["before"] * 900)))
    late.cells.append(frame)
    assert words_before_first_data(late) == 2303 > MAX_WORDS_BEFORE_DATA


# --- The instructor guide's agendas ------------------------------------------------------
#
# Every numbered chapter is in an agenda; each slot holds at least the time to learn of the
# chapters it names; and each row starts when the one before it ends.

GUIDE = REPO / "chapters" / "instructor_guide.md"
_CHAPTER_LINK = re.compile(r"\]\((\d\d_\w+)\.ipynb\)")
_CLOCK = re.compile(r"^(\d+):(\d\d)$")


def agenda_rows(text: str) -> list[list[tuple[int, list[str], int]]]:
    """Each agenda table of the guide as rows of (start minute, chapter stems, minutes)."""
    section = text.split("## Agendas", 1)[1].split("\n## ", 1)[0]
    tables, rows = [], []
    for line in section.splitlines() + [""]:
        cells = (
            [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        )
        clock = _CLOCK.match(cells[0]) if cells else None
        if clock and len(cells) >= 3:
            start = int(clock.group(1)) * 60 + int(clock.group(2))
            rows.append((start, _CHAPTER_LINK.findall(cells[1]), int(cells[2])))
        elif not line.startswith("|") and rows:
            tables.append(rows)
            rows = []
    return tables


def agenda_problems(text: str, labels: dict[str, int]) -> list[str]:
    problems = []
    tables = agenda_rows(text)
    planned = {stem for rows in tables for _, stems, _ in rows for stem in stems}
    problems += [f"{stem} is in no agenda" for stem in sorted(set(labels) - planned)]
    for rows in tables:
        for (start, stems, minutes), following in zip(rows, rows[1:] + [None]):
            needed = sum(labels[s] for s in stems)
            if minutes < needed:
                problems.append(f"{', '.join(stems)}: {minutes} minutes, time to learn {needed}")
            if following is not None and following[0] != start + minutes:
                problems.append(
                    f"the row after {start // 60}:{start % 60:02d} starts at the wrong time"
                )
    return problems


def test_the_agendas_plan_every_chapter_with_its_time_to_learn():
    labels = {p.stem: time_label(nbformat.read(str(p), as_version=4)) for p in NUMBERED}
    problems = agenda_problems(GUIDE.read_text(encoding="utf-8"), labels)
    assert not problems, "chapters/instructor_guide.md, agendas: " + "; ".join(problems)


def test_an_agenda_missing_a_chapter_or_short_of_its_time_fails():
    guide = """## Agendas

| Time | Chapter | Minutes |
| --- | --- | ---: |
| 0:00 | Welcome | 15 |
| 0:15 | [Setup](01_setup.ipynb), [Basics](02_basics.ipynb) | 40 |
| 0:55 | Break | 15 |
| 1:15 | [Space](09_space.ipynb) | 25 |

## The week before
"""
    labels = {"01_setup": 25, "02_basics": 15, "09_space": 15, "13_functional": 40}
    assert agenda_problems(guide, labels) == [
        "13_functional is in no agenda",
        "the row after 0:55 starts at the wrong time",
    ]
    short = guide.replace("| 40 |", "| 35 |").replace("0:55", "0:50").replace("1:15", "1:05")
    assert agenda_problems(short, {k: v for k, v in labels.items() if k != "13_functional"}) == [
        "01_setup, 02_basics: 35 minutes, time to learn 40"
    ]
