"""The site build: run once, explicitly, before the tests that check the built site.

``make site`` (and ``make test``, before pytest) runs ``python -m tests.site_build``: one
``jupyter-book build`` of the repository from scratch, warnings as errors, rendering the
chapters' stored outputs (nbval checks them; nothing executes here). It leaves the HTML in
``_build/html``, the log in ``_build/build.log`` and what the build did, with a digest of
the book's sources, in ``_build/site-build.json``.

The fixtures below, registered in ``tests/conftest.py``, read that record: no test builds
the site as a side effect. ``site_build`` is the record (exit status, log, time);
``built_site`` is the path of the HTML, and fails with a pointer to ``test_site_builds``
when the build did not succeed. Both fail with "run make site" when there is no build, or
when the sources changed since it ran. The tests that use them are marked ``site``.

Example::

    def test_something(built_site):
        assert (built_site / "intro.html").exists()
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
# A build that takes longer than this is stuck (a kernel waiting on the network, say).
BUILD_TIMEOUT_SECONDS = 1200
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PROBLEM_LINE = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b:|Traceback \(most recent call last\)")


def toc_docnames(root: Path = REPO_ROOT) -> list[str]:
    """Every page of ``_toc.yml`` as a docname, e.g. ``["intro", "chapters/01_setup"]``."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                names.append(str(node["file"]))
            if "glob" in node:
                for path in sorted(root.glob(node["glob"])):
                    if path.suffix in (".md", ".ipynb"):
                        names.append(str(path.relative_to(root).with_suffix("")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({key: value for key, value in toc.items() if key != "root"})
    return [re.sub(r"\.(md|ipynb)$", "", name) for name in names]


@dataclass
class SiteBuild:
    """What one ``jupyter-book build`` did."""

    root: Path
    command: list[str]
    returncode: int
    log: str
    seconds: float

    @property
    def html(self) -> Path:
        return self.root / "_build" / "html"

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def report(self, tail_lines: int = 40) -> str:
        """The warnings and errors of the log, then its last lines: enough to act on."""
        lines = self.log.splitlines()
        problems = [line for line in lines if _PROBLEM_LINE.search(line)][:40]
        return "\n".join(
            [f"$ {' '.join(self.command)}  (exit {self.returncode}, {self.seconds:.0f} s)"]
            + ["-- warnings and errors:"]
            + (problems or ["(none matched)"])
            + [f"-- last {tail_lines} lines:"]
            + lines[-tail_lines:]
        )


def _jupyter_book() -> str:
    """The jupyter-book of the running interpreter's environment, else the one on PATH."""
    beside = Path(sys.executable).parent / "jupyter-book"
    return str(beside) if beside.exists() else (shutil.which("jupyter-book") or "jupyter-book")


def build_site(root: Path) -> SiteBuild:
    """Build the book at ``root`` into ``root/_build/html`` from scratch, warnings as errors.

    The old HTML is removed first and Sphinx starts from a fresh environment (``--all``):
    an incremental build would keep pages that left the table of contents and would not
    repeat the warnings of unchanged pages. Runs in replay unless ``MICRONS_MODE`` says
    otherwise (the kernels inherit the environment).

    Example: ``build_site(Path(".")).ok``
    """
    shutil.rmtree(root / "_build" / "html", ignore_errors=True)
    command = [_jupyter_book(), "build", str(root), "-W", "-n", "--keep-going", "--all"]
    env = dict(os.environ)
    env.setdefault("MICRONS_MODE", "replay")
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=BUILD_TIMEOUT_SECONDS,
        )
        returncode, log = done.returncode, done.stdout
    except subprocess.TimeoutExpired as stuck:
        returncode = -1
        # TimeoutExpired holds bytes even with text=True.
        log = (stuck.stdout or b"").decode(errors="replace")
        log += f"\n[site_build] stopped after {BUILD_TIMEOUT_SECONDS} s without finishing\n"
    seconds = time.perf_counter() - start
    log = _ANSI.sub("", log)
    (root / "_build").mkdir(exist_ok=True)
    (root / "_build" / "build.log").write_text(log, encoding="utf-8")
    return SiteBuild(root, command, returncode, log, seconds)


RECORD = REPO_ROOT / "_build" / "site-build.json"
# What the site is made of besides the pages of _toc.yml (the wheel: the package).
SITE_INPUTS = ("_config.yml", "_toc.yml", "_static", "_ext", "microns_helpers", "pyproject.toml")


def sources_digest(root: Path = REPO_ROOT) -> str:
    """A digest of the files the site is built from: the pages of the table of contents,
    the configuration, the static files, the extensions and the package (its wheel)."""
    files = []
    for name in toc_docnames(root):
        files += [p for p in (root / f"{name}.ipynb", root / f"{name}.md") if p.exists()]
    for name in SITE_INPUTS:
        path = root / name
        files += [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in files:
        if "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_and_record(root: Path = REPO_ROOT) -> SiteBuild:
    """``make site``: build the site and record the build for the site checks."""
    digest = sources_digest(root)
    build = build_site(root)
    record = {
        "command": build.command,
        "returncode": build.returncode,
        "seconds": round(build.seconds, 1),
        "sources": digest,
    }
    (root / "_build" / "site-build.json").write_text(json.dumps(record, indent=1) + "\n")
    return build


def recorded_build(root: Path = REPO_ROOT) -> SiteBuild:
    """The build ``make site`` recorded; fails the test when there is none, or a stale one."""
    record_file = root / "_build" / "site-build.json"
    if not record_file.exists():
        pytest.fail(
            "The site has not been built: run `make site` first (make test does), then the "
            "site checks again.",
            pytrace=False,
        )
    record = json.loads(record_file.read_text(encoding="utf-8"))
    if record["sources"] != sources_digest(root):
        pytest.fail(
            "The book's sources changed since the site was built: run `make site` again, then "
            "the site checks.",
            pytrace=False,
        )
    log_file = root / "_build" / "build.log"
    log = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
    return SiteBuild(root, record["command"], record["returncode"], log, record["seconds"])


@pytest.fixture(scope="session")
def site_build() -> SiteBuild:
    """The one build of the repository's book, made by ``make site`` before the tests."""
    return recorded_build(REPO_ROOT)


@pytest.fixture(scope="session")
def built_site(site_build: SiteBuild) -> Path:
    """``_build/html`` of a successful build; fails with a pointer to the build otherwise."""
    if not site_build.ok:
        pytest.fail(
            f"The site build failed (exit {site_build.returncode}), so the built site cannot "
            "be checked: see test_site_builds for the log (full log in _build/build.log).",
            pytrace=False,
        )
    return site_build.html


if __name__ == "__main__":
    # make site: the build's own status; make test goes on to pytest either way (its
    # test_site_builds reports a failed build with the log).
    done = build_and_record(REPO_ROOT)
    print(f"site build: exit {done.returncode} in {done.seconds:.0f} s (log: _build/build.log)")
    if not done.ok:
        print(done.report(), file=sys.stderr)
    sys.exit(done.returncode)
