"""The merged summary of a batch: CSV and GeoParquet tables and a styled GeoPackage for QGIS.

Files under ``--out``: ``summary.csv`` (a row per area), ``summary_rules.csv`` (a row per area ×
rule), ``summary.parquet`` (GeoParquet: area polygons with the area rows) and ``summary.gpkg``
(layer ``areas`` coloured by ``verdict`` through its ``colour`` column and a default QGIS style
in the GeoPackage's ``layer_styles`` table; ``summary_areas.qml`` holds the same style).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import pandas as pd

from coverage.safe_write import write_file_atomically

#: Verdict of an area → fill colour (pass green, fail red, nothing assessable grey, error black).
VERDICT_COLOURS = {"pass": "#1a9850", "fail": "#d73027", "not assessable": "#bdbdbd", "error": "#252525"}


def area_table(areas: gpd.GeoDataFrame, results: Sequence[dict]) -> gpd.GeoDataFrame:
    """Area polygons with their rows (``status``, numbers, ``verdict``, ``colour``)."""
    rows = pd.DataFrame([r["row"] for r in results])
    table = areas[["area_id", "geometry"]].merge(rows, on="area_id", how="left")
    table["colour"] = table["verdict"].map(VERDICT_COLOURS)
    columns = [c for c in table.columns if c != "geometry"] + ["geometry"]
    return gpd.GeoDataFrame(table[columns], geometry="geometry", crs=areas.crs)


def rule_table(results: Sequence[dict]) -> pd.DataFrame:
    """A row per area × rule: ``assessed``, ``passed``, ``failed``, ``not_assessable`` (findings)."""
    rows = [
        {"area_id": r["row"]["area_id"], "rule": rule, **counts}
        for r in results
        for rule, counts in sorted(r["rules"].items())
    ]
    columns = ["area_id", "rule", "assessed", "passed", "failed", "not_assessable"]
    return pd.DataFrame(rows, columns=columns)


def verdict_qml() -> str:
    """A QGIS style: polygons filled by ``verdict`` (categorised renderer)."""
    categories, symbols = [], []
    for i, (verdict, colour) in enumerate(VERDICT_COLOURS.items()):
        categories.append(f'<category render="true" symbol="{i}" value={quoteattr(verdict)} label={quoteattr(verdict)}/>')
        rgb = ",".join(str(int(colour[k : k + 2], 16)) for k in (1, 3, 5))
        symbols.append(
            f'<symbol type="fill" name="{i}" alpha="0.7"><layer class="SimpleFill">'
            f'<prop k="color" v="{rgb},255"/><prop k="outline_color" v="60,60,60,255"/>'
            '<prop k="style" v="solid"/></layer></symbol>'
        )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.28" styleCategories="Symbology">'
        '<renderer-v2 type="categorizedSymbol" attr="verdict">'
        f"<categories>{''.join(categories)}</categories><symbols>{''.join(symbols)}</symbols>"
        "</renderer-v2></qgis>\n"
    )


def _add_layer_style(gpkg: Path, layer: str, qml: str) -> None:
    """Store ``qml`` as the default style of ``layer`` in the GeoPackage (QGIS ``layer_styles``)."""
    with sqlite3.connect(gpkg) as db:
        db.execute(
            "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT, "
            "f_table_schema TEXT, f_table_name TEXT, f_geometry_column TEXT, styleName TEXT, styleQML TEXT, "
            "styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT, ui TEXT, update_time DATETIME "
            "DEFAULT CURRENT_TIMESTAMP)"
        )
        db.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
            "styleQML, styleSLD, useAsDefault, description, owner, ui) VALUES ('', '', ?, 'geometry', ?, ?, '', 1, "
            "'areas coloured by verdict', '', '')",
            (layer, "verdict", qml),
        )
    db.close()


def write_summary(out_dir: str | Path, areas: gpd.GeoDataFrame, results: Sequence[dict]) -> Path:
    """Write every summary file (each atomically) and return the path of ``summary.csv``."""
    out = Path(out_dir)
    table = area_table(areas, results)
    plain = pd.DataFrame(table.drop(columns="geometry"))
    qml = verdict_qml()
    write_file_atomically(out / "summary_rules.csv", lambda tmp: rule_table(results).to_csv(tmp, index=False))
    write_file_atomically(out / "summary.parquet", lambda tmp: table.to_parquet(tmp, index=False))
    write_file_atomically(out / "summary_areas.qml", lambda tmp: tmp.write_text(qml, encoding="utf-8"))

    def write_gpkg(tmp: Path) -> None:
        table.to_file(tmp, layer="areas", driver="GPKG")
        _add_layer_style(tmp, "areas", qml)

    write_file_atomically(out / "summary.gpkg", write_gpkg)
    return write_file_atomically(out / "summary.csv", lambda tmp: plain.to_csv(tmp, index=False))
