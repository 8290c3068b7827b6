"""The house, read from the code: how the modules of ``microns_helpers`` import each other,
and the three rules the house keeps.

1. No import cycle among the package's modules (every import counts, a function's too).
2. No module reads a private (underscore) name of another; ``_compat`` is the one private
   module, imported by name.
3. No module but ``_compat.py`` changes another library: no assignment to (or ``del`` of) an
   attribute of its modules or classes, no ``__class__`` swap, no function put on an object
   in place of its method, no ``setattr``/``delattr`` on anything but ``self``.

All three are read from each file's syntax tree, not grepped. tests/test_house_rules.py
asserts them (and plants a breach of each); this script prints the house::

    python tools/house.py        # the import graph, then each rule; exit 1 on a breach
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "microns_helpers"

# Attributes of the standard library the package may set, with why: the interpreter's record
# of the last unhandled error, which a custom exception handler sets so that %tb and pdb find
# it (notebook_errors); documented in sys, changing no library's code.
ALLOWED_STORES = {("sys", "last_type"), ("sys", "last_value"), ("sys", "last_traceback")} | {
    ("sys", "last_exc")
}


def python_files(*folders) -> list[Path]:
    return sorted(p for folder in folders for p in (REPO / folder).rglob("*.py"))


def module_name(path: Path) -> str:
    """``microns_helpers/sample/engine.py`` -> ``microns_helpers.sample.engine``."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_module(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module an import names: ``from ._compat import x`` in the package too."""
    if not node.level:
        return node.module or ""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    base = parts[: len(parts) - node.level]
    return ".".join(base + ([node.module] if node.module else []))


# --- 1. the import graph ----------------------------------------------------------------------


def _is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path) -> set[str]:
    """The package's modules ``path`` imports (``from . import modes`` names ``modes``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("microns_helpers")}
        elif isinstance(node, ast.ImportFrom):
            module = imported_module(path, node)
            if not module.startswith("microns_helpers"):
                continue
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.add(submodule if _is_module(submodule) else module)
    found.discard(module_name(path))
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, for every module of the package."""
    return {module_name(p): imports_of(p) for p in python_files("microns_helpers")}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``: each strongly connected group of two or more modules
    (Tarjan's algorithm), sorted."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


# --- 2. private names ---------------------------------------------------------------------------


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


def cross_module_private_uses() -> list[str]:
    """``file:line: module.name`` for each private name a package module reads of another
    (``_compat`` itself, imported by name, aside)."""
    return [
        f"{path.relative_to(REPO)}:{line}: {module}.{name}"
        for path in python_files("microns_helpers")
        for line, module, name in private_uses(path)
        if module != module_name(path) and name != "_compat"
    ]


# --- 3. patches of other libraries --------------------------------------------------------------


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


def _stores(node):
    if isinstance(node, ast.Assign):
        return node.targets, node.value
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return [node.target], node.value
    if isinstance(node, ast.Delete):
        return node.targets, None
    return [], None


def patches(source: str) -> list[tuple[int, str]]:
    """(line, what) for every change the code makes to another library (rule 3)."""
    tree = ast.parse(source)
    roots = foreign_roots(tree)
    defined = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    found = []
    for node in ast.walk(tree):
        targets, value = _stores(node)
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
    return sorted(found)


def patches_outside_compat() -> list[str]:
    """``file:line: what`` for each patch of another library outside ``_compat.py``."""
    return [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for path in python_files("microns_helpers")
        if path.name != "_compat.py"
        for line, what in patches(path.read_text(encoding="utf-8"))
    ]


# --- the drawing --------------------------------------------------------------------------------


def _short(module: str) -> str:
    return module.removeprefix("microns_helpers.") if module != "microns_helpers" else "(package)"


def draw() -> tuple[str, int]:
    """The house as text, and how many breaches it shows."""
    graph = import_graph()
    lines = ["microns_helpers: each module and the package's modules it imports", ""]
    width = max(len(_short(m)) for m in graph)
    for module in sorted(graph, key=lambda m: (m != "microns_helpers", m)):
        imported = ", ".join(sorted(_short(m) for m in graph[module])) or "-"
        lines.append(f"  {_short(module):<{width}}  -> {imported}")
    breaches = 0
    for title, found in (
        ("import cycles", [" -> ".join(map(_short, group)) for group in cycles(graph)]),
        ("private names read across modules", cross_module_private_uses()),
        ("patches of another library outside _compat.py", patches_outside_compat()),
    ):
        breaches += len(found)
        lines += ["", f"{title}: {len(found) or 'none'}"] + [f"  {item}" for item in found]
    compat = patches((PACKAGE / "_compat.py").read_text(encoding="utf-8"))
    lines += ["", f"patches in _compat.py: {len(compat)}"]
    lines += [f"  _compat.py:{line}: {what}" for line, what in compat]
    return "\n".join(lines), breaches


def main() -> int:
    text, breaches = draw()
    print(text)
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
