"""Downloads: the four result layers as a GeoPackage, the tables as CSV (UTF-8 with BOM for Excel)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from coverage.circles import CoverageResult
from coverage.output import facilities_layer, network_layer, population_layer, service_area_layer, write_geopackage

#: Layer names, as the command line writes them.
GEOPACKAGE_LAYERS = ("service_areas", "population", "facilities", "network_edges")


def geopackage_bytes(result: CoverageResult) -> bytes:
    """The result (what-if changes included) as a GeoPackage with the four EPSG:4326 layers."""
    layers = {
        "service_areas": service_area_layer(result),
        "population": population_layer(result),
        "facilities": facilities_layer(result),
        "network_edges": network_layer(result),
    }
    with tempfile.TemporaryDirectory(prefix="circles-download-") as folder:
        path = write_geopackage(Path(folder) / "circles.gpkg", layers)
        return path.read_bytes()


def csv_bytes(table: pd.DataFrame) -> bytes:
    """A table as CSV in UTF-8 with a byte-order mark (Excel then shows Chinese names correctly)."""
    return table.to_csv(index=False).encode("utf-8-sig")
