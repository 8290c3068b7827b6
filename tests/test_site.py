"""Checks of the built site: the build itself, then what a reader of the HTML would hit.

Each check is a function returning a list of problems (empty = fine), so that the tests
at the bottom can plant a breakage into a copy of the site and show the check reports it.
The build runs once per session (``tests/site_build.py``).
"""

from __future__ import annotations

import json
import re
import shutil
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

from tests.site_build import build_site, toc_docnames

# The chapters that analyse data, each of which must show at least one figure.
ANALYSIS_CHAPTERS = ("querying", "filtering", "synapses")
TRACEBACK_TEXT = "Traceback (most recent call last)"
# <link rel=...> values that make the browser fetch the target.
FETCHING_RELS = {
    "stylesheet",
    "preload",
    "modulepreload",
    "prefetch",
    "preconnect",
    "dns-prefetch",
    "icon",
    "apple-touch-icon",
    "mask-icon",
    "manifest",
}
# Tags and attributes whose URL the browser loads with the page.
LOADING_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)['"]""", re.IGNORECASE)


# ---------------------------------------------------------------------------- helpers
def html_pages(html_dir: Path) -> list[Path]:
    """The HTML pages of the site (not the theme's own files)."""
    return sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.parts)


@lru_cache(maxsize=256)
def _soup(path: Path, mtime_ns: int, size: int) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def soup(path: Path) -> BeautifulSoup:
    """The parsed page (cached while the file is unchanged)."""
    stat = path.stat()
    return _soup(path, stat.st_mtime_ns, stat.st_size)


def _anchors(path: Path) -> set[str]:
    page = soup(path)
    ids = {tag["id"] for tag in page.find_all(id=True)}
    return ids | {tag["name"] for tag in page.find_all("a", attrs={"name": True})}


def is_external(url: str) -> bool:
    """True for a URL on another host: ``http(s)://…`` or protocol-relative ``//…``."""
    return bool(re.match(r"\s*(https?:)?//", url, re.IGNORECASE))


def _is_local(url: str) -> bool:
    parts = urlsplit(url.strip())
    return not parts.scheme and not parts.netloc


def _srcset_urls(value: str) -> list[str]:
    return [candidate.split()[0] for candidate in value.split(",") if candidate.strip()]


def _loaded_urls(tag) -> list[str]:
    """The URLs a tag makes the browser load (empty for ordinary links)."""
    if tag.name == "link":
        rels = {rel.lower() for rel in tag.get("rel", [])}
        return [tag["href"]] if rels & FETCHING_RELS and tag.get("href") else []
    urls = []
    for attribute in LOADING_ATTRIBUTES.get(tag.name, ()):
        value = tag.get(attribute)
        if value:
            urls += _srcset_urls(value) if attribute == "srcset" else [value]
    return urls


def _css_urls(css: str) -> list[str]:
    return [a or b for a, b in _CSS_URL.findall(css)]


def _rel(path: Path, html_dir: Path) -> str:
    return path.relative_to(html_dir).as_posix()


# ---------------------------------------------------------------------------- checks
def missing_pages(html_dir: Path, docnames: list[str]) -> list[str]:
    """Pages of the table of contents with no HTML file."""
    return [
        f"{name}.html is missing" for name in docnames if not (html_dir / f"{name}.html").exists()
    ]


def link_problems(html_dir: Path) -> list[str]:
    """Internal links, ``#anchors`` and local assets that point at nothing."""
    problems = []
    root = html_dir.resolve()
    for page in html_pages(html_dir):
        tags = soup(page).find_all(["a", "link", *LOADING_ATTRIBUTES])
        for tag in tags:
            urls = [tag["href"]] if tag.name in ("a", "link") and tag.get("href") else []
            urls += [] if tag.name in ("a", "link") else _loaded_urls(tag)
            for url in urls:
                if not _is_local(url) or url.strip() == "#":
                    continue  # another host, mailto:, data:, javascript:, or "#"
                parts = urlsplit(url)
                target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
                if target.is_dir():
                    target = target / "index.html"
                where = f"{_rel(page, html_dir)}: <{tag.name}> {url!r}"
                if not target.is_relative_to(root):
                    problems.append(f"{where} leaves the site")
                elif not target.exists():
                    problems.append(f"{where} points at a missing file")
                elif parts.fragment and target.suffix == ".html":
                    if unquote(parts.fragment) not in _anchors(target):
                        problems.append(f"{where}: no anchor #{parts.fragment} there")
    return problems


def external_load_problems(html_dir: Path) -> list[str]:
    """Scripts, styles, images, fonts, frames a page would fetch from another host.

    Looks at the loading tags, inline ``style`` attributes and ``<style>`` blocks, and the
    local stylesheets the pages load (where fonts come from). Links a reader clicks are fine.
    """
    problems = []
    stylesheets: set[Path] = set()
    for page in html_pages(html_dir):
        where = _rel(page, html_dir)
        document = soup(page)
        for tag in document.find_all(["link", *LOADING_ATTRIBUTES]):
            for url in _loaded_urls(tag):
                if is_external(url):
                    problems.append(f"{where}: <{tag.name}> loads {url}")
                elif tag.name == "link" and "stylesheet" in tag.get("rel", []):
                    local = page.parent / unquote(urlsplit(url).path)
                    if local.exists():
                        stylesheets.add(local.resolve())
        css_blocks = [tag.get_text() for tag in document.find_all("style")]
        css_blocks += [tag["style"] for tag in document.find_all(style=True)]
        for css in css_blocks:
            problems += [f"{where}: inline CSS loads {u}" for u in _css_urls(css) if is_external(u)]
    for sheet in sorted(stylesheets):
        css = sheet.read_text(encoding="utf-8", errors="replace")
        problems += [
            f"{_rel(sheet, html_dir.resolve())}: stylesheet loads {url}"
            for url in _css_urls(css)
            if is_external(url)
        ]
    return problems


def read_search_index(html_dir: Path) -> dict:
    """The JSON inside Sphinx's ``searchindex.js`` (``Search.setIndex({...})``)."""
    text = (html_dir / "searchindex.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])


def search_index_problems(html_dir: Path, docnames: list[str]) -> list[str]:
    """Pages that the search would never find: absent from the index, or with no words in it."""
    if not (html_dir / "searchindex.js").exists():
        return ["searchindex.js is missing"]
    index = read_search_index(html_dir)
    indexed_docs = set()
    for postings in index.get("terms", {}).values():
        indexed_docs.update(postings if isinstance(postings, list) else [postings])
    problems = []
    for name in docnames:
        if name not in index["docnames"]:
            problems.append(f"{name} is not in the search index")
        elif index["docnames"].index(name) not in indexed_docs:
            problems.append(f"{name} is in the search index with no words")
    return problems


def traceback_problems(html_dir: Path) -> list[str]:
    """Cell outputs showing an error, unless the cell is tagged ``raises-exception``.

    Also reports the execution reports jupyter-book leaves when a notebook failed.
    """
    problems = [
        f"execution failed, see {_rel(report, html_dir)}"
        for report in sorted((html_dir / "reports").rglob("*"))
        if report.is_file()
    ]
    for page in html_pages(html_dir):
        for output in soup(page).select("div.cell_output"):
            cell = output.find_parent("div", class_="cell")
            if cell is not None and "tag_raises-exception" in cell.get("class", []):
                continue
            shows_error = output.select(".traceback, .output.error") or (
                TRACEBACK_TEXT in output.get_text()
            )
            if shows_error:
                first_line = output.get_text().strip().splitlines()[:1]
                problems.append(f"{_rel(page, html_dir)}: error output {first_line}")
    return problems


def reading_order_problems(html_dir: Path, docnames: list[str]) -> list[str]:
    """What a screen reader's outline of each page would trip on: not exactly one h1, a
    heading level skipped on the way down (h2 then h4), a table without header cells."""
    problems = []
    for name in docnames:
        article = soup(html_dir / f"{name}.html").select_one("article")
        if article is None:
            problems.append(f"{name}: no <article>")
            continue
        levels = [int(h.name[1]) for h in article.find_all(re.compile(r"^h[1-6]$"))]
        if levels.count(1) != 1:
            problems.append(f"{name}: {levels.count(1)} h1 headings, not one")
        for before, after in zip(levels, levels[1:]):
            if after > before + 1:
                problems.append(f"{name}: h{before} followed by h{after}")
        for table in article.find_all("table"):
            if table.find("th") is None:
                problems.append(f"{name}: a table without header cells")
    return problems


def figures_in(page: Path) -> int:
    """How many images the page's cell outputs show."""
    return len(soup(page).select("div.cell_output img"))


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
