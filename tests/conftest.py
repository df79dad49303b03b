"""Shared fixtures: where the real data lives, and skips when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """Return a path under ``../shared/data``, skipping the test when it is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} (needs ../shared/data beside the project)")
    return path


# Real Nanjing streets and buildings, read once per test session (tests must not modify them).
@pytest.fixture(scope="session")
def nanjing_pbf() -> Path:
    return shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")


@pytest.fixture(scope="session")
def nanjing_graph(nanjing_pbf):
    from coverage.graph import build_walk_graph
    from layers.network import read_network

    return build_walk_graph(read_network(nanjing_pbf))


@pytest.fixture(scope="session")
def nanjing_people(nanjing_pbf):
    from layers.population import read_population

    return read_population(nanjing_pbf, kind="buildings")
