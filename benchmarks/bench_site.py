"""How long the site takes to build and to check, and how big it is.

Builds the book exactly as the tests do (``jupyter-book build . -W -n --keep-going --all``,
replay mode, into ``_build/html``), then times the static checks of ``tests/test_site.py``
and the secrets scan of the built site. Prints one table.

    python benchmarks/bench_site.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.scan_checks import scan, site_texts  # noqa: E402
from tests.site_build import build_site, toc_docnames  # noqa: E402
from tests.site_checks import (  # noqa: E402
    external_load_problems,
    link_problems,
    missing_pages,
    search_index_problems,
    traceback_problems,
)


def _timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def main() -> int:
    build, build_s = _timed(build_site, REPO)
    rows = [
        ("site build (jupyter-book, replay)", f"{build_s:.1f} s", "ok" if build.ok else "FAILED")
    ]
    if build.ok:
        html, docnames = build.html, toc_docnames()
        size = sum(p.stat().st_size for p in html.rglob("*") if p.is_file())
        rows.append(("site size", f"{size / 1e6:.1f} MB", f"{len(docnames)} pages in _toc.yml"))
        checks = [
            ("pages exist", missing_pages, html, docnames),
            ("links and anchors", link_problems, html),
            ("nothing loaded from outside", external_load_problems, html),
            ("search index", search_index_problems, html, docnames),
            ("no rendered traceback", traceback_problems, html),
        ]
        for name, function, *args in checks:
            problems, seconds = _timed(function, *args)
            rows.append((f"check: {name}", f"{seconds:.2f} s", f"{len(problems)} problem(s)"))
        findings, seconds = _timed(lambda: scan(site_texts(html)))
        rows.append(("scan of the built site", f"{seconds:.2f} s", f"{len(findings)} finding(s)"))
    width = max(len(row[0]) for row in rows)
    for what, value, note in rows:
        print(f"{what:<{width}}  {value:>9}  {note}")
    return 0 if build.ok else 1


if __name__ == "__main__":
    sys.exit(main())
