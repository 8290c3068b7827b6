"""The one table format of ``make bench`` and of the scripts that print a part of it."""

from __future__ import annotations


def row(what, value, target="", met=None) -> tuple:
    """One line: a figure, its value, its target, and "met"/"MISSED" ("" for context)."""
    verdict = "" if met is None else ("met" if met else "MISSED")
    return (what, value, target, verdict)


def print_table(rows) -> int:
    """Print the rows under a header; 1 when a target was missed, else 0."""
    header = ("figure", "value", "target", "")
    widths = [max(len(str(line[i])) for line in [header, *rows]) for i in range(4)]
    for line in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(f"{cell:<{w}}" for cell, w in zip(line, widths)).rstrip())
    return 1 if any(line[3] == "MISSED" for line in rows) else 0
