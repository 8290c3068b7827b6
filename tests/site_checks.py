"""The checks of a built site, each a function returning a list of problems (empty =
fine): tests/test_site.py runs them on the site `make site` built and on planted copies,
benchmarks/bench_site.py times them."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup

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


# ---------------------------------------------------------------------------- the API page
API_PAGE = "chapters/api.html"


def documented_ids(page: Path) -> set[str]:
    """The ids of the objects an autodoc page documents (functions, classes, modules)."""
    page_soup = soup(page)
    ids = {dt["id"] for dt in page_soup.select("dt.sig-object[id]")}
    ids |= {tag["id"].removeprefix("module-") for tag in page_soup.select("[id^=module-]")}
    return ids


def api_problems(html_dir: Path, public: dict[str, object]) -> list[str]:
    """Each public name of the package (``__all__`` -> object) that the API page does not
    document, under the name a learner types (``microns_helpers.connect``) or where it is
    defined (``microns_helpers.errors.NoTokenError``); a module by its own name."""
    page = html_dir / API_PAGE
    if not page.exists():
        return [f"{API_PAGE} is missing"]
    ids = documented_ids(page)
    problems = []
    for name, obj in sorted(public.items()):
        where = {f"microns_helpers.{name}", getattr(obj, "__name__", "")}
        where.add(f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}")
        if not where & ids:
            problems.append(f"{API_PAGE} does not document microns_helpers.{name}")
    return problems
