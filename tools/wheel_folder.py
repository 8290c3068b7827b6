"""A folder of wheels for a room without a network, for laptops of another platform.

    python tools/wheel_folder.py download wheels --target windows --python 3.11
    python tools/wheel_folder.py check wheels --target windows --python 3.11

``pip download --platform win_amd64`` picks wheels for Windows, but evaluates the
dependencies' markers for the machine it runs on (pypa/pip#13262): from Linux it leaves out
what only Windows needs (colorama for tqdm, IPython and click; pywinpty for the Jupyter
server and terminado), and the offline install on the laptops fails. ``download`` runs pip
as the guide used to, then ``check``: it reads each wheel's ``Requires-Dist`` and evaluates
the markers for the target (``sys_platform``, ``platform_system``, ``os_name``, the target
Python), walking from requirements-learner.txt and the build backend; whatever is missing,
it downloads for the target (pinned to what the folder holds), until nothing is missing.
``check`` alone says what a folder lacks, and exits 1 if anything.
"""

from __future__ import annotations

import argparse
import email.parser
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import tomllib
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

REPO = Path(__file__).resolve().parents[1]

# target -> (pip's --platform values, the markers of that platform)
TARGETS = {
    "windows": (
        ["win_amd64"],
        {
            "sys_platform": "win32",
            "platform_system": "Windows",
            "os_name": "nt",
            "platform_machine": "AMD64",
        },
    ),
    "macos-arm64": (
        # pip takes the newest and also accepts wheels for older macOS releases
        ["macosx_14_0_arm64"],
        {
            "sys_platform": "darwin",
            "platform_system": "Darwin",
            "os_name": "posix",
            "platform_machine": "arm64",
        },
    ),
}


def environment(target: str, python: str) -> dict:
    """The marker environment of a CPython ``python`` ("3.11") on ``target``."""
    env = default_environment()
    env.update(TARGETS[target][1])
    env.update(
        python_version=python,
        python_full_version=f"{python}.0",
        implementation_name="cpython",
        platform_python_implementation="CPython",
        implementation_version=f"{python}.0",
    )
    return env


def roots() -> list[Requirement]:
    """What the laptops install: requirements-learner.txt, the helper package's own
    dependencies (its ``.`` line) and the build backend that builds it there."""
    lines = (REPO / "requirements-learner.txt").read_text(encoding="utf-8").splitlines()
    wanted = [line.split("#")[0].strip() for line in lines]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    found = [Requirement(text) for text in wanted if text and text != "."]
    if "." in wanted:
        found += [Requirement(text) for text in pyproject["project"]["dependencies"]]
    found += [Requirement(text) for text in pyproject["build-system"]["requires"]]
    return found


def wheels(folder: Path) -> dict:
    """canonical name -> list of (version, Requires-Dist, file name) of the folder's wheels."""
    found: dict = {}
    for path in sorted(Path(folder).glob("*.whl")):
        name, version, _, _ = parse_wheel_filename(path.name)
        with zipfile.ZipFile(path) as archive:
            metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            message = email.parser.HeaderParser().parsestr(archive.read(metadata).decode())
        requires = [Requirement(text) for text in message.get_all("Requires-Dist") or []]
        found.setdefault(name, []).append((version, requires, path.name))
    return found


def missing(folder: Path, target: str, python: str, start=None) -> list[str]:
    """What the target's install would look for in ``folder`` and not find, one line each:
    ``requirement  (needed by who)``. Empty when the folder is complete."""
    env = environment(target, python)
    held = wheels(folder)
    todo = [(req, "requirements") for req in (start if start is not None else roots())]
    seen, lacking = set(), {}
    while todo:
        req, by = todo.pop()
        name = canonicalize_name(req.name)
        if req.marker is not None and not any(
            req.marker.evaluate({**env, "extra": extra}) for extra in _extras_of(by)
        ):
            continue
        fitting = [w for w in held.get(name, []) if req.specifier.contains(w[0], prereleases=True)]
        if not fitting:
            lacking.setdefault(f"{req.name}{req.specifier}", set()).add(by.split("[")[0])
            continue
        version, requires, _ = max(fitting)
        for extra in ["", *sorted(req.extras)]:
            key = (name, extra)
            if key in seen:
                continue
            seen.add(key)
            who = f"{name}[{extra}]" if extra else name
            todo += [(dep, who) for dep in requires]
    return [f"{req}  (needed by {', '.join(sorted(by))})" for req, by in sorted(lacking.items())]


def _extras_of(by: str) -> list[str]:
    """A requirement listed by "dask[dataframe]" is evaluated with extra == "dataframe"."""
    match = re.match(r"[^\[]+\[(.+)\]$", by)
    return [match.group(1)] if match else [""]


def pip_download(folder: Path, target: str, python: str, requirements: list[str]) -> None:
    platforms = [arg for p in TARGETS[target][0] for arg in ("--platform", p)]
    constraints = [f"{name}=={w[0]}" for name, held in wheels(folder).items() for w in held[:1]]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as pins:
        pins.write("\n".join(constraints) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "-d", str(folder), *platforms,
         "--python-version", python, "--implementation", "cp", "--only-binary=:all:",
         "-c", pins.name, *requirements],
        check=True,
        cwd=REPO,
    )  # fmt: skip
    Path(pins.name).unlink()


def download(folder: Path, target: str, python: str) -> list[str]:
    """Fill ``folder`` for ``target``; returns what is still missing (nothing, normally)."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    pip_download(folder, target, python, ["-r", "requirements-learner.txt", *map(str, roots())])
    for _ in range(5):  # each round adds what the target's markers ask for
        lacking = missing(folder, target, python)
        if not lacking:
            return []
        pip_download(folder, target, python, [line.split("  (")[0] for line in lacking])
    return missing(folder, target, python)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["download", "check"])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--target", choices=sorted(TARGETS), required=True)
    parser.add_argument("--python", default="3.11", help="the laptops' Python (default 3.11)")
    args = parser.parse_args(argv)
    if args.command == "download":
        lacking = download(args.folder, args.target, args.python)
    else:
        lacking = missing(args.folder, args.target, args.python)
    for line in lacking:
        print(f"missing for {args.target}, Python {args.python}: {line}")
    if not lacking:
        count = len(list(args.folder.glob("*.whl")))
        print(f"{args.folder}: complete for {args.target}, Python {args.python} ({count} wheels)")
    return 1 if lacking else 0


if __name__ == "__main__":
    sys.exit(main())
