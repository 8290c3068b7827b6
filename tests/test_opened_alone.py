"""A chapter opened on its own, in a fresh environment with only what Colab brings.

The environment holds pandas, matplotlib and the kernel (and nbconvert, to run the
notebook), on Python 3.12 where this machine has it (Colab's). The chapter's setup cell is
the real one (tools/setup_cell.py) with its two sources pointed at loopback: the
repository at a closed port, as where git or the host cannot be reached, and the wheel
that the site build publishes (_ext/publish_wheel.py), served on 127.0.0.1.

- The wheel reachable: the cell installs from it and the chapter runs, offline.
- Nothing reachable: the cell ends in its two lines, with no traceback.

pip installs the dependencies from its cache (the package index where one is missing).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from tests.helpers import terminal_env
from tools import env_cache, learner_envs
from tools.setup_cell import WHEELS, cell_source, run_wheel, wheel_name

REPO = Path(__file__).resolve().parents[1]

CHAPTER = "02_basics"
# What Colab has of the learner install (its own releases differ).
COLAB = ["pandas==2.3.3", "matplotlib", "ipykernel", "nbconvert"]


@pytest.fixture(scope="module")
def colab_python(tmp_path_factory) -> Path:
    base = learner_envs.find_interpreter("3.12") or Path(sys.executable)
    folder = tmp_path_factory.mktemp("colab") / "venv"
    subprocess.run([str(base), "-m", "venv", str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run([*env_cache.install_command(python), *COLAB], check=True)
    return python


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The wheel, served as the published site serves it: ``http://127.0.0.1:<port>``."""
    root = tmp_path_factory.mktemp("site")
    (root / WHEELS).mkdir()
    shutil.copy2(run_wheel(), root / WHEELS / wheel_name())  # the run's one wheel
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def closed_port_url() -> str:
    """A repository URL nothing answers at (a port just freed on loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"git+http://127.0.0.1:{port}/microns-programmatic-access"


def run(python: Path, notebook, tmp_path: Path) -> tuple:
    """Execute ``notebook`` with nbconvert in ``python``'s environment, no token, no
    MICRONS_MODE, an empty home; returns (exit status, stderr, the executed cells)."""
    source, out = tmp_path / "chapter.ipynb", tmp_path / "run.ipynb"
    nbformat.write(notebook, str(source))
    home = tmp_path / "home"
    home.mkdir()
    env = terminal_env(home, python.parent)
    done = subprocess.run(
        [str(python), "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute"]
        + ["--allow-errors", "--ExecutePreprocessor.timeout=600", "--output", str(out)]
        + [str(source)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    cells = json.loads(out.read_text())["cells"] if out.exists() else []
    return done.returncode, done.stderr, cells


def chapter_with_setup(url: str, fallback: str, only_setup: bool = False):
    notebook = nbformat.read(str(REPO / "chapters" / f"{CHAPTER}.ipynb"), as_version=4)
    setup = next(cell for cell in notebook.cells if cell.cell_type == "code")
    setup.source = cell_source(url, fallback)
    if only_setup:
        notebook.cells = [setup]
    return notebook


def test_opened_alone_with_the_wheel_reachable_the_chapter_runs(
    colab_python, site, tmp_path, capsys
):
    fallback = f"{site}/{WHEELS}/{wheel_name()}"
    status, stderr, cells = run(
        colab_python, chapter_with_setup(closed_port_url(), fallback), tmp_path
    )
    assert status == 0, stderr[-3000:]
    errors = [o for c in cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, errors
    outputs = json.dumps(cells)
    assert "No CAVE token found, so this notebook works offline" in outputs
    with capsys.disabled():  # in CI's log beside the test's name
        print(f"\n== {CHAPTER} ran in a Colab-like environment, installed from {fallback}")


def test_opened_alone_with_nothing_reachable_two_lines_and_no_traceback(
    colab_python, site, tmp_path, capsys
):
    # Fresh as Colab is: not installed by the other test of this environment.
    uninstall = [str(colab_python), "-m", "pip", "uninstall", "--quiet", "-y", "microns_helpers"]
    subprocess.run(uninstall, check=True, capture_output=True)
    gone = f"{site}/gone/{wheel_name()}"  # a 404, as before the site is published
    notebook = chapter_with_setup(closed_port_url(), gone, only_setup=True)
    status, stderr, cells = run(colab_python, notebook, tmp_path)
    assert status == 0, stderr[-3000:]  # --allow-errors: the error is in the notebook
    outputs = cells[0]["outputs"]
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["SetupFailed"]
    shown = errors[0]["traceback"]  # what Jupyter and Colab show of an error
    assert len(shown) == 2, shown
    assert shown[0].startswith("This chapter needs the book's helper package")
    assert shown[1].startswith("What to do: once online, run  %pip install")
    assert "Traceback" not in json.dumps(outputs)
    assert "ModuleNotFoundError" not in json.dumps(outputs)
    with capsys.disabled():
        print("\n== the chapter's setup cell, nothing reachable:\n" + "\n".join(shown))
