"""The other libraries' private names microns_helpers/_compat.py relies on, looked up in the
running environment: tests/test_compat.py checks them here, tests/matrix/offline_step.py in
every caveclient environment of the matrix.

Read without _compat's private module (the house rule): the names are listed here, the
ranges come from pyproject.toml, which tests/test_compat.py ties to _compat.CHECKED. Kept by
name, so that a release which drops one is named
here even where the patch that needs it is not reached (the token-file sync exists only on
caveclient 5.27-6.3).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path


def _version(library: str) -> tuple:
    """The installed release of ``library`` as numbers, (0,) when it is missing."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = version(library)
    except PackageNotFoundError:
        return (0,)
    return tuple(int(part) for part in re.findall(r"\d+", text.split("+")[0])[:3])


# (module, attribute path, needed on these caveclient releases or None for all)
PRIVATE_NAMES = (
    ("caveclient.base", "requests", None),
    ("caveclient.materializationengine", "TableManager", None),
    ("caveclient.auth", "AuthClient._synchronize_local_server_file", ((5, 27), (6, 4))),
    ("vcr.patch", "force_reset", None),
    ("urllib3.connectionpool", "HTTPConnectionPool._new_conn", None),
    ("urllib3.connectionpool", "HTTPSConnectionPool._new_conn", None),
    ("requests.adapters", "HTTPAdapter.send", None),
)


def missing_private_names(names=PRIVATE_NAMES) -> list[str]:
    """Each private name the patches need on the installed releases that is not there."""
    caveclient = _version("caveclient")
    missing = []
    for module_name, path, releases in names:
        if releases and not releases[0] <= caveclient < releases[1]:
            continue
        try:
            target = importlib.import_module(module_name)
        except ImportError:
            missing.append(f"{module_name} (not importable)")
            continue
        for part in path.split("."):
            if not hasattr(target, part):
                missing.append(f"{module_name}.{path}")
                break
            target = getattr(target, part)
    return missing


def unchecked_releases() -> list[str]:
    """Each patched library whose installed release is outside the bounds pyproject.toml
    declares for it (tests/test_compat.py checks those bounds against _compat.CHECKED)."""
    from importlib.metadata import version

    import tomllib
    from packaging.requirements import Requirement

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    out = []
    for line in declared:
        requirement = Requirement(line)
        if requirement.name not in ("caveclient", "vcrpy", "urllib3", "requests"):
            continue
        if requirement.marker and not requirement.marker.evaluate():
            continue
        installed = version(requirement.name)
        if not requirement.specifier.contains(installed, prereleases=True):
            out.append(f"{requirement.name} {installed} (declared {requirement.specifier})")
    return out
