"""The built site in a real browser: Debian's headless Chromium, driven by Selenium.

The site is served by ``http.server`` on 127.0.0.1 from a thread of this test; Chromium
resolves every other host to nothing, so a page that needs the network shows up as an
error in the browser log instead of reaching out. Screenshots land in
``_build/screenshots/``.
"""

from __future__ import annotations

import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.site_build import REPO_ROOT, toc_docnames

INSTALL_HINT = "apt-get install -y chromium chromium-driver"
SCREENSHOTS = REPO_ROOT / "_build" / "screenshots"
SEARCH_WORD = "synapse"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1280,900",
    # Only the local server is reachable: any other host fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture(scope="module")
def site_url(built_site):
    """The built site, served on 127.0.0.1 by a thread for the duration of this module."""
    handler = partial(_QuietHandler, directory=str(built_site))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()


def _find(name: str) -> str | None:
    found = shutil.which(name)
    return found or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with a fresh profile; fails (never skips) when it is not installed."""
    chromium, chromedriver = _find("chromium"), _find("chromedriver")
    if not (chromium and chromedriver):
        pytest.fail(
            "The browser check needs Debian's chromium and chromedriver, which are not "
            f"installed. Install them with: {INSTALL_HINT}",
            pytrace=False,
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: Selenium Manager (which downloads drivers) never runs.
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _severe_messages(driver) -> list[str]:
    """Errors the browser logged since the last call (uncaught exceptions, failed loads).

    A 404 for ``/favicon.ico`` is left out: the browser asks for it on its own when a page
    declares no icon, so it says nothing about the page.
    """
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "/favicon.ico " not in entry["message"]
    ]


def _wait_until_loaded(driver) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


@pytest.mark.parametrize("docname", toc_docnames())
def test_page_renders_without_javascript_error(visit, docname):
    page = visit(docname)
    assert page["has_title"], f"{docname} shows no title"
    errors = page["errors"]
    assert errors == [], f"{docname}: the browser logged errors:\n" + "\n".join(errors)


def test_search_finds_results(browser, site_url):
    from selenium.webdriver.support.ui import WebDriverWait

    _severe_messages(browser)
    browser.get(f"{site_url}/search.html?q={SEARCH_WORD}")
    results = WebDriverWait(browser, 30).until(
        lambda d: d.find_elements("css selector", "#search-results ul.search li")
    )
    assert len(results) >= 1, f"searching {SEARCH_WORD!r} found nothing"
    assert _severe_messages(browser) == []


def screenshot_pages() -> dict:
    """docname -> screenshot name: the intro, and the querying chapter (it has a figure),
    else the first chapter."""
    chapters = [name for name in toc_docnames() if name.startswith("chapters/")]
    chapter = next((name for name in chapters if "querying" in name), chapters[0])
    return {toc_docnames()[0]: "intro", chapter: Path(chapter).name}


def test_screenshots(visit):
    for docname, name in screenshot_pages().items():
        shot = visit(docname)["screenshot"]
        assert shot is not None, f"no screenshot of {docname}"
        assert shot == SCREENSHOTS / f"{name}.png" and shot.exists()
        assert shot.stat().st_size > 10_000, f"{shot.name} is suspiciously small (a blank page?)"


# --- accessibility: axe-core in the same browser ------------------------------------------------

# axe-core's own bundle (4.12) as the axe-playwright-python package ships it; only the script
# is used, run by Selenium in Debian's Chromium like the checks above.
IMPACTS_THAT_FAIL = ("serious", "critical")
MODES = ("light", "dark")


def _axe_script() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def _set_mode(driver, mode: str) -> None:
    """The theme's light or dark mode, as its switcher sets it (pydata-sphinx-theme 0.17:
    ``data-mode`` and ``data-theme`` on the page, the choice in localStorage 'mode'), on the
    page as it is: no reload, so one visit checks both modes."""
    driver.execute_script(
        "localStorage.setItem('mode', arguments[0]);"
        "document.documentElement.dataset.mode = arguments[0];"
        "document.documentElement.dataset.theme = arguments[0];",
        mode,
    )
    applied = driver.execute_script("return document.documentElement.dataset.theme")
    assert applied == mode, f"the page did not switch to {mode} mode ({applied})"


def _settle_colours(driver) -> None:
    """Stop the theme's colour transitions (its buttons fade colours over 0.15 s), then wait
    for the fonts and two frames: axe measures contrast from the colours on screen, and a
    check taken mid-fade failed once in CI on the search button's text."""
    driver.set_script_timeout(30)
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const style = document.createElement('style');"
        "style.textContent = '*, *::before, *::after {"
        " transition: none !important; animation: none !important; }';"
        "document.head.appendChild(style);"
        "document.fonts.ready.then(() =>"
        " requestAnimationFrame(() => requestAnimationFrame(() => done(true))));"
    )


@pytest.fixture(scope="module")
def axe_script():
    return _axe_script()


def _serious_violations(driver, axe_script: str) -> list[str]:
    driver.execute_script(axe_script)
    driver.set_script_timeout(120)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(done, e => done({error: String(e)}));"
    )
    assert "error" not in result, result
    return [
        f"{v['id']} ({v['impact']}): {v['help']}; e.g. {v['nodes'][0]['target']}"
        for v in result["violations"]
        if v["impact"] in IMPACTS_THAT_FAIL
    ]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("docname", toc_docnames())
def test_no_serious_accessibility_violation(visit, docname, mode):
    serious = visit(docname)["serious"][mode]
    assert serious == [], f"{docname} in {mode} mode:\n" + "\n".join(serious)


@pytest.fixture(scope="module")
def visit(browser, site_url, axe_script):
    """``visit(docname)``: every check of a page from one visit of it (the first test that
    asks), its title, what the browser logged, the screenshot if it is one of
    :func:`screenshot_pages`, and axe's serious violations in each mode."""
    seen: dict[str, dict] = {}

    def page(docname: str) -> dict:
        if docname not in seen:
            seen[docname] = _visit(browser, f"{site_url}/{docname}.html", axe_script, docname)
        return seen[docname]

    return page


def _visit(driver, url: str, axe_script: str, docname: str) -> dict:
    _severe_messages(driver)  # drop what earlier pages logged
    driver.get(url)
    _wait_until_loaded(driver)
    found = {"has_title": bool(driver.find_elements("css selector", "article h1"))}
    found["errors"] = _severe_messages(driver)
    found["screenshot"] = None
    name = screenshot_pages().get(docname)
    if name:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{name}.png"
        found["screenshot"] = shot if driver.save_screenshot(str(shot)) else None
    found["serious"] = {}
    for mode in MODES:
        _set_mode(driver, mode)
        _settle_colours(driver)
        found["serious"][mode] = _serious_violations(driver, axe_script)
    return found


def test_accessibility_check_catches_planted_low_contrast(browser, site_url, axe_script):
    """The check above can fail: dark grey text planted on the dark page is reported."""
    browser.get(f"{site_url}/{toc_docnames()[0]}.html")
    _wait_until_loaded(browser)
    _set_mode(browser, "dark")
    _settle_colours(browser)
    browser.execute_script(
        "const p = document.createElement('p'); p.id = 'planted';"
        "p.textContent = 'Planted text that a reader cannot see.';"
        "p.style.color = '#333333';"
        "document.querySelector('article').prepend(p);"
    )
    serious = _serious_violations(browser, axe_script)
    assert any(v.startswith("color-contrast") and "#planted" in v for v in serious), serious
