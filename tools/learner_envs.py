"""The learner install on every supported Python, for tests/test_learner_install.py.

    python tools/learner_envs.py --only 3.11   # one install (make learner: the pinned Python's)
    python tools/learner_envs.py --only 3.12-neuroglancer   # 3.12's with the extra
    python tools/learner_envs.py          # the others', building the missing ones
    python tools/learner_envs.py --list   # which Python this machine has for each

Each supported Python found on this machine gets a learner install: a fresh venv holding
what ``python -m pip install -r requirements-learner.txt`` gives, as the README's steps make
it. uv installs it (``env_cache.INSTALL``); the README's steps, run as written with a
learner's pip on every ``make test``, check that pip resolves those requirements to the
same releases uv does (tests/test_learner_install.py). On Python 3.12 a second one, the
learner install with the Neuroglancer chapter's optional extra
(``requirements-neuroglancer.txt``), as the README's one extra command makes it. Each runs
chapters offline in the tests (every chapter on Python 3.12, one on each other Python).

They are built once into the cache of tools/env_cache.py, keyed by the requirements' text
(with pyproject.toml's dependencies, which the ``.`` line installs), the Python and the
installer; in the clone, ``.venv-learner`` (the pinned Python), ``.venv-learner-<X.Y>`` and
``.venv-learner-3.12-neuroglancer`` are links to them. The helper package in each is the
run's one wheel (tools/setup_cell.py's ``run_wheel``), installed with its dependencies in
place of the requirements' ``.`` line (a learner's pip makes the same package from that
line); a new one is put in with ``--no-deps`` whenever the package's files changed.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools import env_cache  # noqa: E402
from tools.setup_cell import run_wheel  # noqa: E402

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
EXTRA_SUFFIX = "-neuroglancer"  # the name of an install with the extra: 3.12-neuroglancer


def install_name(python: str, extra: bool = False) -> str:
    """The name of a learner install: "3.12", "3.12-neuroglancer" (make's targets say it,
    and its folder in the cache of tools/env_cache.py is ``learner-<name>-<key>``)."""
    return python + (EXTRA_SUFFIX if extra else "")


def env_path(python: str, extra: bool = False) -> Path:
    """The clone's link to a learner install (the pinned Python's is ``.venv-learner``)."""
    if python == PINNED and not extra:
        return REPO / ".venv-learner"
    return REPO / f".venv-learner-{install_name(python, extra)}"


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


def requirements_text(extra: bool = False) -> str:
    """What decides a learner install's contents: the requirements files it is installed
    from and the package's own dependencies (pyproject.toml), which its ``.`` line adds."""
    files = ["requirements-learner.txt", *([EXTRA_REQUIREMENTS] if extra else [])]
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    parts = [f"# {name}\n{(REPO / name).read_text(encoding='utf-8')}" for name in files]
    parts.append(f"# pyproject.toml\n{project['dependencies']}\n{project['optional-dependencies']}")
    return "\n".join(parts)


def install_names() -> list[str]:
    """Every learner install but the pinned Python's, by name: "3.10", "3.12",
    "3.12-neuroglancer", "3.13" (make learner-pythons builds each as a target of its own,
    so that ``make -j2`` shares them out)."""
    names = []
    for python in SUPPORTED:
        if python != PINNED:
            names.append(install_name(python))
        if python == WITH_EXTRA:
            names.append(install_name(python, extra=True))
    return names


def install_wheel(folder: Path, wheel: Path) -> bool:
    """Put the run's ``wheel`` in the environment ``folder`` unless it holds it already
    (its digest is recorded beside it); True if it was put in now."""
    record = folder / "microns_helpers-wheel.txt"
    if record.is_file() and record.read_text() == wheel.parent.name:
        return False
    with env_cache.locked(folder.parent / f"{folder.name}.lock"):
        install = env_cache.install_command(folder / "bin" / "python")
        subprocess.run([*install, "--no-deps", "--reinstall", str(wheel)], cwd=REPO, check=True)
        record.write_text(wheel.parent.name)
    return True


def requirement_lines(name: str) -> list[str]:
    """The requirements of the file ``name`` as pip reads them: its ``-r`` files inlined,
    comments and blank lines dropped."""
    lines = []
    for raw in (REPO / name).read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line.startswith("-r "):
            lines += requirement_lines(line[3:].strip())
        elif line and not line.startswith("#"):
            lines.append(line)
    return lines


def installed_lines(requirements: str, wheel: Path) -> list[str]:
    """What a learner install of the file ``requirements`` installs: its lines, with the run's
    ``wheel`` for the ``.`` line (the package, with its dependencies; nothing is then built
    in the clone's build/ folder, where two installs building at once, make -j2, collide)."""
    return [str(wheel) if line == "." else line for line in requirement_lines(requirements)]


def build(python: str, extra: bool = False, wheel: Path | None = None) -> str:
    """Link the learner install of ``python`` (with ``extra``, the Neuroglancer extra),
    built now unless the cache has it, with the run's wheel in it; returns a line to print."""
    interpreter = find_interpreter(python)
    if interpreter is None:
        return f"== learner install on Python {python}: no such Python on this machine"
    requirements = EXTRA_REQUIREMENTS if extra else "requirements-learner.txt"
    wheel = wheel or run_wheel()

    def install(folder: Path) -> None:
        listed = folder / "requirements-installed.txt"
        listed.write_text("".join(f"{line}\n" for line in installed_lines(requirements, wheel)))
        env_python = str(folder / "bin" / "python")
        subprocess.run(
            [*env_cache.install_command(env_python), "-r", str(listed)], cwd=REPO, check=True
        )
        (folder / "microns_helpers-wheel.txt").write_text(wheel.parent.name)
        frozen = subprocess.run(
            [env_python, "-m", "pip", "list", "--format=freeze"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (folder / "packages.txt").write_text(frozen)

    name = f"learner-{install_name(python, extra)}"
    folder, built = env_cache.ensure(name, str(interpreter), requirements_text(extra), install)
    env_cache.link(env_path(python, extra), folder)
    install_wheel(folder, wheel)
    version = subprocess.run(
        [str(folder / "bin" / "python"), "--version"], capture_output=True, text=True
    ).stdout.split()[-1]
    count = len((folder / "packages.txt").read_text().split())
    what = " with the Neuroglancer extra" if extra else ""
    how = "built now" if built else "reused (cached)"
    return f"== learner install{what} on Python {version}: {count} packages, {how}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="only say what is found")
    parser.add_argument(
        "--only", help="only this install, e.g. 3.11 (make learner) or 3.12-neuroglancer"
    )
    args = parser.parse_args(argv)
    if args.list:
        for python in SUPPORTED:
            print(f"{python}: {find_interpreter(python) or 'not on this machine'}")
        return 0
    known = [PINNED, *install_names()]
    if args.only and args.only not in known:
        parser.error(f"no learner install {args.only!r}; there are: {', '.join(known)}")
    wheel = run_wheel()
    # no --only: the others' (make learner-pythons builds each alone; make learner the pinned)
    for name in [args.only] if args.only else install_names():
        python, extra = name.removesuffix(EXTRA_SUFFIX), name.endswith(EXTRA_SUFFIX)
        print(build(python, extra=extra, wheel=wheel), flush=True)
    return 0


if __name__ == "__main__":
    os.chdir(REPO)
    sys.exit(main())
