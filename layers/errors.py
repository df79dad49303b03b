"""Input errors that name the file, layer and field at fault.

Every problem with user input is raised as an :class:`InputError` (or a subclass), so the CLI and
the app can catch one type and print a message a planner can act on, never a traceback.
"""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """A problem with an input file, reported with where it is.

    Parameters
    ----------
    message : str
        What is wrong and, where possible, what to do about it.
    file : str or Path, optional
        The input file.
    layer : str, optional
        The layer inside the file (GeoPackage layer, raster band group, CSV).
    field : str, optional
        The column or attribute at fault.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        layer: str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.layer = layer
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        database = bool(self.file) and self.file.startswith("PostgreSQL ")  # layers.database.LABEL_PREFIX
        if self.file:
            where.append(f"database '{self.file[11:]}'" if database else f"file '{self.file}'")
        if self.layer:
            where.append(f"{'table' if database else 'layer'} '{self.layer}'")
        if self.field:
            where.append(f"{'column' if database else 'field'} '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class MissingCRSError(InputError):
    """The layer has no coordinate reference system."""


class CoordinateError(InputError):
    """Coordinates are impossible or do not match the other layers (e.g. lon/lat swapped)."""


class EmptyLayerError(InputError):
    """The layer has no usable features."""


class GeometryError(InputError):
    """Geometries are empty, invalid or of the wrong type."""


class UnsupportedFileError(InputError):
    """The file type is not one this tool reads."""


class FieldError(InputError):
    """A required column is missing or holds unusable values."""


class NetworkError(InputError):
    """The street network is unusable (no walkable ways, all points off-network, ...)."""
