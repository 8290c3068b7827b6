"""The hidden first cell of every chapter: install the helper package where it is missing,
and work offline without a token.

    python tools/setup_cell.py          # write it into every chapter of _toc.yml
    python tools/setup_cell.py --check  # exit 1 if a chapter's first cell is not it

A chapter opened on its own (Colab from the launch button, a fresh Python) has no
``microns_helpers``: the cell installs it from the repository named by ``repository.url``
in ``_config.yml``, the one place the site's buttons come from too. Then
``microns_helpers.choose_mode()`` goes offline, and says so, when no CAVE token is found and
``MICRONS_MODE`` is not set. The cell is tagged ``remove-cell``: hidden on the site, run by
nbval and every reader's kernel.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import tomllib
import yaml

REPO = Path(__file__).resolve().parents[1]
TAG = "remove-cell"
WHEELS = "wheels"  # the site's folder of the wheel


def _config(config: Path = REPO / "_config.yml") -> dict:
    return yaml.safe_load(config.read_text(encoding="utf-8"))


def install_url(config: Path = REPO / "_config.yml") -> str:
    """``git+<repository.url>``, what pip installs the helper package from."""
    return "git+" + _config(config)["repository"]["url"].rstrip("/")


def wheel_name() -> str:
    """The file name of the helper package's wheel (pure Python, any platform)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return f"{project['name']}-{project['version']}-py3-none-any.whl"


# What the wheel is built from: setuptools reads these, and nothing else of the book (the
# package, and pyproject.toml's py-modules and data-files: the JupyterLab extension and the
# config file that enables it).
WHEEL_SOURCES = (
    "pyproject.toml",
    "README.md",
    "microns_helpers",
    "microns_helpers_jupyter.py",
    "jupyter-config",
)
# Never part of the wheel: caches and build leftovers (the same as .gitignore's).
_NOT_SOURCES = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.egg-info", "build", ".ipynb_checkpoints", ".pytest_cache"
)


def wheel_sources_digest(repo: Path = REPO) -> str:
    """A digest of every file the wheel is built from: equal digests, equal wheels."""
    import hashlib

    digest = hashlib.sha256()
    for name in WHEEL_SOURCES:
        root = repo / name
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(repo)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_wheel(out: Path, repo: Path = REPO) -> Path:
    """Build the helper package's wheel into ``out``; returns its path.

    From a clean copy of the package's files, so that it builds wherever the book is (a git
    checkout or not, e.g. ``make book-fast``'s copy): setuptools reuses a ``build/`` folder
    left in the tree, with whatever files it once held (deleted recordings included)."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        for name in WHEEL_SOURCES:
            if (repo / name).is_dir():
                shutil.copytree(repo / name, copy / name, ignore=_NOT_SOURCES)
            else:
                shutil.copy2(repo / name, copy / name)
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
            cwd=copy,
            capture_output=True,
            text=True,
        )
    wheel = out / wheel_name()
    if done.returncode != 0 or not wheel.exists():
        raise RuntimeError(f"the helper package's wheel did not build:\n{done.stderr[-2000:]}")
    return wheel


# The run's wheel: one build per content of its sources (wheel_sources_digest), which the
# site publishes and every learner environment installs (``python tools/setup_cell.py
# --wheel`` builds it and prints its path; ``make test`` does first).
RUN_WHEELS = REPO / "_build" / "wheel"


def run_wheel(repo: Path = REPO, folder: Path = RUN_WHEELS) -> Path:
    """The helper package's wheel as its files are now: built once into
    ``folder/<digest>/`` and found there by every later call until a file changes."""
    import fcntl

    out = folder / wheel_sources_digest(repo)[:16]
    wheel = out / wheel_name()
    if wheel.exists():
        return wheel
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # make -j2: the site and the environments at once
        if not wheel.exists():
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                built = build_wheel(Path(tmp), repo)
                out.mkdir(exist_ok=True)
                built.rename(wheel)  # whole or not at all
    return wheel


def wheel_url(config: Path = REPO / "_config.yml") -> str:
    """The wheel published with the site (``_ext/publish_wheel.py`` puts it there): the
    second source, for where the repository cannot be reached (no git, a blocked host)."""
    return f"{_config(config)['site_url'].rstrip('/')}/{WHEELS}/{wheel_name()}"


# What a learner sees: nothing, where the package is installed (a clone's install is never
# installed over); where it is missing, pip runs quietly and its output is shown only if
# every source failed, above two lines saying what to do; where the chapter's optional extra
# is missing, the chapter's own one line (what, and the command). Never a traceback.
CELL = """\
# Opened on its own (Colab, a fresh Python): install the book's helper package only if it
# is missing, and work offline when there is no CAVE token. Hidden on the site.
import importlib.util


class SetupFailed(Exception):
    def _render_traceback_(self):  # IPython shows these lines, not a traceback
        return str(self).splitlines()


def installed(module):
    importlib.invalidate_caches()  # see what pip just installed
    return importlib.util.find_spec(module) is not None


def pip_install(requirement):
    \"\"\"pip's output when it fails, else None (a success is silent).\"\"\"
    from subprocess import run  # names of its own: a chapter's own imports come first
    from sys import executable

    command = [executable, "-m", "pip", "install", "--quiet", "--retries", "1", requirement]
    done = run(command, capture_output=True, text=True)
    return None if done.returncode == 0 else (done.stdout + done.stderr).strip()


if not installed("microns_helpers"):
    failures = []
    for source in (
        "{url}",  # the repository
        "{fallback}",  # else the wheel published with the site
    ):
        failure = pip_install(f"microns_helpers[{extras}] @ {{source}}")
        if failure is None and installed("microns_helpers"):
            break
        failures.append(failure or "pip installed it, but it cannot be found")
    else:
        print("\\n\\n".join(failures)[-3000:])  # pip's own words: what went wrong
        raise SetupFailed(
            "This chapter needs the book's helper package, and pip could not install it (see "
            "above).\\nWhat to do: once online, run  %pip install \\"microns_helpers[{extras}] @ "
            "{url}\\"  and this cell again, or open the chapter on Binder (the rocket button)."
        )
try:
    import microns_helpers
except ImportError as error:
    raise SetupFailed(
        f"The book's helper package is installed but does not import ({{error}}).\\nWhat "
        "to do: restart the kernel (Colab: Runtime > Restart session), then run this cell again."
    ) from None
{extra_check}
mode = microns_helpers.choose_mode()  # "live", "offline" or "replay"\
"""

# A chapter's optional extra, checked once the package imports: its own one line (what is
# missing, the command) instead of an install attempt over the learner's environment.
EXTRA_CHECK = """\
from microns_helpers.{module} import {function}

try:  # this chapter's optional extra
    {function}()
except microns_helpers.errors.MissingExtraError as error:
    raise SetupFailed(str(error)) from None
"""

# A chapter that needs an optional extra of the package: the extra, and the package's check
# that says what is missing and the command.
EXTRAS = {"12_neuroglancer": ("neuroglancer", "links", "require_nglui")}


def cell_source(url: str | None = None, fallback: str | None = None, chapter: str = "") -> str:
    """The cell for ``chapter`` (a notebook's stem): the package with the chapters' extra,
    and the chapter's own optional extra if it has one."""
    extra, module, function = EXTRAS.get(chapter, (None, None, None))
    return CELL.format(
        url=url or install_url(),
        fallback=fallback or wheel_url(),
        extras=",".join(filter(None, ["chapters", extra])),
        extra_check=EXTRA_CHECK.format(module=module, function=function) if extra else "",
    )


def chapters() -> list[Path]:
    """The notebooks of ``_toc.yml``, in order."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
    files = [entry["file"] for part in toc["parts"] for entry in part["chapters"]]
    return [REPO / f"{name}.ipynb" for name in files if (REPO / f"{name}.ipynb").exists()]


def first_code_cell(nb):
    return next(cell for cell in nb.cells if cell.cell_type == "code")


def is_current(path: Path) -> bool:
    cell = first_code_cell(nbformat.read(str(path), as_version=4))
    return cell.source == cell_source(chapter=path.stem) and TAG in cell.metadata.get("tags", [])


def write(path: Path) -> bool:
    """Put the cell first (replacing an older one); True if the file changed."""
    nb = nbformat.read(str(path), as_version=4)
    first = first_code_cell(nb)
    source = cell_source(chapter=path.stem)
    if TAG in first.metadata.get("tags", []):
        if first.source == source:
            return False
        first.source = source
    else:
        cell = nbformat.v4.new_code_cell(source, id=f"{path.stem.split('_')[0]}-setup")
        cell.metadata["tags"] = [TAG]
        nb.cells.insert(nb.cells.index(first), cell)
    nbformat.write(nb, str(path))
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, change nothing")
    parser.add_argument("--wheel", action="store_true", help="build the run's wheel, print it")
    args = parser.parse_args(argv)
    if args.wheel:
        print(run_wheel().relative_to(REPO))
        return 0
    if args.check:
        stale = [p.name for p in chapters() if not is_current(p)]
        for name in stale:
            print(f"{name}: the first cell is not the setup cell; run tools/setup_cell.py")
        return 1 if stale else 0
    for path in chapters():
        if write(path):
            print(f"{path.name}: setup cell written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
