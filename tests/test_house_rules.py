"""The house reads from its folders: what each folder holds, and who may use what.

- The package holds what learners run and never imports from ``tests/`` or ``tools/``.
- ``tests/``, ``tools/`` and ``benchmarks/`` use public names of the package; a test may
  read a private (underscore) name only in its own module's test file (``_compat`` in
  ``tests/test_compat.py``, ``doctor._server_answers`` in ``tests/test_doctor.py``).
- Inside the package, a module reads only public names of another (``_compat``, the home
  of every use of another library's internals, is imported by name).
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "microns_helpers"


def python_files(*folders):
    return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


def imported_module(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module an import names: ``from ._compat import x`` in the package too."""
    if not node.level:
        return node.module or ""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    base = parts[: len(parts) - node.level]
    return ".".join(base + ([node.module] if node.module else []))


def private_uses(path: Path) -> list[tuple[int, str, str]]:
    """(line, module, name) for every underscore name of the package that ``path`` reads."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package_names = {}  # local name -> package module it stands for
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and imported_module(path, node).startswith(
            "microns_helpers"
        ):
            module = imported_module(path, node)
            for parts in module.split(".")[1:]:
                if parts.startswith("_"):
                    found.append((node.lineno, module, parts))
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append((node.lineno, module, alias.name))
                package_names[alias.asname or alias.name] = f"{module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("microns_helpers"):
                    package_names[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id in package_names
        ):
            found.append((node.lineno, package_names[node.value.id], node.attr))
        if (  # monkeypatch.setattr(module, "_name", ...)
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "setattr"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in package_names
            and isinstance(node.args[1], ast.Constant)
            and str(node.args[1].value).startswith("_")
        ):
            found.append((node.lineno, package_names[node.args[0].id], node.args[1].value))
    return found


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
    offenders = []
    for path in python_files("microns_helpers"):
        own = ".".join(path.relative_to(REPO).with_suffix("").parts)
        offenders += [
            f"{path.relative_to(REPO)}:{line}: {module}.{name}"
            for line, module, name in private_uses(path)
            if module != own and name != "_compat"
        ]
    assert not offenders, "\n".join(offenders)


def test_the_package_never_imports_tests_or_tools():
    offenders = []
    for path in python_files("microns_helpers"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = []
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            offenders += [
                f"{path.relative_to(REPO)}:{node.lineno}: {m}"
                for m in modules
                if m.split(".")[0] in ("tests", "tools", "benchmarks")
            ]
    assert not offenders, offenders


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

# Attributes of the standard library the package may set, with why: the interpreter's record
# of the last unhandled error, which a custom exception handler sets so that %tb and pdb find
# it (notebook_errors); documented in sys, changing no library's code.
ALLOWED_STORES = {("sys", "last_type"), ("sys", "last_value"), ("sys", "last_traceback")} | {
    ("sys", "last_exc")
}


def foreign_roots(tree: ast.AST) -> dict[str, str]:
    """Local name -> the library it stands for, for every name of the file bound to another
    library's module or class: imported (``import requests.adapters``, ``from caveclient
    import base``), or assigned from one (``cls = type(x)``, ``info = getattr(module, "X")``,
    ``for pool in (pools.A, pools.B)``). The package's own imports are not foreign."""
    roots = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "microns_helpers":
                    roots[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module.split(".")[0] != "microns_helpers":
                for alias in node.names:
                    roots[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    while True:  # names assigned from foreign names, until nothing new is learned
        before = len(roots)
        for node in ast.walk(tree):
            pairs = []
            if isinstance(node, ast.Assign):
                pairs = [(target, node.value) for target in node.targets]
            elif isinstance(node, ast.NamedExpr | ast.AnnAssign) and node.value is not None:
                pairs = [(node.target, node.value)]
            elif isinstance(node, ast.For | ast.comprehension):
                pairs = [(node.target, node.iter)]
            for target, value in pairs:
                library = foreign(value, roots)
                if library and isinstance(target, ast.Name):
                    roots.setdefault(target.id, library)
        if len(roots) == before:
            return roots


def foreign(node: ast.AST, roots: dict[str, str]) -> str | None:
    """The library a module or class expression stands for, or None: a foreign name and its
    attributes, ``getattr`` of one, the class of any object (``type(x)``, ``x.__class__``),
    and each element of a tuple or list of them."""
    if isinstance(node, ast.Name):
        return roots.get(node.id)
    if isinstance(node, ast.Attribute):
        if node.attr == "__class__":
            return "the class of an object"
        return foreign(node.value, roots)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "type" and len(node.args) == 1:
            return "the class of an object"
        if node.func.id == "getattr" and node.args:
            return foreign(node.args[0], roots)
    if isinstance(node, ast.BoolOp):
        return next(filter(None, (foreign(v, roots) for v in node.values)), None)
    if isinstance(node, ast.Tuple | ast.List):
        return next(filter(None, (foreign(e, roots) for e in node.elts)), None)
    if isinstance(node, ast.Subscript) and (
        isinstance(node.value, ast.Attribute) and node.value.attr == "__dict__"
    ):
        return "an object's __dict__"
    return None


def functions_defined(tree: ast.AST) -> set[str]:
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


def patches(source: str) -> list[tuple[int, str]]:
    """(line, what) for every change the code makes to another library: an assignment to (or
    ``del`` of) an attribute of its module or class, a swap of an object's ``__class__``, a
    function put on an object in place of its method, ``setattr``/``delattr`` on anything
    but ``self``. Read from the code's syntax tree, so a new name is seen as well as an old."""
    tree = ast.parse(source)
    roots = foreign_roots(tree)
    defined = functions_defined(tree)
    found = []

    def stores(node):
        if isinstance(node, ast.Assign):
            return node.targets, node.value
        if isinstance(node, ast.AugAssign | ast.AnnAssign):
            return [node.target], node.value
        if isinstance(node, ast.Delete):
            return node.targets, None
        return [], None

    for node in ast.walk(tree):
        targets, value = stores(node)
        for target in [t for top in targets for t in ast.walk(top)]:
            if isinstance(target, ast.Subscript) and isinstance(target.ctx, ast.Store | ast.Del):
                if foreign(target, roots):  # x.__dict__["name"] = ...
                    found.append((node.lineno, f"{ast.unparse(target)} (an object's __dict__)"))
            if not isinstance(target, ast.Attribute) or isinstance(target.ctx, ast.Load):
                continue
            shown = ast.unparse(target)
            library = foreign(target.value, roots)
            owner = target.value.id if isinstance(target.value, ast.Name) else None
            if target.attr == "__class__":
                found.append((node.lineno, f"{shown} (a class swapped)"))
            elif library and (library.split(".")[0], target.attr) not in ALLOWED_STORES:
                found.append((node.lineno, f"{shown} ({library})"))
            elif owner not in ("self", "cls") and (
                isinstance(value, ast.Lambda)
                or (isinstance(value, ast.Name) and value.id in defined)
            ):
                found.append((node.lineno, f"{shown} (a function put in place of a method)"))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "delattr")
            and node.args
            and not (isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls"))
        ):
            found.append((node.lineno, f"{ast.unparse(node)[:60]} ({node.func.id})"))
    return found


def test_no_module_but_compat_patches_another_library():
    """Every change to another library's modules, classes or methods is in _compat.py, with
    the releases it was checked on and a check that the name is still there."""
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for path in python_files("microns_helpers")
        if path.name != "_compat.py"
        for line, what in patches(path.read_text(encoding="utf-8"))
    ]
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
