"""Choosing the layer of a vector file (GeoPackage, GeoJSON, Shapefile, zipped Shapefile, ...)."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pyogrio.errors

from layers.errors import EmptyLayerError, InputError, UnsupportedFileError


def resolve_layer(file: Path, layer: str | None, *, what: str = "vector") -> str:
    """Return the layer to read: the one asked for, or the only one the file holds.

    Raises
    ------
    UnsupportedFileError
        GDAL cannot open the file as a vector data source.
    EmptyLayerError
        The file holds no layer.
    InputError
        Several layers and none chosen, or the chosen one does not exist (the message lists them).
    """
    try:
        layers = [str(name) for name in pyogrio.list_layers(file)[:, 0]]
    except (pyogrio.errors.DataSourceError, OSError) as error:
        raise UnsupportedFileError(f"cannot be read as a {what} layer ({error})", file=file) from None
    if layer is None:
        if not layers:
            raise EmptyLayerError("the file holds no layer", file=file)
        if len(layers) > 1:
            raise InputError(f"the file holds several layers ({', '.join(layers)}): pass layer=", file=file)
        return layers[0]
    if layer not in layers:
        raise InputError(f"no such layer; layers are {', '.join(layers)}", file=file, layer=layer)
    return layer
