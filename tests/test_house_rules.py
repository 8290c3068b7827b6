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
        "from microns_helpers import recording\nfrom microns_helpers._compat import CHECKED\n"
        "recording._stored_request(None)\n"
    )
    uses = private_uses(planted)
    assert ("microns_helpers._compat", "_compat") in [(m, n) for _, m, n in uses]
    assert ("microns_helpers.recording", "_stored_request") in [(m, n) for _, m, n in uses]
    assert not any(owns(planted, m, n) for _, m, n in uses)
