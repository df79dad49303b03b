"""Candidate sites for new elderly-service facilities, from three sources, in one schema.

- **user**: parcels or points from a file (:func:`read_candidates`): GeoPackage, GeoJSON,
  Shapefile (zipped too) or CSV with lon/lat columns (the facility readers' column names are
  recognised: ``land_area_m2``/``用地面积``, ``building_area_m2``/``建筑面积``, ``beds``/``床位``/
  ``capacity``). A polygon's own area becomes its ``land_area_m2`` when the file gives none.
- **osm**: vacant or redevelopable land and buildings in the network's OpenStreetMap extract
  (:func:`osm_candidates`, pyrosm ``get_landuse()`` / ``get_buildings()``):

  * ``landuse`` in :data:`OSM_LANDUSE_VALUES`: ``brownfield`` (previously developed land awaiting
    reuse), ``greenfield`` (undeveloped land scheduled for development), ``construction`` (a project
    being built: the facility can be planned with it, Q5 四同步), and the informal ``vacant``.
    Parks, grass and other green space are not proposed: taking them needs a planning decision the
    tool should not presume.
  * buildings tagged for reuse, :data:`OSM_REUSE_BUILDINGS`: ``building=ruins|disused|abandoned|
    construction|vacant`` or a ``disused=yes``, ``abandoned=yes``, ``vacant=yes`` or ``disused:*``
    tag. Their footprint is ``land_area_m2``; footprint × ``building:levels`` is
    ``building_area_m2`` when the levels are tagged.
- **clusters**: points generated from the uncovered elderly demand (:func:`demand_cluster_candidates`):
  scikit-learn KMeans (MiniBatchKMeans above :data:`MINIBATCH_ABOVE` units) on the demand units
  outside the walk, weighted by their elderly population, each centre moved onto the nearest
  walkable street.

Schema (EPSG:4326): ``candidate_id``, ``name``, ``source`` (user/osm/clusters), ``land_area_m2``,
``building_area_m2`` (m², NaN unknown), ``capacity`` (elderly persons or beds, NaN unknown) and the
geometry (points, or parcel polygons from a file or OSM).

The single-site minimum (Q3, 单体用房面积不少于300平方米) is applied by
:func:`apply_single_site_minimum` where a size is known.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.circles import CoverageResult, unit_points
from layers.database import is_database_uri, read_database_layer
from layers.defaults import MINIBATCH_ABOVE
from layers.errors import EmptyLayerError, GeometryError, InputError, UnsupportedFileError
from layers.facilities import normalise_facilities, read_facilities
from layers.projection import WGS84, local_metric_crs, require_crs
from layers.vector import VECTOR_SUFFIXES, refuse_layer_choice, resolve_layer

CANDIDATE_COLUMNS = ["candidate_id", "name", "source", "land_area_m2", "building_area_m2", "capacity", "geometry"]

#: OSM ``landuse`` values proposed as sites (see the module text for why each).
OSM_LANDUSE_VALUES: tuple[str, ...] = ("brownfield", "greenfield", "construction", "vacant")
#: OSM ``building`` values proposed for reuse.
OSM_REUSE_BUILDINGS: tuple[str, ...] = ("ruins", "disused", "abandoned", "construction", "vacant")
#: OSM tags (``key=yes``) that mark any building as available for reuse.
OSM_REUSE_TAGS: tuple[str, ...] = ("disused", "abandoned", "vacant")


def empty_candidates(crs: str = WGS84) -> gpd.GeoDataFrame:
    """A candidate frame with the schema and no rows."""
    frame = pd.DataFrame(
        {c: pd.Series(dtype=float if c.endswith(("m2", "capacity")) else object) for c in CANDIDATE_COLUMNS[:-1]}
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _schema(frame: gpd.GeoDataFrame, source: str, prefix: str) -> gpd.GeoDataFrame:
    out = frame.copy()
    if "candidate_id" not in out.columns:
        out["candidate_id"] = [f"{prefix}{i + 1}" for i in range(len(out))]
    out["candidate_id"] = out["candidate_id"].astype(str)
    for column in ("name",):
        if column not in out.columns:
            out[column] = pd.Series(pd.NA, index=out.index, dtype="string")
    for column in ("land_area_m2", "building_area_m2", "capacity"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float) if column in out.columns else np.nan
    out["source"] = source
    return gpd.GeoDataFrame(out[CANDIDATE_COLUMNS[:-1]], geometry=out.geometry.to_numpy(), crs=out.crs).to_crs(WGS84)


# ----- user candidates --------------------------------------------------------------------------
def read_candidates(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read user-supplied candidate parcels or points into the candidate schema.

    Parameters
    ----------
    path : str or Path
        Vector file (points or polygons, any CRS) or CSV with lon/lat columns (WGS84).
    layer : str, optional
        Layer inside a multi-layer file (``--candidates-layer``); needed when it holds several.

    Returns
    -------
    GeoDataFrame
        EPSG:4326; polygons keep their shape, with ``land_area_m2`` from their area in a local
        metric CRS where the file gives no land area.
    """
    if is_database_uri(path):  # a PostGIS table (layers.database): checked like a file's layer
        raw, path, layer = read_database_layer(str(path), layer, what="candidate")
        return normalise_candidates(raw, file=path, layer=layer)
    path = Path(path)
    if not path.exists():
        raise InputError("the candidate file does not exist", file=path, layer="candidates")
    name = path.name.lower()
    if name.endswith(".csv"):
        refuse_layer_choice(path, layer, option="--candidates-layer")
        points = read_facilities(path)
        frame = points.rename(columns={"facility_id": "candidate_id", "beds": "capacity"})
        return _schema(frame, "user", "U")
    if not name.endswith(VECTOR_SUFFIXES):
        msg = "unknown candidate file type; use .gpkg, .geojson, .shp, a zipped Shapefile or .csv (lon/lat)"
        raise UnsupportedFileError(msg, file=path, layer="candidates")
    layer = resolve_layer(path, layer, what="candidate", option="--candidates-layer")
    try:
        raw = gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError(f"cannot read the candidate layer: {exc}", file=path, layer=layer or "candidates") from exc
    return normalise_candidates(raw, file=path, layer=layer)


def normalise_candidates(raw: gpd.GeoDataFrame, *, file: Path | None = None, layer: str | None = None) -> gpd.GeoDataFrame:
    """Candidate points or parcels (any declared CRS) in the candidate schema, EPSG:4326.

    Polygons get ``land_area_m2`` from their area in a local metric CRS (m²) where no land area
    is given; ``capacity`` (or ``beds``) is taken when present.
    """
    path = file
    if len(raw) == 0:
        raise EmptyLayerError("the candidate layer has no features", file=path, layer=layer or "candidates")
    require_crs(raw, file=path, layer=layer or "candidates")
    geoms = raw.geometry.to_numpy()
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise GeometryError(
            f"{int(bad.sum())} candidates have empty geometry (rows {rows})",
            file=path,
            layer=layer or "candidates",
            field="geometry",
        )
    kinds = set(shapely.get_type_id(geoms).tolist())
    if not kinds <= {0, 3, 6}:  # Point, Polygon, MultiPolygon
        msg = "candidates must be points or polygons (parcels)"
        raise GeometryError(msg, file=path, layer=layer or "candidates", field="geometry")
    polygon = shapely.get_type_id(geoms) != 0
    area = np.full(len(raw), np.nan)
    if polygon.any():
        metric = raw.to_crs(local_metric_crs(raw.to_crs(WGS84)))
        area[polygon] = metric.geometry.area.to_numpy()[polygon]
    frame = normalise_facilities(raw, file=path, layer=layer or "candidates")  # validates numeric columns
    frame["land_area_m2"] = frame["land_area_m2"].fillna(pd.Series(area))
    frame = frame.rename(columns={"facility_id": "candidate_id", "beds": "capacity"})
    shapes = raw.to_crs(WGS84).geometry.to_numpy()
    frame = gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=shapes, crs=WGS84)
    if not any(c.lower() in ("candidate_id", "id", "fid", "facility_id", "编号", "code") for c in raw.columns):
        frame["candidate_id"] = [f"U{i + 1}" for i in range(len(frame))]
    return _schema(frame, "user", "U")


# ----- OSM candidates ---------------------------------------------------------------------------
def _tag_values(frame: pd.DataFrame, key: str) -> pd.Series:
    """A tag as lower-case text, from its own column or from pyrosm's JSON ``tags`` column."""
    values = (
        frame[key].astype("string") if key in frame.columns else pd.Series(pd.NA, index=frame.index, dtype="string")
    )
    if "tags" in frame.columns:
        extra = frame["tags"].map(lambda t: json.loads(t).get(key) if isinstance(t, str) and key in t else None)
        values = values.fillna(extra.astype("string"))
    return values.fillna("").str.strip().str.lower()


def _has_prefixed_tag(frame: pd.DataFrame, prefix: str) -> np.ndarray:
    cols = [c for c in frame.columns if str(c).startswith(prefix)]
    mask = np.zeros(len(frame), dtype=bool)
    for c in cols:
        mask = mask | frame[c].notna().to_numpy(dtype=bool)
    if "tags" in frame.columns:
        mask = mask | frame["tags"].map(lambda t: isinstance(t, str) and f'"{prefix}' in t).to_numpy(dtype=bool)
    return mask


def osm_candidates(path: str | Path) -> gpd.GeoDataFrame:
    """Vacant or redevelopable land and buildings for reuse in an ``.osm.pbf`` extract.

    Parameters
    ----------
    path : str or Path
        OpenStreetMap extract (``.osm.pbf``); read whole (sites outside the network are dropped
        later as off-network).

    Returns
    -------
    GeoDataFrame
        Candidate schema with ``source="osm"`` (possibly empty: many extracts have no such land).
    """
    path = Path(path)
    if not path.name.lower().endswith(".pbf"):
        return empty_candidates()
    import pyrosm  # slow to import; only needed here

    try:
        osm = pyrosm.OSM(str(path), progress=False)
        landuse = osm.get_landuse()
        buildings = osm.get_buildings()
    except Exception as exc:
        raise InputError(f"cannot read land use or buildings from the OSM extract: {exc}", file=path) from exc
    parts = []
    if landuse is not None and len(landuse):
        value = _tag_values(landuse, "landuse")
        pick = landuse.loc[value.isin(OSM_LANDUSE_VALUES).to_numpy()].copy()
        if len(pick):
            pick["name"] = ("landuse=" + _tag_values(pick, "landuse")).to_numpy()
            parts.append(pick)
    if buildings is not None and len(buildings):
        building = _tag_values(buildings, "building")
        reuse = building.isin(OSM_REUSE_BUILDINGS).to_numpy(dtype=bool, copy=True)
        for key in OSM_REUSE_TAGS:
            reuse = reuse | (_tag_values(buildings, key) == "yes").to_numpy(dtype=bool)
        reuse = reuse | _has_prefixed_tag(buildings, "disused:")
        pick = buildings.loc[reuse].copy()
        if len(pick):
            levels = pd.to_numeric(_tag_values(pick, "building:levels"), errors="coerce").to_numpy()
            pick["name"] = ("building=" + _tag_values(pick, "building")).to_numpy()
            pick["_levels"] = levels
            parts.append(pick)
    if not parts:
        return empty_candidates()
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=WGS84)
    frame = frame.loc[shapely.get_type_id(frame.geometry.to_numpy()).astype(int) >= 3].reset_index(
        drop=True
    )  # polygons only
    if len(frame) == 0:
        return empty_candidates()
    metric = frame.to_crs(local_metric_crs(frame))
    frame["land_area_m2"] = metric.geometry.area.to_numpy()
    levels = frame["_levels"].to_numpy(dtype=float) if "_levels" in frame.columns else np.full(len(frame), np.nan)
    frame["building_area_m2"] = frame["land_area_m2"] * levels
    if "id" in frame.columns:
        frame["candidate_id"] = "osm/" + frame["id"].astype(str)
    return _schema(frame, "osm", "O")


# ----- generated candidates ------------------------------------------------------------------------
def demand_cluster_candidates(result: CoverageResult, n_sites: int, *, random_state: int = 0) -> gpd.GeoDataFrame:
    """Candidate points at weighted KMeans centres of the uncovered elderly demand, on a street.

    Parameters
    ----------
    result : CoverageResult
        Walking circles of the existing facilities.
    n_sites : int
        Number of clusters (at most the number of uncovered on-network demand units).
    random_state : int
        Seed of the clustering (results are reproducible).

    Returns
    -------
    GeoDataFrame
        Candidate schema with ``source="clusters"``; each point is the nearest point of the
        nearest walkable street to a cluster centre (so it is never off-network).
    """
    from sklearn.cluster import KMeans, MiniBatchKMeans

    weights = result.population["elderly_population"].to_numpy(dtype=float)
    open_units = (~result.covered) & result.population_snap.on_network & (weights > 0)
    n_units = int(open_units.sum())
    k = int(min(n_sites, n_units))
    if k <= 0:
        return empty_candidates()
    xy = shapely.get_coordinates(unit_points(result.population.geometry[open_units]))
    w = weights[open_units]
    if k == n_units:
        centres = xy
    else:
        if n_units > MINIBATCH_ABOVE:
            kmeans = MiniBatchKMeans(n_clusters=k, random_state=random_state, n_init=3, batch_size=4096)
        else:
            kmeans = KMeans(n_clusters=k, random_state=random_state, n_init=4)
        centres = kmeans.fit(xy, sample_weight=w).cluster_centers_
    points = shapely.points(centres)
    lines = result.graph.edge_geometry[result.graph.edge_tree.nearest(points)]
    on_street = shapely.line_interpolate_point(lines, shapely.line_locate_point(lines, points))
    frame = gpd.GeoDataFrame(
        {"candidate_id": [f"C{i + 1}" for i in range(k)], "name": [f"demand cluster {i + 1}" for i in range(k)]},
        geometry=on_street,
        crs=result.graph.crs,
    )
    frame = frame.loc[~frame.geometry.duplicated()].reset_index(drop=True)
    return _schema(frame, "clusters", "C")


def combine_candidates(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Concatenate candidate frames (EPSG:4326), keeping ids unique."""
    parts = [f.to_crs(WGS84) for f in frames if f is not None and len(f)]
    if not parts:
        return empty_candidates()
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=WGS84)
    dup = out["candidate_id"].duplicated(keep=False)
    if dup.any():
        out.loc[dup, "candidate_id"] = out.loc[dup, "candidate_id"] + "#" + out.index[dup].astype(str)
    return out


# ----- Q3 --------------------------------------------------------------------------------------------
def apply_single_site_minimum(candidates: gpd.GeoDataFrame, min_area_m2: float) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Q3 (单体用房面积不少于300平方米): drop candidates known to be smaller than the minimum.

    The building area is used where known, else the parcel's land area (a parcel smaller than the
    minimum cannot hold a single-storey facility of that size: an approximation where taller
    buildings are possible). Candidates of unknown size stay in and are counted in the notes.

    Returns
    -------
    (kept candidates, notes)
    """
    size = candidates["building_area_m2"].where(candidates["building_area_m2"].notna(), candidates["land_area_m2"])
    too_small = (size < min_area_m2).to_numpy()
    notes = []
    if too_small.any():
        notes.append(f"Q3: {int(too_small.sum())} candidates smaller than {min_area_m2:g} m² were left out")
    unknown = int(size.isna().sum())
    if unknown:
        notes.append(f"Q3: {unknown} candidates have no known size (not assessable) and were kept")
    return candidates.loc[~too_small].reset_index(drop=True), notes
