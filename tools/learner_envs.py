"""The learner install on every supported Python, for tests/test_learner_install.py.

    python tools/learner_envs.py          # build the missing ones (make test does)
    python tools/learner_envs.py --list   # which Python this machine has for each

The pinned Python's environment is ``.venv-learner`` (the Makefile's ``learner`` target);
each other supported Python found on this machine gets ``.venv-learner-<X.Y>``, made from
``requirements-learner.txt`` alone, as a learner's pip makes it (pip's cache makes a rebuild
quick). Each runs chapters offline in the tests (tests/test_learner_install.py: every
chapter on Python 3.12, one on each other Python). On Python 3.12 a second environment,
``.venv-learner-3.12-neuroglancer``, is the learner install with the Neuroglancer chapter's
optional extra (``requirements-neuroglancer.txt``), as the README's one extra command makes it.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The stored notebook outputs were made on the pinned one, which runs the full suite.
PINNED = "3.11"
# Python -> the chapters its learner install runs offline in the tests ("every": all of
# _toc.yml's): every chapter on the Python most learners have, one elsewhere, each a
# different one (the doctor's chapter on the oldest).
CHAPTER_ON = {
    "3.10": "01_setup",
    "3.11": "04_filtering",
    "3.12": "every",
    "3.13": "03_querying",
}
SUPPORTED = tuple(CHAPTER_ON)
# The Python whose learner install is also built with the Neuroglancer extra.
WITH_EXTRA = "3.12"
EXTRA_REQUIREMENTS = "requirements-neuroglancer.txt"


def env_path(python: str, extra: bool = False) -> Path:
    if extra:
        return REPO / f".venv-learner-{python}-neuroglancer"
    return REPO / (".venv-learner" if python == PINNED else f".venv-learner-{python}")


def find_interpreter(python: str) -> Path | None:
    """This machine's interpreter of ``python`` ("3.12"): pyenv's newest, else pythonX.Y."""
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    except OSError:
        root = ""
    found = sorted(
        glob.glob(f"{root}/versions/{python}.*/bin/python{python}") if root else [],
        key=lambda p: [int(n) for n in Path(p).parts[-3].split(".") if n.isdigit()],
    )
    if found:
        return Path(found[-1])
    on_path = shutil.which(f"python{python}")
    return Path(on_path) if on_path else None


def build(python: str, extra: bool = False) -> str:
    """Make ``.venv-learner-<python>`` (with ``extra``, ``-neuroglancer``) unless it is
    current, then put the package in it as it is now (a copy, as a learner's pip makes it);
    returns a line to print."""
    folder = env_path(python, extra)
    marker = folder / ".installed"
    interpreter = find_interpreter(python)
    if interpreter is None:
        return f"== learner install on Python {python}: no such Python on this machine"
    requirements = EXTRA_REQUIREMENTS if extra else "requirements-learner.txt"
    inputs = [REPO / "requirements-learner.txt", REPO / requirements, REPO / "pyproject.toml"]
    pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    if not marker.exists() or any(p.stat().st_mtime > marker.stat().st_mtime for p in inputs):
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([str(interpreter), "-m", "venv", str(folder)], check=True)
        subprocess.run([*pip, "-r", requirements], cwd=REPO, check=True)
        frozen = subprocess.run(
            [str(folder / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (folder / "packages.txt").write_text(frozen)
        marker.touch()
    subprocess.run([*pip, "--no-deps", "--force-reinstall", "."], cwd=REPO, check=True)
    version = subprocess.run(
        [str(folder / "bin" / "python"), "--version"], capture_output=True, text=True
    ).stdout.split()[-1]
    count = len((folder / "packages.txt").read_text().split())
    what = " with the Neuroglancer extra" if extra else ""
    return f"== learner install{what} on Python {version}: {count} packages"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="only say what is found")
    args = parser.parse_args(argv)
    for python in SUPPORTED:
        if args.list:
            print(f"{python}: {find_interpreter(python) or 'not on this machine'}")
            continue
        if python != PINNED:  # the pinned one: the Makefile's learner target
            print(build(python), flush=True)
        if python == WITH_EXTRA:
            print(build(python, extra=True), flush=True)
    return 0


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
