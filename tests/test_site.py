"""Checks of the built site: the build itself, then what a reader of the HTML would hit.

Each check is a function of tests/site_checks.py returning a list of problems (empty =
fine), so that the tests here can plant a breakage into a copy of the site and show the
check reports it.
The build runs once, before the tests (``make site``, ``tests/site_build.py``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.site_build import build_site, toc_docnames
from tests.site_checks import (
    ANALYSIS_CHAPTERS,
    API_PAGE,
    TRACEBACK_TEXT,
    api_problems,
    external_load_problems,
    figures_in,
    link_problems,
    missing_pages,
    read_search_index,
    reading_order_problems,
    search_index_problems,
    traceback_problems,
)


# ---------------------------------------------------------------------------- tests
def test_site_builds(site_build):
    """`jupyter-book build . -W -n --keep-going` succeeds: no warning, no failing cell."""
    if not site_build.ok:
        pytest.fail("The site build failed.\n" + site_build.report(), pytrace=False)
    assert (site_build.html / "index.html").exists(), "the README promises _build/html/index.html"


def test_every_toc_page_is_built(built_site):
    assert missing_pages(built_site, toc_docnames()) == []


def test_internal_links_and_anchors_resolve(built_site):
    problems = link_problems(built_site)
    assert problems == [], "\n".join(problems)


def test_no_page_loads_anything_from_outside(built_site):
    problems = external_load_problems(built_site)
    assert problems == [], "\n".join(problems)


def test_search_index_holds_every_page(built_site):
    assert search_index_problems(built_site, toc_docnames()) == []


def test_no_rendered_traceback(built_site):
    problems = traceback_problems(built_site)
    assert problems == [], "\n".join(problems)


def test_headings_and_tables_read_in_order(built_site):
    problems = reading_order_problems(built_site, toc_docnames())
    assert problems == [], "\n".join(problems)


def public_names() -> dict:
    import microns_helpers

    return {name: getattr(microns_helpers, name) for name in microns_helpers.__all__}


def test_api_page_documents_every_public_name(built_site):
    """chapters/api.md is made from the docstrings at build time: every name of
    ``microns_helpers.__all__`` is on it, as a documented object (not a mention in prose)."""
    assert api_problems(built_site, public_names()) == []


@pytest.mark.parametrize("topic", ANALYSIS_CHAPTERS)
def test_analysis_chapter_has_a_figure(built_site, topic):
    pages = [name for name in toc_docnames() if topic in Path(name).name]
    assert pages, f"no page about {topic!r} in _toc.yml"
    for name in pages:
        assert figures_in(built_site / f"{name}.html") >= 1, f"{name} shows no figure"


# ---------------------------------------------------- the checks catch what they exist for
@pytest.fixture(scope="module")
def _shared_copy(built_site, tmp_path_factory) -> Path:
    return Path(shutil.copytree(built_site, tmp_path_factory.mktemp("site") / "html"))


@pytest.fixture
def site_copy(_shared_copy) -> Path:
    """A copy of the built site to break; the files the tests break are restored after each.

    One copy per module (copying and parsing every page for each test would take seconds).
    """
    breakable = [_first_chapter(_shared_copy), _shared_copy / "searchindex.js"]
    breakable.append(_shared_copy / API_PAGE)
    originals = {path: path.read_bytes() for path in breakable}
    yield _shared_copy
    for path, content in originals.items():
        path.write_bytes(content)


def _first_chapter(html_dir: Path) -> Path:
    return html_dir / f"{[n for n in toc_docnames() if n.startswith('chapters/')][0]}.html"


def _insert(page: Path, where: str, html: str) -> None:
    text = page.read_text(encoding="utf-8")
    assert where in text
    page.write_text(text.replace(where, html + where, 1), encoding="utf-8")


def test_checks_pass_on_the_unbroken_copy(site_copy):
    docnames = toc_docnames()
    assert missing_pages(site_copy, docnames) == []
    assert link_problems(site_copy) == []
    assert external_load_problems(site_copy) == []
    assert search_index_problems(site_copy, docnames) == []
    assert reading_order_problems(site_copy, docnames) == []


def test_skipped_heading_and_headless_table_are_caught(site_copy):
    page = _first_chapter(site_copy)
    _insert(page, "</article>", "<h2>x</h2><h4>y</h4><table><tr><td>1</td></tr></table>")
    problems = "\n".join(reading_order_problems(site_copy, toc_docnames()))
    assert "h2 followed by h4" in problems and "a table without header cells" in problems


def test_missing_page_is_caught(site_copy):
    _first_chapter(site_copy).unlink()
    assert len(missing_pages(site_copy, toc_docnames())) == 1


def test_broken_link_and_anchor_are_caught(site_copy):
    page = _first_chapter(site_copy)
    _insert(page, "</body>", '<a href="nowhere.html">x</a><a href="#no-such-section">y</a>')
    problems = "\n".join(link_problems(site_copy))
    assert "'nowhere.html' points at a missing file" in problems
    assert "no anchor #no-such-section" in problems


@pytest.mark.parametrize(
    "planted",
    [
        '<script src="https://cdn.example.org/lib.js"></script>',
        '<link rel="stylesheet" href="//fonts.example.org/font.css">',
        '<img src="http://example.org/logo.png">',
        '<iframe src="https://example.org/embed"></iframe>',
        '<style>@import "https://example.org/a.css";</style>',
        '<div style="background: url(https://example.org/bg.png)"></div>',
    ],
)
def test_external_load_is_caught(site_copy, planted):
    _insert(_first_chapter(site_copy), "</body>", planted)
    assert len(external_load_problems(site_copy)) == 1


def test_external_reader_link_is_not_an_asset(site_copy):
    _insert(_first_chapter(site_copy), "</body>", '<a href="https://example.org/">paper</a>')
    assert external_load_problems(site_copy) == []


def test_page_missing_from_search_index_is_caught(site_copy):
    index = read_search_index(site_copy)
    chapter = _first_chapter(site_copy).relative_to(site_copy).with_suffix("").as_posix()
    index["docnames"][index["docnames"].index(chapter)] = "renamed"
    (site_copy / "searchindex.js").write_text(f"Search.setIndex({json.dumps(index)})")
    assert search_index_problems(site_copy, toc_docnames()) == [
        f"{chapter} is not in the search index"
    ]


def test_rendered_traceback_is_caught_unless_tagged(site_copy):
    error = (
        '<div class="cell {tag} docutils container"><div class="cell_output docutils container">'
        f'<div class="output traceback highlight-ipythontb"><pre>{TRACEBACK_TEXT}</pre></div>'
        "</div></div>"
    )
    page = _first_chapter(site_copy)
    _insert(page, "</body>", error.format(tag="tag_raises-exception"))
    assert traceback_problems(site_copy) == []
    _insert(page, "</body>", error.format(tag=""))
    assert len(traceback_problems(site_copy)) == 1


def test_build_fails_on_a_broken_cross_reference(tmp_path):
    """The build's flags turn a broken cross-reference into a failed build (tiny book, ~3 s)."""
    (tmp_path / "_config.yml").write_text('title: Planted\nexecute:\n  execute_notebooks: "off"\n')
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (tmp_path / "intro.md").write_text("# Planted\n\nSee {ref}`a-label-nobody-defined`.\n")
    broken = build_site(tmp_path)
    assert not broken.ok
    assert "a-label-nobody-defined" in broken.log


def test_a_public_name_missing_from_the_api_page_is_caught(site_copy):
    page = site_copy / API_PAGE
    text = page.read_text(encoding="utf-8")
    assert 'id="microns_helpers.connect"' in text
    page.write_text(text.replace('id="microns_helpers.connect"', 'id="gone"'), encoding="utf-8")
    names = {**public_names(), "a_new_helper": lambda: None}
    assert api_problems(site_copy, names) == [
        f"{API_PAGE} does not document microns_helpers.a_new_helper",
        f"{API_PAGE} does not document microns_helpers.connect",
    ]
