"""Virtual environments with one caveclient release each, for the caveclient matrix.

    python tools/caveclient_envs.py 5.17.2 5.23.0        # make the missing ones
    python tools/caveclient_envs.py --all                # the 16 releases of the weekly run
    python tools/caveclient_envs.py --ci --print-paths   # the CI set, one interpreter a line

Each holds caveclient, the numpy, pandas and pyarrow that release installs with, and what
microns_helpers needs to run offline (vcrpy, tqdm); the tests put the repository on
PYTHONPATH. It is built once into the cache of tools/env_cache.py, keyed by those
requirements, this Python and the installer (uv), and ``.venv-caveclient-<release>`` at the
repository root is a link to it. ``make test`` builds the CI set (or finds it built).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tools import env_cache  # noqa: E402

# Every release the weekly workflow checks (.github/workflows/caveclient-matrix.yml).
ALL_RELEASES = (
    "5.17.2", "5.18.0", "5.20.3", "5.22.0", "5.23.0", "5.24.1", "5.25.2", "5.31.0",
    "6.0.2", "6.5.2", "7.0.4", "7.4.3", "7.11.1", "8.0.1", "8.1.0", "8.2.1",
)  # fmt: skip
# What CI runs offline on every push: the oldest, the newest with the RecursionError, the
# two that write token files, a 7.x; the pinned release is the main environment's.
CI_RELEASES = ("5.17.2", "5.23.0", "5.31.0", "6.0.2", "7.11.1")


def matrix_releases() -> tuple:
    """The releases the matrix tests run on: CAVECLIENT_RELEASES (comma-separated, what the
    weekly workflow sets to one release per job), else the CI set."""
    chosen = os.environ.get("CAVECLIENT_RELEASES", "").strip()
    return tuple(r.strip() for r in chosen.split(",") if r.strip()) if chosen else CI_RELEASES


def version_tuple(text: str) -> tuple:
    return tuple(int(p) for p in text.split("."))


def requirements(release: str) -> list[str]:
    """What to install beside caveclient ``release`` (checked on Python 3.11).

    All install with pandas 2.2.3; 5.x and 6.x need numpy<2; 5.17-5.20 need pyarrow<12,
    6.x at most 25.0.1; 5.x and 6.x do not declare their need of packaging.
    """
    v = version_tuple(release)
    pins = [f"caveclient=={release}", "pandas==2.2.3", "vcrpy==9.4.2", "tqdm==4.70.1"]
    if v < (7,):
        pins.append("numpy==1.26.4")
    if v < (5, 21):
        pins.append("pyarrow==11.0.0")
    elif v < (6,):
        pins.append("pyarrow==16.1.0")
    elif v < (7,):
        pins.append("pyarrow==25.0.1")
    if v < (7,):
        pins.append("packaging")
    return pins


def env_path(release: str) -> Path:
    return REPO / f".venv-caveclient-{release}"


def python_of(release: str) -> Path:
    return env_path(release) / "bin" / "python"


def build(release: str) -> str:
    """Link the environment of ``release``, built now unless the cache has it; returns a
    line to print."""
    pins = requirements(release)

    def install(folder: Path) -> None:
        done = subprocess.run(
            [*env_cache.install_command(folder / "bin" / "python"), *pins],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])

    try:
        folder, built = env_cache.ensure(
            f"caveclient-{release}", sys.executable, "\n".join(pins), install
        )
    except (RuntimeError, subprocess.CalledProcessError) as err:
        return f"{release}: FAILED\n{err}"
    env_cache.link(env_path(release), folder)
    what = "installed" if built else "reused (cached)"
    return f"{release}: {what} {' '.join(pins)} ({folder.name})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("releases", nargs="*", help="caveclient releases, e.g. 5.23.0")
    parser.add_argument("--all", action="store_true", help="every release of the weekly run")
    parser.add_argument("--ci", action="store_true", help="the releases CI runs")
    parser.add_argument("--print-paths", action="store_true", help="print the interpreters")
    args = parser.parse_args(argv)
    releases = list(args.releases)
    if args.all:
        releases += ALL_RELEASES
    if args.ci:
        releases += CI_RELEASES
    releases = list(dict.fromkeys(releases))
    if args.print_paths:
        for release in releases:
            print(python_of(release))
        return 0
    # an install waits on the network and the disk more than on the processor: three at a time.
    with ThreadPoolExecutor(3) as pool:
        lines = list(pool.map(build, releases))
    for line in lines:
        print(line, flush=True)
    return 1 if any("FAILED" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
