"""Choosing the layer of a vector file (GeoPackage, GeoJSON, Shapefile, zipped Shapefile, ...)."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pyogrio.errors

from layers.errors import EmptyLayerError, InputError, UnsupportedFileError

#: File name endings read as vector layers (GeoPackage, GeoJSON, Shapefile, zipped Shapefile or
#: GeoPackage, FlatGeobuf): the one list the network, facility, population and candidate readers use.
VECTOR_SUFFIXES: tuple[str, ...] = (".gpkg", ".geojson", ".json", ".shp", ".zip", ".fgb")


def refuse_layer_choice(file: Path, layer: str | None, *, option: str) -> None:
    """Raise :class:`InputError` when a layer is chosen for a file type without layers (CSV, GeoTIFF, OSM)."""
    if layer is not None:
        msg = f"{option} {layer} was given, but this file type has no layers to choose from"
        raise InputError(msg, file=file)


def resolve_layer(file: Path, layer: str | None, *, what: str = "vector", option: str | None = None) -> str:
    """Return the layer to read: the one asked for, or the only one the file holds.

    Parameters
    ----------
    file : Path
        GeoPackage, GeoJSON, (zipped) Shapefile, FlatGeobuf, ...
    layer : str, optional
        The layer asked for; needed only when the file holds several.
    what : str
        What the layer holds, for the messages (``"facility"``).
    option : str, optional
        The command-line flag that chooses this layer (``"--facilities-layer"``), named in the
        messages together with the keyword (``layer=``).

    Raises
    ------
    UnsupportedFileError
        GDAL cannot open the file as a vector data source.
    EmptyLayerError
        The file holds no layer.
    InputError
        Several layers and none chosen, or the chosen one does not exist (the message lists them).
    """
    how = f"{option} (layer=)" if option else "layer="
    try:
        layers = [str(name) for name in pyogrio.list_layers(file)[:, 0]]
    except (pyogrio.errors.DataSourceError, OSError) as error:
        raise UnsupportedFileError(f"cannot be read as a {what} layer ({error})", file=file) from None
    if layer is None:
        if not layers:
            raise EmptyLayerError("the file holds no layer", file=file)
        if len(layers) > 1:
            msg = f"the {what} file holds several layers ({', '.join(layers)}): choose one with {how}"
            raise InputError(msg, file=file)
        return layers[0]
    if layer not in layers:
        msg = f"no such layer, given by {how}; the file's layers are {', '.join(layers)}"
        raise InputError(msg, file=file, layer=layer)
    return layer
