"""The house reads from its folders: what each folder holds, and who may use what.

- The package holds what learners run and never imports from ``tests/`` or ``tools/``.
- ``tests/``, ``tools/`` and ``benchmarks/`` import no test module (shared helpers are in
  ``tests/helpers.py``) and use public names of the package; a test may
  read a private (underscore) name only in its own module's test file (``_compat`` in
  ``tests/test_compat.py``, ``doctor._server_answers`` in ``tests/test_doctor.py``).
- Inside the package, a module reads only public names of another (``_compat``, the home
  of every use of another library's internals, is imported by name), no import makes a
  cycle, and no module but ``_compat.py`` changes another library.

The readers of the code are in tools/house.py, which also prints the house.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tools.house import (
    PACKAGE,
    REPO,
    cross_module_private_uses,
    cycles,
    import_graph,
    patches,
    patches_outside_compat,
    private_uses,
    python_files,
)


def owns(test_file: Path, module: str, name: str) -> bool:
    """A module's own test file: tests/test_<module>.py, underscores aside."""
    stems = {part.lstrip("_") for part in module.split(".")[1:]} | {name.lstrip("_")}
    return test_file.parent.name == "tests" and test_file.stem.removeprefix("test_") in stems


def test_no_test_tool_or_benchmark_reads_a_private_name_of_another_module():
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {module}.{name}"
        for path in python_files("tests", "tools", "benchmarks")
        for line, module, name in private_uses(path)
        if not owns(path, module, name)
    ]
    assert not offenders, "\n".join(offenders)


def test_no_module_of_the_package_reads_a_private_name_of_another():
    # _compat is the one private module the package imports: it holds every use of another
    # library's internals behind functions the rest of the package may call.
    offenders = cross_module_private_uses()
    assert not offenders, "\n".join(offenders)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """The modules ``path`` imports, each with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.append((node.lineno, node.module or ""))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def test_the_package_never_imports_tests_or_tools():
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in python_files("microns_helpers")
        for line, module in imports_of(path)
        if module.split(".")[0] in ("tests", "tools", "benchmarks")
    ]
    assert not offenders, offenders


def imports_a_test_module(module: str) -> bool:
    return module.startswith("tests.") and module.split(".")[-1].startswith("test_")


def test_no_test_tool_or_benchmark_imports_a_test_module():
    """What tests share lives in tests/helpers.py and the other modules of tests/ that are
    not test modules; a test module is imported by pytest only."""
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {module}"
        for path in python_files("tests", "tools", "benchmarks")
        for line, module in imports_of(path)
        if imports_a_test_module(module)
    ]
    assert not offenders, "\n".join(offenders)


def test_the_checker_catches_an_import_of_a_test_module(tmp_path):
    planted = tmp_path / "test_planted.py"
    planted.write_text(
        "from tests.helpers import run_python\nfrom tests.test_offline import isolated_env\n"
        "import tests.test_quiet\n"
    )
    caught = [module for _, module in imports_of(planted) if imports_a_test_module(module)]
    assert caught == ["tests.test_offline", "tests.test_quiet"]


def test_the_checker_catches_a_private_name(tmp_path):
    planted = tmp_path / "test_elsewhere.py"
    planted.write_text(
        "from microns_helpers import modes\nfrom microns_helpers._compat import CHECKED\n"
        "modes._stored_request(None)\n"
    )
    uses = private_uses(planted)
    assert ("microns_helpers._compat", "_compat") in [(m, n) for _, m, n in uses]
    assert ("microns_helpers.modes", "_stored_request") in [(m, n) for _, m, n in uses]
    assert not any(owns(planted, m, n) for _, m, n in uses)


# --- patches of other libraries: only in _compat.py ------------------------------------------


def test_no_module_but_compat_patches_another_library():
    """Every change to another library's modules, classes or methods is in _compat.py, with
    the releases it was checked on and a check that the name is still there."""
    offenders = patches_outside_compat()
    assert not offenders, "patches outside microns_helpers/_compat.py:\n" + "\n".join(offenders)


def test_compat_is_where_the_patches_are():
    """The checker sees the patches that are allowed where they are: if it found none in
    _compat.py, it would find none anywhere."""
    found = "\n".join(what for _, what in patches((PACKAGE / "_compat.py").read_text()))
    for patched in (
        "materializationengine.TableManager",
        "base.requests",
        "requests.adapters.HTTPAdapter.send",
        "materialize.__class__",
        "info_class.segmentation_cloudvolume",
        "materialize.get_version_metadata",
        "pool._new_conn",
    ):
        assert patched in found, (patched, found)


def test_the_checker_catches_each_kind_of_patch():
    planted = {
        "import requests.adapters\nrequests.adapters.HTTPAdapter.send = lambda *a: None\n": (
            "requests.adapters.HTTPAdapter.send"
        ),
        "from caveclient import base\ndef f():\n    base.requests = None\n": "base.requests",
        "def f(client):\n    client.materialize.__class__ = object\n": "__class__",
        "def f(m):\n    def catch():\n        pass\n    m.get_version_metadata = catch\n": (
            "m.get_version_metadata"
        ),
        "def f(obj):\n    setattr(obj, 'send', None)\n": "setattr",
        "from caveclient import infoservice\n"
        "cls = getattr(infoservice, 'V2', None) or infoservice.V1\ncls.x = 1\n": "cls.x",
        "def f(x):\n    type(x).method = None\n": "type(x).method",
        "import urllib3.connectionpool as p\nfor pool in (p.A, p.B):\n    del pool.y\n": "pool.y",
        "import vcr\nvcr.patch.__dict__['force_reset'] = None\n": "__dict__",
    }
    for source, expected in planted.items():
        found = patches(source)
        assert any(expected in what for _, what in found), (source, found)


def test_the_checker_leaves_the_package_s_own_objects_alone():
    source = (
        "import sys\nfrom dataclasses import dataclass\n"
        "class A:\n    def __init__(self):\n        self.x = 1\n"
        "STATE = A()\nSTATE.x = 2\n"
        "def f(frame, err):\n    frame.index.name = 'pre'\n    err.__cause__ = None\n"
        "    sys.last_value = err\n"
    )
    assert patches(source) == []


# --- the import graph -------------------------------------------------------------------------


def test_no_import_cycle_among_the_package_s_modules():
    graph = import_graph()
    assert "microns_helpers.client" in graph and graph["microns_helpers.client"]
    assert cycles(graph) == []


def test_the_graph_sees_a_function_s_import_and_a_planted_cycle():
    """failures.py imports cassette inside a function only: the graph has that edge. A
    planted edge back (modes -> client, while client imports modes) is a cycle, as bulk.py
    and sample/bulk_export.py once made one."""
    graph = import_graph()
    assert "microns_helpers.cassette" in graph["microns_helpers.failures"]
    assert "microns_helpers.modes" in graph["microns_helpers.client"]
    graph["microns_helpers.modes"] = graph["microns_helpers.modes"] | {"microns_helpers.client"}
    assert ["microns_helpers.client", "microns_helpers.modes"] in [
        [m for m in group if m in ("microns_helpers.client", "microns_helpers.modes")]
        for group in cycles(graph)
    ]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
