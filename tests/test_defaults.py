"""The defaults live in one bottom-level module, each with its origin, and layers/ never reaches up."""

from __future__ import annotations

import ast
from pathlib import Path

import layers.defaults as defaults

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("layers", "coverage", "analysis", "ui", "app", "cli")
HIGHER_PACKAGES = ("coverage", "analysis", "ui", "app", "cli")


def _imported_modules(path: Path) -> list[str]:
    """Top-level names of every module ``path`` imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _public_names() -> list[str]:
    return [name for name in vars(defaults) if name.isupper() and not name.startswith("_")]


def test_every_default_names_its_origin() -> None:
    names = _public_names()
    assert "DEFAULT_ELDERLY_SHARE" in names and "DEFAULT_MAX_SNAP_M" in names
    missing = sorted(set(names) - set(defaults.ORIGINS) - {"ORIGINS"})
    assert missing == []
    stale = sorted(set(defaults.ORIGINS) - set(names))
    assert stale == []
    for name, origin in defaults.ORIGINS.items():
        assert origin.split(":")[0].split(" ")[0] in {"seed", "standard", "project", "tuning"}, (name, origin)


def test_defaults_import_nothing_from_the_project() -> None:
    imported = _imported_modules(ROOT / "layers" / "defaults.py")
    assert [m for m in imported if m.split(".")[0] in PROJECT_PACKAGES] == []


def test_no_module_under_layers_imports_a_higher_package() -> None:
    offenders = [
        (path.name, module)
        for path in sorted((ROOT / "layers").rglob("*.py"))
        for module in _imported_modules(path)
        if module.split(".")[0] in HIGHER_PACKAGES
    ]
    assert offenders == []


def test_old_names_are_the_same_objects() -> None:
    import analysis.site_models.mclp as mclp
    import coverage.segment_grid as segment_grid
    import coverage.settings as settings
    import layers.population as population

    assert settings.DEFAULT_ELDERLY_SHARE == defaults.DEFAULT_ELDERLY_SHARE == 0.2522
    assert settings.SPEED_PRESETS is defaults.SPEED_PRESETS
    assert settings.resolve_speed(None) == defaults.SPEED_PRESETS[defaults.DEFAULT_SPEED_PRESET] == 0.8
    assert population.DEFAULT_RESIDENTIAL_SHARE is defaults.DEFAULT_RESIDENTIAL_SHARE
    assert population.DEFAULT_FLOOR_AREA_PER_PERSON_M2 == 35.0
    assert segment_grid.MAX_CELLS == defaults.MAX_CELLS
    assert mclp.LP_FIRST_MIN_PAIRS == defaults.LP_FIRST_MIN_PAIRS
