"""``--out postgresql://...`` for the commands: the guard before any work and the writers.

A PostGIS ``--out`` is parsed first (a password in it is refused); a file or folder ``--out`` goes
through :mod:`cli.output_guard`. Results are written by :func:`coverage.database_output.write_database`
in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from analysis.report import findings_frame, parameters_frame, rules_frame
from cli.output_guard import check_output_file, check_output_folder
from coverage.database_output import database_target, write_database
from coverage.output import write_geopackage
from layers.database import is_database_uri


def check_database_or_file(out: str, args, *, command: str) -> None:
    """Before any work: a PostGIS ``--out`` is parsed (password refused), a file ``--out`` guarded."""
    if is_database_uri(out):
        database_target(out, default_run=command)
    else:
        check_output_file(out, args)


def check_database_or_folder(out: str, args, *, command: str) -> None:
    """Like :func:`check_database_or_file` for the report folder of ``check``."""
    if is_database_uri(out):
        database_target(out, default_run=command)
    else:
        check_output_folder(out, args)


def write_layers_result(out: str, layers: Mapping[str, gpd.GeoDataFrame], *, command: str):
    """Write ``circles``/``sites`` layers to PostGIS (one transaction) or to the GeoPackage ``out``."""
    if is_database_uri(out):
        return write_database(out, layers, command=command)
    return write_geopackage(out, layers)


def report_tables(content) -> dict[str, pd.DataFrame]:
    """The ``check`` report as tables: its map layers, then findings, its tables, parameters and rules."""
    tables: dict[str, pd.DataFrame] = {
        name: frame for name, frame in content.layers.items() if frame is not None and len(frame)
    }
    extra = {
        "findings": findings_frame(content.findings),
        **content.tables,
        "parameters": parameters_frame(content),
        "rules": rules_frame(content.rules),
    }
    for name, table in extra.items():
        if name not in tables:
            tables[name] = pd.DataFrame(table.drop(columns="geometry", errors="ignore"))
    return tables
