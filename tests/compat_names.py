"""The other libraries' private names microns_helpers/_compat.py relies on, looked up in the
running environment: tests/test_compat.py checks them here, tests/matrix/offline_step.py in
every caveclient environment of the matrix.

Kept beside _compat.py's own checks, by name, so that a release which drops one is named
here even where the patch that needs it is not reached (the token-file sync exists only on
caveclient 5.27-6.3).
"""

from __future__ import annotations

import importlib


def _version(library: str) -> tuple:
    from microns_helpers._compat import installed_version, version_tuple

    return version_tuple(installed_version(library) or "0")


# (module, attribute path, needed on these caveclient releases or None for all)
PRIVATE_NAMES = (
    ("caveclient.base", "requests", None),
    ("caveclient.materializationengine", "TableManager", None),
    ("caveclient.auth", "AuthClient._synchronize_local_server_file", ((5, 27), (6, 4))),
    ("vcr.patch", "force_reset", None),
    ("urllib3.connectionpool", "HTTPConnectionPool._new_conn", None),
    ("urllib3.connectionpool", "HTTPSConnectionPool._new_conn", None),
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
    """Each patched library whose installed release is outside _compat.CHECKED."""
    from microns_helpers._compat import CHECKED, installed_version

    out = []
    for library, (low, high) in CHECKED.items():
        if not low <= _version(library) < high:
            out.append(f"{library} {installed_version(library)}")
    return out
