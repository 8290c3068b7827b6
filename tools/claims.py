"""The claims ledger: every number a chapter's prose states about the dataset, with its source.

``chapters/claims.yml`` lists the published numbers and facts the chapters state without
computing them; this module reads it and finds the numbers in a chapter's markdown that are
neither in the ledger, nor printed in an output of that chapter, nor one of the few kinds of
number that say nothing about the dataset (list items, years and dates, software versions,
times to learn, cortical layers, a unit conversion, a small literal of the chapter's own
code). ``tests/test_claims_ledger.py`` holds the chapters to it.

    from tools.claims import unsourced
    unsourced(Path("chapters/07_proofreading.ipynb"))  # [] when every number is accounted for
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

LEDGER = Path(__file__).resolve().parents[1] / "chapters" / "claims.yml"  # beside tools/

# A number: digits with optional thousands commas, an optional decimal part; not part of
# a name (v1300, 23P, 5P-IT, nucleus_detection_v0, #L42) and not a root id's tail.
NUMBER = re.compile(r"(?<![\w.#/-])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\w])")

# What is not prose: fenced code blocks that are code (``` or ```bash, not ```{note}),
# link targets, bare URLs, HTML comments.
FENCE = re.compile(r"^```(?!\{)[^\n]*\n.*?^```[ \t]*$", re.S | re.M)
LINK_TARGET = re.compile(r"\]\([^)]*\)")
URL = re.compile(r"(?:https?|gs|s3|graphene|precomputed)://\S+|www\.\S+")
COMMENT = re.compile(r"<!--.*?-->", re.S)

# Inline code is code (`limit=10`, `[1, 1, 1]`, `5P-IT`), not a claim: it is checked only
# for ids (six digits or more), which are facts about the dataset wherever they appear.
INLINE_CODE = re.compile(r"`[^`\n]+`")
ID = re.compile(r"\d{6,}")

# The few kinds of number that say nothing about the dataset, each named; a number that
# starts inside a match of one of these is exempt.
NOT_ABOUT_THE_DATASET = {
    "list item": re.compile(r"^[ \t]*\d+\.(?=[ \t])", re.M),
    "software version": re.compile(
        r"\d+\.\d+\.\d+"  # 5.24.0, 2021.07.28
        r"|(?:caveclient|CAVEclient|Python|pandas|nbformat|DuckDB|Dask|Jupyter Book|CC-BY)"
        r"[^.\n]{0,40}?\d+\.\d+(?:\s*(?:to|and|or|-)\s*\d+\.\d+)?"
        r"|\d+\.\d+(?=\+| and newer| or newer| and older| or older)"
    ),
    "year or date": re.compile(r"(?<![\d,])(?:19|20)\d\d(?:-\d\d){0,2}(?!\d|,\d)"),
    "time to learn": re.compile(r"\d+[ \t]+minutes"),
    "cortical layer": re.compile(
        r"[Ll]ayers?\s+\d(?:/\d)?(?:(?:,\s*|\s+(?:and|to)\s+)\d(?:/\d)?)*"
    ),
    "unit conversion": re.compile(r"(?:divide|multiply|multiplied|divided)[ \t]+by[ \t]+1000"),
}

# A small literal (at most three digits) of the chapter's own code, restated in its prose
# ("a slab 40 µm thick", "in chunks of 200"): a parameter the author chose, not a finding.
SMALL_LITERAL = re.compile(r"(?<![\w.])\d{1,3}(?![\w.])")


@dataclass(frozen=True)
class Claim:
    """One entry of the ledger: a published value, where it holds and where it is from."""

    id: str
    statement: str
    numbers: tuple[str, ...]
    version: str
    source: str
    chapters: tuple[str, ...]  # chapter stems, or ("*",) for every chapter


def load(path: Path = LEDGER) -> list[Claim]:
    """The claims of the ledger, each with its numbers as digit strings ("1,498" -> "1498")."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    claims = []
    for entry in data["claims"]:
        missing = {"id", "statement", "numbers", "version", "source"} - set(entry)
        if missing:
            raise ValueError(f"claim {entry.get('id', entry)!r} lacks {sorted(missing)}")
        chapters = entry.get("chapters", "*")
        claims.append(
            Claim(
                id=entry["id"],
                statement=entry["statement"],
                numbers=tuple(normalise(str(n)) for n in entry["numbers"]),
                version=str(entry["version"]),
                source=str(entry["source"]),
                chapters=(chapters,) if isinstance(chapters, str) else tuple(chapters),
            )
        )
    return claims


def normalise(number: str) -> str:
    """'1,498' -> '1498', '0.90' -> '0.9', '040' -> '40'."""
    number = number.replace(",", "").replace("_", "")
    if "." in number:
        number = number.rstrip("0").rstrip(".")
    whole, dot, fraction = number.partition(".")
    return (whole.lstrip("0") or "0") + dot + fraction


def prose(markdown: str) -> str:
    """The markdown without its code blocks, link targets, URLs and comments."""
    for pattern in (COMMENT, FENCE, LINK_TARGET, URL):
        markdown = pattern.sub(" ", markdown)
    return markdown


def numbers_in(text: str) -> list[tuple[str, str]]:
    """(number as written, normalised) of every number in ``text``, minus the exempt kinds."""
    ids = [m.group(0) for code in INLINE_CODE.findall(text) for m in ID.finditer(code)]
    text = INLINE_CODE.sub(" ", text)
    spans = [m.span() for p in NOT_ABOUT_THE_DATASET.values() for m in p.finditer(text)]
    found = [(i, normalise(i)) for i in ids]
    for match in NUMBER.finditer(text):
        if any(start <= match.start() < end for start, end in spans):
            continue
        written = match.group(0)
        found.append((written, normalise(written)))
    return found


def code_literals(nb: dict) -> set[str]:
    """The small number literals (at most three digits) of a notebook's code cells."""
    code = "\n".join(_join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return {normalise(n) for n in SMALL_LITERAL.findall(code)}


def output_numbers(nb: dict) -> set[str]:
    """Every number printed in an output of a notebook, normalised."""
    texts = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if "text" in output:
                texts.append(_join(output["text"]))
            for kind in ("text/plain", "text/markdown", "text/html"):
                if kind in output.get("data", {}):
                    texts.append(_join(output["data"][kind]))
            if "evalue" in output:
                texts.append(output["evalue"])
    return {normalise(n) for text in texts for n in re.findall(r"\d[\d,_]*(?:\.\d+)?", text)}


def _join(text) -> str:
    return "".join(text) if isinstance(text, list) else text


def markdown_cells(path: Path) -> list[str]:
    """The markdown of a chapter: its markdown cells, or the whole page of a ``.md`` file."""
    if path.suffix == ".md":
        return [path.read_text(encoding="utf-8")]
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [_join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def sourced_numbers(stem: str, claims: list[Claim]) -> set[str]:
    """The numbers the ledger sources for chapter ``stem`` (its own claims and the global ones)."""
    return {n for c in claims if "*" in c.chapters or stem in c.chapters for n in c.numbers}


def unsourced(path: Path, claims: list[Claim] | None = None) -> list[str]:
    """The numbers of a chapter's prose that nothing accounts for, each with its sentence."""
    claims = load() if claims is None else claims
    allowed = sourced_numbers(path.stem, claims)
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        allowed |= output_numbers(nb) | code_literals(nb)
    problems = []
    for text in markdown_cells(path):
        text = prose(text)
        for written, number in numbers_in(text):
            if number not in allowed:
                problems.append(f"{path.name}: {written!r} in {_sentence(text, written)!r}")
    return problems


def _sentence(text: str, written: str) -> str:
    at = text.find(written)
    start = max(text.rfind(".", 0, max(at - 1, 0)), text.rfind("\n\n", 0, at), 0)
    end = text.find(". ", at)
    return " ".join(text[start : end if end > 0 else at + 80].split())[:160]
