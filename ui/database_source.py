"""The app's third layer source: a PostGIS database (address typed in, password in a masked field).

The user types ``postgresql://user@host:port/db`` (an address holding a password is refused, as on
the command line), the password goes into a masked field and lives only in this session's memory,
the spatial tables are listed to choose the street, facility and population layers from, and each
chosen table is read (:func:`layers.database.read_database_layer`, the same checks as a file) and
kept as a GeoPackage beside the uploads, so the rest of the app treats it like an uploaded layer.
The password never reaches a file, a label, a report or a message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from layers.database import is_database_uri, list_spatial_tables, parse_database_uri, read_database_layer
from layers.errors import InputError
from ui.uploads import SavedUpload, upload_root

#: Which geometry types each role may take from a table (PostGIS ``geometry_columns.type``).
ROLE_TYPES = {
    "network": {"LINESTRING", "MULTILINESTRING", "GEOMETRY"},
    "facilities": {"POINT", "MULTIPOINT", "POLYGON", "MULTIPOLYGON", "GEOMETRY"},
    "population": {"POLYGON", "MULTIPOLYGON", "POINT", "MULTIPOINT", "GEOMETRY"},
}


def spatial_tables(uri: str, password: str | None) -> pd.DataFrame:
    """The database's spatial tables: ``table`` (schema.name), ``geometry``, ``type``, ``srid``.

    Raises
    ------
    InputError
        Not a database address, a password in it, the server unreachable or the login refused.
    """
    if not is_database_uri(uri):
        raise InputError("type a database address: postgresql://user@host:5432/database")
    rows = list_spatial_tables(parse_database_uri(uri), password or None)
    return pd.DataFrame(
        [(f"{schema}.{table}", column, kind.upper(), srid) for schema, table, column, srid, kind in rows],
        columns=["table", "geometry", "type", "srid"],
    )


def tables_for(tables: pd.DataFrame, role: str) -> list[str]:
    """The tables whose geometry type suits ``role`` ("network", "facilities", "population")."""
    return sorted(set(tables.loc[tables["type"].isin(ROLE_TYPES[role]), "table"]))


def frame_hash(frame: gpd.GeoDataFrame) -> str:
    """SHA-256 of a layer's attributes and geometry (the cache key of a table's content)."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(frame.drop(columns=frame.geometry.name), index=False).to_numpy().tobytes())
    for blob in shapely.to_wkb(frame.geometry.to_numpy()):
        digest.update(blob or b"")
    digest.update(str(frame.crs).encode())
    return digest.hexdigest()


def save_table(uri: str, table: str, password: str | None, role: str, root: Path | None = None) -> SavedUpload:
    """Read ``table`` (``schema.name``) and keep it as ``ROLE/HASH/TABLE.gpkg`` under the upload folder.

    Raises
    ------
    InputError
        The table cannot be read or fails the checks (named by database, table and column).
    """
    what = {"network": "street network", "facilities": "facility", "population": "population"}[role]
    address = parse_database_uri(uri)
    frame, label, where = read_database_layer(address, table, what=what, password=password or None)
    digest = frame_hash(frame)
    folder = (root or upload_root()) / role / digest[:24]
    path = folder / f"{where.replace('/', '_')}.gpkg"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part.gpkg")
        frame.to_file(partial, layer=role, driver="GPKG")
        partial.replace(path)
    return SavedUpload(path=path, name=f"{label} {where}", sha256=digest)


def database_sidebar(st, t: Callable[..., str], state) -> dict[str, SavedUpload | None] | None:
    """Draw the database fields in the sidebar; return the chosen layers saved, or None until chosen."""
    uri = st.sidebar.text_input(
        t("Database address"), placeholder=t("postgresql://user@host:5432/database"), key="db_uri"
    ).strip()
    password = st.sidebar.text_input(t("Password"), type="password", key="db_password")
    if not uri:
        return None
    try:
        tables = spatial_tables(uri, password)
    except InputError as error:
        st.sidebar.error(str(error))
        return None
    if tables.empty:
        st.sidebar.warning(t("The database has no spatial tables."))
        return None
    chosen: dict[str, str | None] = {}
    for role, label in (("network", "Street network table"), ("facilities", "Facility table"), ("population", "Population table")):
        options = tables_for(tables, role)
        optional = [""] if role == "population" else []
        chosen[role] = st.sidebar.selectbox(t(label), optional + options, key=f"db_{role}") or None
    if not chosen["network"] or not chosen["facilities"]:
        return None
    memo = state.setdefault("saved_tables", {})
    saved: dict[str, SavedUpload | None] = {}
    try:
        for role, table in chosen.items():
            if table is None:
                saved[role] = None
                continue
            key = (uri, role, table)
            if key not in memo or not memo[key].path.exists():
                memo[key] = save_table(uri, table, password, role)
            saved[role] = memo[key]
    except InputError as error:
        st.sidebar.error(str(error))
        return None
    return saved
