"""Population rasters (GeoTIFF): one point per cell centre with its residents (persons).

Several rasters on the same grid (e.g. WorldPop age-sex bands) are summed; cells are read only
inside optional lon/lat bounds. Nodata cells are not 0 people unless asked (``nodata_as_zero``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.errors
import rasterio.windows
from affine import Affine
from pyproj import CRS
from rasterio.warp import transform_bounds

from layers.defaults import DEFAULT_ELDERLY_SHARE, DEFAULT_NODATA_AS_ZERO
from layers.errors import (
    CoordinateError,
    EmptyLayerError,
    FieldError,
    InputError,
    MissingCRSError,
    UnsupportedFileError,
)
from layers.population_common import (
    RASTER_SUFFIXES,
    PathLike,
    _as_wgs84,
    _check_share,
    _check_wgs84_extent,
    _existing_paths,
    _people_columns,
)
from layers.projection import WGS84, check_lonlat_range


def read_population_raster(
    paths: PathLike | Sequence[PathLike],
    *,
    elderly: bool = False,
    elderly_share: float = DEFAULT_ELDERLY_SHARE,
    bounds: tuple[float, float, float, float] | None = None,
    keep_zero: bool = False,
    nodata_as_zero: bool = DEFAULT_NODATA_AS_ZERO,
) -> gpd.GeoDataFrame:
    """Read one or many population GeoTIFFs, summed cell by cell, as one point per populated cell.

    Parameters
    ----------
    paths : str, Path or sequence of them
        GeoTIFFs of people per cell (single band). Several files (e.g. WorldPop age/sex bands) are
        added cell by cell and must share CRS, transform and shape.
    elderly : bool, default False
        True when the rasters count people aged 60+ only (e.g. the WorldPop 60-80+ bands). Then
        ``elderly_population`` is the raster value and ``population`` is an *estimate*,
        ``elderly_population / elderly_share``. When False, ``population`` is the raster value and
        ``elderly_population = population * elderly_share``.
    elderly_share : float, default :data:`layers.defaults.DEFAULT_ELDERLY_SHARE`
        Share of residents aged 60+, between 0 (excluded) and 1.
    bounds : tuple of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` in degrees (EPSG:4326): read only the cells that
        touch this box (a raster window), e.g. the extent of a street network.
    keep_zero : bool, default False
        Also return the cells that hold data but 0 people (a lake, a mountain): a window where
        people could be counted and none live is then a valid, possibly empty, result. Cells that
        are nodata in every raster are never returned (no data is not 0 people) unless
        ``nodata_as_zero``.
    nodata_as_zero : bool, default :data:`layers.defaults.DEFAULT_NODATA_AS_ZERO` (False)
        The planner's word that nodata (and NaN) cells inside the rasters' extent are places where
        nobody lives (WorldPop's rivers and lakes): they are read as cells holding 0 people, so a
        window whose cells are all nodata, or hold 0 people only, is a valid result of 0 people
        (its cells returned with 0 people each) instead of an error. A window outside the rasters'
        extent is still an error. A ``UserWarning`` says how many cells were read so (the run's
        notes).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 points at the centre of every cell with more than 0 people (with ``keep_zero``,
        of every cell holding data; with ``nodata_as_zero`` and nobody in the window, of every
        cell of the window, at 0 people), with ``population``
        and ``elderly_population`` in persons (float64). The points carry the exact cell values:
        their sum equals the sum of the (windowed) rasters.

    Raises
    ------
    InputError
        A file is missing or unreadable, has several bands, or is on a different grid.
    MissingCRSError
        A raster has no CRS.
    FieldError
        A raster holds negative or infinite values (nodata and NaN cells count as 0).
    CoordinateError
        ``bounds`` are not lon/lat or do not overlap the rasters.
    EmptyLayerError
        No cell (inside ``bounds``) holds people; with ``keep_zero``: no cell holds data (every
        cell is nodata: the window lies outside the population data). Never with ``nodata_as_zero``.
    """
    _check_share(elderly_share)
    files = _existing_paths(paths)
    for file in files:
        if file.suffix.lower() not in RASTER_SUFFIXES:
            msg = f"not a GeoTIFF: population rasters must end in {', '.join(RASTER_SUFFIXES)}"
            raise UnsupportedFileError(msg, file=file)
    counts, valid, transform, crs = _sum_rasters(files, bounds)
    if nodata_as_zero:
        _warn_nodata_read_as_zero(valid, bounds)
        valid = np.ones_like(valid)  # the window never reaches past the rasters' extent
    if keep_zero and not valid.any():
        msg = (
            f"every cell is nodata in {'the requested bounds' if bounds is not None else 'the raster'}: "
            "there is no population data there"
        )
        raise EmptyLayerError(msg, file=files[0])
    keep = valid if keep_zero else counts > 0
    if nodata_as_zero and not keep.any():
        keep = valid  # nobody lives in the window: its cells, 0 people each, are the result
    return _cells_to_points(counts, keep, transform, crs, elderly=elderly, elderly_share=elderly_share, file=files[0])


def _warn_nodata_read_as_zero(valid: np.ndarray, bounds: tuple[float, float, float, float] | None) -> None:
    """Warn (a note of the run) how many cells of the window are nodata and read as 0 people."""
    missing, total = int(valid.size - np.count_nonzero(valid)), int(valid.size)
    if missing == 0:
        return
    where = "in the requested bounds" if bounds is not None else "of the raster"
    if missing == total:
        msg = f"every one of the {total} population raster cells {where} is nodata: read as 0 people (--nodata-as-zero)"
    else:
        msg = f"{missing} of the {total} population raster cells {where} are nodata: read as 0 people (--nodata-as-zero)"
    warnings.warn(msg, UserWarning, stacklevel=3)


def _sum_rasters(
    files: list[Path], bounds: tuple[float, float, float, float] | None
) -> tuple[np.ndarray, np.ndarray, Affine, rasterio.crs.CRS]:
    """Return the cell-by-cell sum (persons, float64) of ``files``, where any file holds data
    (bool: not nodata, not NaN), the transform and CRS."""
    total: np.ndarray | None = None
    valid: np.ndarray | None = None
    reference: tuple[Path, rasterio.crs.CRS, Affine, tuple[int, int]] | None = None
    window: rasterio.windows.Window | None = None
    for file in files:
        try:
            with rasterio.open(file) as src:
                _check_raster(src, file)
                if reference is None:
                    reference = (file, src.crs, src.transform, src.shape)
                    window = _bounds_window(src, bounds, file) if bounds is not None else None
                else:
                    _check_same_grid(src, file, reference)
                cells, has_data = _read_counts(src, window, file)
                window_transform = (
                    src.transform @ Affine.translation(window.col_off, window.row_off)
                    if window is not None
                    else src.transform
                )
                crs = src.crs
        except rasterio.errors.RasterioIOError as error:
            msg = f"cannot read the raster ({error}); is it a valid GeoTIFF?"
            raise InputError(msg, file=file) from None
        total = cells if total is None else total + cells
        valid = has_data if valid is None else valid | has_data
    assert total is not None and valid is not None  # _existing_paths never returns an empty list
    return total, valid, window_transform, crs


def _check_raster(src: rasterio.io.DatasetReader, file: Path) -> None:
    """Raise when the raster has no CRS or more than one band."""
    if src.crs is None:
        msg = "the raster has no coordinate reference system; save it with one (e.g. EPSG:4326)"
        raise MissingCRSError(msg, file=file)
    if src.count != 1:
        msg = f"the raster has {src.count} bands; give one single-band raster of people per cell per file"
        raise InputError(msg, file=file)


def _check_same_grid(
    src: rasterio.io.DatasetReader,
    file: Path,
    reference: tuple[Path, rasterio.crs.CRS, Affine, tuple[int, int]],
) -> None:
    """Raise :class:`InputError` unless ``src`` has the CRS, transform and shape of ``reference``."""
    ref_file, ref_crs, ref_transform, ref_shape = reference
    problems = []
    if src.crs != ref_crs:
        problems.append(f"CRS {src.crs} instead of {ref_crs}")
    if src.shape != ref_shape:
        problems.append(f"{src.shape[0]}x{src.shape[1]} cells instead of {ref_shape[0]}x{ref_shape[1]}")
    if not src.transform.almost_equals(ref_transform, precision=1e-9):
        problems.append("a different origin or cell size")
    if problems:
        msg = (
            f"the raster is not on the grid of '{ref_file.name}' ({'; '.join(problems)}); rasters summed "
            "together must share CRS, transform and shape: resample them to one grid first"
        )
        raise InputError(msg, file=file)


def _bounds_window(
    src: rasterio.io.DatasetReader, bounds: tuple[float, float, float, float], file: Path
) -> rasterio.windows.Window:
    """Return the window of the cells of ``src`` touching lon/lat ``bounds``."""
    min_x, min_y, max_x, max_y = (float(value) for value in bounds)
    check_lonlat_range(np.array([min_x, max_x]), np.array([min_y, max_y]), file=file)
    if not (min_x < max_x and min_y < max_y):
        msg = f"bounds {bounds} must be (min_lon, min_lat, max_lon, max_lat) with min < max"
        raise CoordinateError(msg, file=file)
    if not CRS(src.crs).equals(CRS(WGS84)):
        min_x, min_y, max_x, max_y = transform_bounds(WGS84, src.crs, min_x, min_y, max_x, max_y)
    inverse = ~src.transform
    cols, rows = inverse @ (np.array([min_x, max_x, min_x, max_x]), np.array([min_y, min_y, max_y, max_y]))
    row_start = max(int(np.floor(rows.min())), 0)
    row_stop = min(int(np.ceil(rows.max())), src.height)
    col_start = max(int(np.floor(cols.min())), 0)
    col_stop = min(int(np.ceil(cols.max())), src.width)
    if row_start >= row_stop or col_start >= col_stop:
        msg = f"the bounds {bounds} do not overlap the raster (raster bounds {tuple(src.bounds)})"
        raise CoordinateError(msg, file=file)
    return rasterio.windows.Window.from_slices((row_start, row_stop), (col_start, col_stop))


def _read_counts(
    src: rasterio.io.DatasetReader, window: rasterio.windows.Window | None, file: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Return band 1 of ``src`` in persons (float64) with nodata and NaN cells as 0, and where it
    holds data (bool: neither nodata nor NaN)."""
    masked = src.read(1, window=window, masked=True)
    counts = np.ma.filled(masked.astype(np.float64), 0.0)
    missing = np.ma.getmaskarray(masked) | np.isnan(counts)
    counts[missing] = 0.0
    if np.isinf(counts).any():
        msg = "the raster holds infinite values; set them to nodata"
        raise FieldError(msg, file=file, field="band 1")
    negative = counts < 0
    if negative.any():
        msg = (
            f"{int(negative.sum())} cells hold negative people (lowest {counts.min():g}); "
            "a population raster must count people (>= 0): is the nodata value set?"
        )
        raise FieldError(msg, file=file, field="band 1")
    return counts, ~missing


def _cells_to_points(
    counts: np.ndarray,
    keep: np.ndarray,
    transform: Affine,
    crs: rasterio.crs.CRS,
    *,
    elderly: bool,
    elderly_share: float,
    file: Path,
) -> gpd.GeoDataFrame:
    """Return one EPSG:4326 point per ``keep`` cell, at the cell centre, carrying its count (0 too)."""
    rows, cols = np.nonzero(keep)
    if rows.size == 0:
        msg = "no cell holds people (all cells are nodata or 0) in the raster or the requested bounds"
        raise EmptyLayerError(msg, file=file)
    values = counts[rows, cols]
    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    people = _people_columns(values, elderly_counts=values if elderly else None, elderly_share=elderly_share)
    points = gpd.GeoDataFrame(people, geometry=gpd.points_from_xy(xs, ys), crs=crs)
    points = _as_wgs84(points)
    _check_wgs84_extent(points, file=file, layer=None)
    return points
