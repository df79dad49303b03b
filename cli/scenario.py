"""``--scenario FILE`` of ``circles`` and ``check``: a scenario drawn in the app, re-run from the command line.

The file (:mod:`coverage.scenario`) holds what-if changes and settings. Its settings are the
command's defaults: a flag given on the command line wins, a setting the file leaves out takes the
command's own default. The changes are applied to the walk before anything is computed from it.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from coverage.scenario import Scenario
from coverage.scenario_file import load_scenario

SCENARIO_HELP = (
    "scenario file (GeoJSON saved by the app's scenario panel or coverage.scenario_file.save_scenario): its "
    "what-if changes (sites added, removed, moved) are applied before computing, and its settings "
    "({settings}) are defaults that flags given explicitly override"
)


def add_scenario_argument(p: argparse.ArgumentParser, settings: str) -> None:
    """Add ``--scenario FILE``; ``settings`` lists the settings of the file this command takes."""
    p.add_argument("--scenario", metavar="FILE", help=SCENARIO_HELP.format(settings=settings))


def read_scenario(args: argparse.Namespace, defaults: Mapping[str, Any]) -> Scenario | None:
    """Read ``--scenario`` (if given) and fill every flag of ``defaults`` the command line left unset.

    Parameters
    ----------
    args : Namespace
        Parsed arguments; flags in ``defaults`` are ``None`` when not given.
    defaults : mapping
        Flag (``args`` attribute, the same name as the scenario setting) → the command's own default.

    Returns
    -------
    Scenario or None

    Raises
    ------
    layers.errors.InputError
        The scenario file is missing or wrong (naming the file and the field).
    """
    scenario = load_scenario(args.scenario) if getattr(args, "scenario", None) else None
    settings = scenario.settings.as_dict() if scenario is not None else {}
    for name, default in defaults.items():
        if getattr(args, name, None) is None:
            from_file = settings.get(name)
            setattr(args, name, from_file if from_file is not None else default)
    return scenario


__all__ = ["add_scenario_argument", "read_scenario", "SCENARIO_HELP"]
