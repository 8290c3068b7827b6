"""The cached environments (tools/env_cache.py) and the run's one wheel (tools/setup_cell.py).

An environment is found again only for the same contents, a changed requirement is another
environment, and nothing half-built or failed is ever used; the wheel is built once per
content of the package's files.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tools import env_cache, learner_envs, setup_cell
from tools.caveclient_envs import requirements

PYTHON = sys.executable
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MICRONS_ENV_CACHE", str(tmp_path / "envs"))

    def make_venv(python: str, folder: Path) -> None:  # a real venv, without pip: quicker
        subprocess.run([python, "-m", "venv", "--without-pip", str(folder)], check=True)

    monkeypatch.setattr(env_cache, "make_venv", make_venv)
    return tmp_path / "envs"


def counting_install(calls: list):
    def install(folder: Path) -> None:
        calls.append(folder)
        (folder / "packages.txt").write_text("caveclient==5.17.2\n")

    return install


def test_the_key_follows_the_requirements_the_python_its_pip_and_the_installer(monkeypatch):
    pins = "\n".join(requirements("5.17.2"))
    assert env_cache.env_key(PYTHON, pins) == env_cache.env_key(PYTHON, pins + "\n")
    assert env_cache.env_key(PYTHON, pins) != env_cache.env_key(
        PYTHON, pins.replace("5.17.2", "5.18.0")
    )
    # another caveclient release's pins, another key
    assert env_cache.env_key(PYTHON, pins) != env_cache.env_key(
        PYTHON, "\n".join(requirements("5.23.0"))
    )
    key = env_cache.env_key(PYTHON, pins)
    facts = env_cache.interpreter_facts(PYTHON)
    assert facts.splitlines()[0] == sys.version and len(facts.splitlines()) == 2  # Python, pip
    # another pip (or Python) under the same requirements: another key
    monkeypatch.setattr(env_cache, "interpreter_facts", lambda python: facts + ".1")
    assert env_cache.env_key(PYTHON, pins) != key
    monkeypatch.undo()
    assert env_cache.env_key(PYTHON, pins) == key
    # another uv under the same requirements: another key
    assert env_cache.installer_version().startswith("uv ")
    monkeypatch.setattr(env_cache, "installer_version", lambda: "uv 0.0.1")
    assert env_cache.env_key(PYTHON, pins) != key


def test_a_learner_install_is_keyed_by_its_files_and_the_packages_dependencies(
    tmp_path, monkeypatch
):
    plain, extra = learner_envs.requirements_text(), learner_envs.requirements_text(True)
    assert "caveclient==" in plain and "nglui==" not in plain and "nglui==" in extra
    assert "caveclient>=" in plain  # pyproject.toml's dependencies, which the `.` line adds
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("requirements-learner.txt", learner_envs.EXTRA_REQUIREMENTS, "pyproject.toml"):
        (copy / name).write_text((learner_envs.REPO / name).read_text())
    monkeypatch.setattr(learner_envs, "REPO", copy)
    assert learner_envs.requirements_text() == plain
    pyproject = (copy / "pyproject.toml").read_text()
    (copy / "pyproject.toml").write_text(pyproject.replace('"tqdm",', '"tqdm>=4",'))
    assert learner_envs.requirements_text() != plain  # a dependency of the package changed
    (copy / "pyproject.toml").write_text(pyproject)
    learner = (copy / "requirements-learner.txt").read_text()
    (copy / "requirements-learner.txt").write_text(learner.replace("tqdm==4.70.1", "tqdm==4.70.0"))
    assert learner_envs.requirements_text() != plain
    assert learner_envs.requirements_text(True) != extra  # the extra's install holds it too


def test_built_once_then_reused_and_a_new_requirement_is_a_new_environment(cache):
    calls = []
    first, built = env_cache.ensure("demo", PYTHON, "caveclient==5.17.2", counting_install(calls))
    assert built and calls == [first] and first.parent == cache
    assert (first / "bin" / "python").exists() and env_cache.is_complete(first)
    again, built = env_cache.ensure("demo", PYTHON, "caveclient==5.17.2", counting_install(calls))
    assert (again, built, len(calls)) == (first, False, 1)  # reused: install not called
    other, built = env_cache.ensure("demo", PYTHON, "caveclient==5.18.0", counting_install(calls))
    assert built and other != first and len(calls) == 2


def test_a_failed_build_leaves_nothing_that_looks_done_and_is_built_anew(cache):
    def failing(folder: Path) -> None:
        (folder / "packages.txt").write_text("half\n")
        raise RuntimeError("pip failed")

    with pytest.raises(RuntimeError, match="pip failed"):
        env_cache.ensure("demo", PYTHON, "caveclient==5.17.2", failing)
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []
    # a folder left half-built (a killed run: no marker) is built again, not used
    key = env_cache.env_key(PYTHON, "caveclient==5.17.2")
    half = cache / f"demo-{key}"
    (half / "bin").mkdir(parents=True)
    (half / "stale.txt").write_text("from a killed build")
    calls = []
    folder, built = env_cache.ensure("demo", PYTHON, "caveclient==5.17.2", counting_install(calls))
    assert built and calls == [half] and folder == half
    assert not (half / "stale.txt").exists()


KILLED_BUILD = """
import os, signal, subprocess, sys
from tools import env_cache
env_cache.make_venv = lambda python, folder: subprocess.run(
    [python, "-m", "venv", "--without-pip", str(folder)], check=True)
def install(folder):
    (folder / "packages.txt").write_text("half")
    os.kill(os.getpid(), signal.SIGKILL)  # killed mid-install: no except, no finally
env_cache.ensure("demo", sys.executable, "caveclient==5.17.2", install)
"""


def test_a_build_killed_midway_is_not_taken_for_a_built_one(cache):
    env = {**os.environ, "MICRONS_ENV_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    done = subprocess.run([PYTHON, "-c", KILLED_BUILD], env=env, cwd=REPO, timeout=120)
    assert done.returncode == -signal.SIGKILL
    half = cache / f"demo-{env_cache.env_key(PYTHON, 'caveclient==5.17.2')}"
    assert (half / "packages.txt").exists() and not env_cache.is_complete(half)
    calls = []
    folder, built = env_cache.ensure("demo", PYTHON, "caveclient==5.17.2", counting_install(calls))
    assert built and calls == [half] and (folder / "packages.txt").read_text() != "half"


def test_the_clone_links_to_the_cached_environment(cache, tmp_path):
    folder, _ = env_cache.ensure("demo", PYTHON, "tqdm==4.70.1", counting_install([]))
    local = tmp_path / "clone" / ".venv-caveclient-demo"
    local.mkdir(parents=True)  # an environment built in the clone before the cache
    env_cache.link(local, folder)
    assert local.is_symlink() and local.resolve() == folder.resolve()
    assert (local / "packages.txt").read_text() == "caveclient==5.17.2\n"
    env_cache.link(local, folder)  # again: still one link
    assert local.resolve() == folder.resolve()


def test_the_runs_wheel_is_built_once_per_content_of_the_package(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    for name in setup_cell.WHEEL_SOURCES:
        path = repo / name
        if "." in name and name != "jupyter-config":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{name}\n")
        else:
            path.mkdir(parents=True)
            (path / "__init__.py").write_text("x = 1\n")
    builds = []

    def build_wheel(out: Path, repo: Path) -> Path:
        builds.append(repo)
        out.mkdir(parents=True, exist_ok=True)
        (out / setup_cell.wheel_name()).write_text(f"wheel {len(builds)}")
        return out / setup_cell.wheel_name()

    monkeypatch.setattr(setup_cell, "build_wheel", build_wheel)
    folder = tmp_path / "wheels"
    first = setup_cell.run_wheel(repo, folder)
    assert setup_cell.run_wheel(repo, folder) == first and len(builds) == 1
    (repo / "microns_helpers" / "__init__.py").write_text("x = 2\n")
    second = setup_cell.run_wheel(repo, folder)
    assert second != first and len(builds) == 2 and second.read_text() == "wheel 2"


def test_without_uv_the_error_says_what_to_run(tmp_path, monkeypatch):
    """The tools run from a Python without uv (not .venv's): a clear error, no traceback of
    a failed subprocess, and nothing built."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    env_cache.installer_version.cache_clear()
    monkeypatch.setattr(sys, "executable", str(bare / "bin" / "python"))
    monkeypatch.setenv("MICRONS_ENV_CACHE", str(tmp_path / "cache"))
    with pytest.raises(RuntimeError, match="uv, which installs the test environments"):
        env_cache.ensure("demo", PYTHON, "tqdm==4.70.1", counting_install([]))
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())
    monkeypatch.undo()
    env_cache.installer_version.cache_clear()
