"""The ``sites`` defaults and the command line's numeric ranges live in :mod:`layers.defaults`, each
with its origin; the command line reads them from there (its behaviour and help unchanged)."""

from __future__ import annotations

import json

import pytest

import analysis.site_proposals as site_proposals
import cli.numbers as numbers
import layers.defaults as defaults
from cli.main import main

RANGES = ("MINUTES_RANGE", "MAX_SNAP_RANGE_M", "SPEED_RANGE_MPS", "PERSONS_PER_HOUSEHOLD_RANGE", "TIME_LIMIT_RANGE_S", "COUNT_RANGE")


def test_the_cli_and_propose_sites_use_the_values_of_layers_defaults():
    for name in RANGES:
        assert getattr(numbers, name) is getattr(defaults, name), name
        assert defaults.ORIGINS[name].startswith("project: plausibility limit of the command line"), name
    assert site_proposals.DEFAULT_P is defaults.DEFAULT_P and site_proposals.TARGET_CLUSTERS is defaults.TARGET_CLUSTERS
    assert defaults.ORIGINS["DEFAULT_P"].startswith("project") and defaults.ORIGINS["TARGET_CLUSTERS"].startswith("project")
    # the values the command line has always had
    assert (defaults.DEFAULT_P, defaults.TARGET_CLUSTERS) == (5, 100)
    assert defaults.MINUTES_RANGE == (0.0, 240.0) and defaults.COUNT_RANGE == (1, 100_000)
    assert defaults.TIME_LIMIT_RANGE_S == (0.0, 86_400.0) and defaults.SPEED_RANGE_MPS == (0.1, 3.0)


def test_sites_help_states_the_defaults(capsys):
    assert main(["sites", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"mclp, pmedian; default {defaults.DEFAULT_P}; lscp chooses its own" in text
    assert f"{defaults.TARGET_CLUSTERS} with --target-coverage" in text


@pytest.mark.parametrize(
    ("flag", "name", "beyond", "shown"),
    [
        ("--p", "COUNT_RANGE", lambda r: str(r[1] + 1), lambda r: f"at most {r[1]}"),
        ("--clusters", "COUNT_RANGE", lambda r: str(r[0] - 1), lambda r: f"at least {r[0]}"),
        ("--time-limit", "TIME_LIMIT_RANGE_S", lambda r: f"{r[1] + 1:g}", lambda r: f"at most {r[1]:g} seconds"),
        ("--minutes", "MINUTES_RANGE", lambda r: f"{r[1] + 1:g}", lambda r: f"at most {r[1]:g} minutes"),
        ("--cap-minutes", "MINUTES_RANGE", lambda r: f"{r[0]:g}", lambda r: f"at most {r[1]:g} minutes"),
        ("--max-snap", "MAX_SNAP_RANGE_M", lambda r: f"{r[1] + 1:g}", lambda r: f"at most {r[1]:g} metres"),
        ("--speed", "SPEED_RANGE_MPS", lambda r: f"{r[1] + 0.5:g}", lambda r: f"[{r[0]:g}, {r[1]:g}]"),
    ],
)
def test_sites_refuses_values_outside_the_ranges_of_layers_defaults(flag, name, beyond, shown, capsys, tmp_path):
    limits = getattr(defaults, name)
    out = tmp_path / "s.gpkg"
    assert main(["sites", flag, beyond(limits), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {flag} must be") and len(err.strip().splitlines()) == 1, err
    assert shown(limits) in err, err
    assert not out.exists()


def test_sites_without_p_proposes_default_p_sites(capsys, tmp_path):
    """The embedded Nanjing data (real streets and buildings, DEMO sites), no --p: DEFAULT_P sites."""
    code = main(["sites", "--json", "--out", str(tmp_path / "s.gpkg")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out.strip().splitlines()[-1])
    assert summary["p"] == defaults.DEFAULT_P and len(summary["sites"]) == defaults.DEFAULT_P
