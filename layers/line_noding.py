"""Split GIS street lines at their junctions, so that a walk can turn where two streets meet.

Road centreline layers often hold one LineString per street, crossing the others mid-line. A walking
graph joins lines only at their end points, so such a layer must be *noded* first: every line is cut
where another line of the same level crosses or touches it. Lines at different levels (``layer``,
``bridge``, ``tunnel`` fields) are not joined where they pass over or under each other; they still
join where one of them ends on the other (a bridge lands on the street it leads to).

When the user says the layer is already noded (``--network-noded``), lines are cut only at vertices
they share with another line (same rules for levels), never at bare geometric crossings.

Everything is vectorised: an STRtree query finds the pairs of lines that meet, shapely computes
their meeting points, and the pieces are rebuilt from coordinate arrays in one pass.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Coordinates (degrees) are compared after rounding to 1e-7 degree (about 1 cm).
KEY_SCALE = 1e7
_FALSE_WORDS = frozenset({"", "no", "false", "0", "none", "nan", "null", "n", "f"})


def coordinate_keys(xy: np.ndarray) -> np.ndarray:
    """Integer keys of lon/lat coordinates rounded to ~1 cm (one row per coordinate)."""
    return np.round(xy * KEY_SCALE).astype(np.int64)


def _column(frame: pd.DataFrame, name: str) -> pd.Series | None:
    """A column by case-insensitive name (Shapefiles often upper-case them), or None."""
    for column in frame.columns:
        if str(column).lower() == name:
            return frame[column]
    return None


def _flag(values: pd.Series | None, n: int) -> np.ndarray:
    """True where a ``bridge``/``tunnel`` value says yes (any value but no/false/0/empty)."""
    if values is None:
        return np.zeros(n, dtype=bool)
    words = values.astype(object).where(values.notna(), "").astype(str).str.strip().str.lower()
    return (~words.isin(_FALSE_WORDS)).to_numpy()


def line_levels(frame: pd.DataFrame) -> np.ndarray:
    """The level of each line: equal numbers meet at crossings, different ones pass over or under.

    A level is the (``layer``, ``bridge``, ``tunnel``) triple; ``layer`` defaults to 0 when the
    field is absent or not a number. Lines without any of these fields are all on one level.
    """
    n = len(frame)
    layer_values = _column(frame, "layer")
    layer = (
        np.zeros(n)
        if layer_values is None
        else pd.to_numeric(layer_values, errors="coerce").fillna(0).to_numpy(dtype=float)
    )
    bridge = _flag(_column(frame, "bridge"), n)
    tunnel = _flag(_column(frame, "tunnel"), n)
    key = pd.DataFrame({"layer": layer, "bridge": bridge, "tunnel": tunnel})
    return key.groupby(["layer", "bridge", "tunnel"], sort=False).ngroup().to_numpy()


def _vertex_table(geometry: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every vertex: its line, coordinates, distance along its line (degrees) and whether it ends it."""
    xy, line = shapely.get_coordinates(geometry, return_index=True)
    step = np.zeros(line.size)
    same = line[1:] == line[:-1]
    step[1:] = np.where(same, np.hypot(*(xy[1:] - xy[:-1]).T), 0.0)
    along = np.cumsum(step)
    start = np.ones(line.size, dtype=bool)
    start[1:] = ~same
    along -= np.maximum.accumulate(np.where(start, along, 0.0))
    end = np.ones(line.size, dtype=bool)
    end[:-1] = ~same
    return line, xy, along, start | end


def _crossing_points(geometry: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points where a line must be cut because another line meets it there, as (line, xy) rows.

    A line is cut where a line of its own level crosses or touches it, and where a line of another
    level ends on it; never at its own ends.
    """
    tree = shapely.STRtree(geometry)
    i, j = tree.query(geometry, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    meet = shapely.intersection(geometry[i], geometry[j])
    xy, pair = shapely.get_coordinates(meet, return_index=True)
    cut_line = np.concatenate([i[pair], j[pair]])
    other = np.concatenate([j[pair], i[pair]])
    xy = np.concatenate([xy, xy])
    key = coordinate_keys(xy)
    first = coordinate_keys(shapely.get_coordinates(shapely.get_point(geometry, 0)))
    last = coordinate_keys(shapely.get_coordinates(shapely.get_point(geometry, -1)))

    def ends(line: np.ndarray) -> np.ndarray:
        return (first[line] == key).all(axis=1) | (last[line] == key).all(axis=1)

    keep = ~ends(cut_line) & ((level[cut_line] == level[other]) | ends(other))
    return cut_line[keep], xy[keep]


def _shared_vertex_cuts(line: np.ndarray, xy: np.ndarray, is_end: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Which interior vertices another line shares (same level, or where the other line ends)."""
    _, place = np.unique(coordinate_keys(xy), axis=0, return_inverse=True)
    place = place.ravel()
    # distinct lines at each (place, level)
    _, spot = np.unique(np.column_stack([place, level[line]]), axis=0, return_inverse=True)
    spot = spot.ravel()
    spot_line = np.unique(np.column_stack([spot, line]), axis=0)
    lines_at_spot = np.bincount(spot_line[:, 0], minlength=spot.max() + 1)
    # distinct lines ending at each place
    end_line = np.unique(np.column_stack([place[is_end], line[is_end]]), axis=0)
    ends_at_place = np.bincount(end_line[:, 0], minlength=place.max() + 1)
    return ~is_end & ((lines_at_spot[spot] >= 2) | (ends_at_place[place] >= 1))


def _rebuild(line: np.ndarray, xy: np.ndarray, along: np.ndarray, cut: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Rebuild lines from their vertices sorted along them, cutting at flagged interior vertices.

    Returns the piece geometries, the source line of each piece, and the number of distinct
    locations (rounded to ~1 cm) where a cut was made.
    """
    order = np.lexsort((cut, along, line))  # along each line; at a tie the original vertex first
    line, xy, cut = line[order], xy[order], cut[order]
    key = coordinate_keys(xy)
    # one location met twice on one line (a cut point on an existing vertex) is kept once
    repeat = np.zeros(line.size, dtype=bool)
    repeat[1:] = (line[1:] == line[:-1]) & (key[1:] == key[:-1]).all(axis=1)
    run = np.cumsum(~repeat) - 1
    cut = np.bincount(run, weights=cut) > 0
    line, xy, key = line[~repeat], xy[~repeat], key[~repeat]
    first = np.ones(line.size, dtype=bool)
    first[1:] = line[1:] != line[:-1]
    last = np.ones(line.size, dtype=bool)
    last[:-1] = line[1:] != line[:-1]
    cut &= ~first & ~last  # a line is never cut at its own ends
    # a cut vertex ends one piece and starts the next: write it twice
    copies = np.repeat(np.arange(line.size), 1 + cut)
    starts = first[copies]
    starts[1:] |= copies[1:] == copies[:-1]
    piece = np.cumsum(starts) - 1
    pieces = shapely.linestrings(xy[copies], indices=piece)
    source = line[copies][starts]
    junctions = int(np.unique(key[cut], axis=0).shape[0])
    return pieces, source, junctions


def node_lines(lines: gpd.GeoDataFrame, *, noded: bool = False) -> tuple[gpd.GeoDataFrame, int]:
    """Cut street lines at their junctions (see the module docstring for the rules).

    Parameters
    ----------
    lines : GeoDataFrame
        LineStrings in lon/lat (EPSG:4326), one row per line, any attribute columns.
    noded : bool
        The layer is already split at its junctions: cut only at vertices shared with another line,
        never at bare crossings.

    Returns
    -------
    GeoDataFrame, int
        The pieces with their source line's attributes (lines never cut are returned as they were),
        and the number of junctions (distinct locations) where lines were cut.
    """
    geometry = lines.geometry.to_numpy()
    level = line_levels(lines)
    line, xy, along, is_end = _vertex_table(geometry)
    if noded:
        cut = _shared_vertex_cuts(line, xy, is_end, level)
    else:
        extra_line, extra_xy = _crossing_points(geometry, level)
        extra_along = shapely.line_locate_point(geometry[extra_line], shapely.points(extra_xy))
        line = np.concatenate([line, extra_line])
        xy = np.concatenate([xy, extra_xy])
        along = np.concatenate([along, extra_along])
        cut = np.concatenate([np.zeros(is_end.size, dtype=bool), np.ones(extra_line.size, dtype=bool)])
    touched = np.unique(line[cut])
    if touched.size == 0:
        return lines, 0
    # rebuild only the lines with a cut; the others stay as they were
    sel = np.isin(line, touched)
    pieces, source, junctions = _rebuild(line[sel], xy[sel], along[sel], cut[sel])
    untouched = np.setdiff1d(np.arange(len(lines)), touched)
    if junctions == 0:
        return lines, 0
    parts = lines.iloc[source].copy()
    parts = parts.set_geometry(gpd.GeoSeries(pieces, index=parts.index, crs=lines.crs))
    out = pd.concat([lines.iloc[untouched], parts]).sort_index(kind="stable")
    return gpd.GeoDataFrame(out.reset_index(drop=True), geometry=lines.geometry.name, crs=lines.crs), junctions
