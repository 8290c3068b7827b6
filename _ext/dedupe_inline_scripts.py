"""Sphinx extension of this book: write each inline script once per page.

Sphinx 7.4 lists an inline script (``app.add_js_file(None, body=...)``) twice when an
extension adds it once the builder exists: once with the filename ``None``, once, copied
from the registry, with ``''``. sphinx-thebe adds ``const THEBE_JS_URL = ...`` that way, and
the second ``const`` is a JavaScript error in every reader's browser console.
"""

from __future__ import annotations


def _drop_repeated_inline_scripts(app, pagename, templatename, context, doctree):
    seen = set()
    kept = []
    for script in context.get("script_files", []):
        body = script.attributes.get("body") if not script.filename else None
        if body is not None:
            if body in seen:
                continue
            seen.add(body)
        kept.append(script)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", _drop_repeated_inline_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
