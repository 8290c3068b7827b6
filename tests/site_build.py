"""The site build, run once per test session, as pytest fixtures.

Registered in ``tests/conftest.py`` (``pytest_plugins = ["tests.site_build"]``) so that
every test module shares the one build. ``site_build`` is the build itself (exit status,
log, time); ``built_site`` is the path of the HTML, and fails with a pointer to
``test_site_builds`` when the build did not succeed, instead of a cascade of confusing
failures in every check of the site.

Example::

    def test_something(built_site):
        assert (built_site / "intro.html").exists()
"""

from __future__ import annotations

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


@pytest.fixture(scope="session")
def site_build() -> SiteBuild:
    """The one build of the repository's book for this test session."""
    return build_site(REPO_ROOT)


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
