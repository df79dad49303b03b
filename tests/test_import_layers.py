"""The import graph runs one way: layers → coverage → analysis → ui / cli / app.py.

Every module's imports are parsed with ``ast`` (module level and inside functions, so a lazy
import counts too); an import from a lower package of a higher one fails the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import PROJECT_ROOT

#: Rank of each first-party package; a module may import only packages of its rank or lower.
RANK = {"layers": 0, "coverage": 1, "analysis": 2, "ui": 3, "cli": 3, "app": 4}

#: Entry scripts, never imported by the library: ``python -m coverage`` hands over to the CLI.
ENTRY_SCRIPTS = {"coverage/__main__.py"}

#: Known arrows running back up, each with the reason it is tolerated (none now: the defaults moved
#: down to layers/defaults.py).
ALLOWED: set[tuple[str, str]] = set()


def first_party_modules() -> list[Path]:
    files = [PROJECT_ROOT / "app.py"]
    for package in RANK:
        folder = PROJECT_ROOT / package
        if folder.is_dir():
            files += sorted(folder.rglob("*.py"))
    return files


def imported_names(tree: ast.AST) -> list[tuple[str, int]]:
    """Every absolute module name imported anywhere in ``tree``, with its line."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.module, node.lineno))
    return names


def upward_imports() -> list[str]:
    found = []
    for path in first_party_modules():
        relative = path.relative_to(PROJECT_ROOT).as_posix()
        if relative in ENTRY_SCRIPTS:
            continue
        own = relative.split("/")[0].removesuffix(".py")
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
        for name, line in imported_names(tree):
            top = name.split(".")[0]
            if top in RANK and RANK[top] > RANK[own] and (relative, name) not in ALLOWED:
                found.append(f"{relative}:{line} imports {name} ({own} may not import {top})")
            if top in RANK and top != own and RANK[top] == RANK[own]:
                found.append(f"{relative}:{line} imports {name} (sibling front doors {own} and {top} stay apart)")
    return found


def test_no_import_runs_from_a_lower_package_to_a_higher_one():
    assert upward_imports() == []


def test_the_allowlist_holds_only_arrows_that_exist():
    """An allowed arrow that was removed must leave the list too (so the list cannot rot)."""
    for relative, name in ALLOWED:
        tree = ast.parse((PROJECT_ROOT / relative).read_text(encoding="utf-8"))
        assert name in {n for n, _ in imported_names(tree)}, f"{relative} no longer imports {name}: drop it from ALLOWED"


def test_the_checker_sees_an_upward_import(tmp_path):
    """The parser catches a lazy import inside a function, the way the old CLI imported analysis."""
    tree = ast.parse("def run():\n    from analysis.checks import run_checks\n    import cli.main\n")
    tops = {name.split(".")[0] for name, _ in imported_names(tree)}
    assert tops == {"analysis", "cli"}
    assert all(RANK[top] > RANK["coverage"] for top in tops)
