"""Virtual environments kept outside the clone, keyed by what is in them.

An environment's key is a digest of what decides its contents: the text of the
requirements it is installed from, the Python that runs it (its full version, and the pip
its venv gets) and the installer that fills it (``INSTALL``, with uv's version). It is built
once, into
``<cache>/<name>-<key>/``, and every clone and run asking for the same contents gets that
folder again; a change of any of them is another key, so another folder. ``<cache>`` is
``$MICRONS_ENV_CACHE``, else ``${XDG_CACHE_HOME:-~/.cache}/microns-book/envs``; deleting it
clears them all (the next ``make test`` builds them again, from uv's cache).

A build holds a lock (two runs never build one folder at once), writes the marker
``.installed`` last, and removes its folder when it fails: a folder without the marker is
never used, and the next build starts it anew.

    python tools/env_cache.py            # the cached environments, with their size
    python tools/env_cache.py --clear    # delete them all (make clean-envs)
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

MARKER = ".installed"
# The installer of every environment the tests build (learner installs, caveclient releases,
# cloud-volume's, the Colab-like one): uv's pip interface, run from the Python running this
# (``.venv``, where requirements-dev.txt pins uv), into a venv that Python's own ``venv``
# made (so it holds the pip a learner's venv holds). uv resolves the same pins to the same
# releases as pip (the README's steps, run as written with a learner's pip, check that on
# every ``make test``: tests/test_learner_install.py) in seconds where pip took half a
# minute of processor time, most of it reading every release's files on the index. It
# compiles no bytecode at install (uv's default; a learner's pip compiles every file): the
# Makefile lets Python write it on first import, where PYTHONDONTWRITEBYTECODE would forbid
# it, so each module the tests import is compiled once, and the rest never.
# ``make bench``'s install figures and the README's steps use pip, as a learner does.
INSTALL = ("-m", "uv", "pip", "install", "--quiet")


def install_command(env_python) -> list[str]:
    """The command that installs into the venv of ``env_python`` (add what to install)."""
    return [sys.executable, *INSTALL, "--python", str(env_python)]


@functools.cache
def installer_version() -> str:
    """uv's version (``uv 0.13.9``); a clear error where this Python has no uv."""
    done = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            "uv, which installs the test environments, is not installed in the Python running"
            " this: run it with .venv's (make install puts uv there; requirements-dev.txt pins it)"
        )
    return done.stdout.split("(")[0].strip()


def cache_root() -> Path:
    """Where the environments live (``$MICRONS_ENV_CACHE``, else under XDG's cache)."""
    chosen = os.environ.get("MICRONS_ENV_CACHE")
    if chosen:
        return Path(chosen)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "microns-book" / "envs"


@functools.cache
def interpreter_facts(python: str) -> str:
    """The full version of ``python`` and of the pip its venvs get (ensurepip's)."""
    done = subprocess.run(
        [python, "-c", "import ensurepip, sys; print(sys.version); print(ensurepip.version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def env_key(python: str, requirements: str) -> str:
    """The key of an environment of ``python`` holding ``requirements`` (their text)."""
    installer = f"{installer_version()} {' '.join(INSTALL)}"
    facts = f"{interpreter_facts(python)}\n{installer}\n--\n{requirements.strip()}\n"
    return hashlib.sha256(facts.encode()).hexdigest()[:16]


def is_complete(folder: Path) -> bool:
    return (folder / MARKER).is_file()


@contextmanager
def locked(path: Path):
    """An exclusive lock on ``path`` (a file beside the environment), held while inside."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def make_venv(python: str, folder: Path) -> None:
    subprocess.run([python, "-m", "venv", str(folder)], check=True)


def ensure(
    name: str, python: str, requirements: str, install: Callable[[Path], None]
) -> tuple[Path, bool]:
    """The environment ``name`` of ``python`` holding ``requirements``: the cached one, or
    one built now by ``install(folder)`` into a fresh venv. Returns (folder, built now)."""
    root = cache_root()
    folder = root / f"{name}-{env_key(python, requirements)}"
    if is_complete(folder):
        return folder, False
    with locked(root / f"{folder.name}.lock"):
        if is_complete(folder):  # another run built it while this one waited
            return folder, False
        shutil.rmtree(folder, ignore_errors=True)  # a half-built one: start anew
        try:
            make_venv(python, folder)
            install(folder)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        (folder / MARKER).write_text(requirements.strip() + "\n")  # last
    return folder, True


def link(local: Path, folder: Path) -> None:
    """Make ``local`` (``.venv-caveclient-5.17.2`` in the clone) a link to ``folder``."""
    if local.is_symlink() or local.is_file():
        local.unlink()
    elif local.is_dir():  # an environment built in the clone before the cache existed
        shutil.rmtree(local)
    local.symlink_to(folder, target_is_directory=True)


def main(argv=None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    root = cache_root()
    if "--clear" in args:
        shutil.rmtree(root, ignore_errors=True)
        print("the cached environments are deleted")
        return 0
    print(f"environments in {root} (delete the folder to clear them):")
    for folder in sorted(root.glob("*/")) if root.is_dir() else []:
        state = "complete" if is_complete(folder) else "incomplete (rebuilt on next use)"
        size = subprocess.run(["du", "-sh", str(folder)], capture_output=True, text=True)
        print(f"  {folder.name}: {state}, {size.stdout.split()[0] if size.stdout else '?'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
