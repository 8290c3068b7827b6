"""``make book-fast``: rebuild the site in seconds while writing, without stale outputs.

The full build (``make book``) re-runs every notebook. Here notebooks run through Jupyter
Book's cache instead: a notebook is run again only when its code changed, so a no-change
rebuild or a prose edit takes seconds. The cache cannot see what else the outputs depend
on, so a digest of the helper package, its recordings and sample data, and the
requirements is kept beside it: when any of them changed, the whole cache is dropped and
every chapter runs again.

    python tools/book_fast.py        # what make book-fast runs
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "_build"
CACHE = BUILD / ".jupyter_cache"
DIGEST = BUILD / ".book-fast-digest"
CONFIG = BUILD / "_config_fast.yml"
# What the stored outputs depend on besides the notebooks' own code.
INPUTS = (
    "microns_helpers",
    "requirements-learner.txt",
    "requirements-neuroglancer.txt",
    "requirements.txt",
    "pyproject.toml",
)


def inputs_digest(repo: Path = REPO) -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        root = repo / name
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(repo)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fast_config(repo: Path = REPO) -> dict:
    config = yaml.safe_load((repo / "_config.yml").read_text(encoding="utf-8"))
    config["execute"] = dict(config.get("execute", {}), execute_notebooks="cache")
    config["execute"]["cache"] = str(repo / "_build" / ".jupyter_cache")
    # This file lives in _build/: paths Jupyter Book reads relative to it become absolute.
    extensions = config.get("sphinx", {}).get("local_extensions", {})
    for name, folder in extensions.items():
        extensions[name] = str((repo / folder).resolve())
    return config


def build(repo: Path = REPO, jupyter_book: str | None = None, *, quiet: bool = False) -> int:
    """Build the site with the cache; ``quiet`` shows jupyter-book's log only if it fails."""
    build_dir, cache = repo / "_build", repo / "_build" / ".jupyter_cache"
    digest_file, config_file = build_dir / ".book-fast-digest", build_dir / "_config_fast.yml"
    build_dir.mkdir(exist_ok=True)
    digest = inputs_digest(repo)
    if not digest_file.exists() or digest_file.read_text() != digest:
        print("book-fast: the package, recordings or requirements changed: every chapter runs")
        shutil.rmtree(cache, ignore_errors=True)
    config_file.write_text(yaml.safe_dump(fast_config(repo), sort_keys=False), encoding="utf-8")
    command = jupyter_book or str(Path(sys.executable).with_name("jupyter-book"))
    done = subprocess.run(
        [command, "build", str(repo), "--config", str(config_file), "-W", "-n", "--keep-going"],
        cwd=repo,
        capture_output=quiet,
        text=True,
    )
    if done.returncode == 0:
        digest_file.write_text(digest)
    elif quiet:
        print(done.stdout + done.stderr, file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(build())
