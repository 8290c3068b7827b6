"""What several test modules (and the benchmarks) share: the one place they import it from.

No test module imports another test module; each imports what it shares from here, from
``tests/site_build.py`` (the site build and its record) or from the step data of
``tests/documented_calls.py`` and ``tests/variations.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from microns_helpers import modes
from tools.setup_cell import chapters

REPO = Path(__file__).resolve().parents[1]

# --- the hostile tally (tests/conftest.py prints and asserts it) ---------------------------
# Filled by test_hostile_inputs.py and test_sample_validation.py: every hostile input tried,
# and how it ended. "lost": a recording, manifest or notebook damaged, or a file written
# where it must not be (outside the recordings folder, a .partial left behind).
# "5xx": answers of the sample service to malformed requests that were server errors.
HOSTILE_TALLY = {"tried": 0, "own": 0, "raw": 0, "leaks": 0, "lost": 0, "5xx": 0}


def make_client(url: str, version: int = 1300):
    """A plain caveclient on a sample service at ``url``, pinned to ``version``."""
    import caveclient

    return caveclient.CAVEclient(
        "minnie65_public", server_address=url, write_server_cache=False, version=version
    )


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# --- runs with only loopback ---------------------------------------------------------------
ONLY_LOOPBACK = ["unshare", "-n", "sh", "-c", 'ip link set lo up; exec "$@"', "sh"]
COMMITTED = Path(modes.__file__).parent / "recordings"


def namespace_refusal() -> str | None:
    """Why this machine cannot run a command with only loopback, or None if it can."""
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    probe = subprocess.run([*ONLY_LOOPBACK, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"`unshare -n` is refused here (needs root): {probe.stderr.strip()}"
    return None


def empty_home_or_skip(tmp_path: Path) -> Path:
    """An empty home folder for a run with only loopback; skips where the machine refuses
    such a run (it says why)."""
    reason = namespace_refusal()
    if reason:
        pytest.skip(reason)
    home = tmp_path / "home"
    home.mkdir()
    return home


def isolated_env(home: Path, mode: str, recordings: Path = COMMITTED) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICRONS_", "CAVE_"))}
    env.update(
        MICRONS_MODE=mode,
        MICRONS_RECORDINGS=str(recordings),
        HOME=str(home),  # no token anywhere
        PYTHONPATH=str(REPO),
        # matplotlib keeps a font cache under ~/.cache and ~/.config: its own, not ours
        MPLCONFIGDIR=str(home.parent / "matplotlib"),
    )
    return env


# --- a learner's fresh Python ----------------------------------------------------------------
def learner_env(home: Path, **settings) -> dict:
    """A learner's environment: the home ``home``, and no MICRONS_* or CAVE_* setting but
    ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICRONS_", "CAVE_"))}
    env.update(PYTHONPATH=str(REPO), HOME=str(home), **settings)
    return env


def terminal_env(home: Path, first_on_path: Path | None = None, **settings) -> dict:
    """A learner's own terminal, for a command of another environment (a learner install,
    a fresh venv): none of this run's settings of the book (MICRONS_*, CAVE_*), of Python,
    Jupyter, IPython, matplotlib or an active venv; the home ``home``; ``first_on_path``
    (that environment's ``bin``) before the system's; and ``settings``."""
    mine = ("MICRONS_", "CAVE_", "PYTHON", "JUPYTER", "IPYTHON", "MPL", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(mine)}
    if first_on_path is not None:
        env["PATH"] = f"{first_on_path}:/usr/bin:/bin"
    env.update(HOME=str(home), **settings)
    return env


def run_python(code: str, *args: str, home: Path, **settings) -> subprocess.CompletedProcess:
    """``code`` in a fresh Python, as a learner's kernel runs it (:func:`learner_env`)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=learner_env(home, **settings),
        capture_output=True,
        text=True,
        timeout=180,
    )


# --- the recorder on a small chapter ---------------------------------------------------------
CHAPTER = [
    "import microns_helpers\nfrom microns_helpers import connect\nclient = connect()",
    "len(client.materialize.get_tables())",
    "len(client.materialize.synapse_query(pre_ids=864691135808473885))",
]


def write_chapter(folder: Path, cells) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    # fixed cell ids: the same chapter written twice is the same file
    nb.cells = [nbformat.v4.new_code_cell(src, id=f"cell-{k}") for k, src in enumerate(cells)]
    path = folder / "01_demo.ipynb"
    nbformat.write(nb, str(path))
    return path


def recorder(chapters: Path, recordings: Path, **env_changes) -> subprocess.Popen:
    """``microns-helpers record`` of ``chapters`` into ``recordings``, started in its own
    process group (the recorder and its kernels), from the sample service."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICRONS_", "CAVE_"))}
    env.update(PYTHONPATH=str(REPO), MICRONS_MODE="live", **env_changes)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "microns_helpers",
            "record",
            "--chapters",
            str(chapters),
            "--recordings",
            str(recordings),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # one process group: the recorder and its kernels
    )


# --- the book ------------------------------------------------------------------------------
# The numbered chapters, in the order of _toc.yml.
NUMBERED = [p for p in chapters() if re.match(r"\d\d_", p.name)]
