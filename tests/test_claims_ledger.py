"""Every number a chapter's prose states is sourced: computed in the chapter, or in the ledger.

The claims ledger, ``chapters/claims.yml``, lists the published numbers and facts the
chapters state without computing them, each with its value, version and source. A number
in a chapter's markdown must be printed in an output of that chapter, or listed in the
ledger for that chapter (or for every chapter), or be one of the few named kinds that say
nothing about the dataset (``tools/claims.py``, NOT_ABOUT_THE_DATASET).

``about_outputs`` is left out: it describes the sample dataset itself (its sizes are the
sample's, named as such), and is rewritten whenever the sample is re-recorded.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tools import claims
from tools.setup_cell import chapters

REPO = Path(__file__).resolve().parents[1]
PAGES = [p for p in chapters() if p.stem != "about_outputs"] + [
    REPO / "intro.md",
    REPO / "chapters" / "glossary.md",
]
OWNER_REPO_COMMIT = re.compile(r"[\w.-]+/[\w.-]+@[0-9a-f]{7,40}:\S+")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.stem)
def test_every_number_of_the_prose_is_sourced(path):
    problems = claims.unsourced(path)
    assert not problems, (
        "numbers neither printed in the chapter nor in chapters/claims.yml:\n" + "\n".join(problems)
    )


def test_every_claim_names_its_value_version_and_source():
    ledger = claims.load()
    assert len({c.id for c in ledger}) == len(ledger), "claim ids must be unique"
    facts = (REPO / "tools" / "sample_data" / "inputs" / "FACTS.md").read_text(encoding="utf-8")
    for claim in ledger:
        assert claim.numbers and claim.statement and claim.version, claim.id
        cited = OWNER_REPO_COMMIT.search(claim.source) or re.search(r"\b(TUT|ME):\S", claim.source)
        facts_key = re.search(r"FACTS\.md '([^']+)'", claim.source)
        assert cited or facts_key, f"{claim.id}: no owner/repo@commit:path nor FACTS.md key"
        if facts_key:
            heading = facts_key.group(1).split(" (")[0]
            assert heading in facts, f"{claim.id}: FACTS.md has no section {heading!r}"
        for number in claim.numbers:
            assert number in claims.normalise(claim.statement.replace(",", "")) or number in {
                claims.normalise(n) for n in re.findall(r"\d[\d,]*", claim.statement)
            }, f"{claim.id}: {number} is not in its statement"


def test_the_ledger_holds_no_synthetic_value():
    # The sample's own numbers, as its README names them: the synthetic input partners of
    # the example neuron and the synthetic expiry date of 1078.
    synthetic = {"3500", "2025-06-05"}
    text = claims.LEDGER.read_text(encoding="utf-8").replace(",", "")
    assert not {s for s in synthetic if s in text}


def _plant(tmp_path: Path, sentence: str) -> Path:
    source = REPO / "chapters" / "07_proofreading.ipynb"
    copy = tmp_path / source.name
    shutil.copy(source, copy)
    nb = json.loads(copy.read_text(encoding="utf-8"))
    cell = next(
        c
        for c in nb["cells"]
        if c["cell_type"] == "markdown" and "## Key points" in "".join(c["source"])
    )
    cell["source"] = ["".join(cell["source"]) + "\n\n" + sentence]
    copy.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return copy


def test_a_planted_unsourced_number_fails(tmp_path):
    planted = _plant(tmp_path, "About 3,871 proofread axons reach layer 4.")
    problems = claims.unsourced(planted)
    assert len(problems) == 1 and "'3,871'" in problems[0], problems


def test_a_planted_root_id_in_code_fails_too(tmp_path):
    planted = _plant(tmp_path, "Its partner `864691135999999999` is the strongest.")
    assert any("864691135999999999" in p for p in claims.unsourced(planted))


def test_a_sourced_or_exempt_number_passes(tmp_path):
    planted = _plant(
        tmp_path,
        "In 2024, with caveclient 5.24, the table had 1,750 partially extended axons at 1507 "
        "in layer 2/3; see the `limit=10` option.",
    )
    assert claims.unsourced(planted) == []


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("1,498 synapses", ["1498"]),
        ("v1300 and 23P and 5P-IT and nucleus_detection_v0", []),
        ("1. a list item", []),
        ("caveclient 5.17 to 5.23 and 5.24.0", []),
        ("a 0.5 share", ["0.5"]),
        ("Time to learn: 25 minutes", []),
    ],
)
def test_numbers_are_read_as_a_reader_reads_them(text, numbers):
    assert [n for _, n in claims.numbers_in(text)] == numbers
