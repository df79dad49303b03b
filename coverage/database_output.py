"""Result layers written to PostGIS: ``--out "postgresql://user@host/db?schema=plan_2025&run=NAME"``.

All tables of one run are written in ONE transaction (PostgreSQL's DDL is transactional): either
every table appears or none does, and a previous result of the same run name is dropped inside that
transaction, so it is replaced only when the whole new one is written. Each layer becomes the table
``RUN_LAYER`` with a typed ``geom geometry(TYPE, SRID)`` column (so ``geometry_columns`` lists it and
QGIS sees it), a GiST spatial index, SRID 4326 or, with ``srid=4490``, CGCS2000. The table
``coverage_runs`` of the schema records every run: its name, command, tables and time.
Identifiers are quoted by :class:`psycopg.sql.Identifier`; values are bound or copied, never pasted.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.safe_write import WriteError
from layers.database import connect, parse_database_uri
from layers.errors import InputError

#: SRIDs the result may be written in: WGS84 and CGCS2000 (China's national geodetic system).
OUTPUT_SRIDS = (4326, 4490)
#: Longest PostgreSQL identifier (bytes).
MAX_IDENTIFIER = 63
RUNS_TABLE = "coverage_runs"

_PG_TYPES = {"i": "bigint", "u": "bigint", "f": "double precision", "b": "boolean", "M": "timestamp"}


def database_target(uri: str, *, default_run: str) -> tuple[dict, str, str, int]:
    """Parse an ``--out`` address: ``(connection, schema, run, srid)``.

    Raises
    ------
    InputError
        No ``schema=``, a password in the address, an SRID other than 4326/4490, names too long.
    """
    address = parse_database_uri(uri)
    schema = address.options.get("schema") or (address.table or "").strip() or None
    if not schema:
        raise InputError("--out needs the schema to write into: add ?schema=NAME", file=address.label)
    run = address.options.get("run") or default_run
    try:
        srid = int(address.options.get("srid", "4326"))
    except ValueError:
        srid = -1
    if srid not in OUTPUT_SRIDS:
        raise InputError(f"--out srid= must be one of {OUTPUT_SRIDS} (WGS84, CGCS2000)", file=address.label)
    for what, name in (("schema", schema), ("run", run)):
        if not name or len(name.encode()) > MAX_IDENTIFIER - 20:
            msg = f"the {what} name must have 1 to {MAX_IDENTIFIER - 20} bytes"
            raise InputError(msg, file=address.label, layer=name[:40])
    return address, schema, run, srid


def _geometry_type(geoms: np.ndarray) -> tuple[str, np.ndarray]:
    """The column type (``MultiPolygon``, ``Point``, ``Geometry``) and the geometries to match it."""
    kinds = set(shapely.get_type_id(geoms[~shapely.is_missing(geoms)]).tolist())
    names = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}
    if len(kinds) == 1 and next(iter(kinds)) in names:
        return names[next(iter(kinds))], geoms
    for single, multi in ((3, 6), (1, 5), (0, 4)):
        if kinds and kinds <= {single, multi}:
            parts = [shapely.multipolygons, shapely.multilinestrings, shapely.multipoints][[6, 5, 4].index(multi)]
            promoted = np.array([g if g is None or shapely.get_type_id(g) == multi else parts([g]) for g in geoms])
            return names[multi], promoted
    return "Geometry", geoms


def _column_type(series: pd.Series) -> str:
    kind = series.dtype.kind
    if kind == "M":
        return "timestamptz" if getattr(series.dtype, "tz", None) is not None else "timestamp"
    return _PG_TYPES.get(kind, "text")


def _as_text(value: object) -> object:
    """Text for a text column: strings and missing values as they are, anything else as ``str``."""
    if value is None or isinstance(value, str) or (isinstance(value, float) and value != value):
        return value
    return str(value)


def _write_table(cur, schema: str, table: str, frame: pd.DataFrame, srid: int) -> None:
    """Create ``schema.table`` and copy ``frame`` into it (geometry in ``srid``, GiST index)."""
    from psycopg import sql

    columns = [str(c) for c in frame.columns if not (isinstance(frame, gpd.GeoDataFrame) and c == frame.geometry.name)]
    data = pd.DataFrame(frame[[c for c in frame.columns if str(c) in columns]])
    data.columns = columns
    if len(set(c.lower() for c in columns)) != len(columns) or "geom" in columns:
        raise InputError(f"the result layer {table} has clashing column names", layer=table)
    definitions = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_column_type(data[c]))) for c in columns]
    geoms = None
    if isinstance(frame, gpd.GeoDataFrame):
        geoms = frame.geometry.to_crs(epsg=srid).to_numpy() if frame.crs is not None else frame.geometry.to_numpy()
        kind, geoms = _geometry_type(np.asarray(geoms, dtype=object))
        definitions.append(sql.SQL("geom geometry({}, {})").format(sql.SQL(kind), sql.Literal(srid)))
    target = sql.Identifier(schema, table)
    key = sql.Identifier("fid" if "fid" not in {c.lower() for c in columns} else "_fid")  # QGIS's feature id
    cur.execute(sql.SQL("CREATE TABLE {} ({} bigserial PRIMARY KEY, {})").format(target, key, sql.SQL(", ").join(definitions)))
    names = [sql.Identifier(c) for c in columns] + ([sql.Identifier("geom")] if geoms is not None else [])
    for column in columns:  # text columns hold text (a list or a Path is written as its text)
        if _column_type(data[column]) == "text":
            data[column] = data[column].map(_as_text)
    if geoms is not None:  # hex EWKB: PostGIS reads it as geometry text, SRID included
        data = data.assign(**{"\x00geom": shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)})
    # values converted in bulk (NaN/NA/NaT -> NULL, numpy -> Python); COPY then streams the rows
    rows = data.astype(object).where(data.notna(), None).to_numpy().tolist()
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN").format(target, sql.SQL(", ").join(names))
    with cur.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row(row)
    if geoms is not None:
        index = sql.Identifier(f"{table[: MAX_IDENTIFIER - 5]}_gix")
        cur.execute(sql.SQL("CREATE INDEX {} ON {} USING GIST (geom)").format(index, target))


def write_database(
    uri: str, layers: Mapping[str, pd.DataFrame], *, command: str, default_run: str | None = None
) -> str:
    """Write result layers to PostGIS in one transaction; return a description for the summary line.

    Parameters
    ----------
    uri : str
        ``postgresql://user@host:port/db?schema=NAME[&run=NAME][&srid=4490]``; password from
        ``PGPASSWORD``/``~/.pgpass``.
    layers : mapping of str to (Geo)DataFrame
        Table suffix to rows; GeoDataFrames get a ``geom`` column, DataFrames are plain tables.
    command : str
        ``circles``, ``check`` or ``sites``; also the default run name.

    Raises
    ------
    InputError
        A bad address, the server unreachable or the login refused (nothing written).
    WriteError
        The server failed or the connection was lost while writing: the transaction is rolled back
        and no table of this run was created or replaced.
    """
    import psycopg
    from psycopg import sql

    address, schema, run, srid = database_target(uri, default_run=default_run or command)
    conn = connect(address)
    tables = [f"{run}_{name}" for name in layers]
    try:
        with conn.transaction(), conn.cursor() as cur:
            # two runs of one name take turns (released at commit or rollback)
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"elderly-coverage {schema}.{run}",))
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            runs = sql.Identifier(schema, RUNS_TABLE)
            cur.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (run text PRIMARY KEY, command text NOT NULL, "
                    "tables text[] NOT NULL, srid integer NOT NULL, written timestamptz NOT NULL DEFAULT now())"
                ).format(runs)
            )
            cur.execute(sql.SQL("SELECT tables FROM {} WHERE run = %s FOR UPDATE").format(runs), (run,))
            previous = cur.fetchone()
            for old in sorted(set(previous[0] if previous else []) | set(tables)):
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, old)))
            for table, frame in zip(tables, layers.values(), strict=True):
                _write_table(cur, schema, table, frame, srid)
            cur.execute(sql.SQL("DELETE FROM {} WHERE run = %s").format(runs), (run,))
            cur.execute(
                sql.SQL("INSERT INTO {} (run, command, tables, srid) VALUES (%s, %s, %s, %s)").format(runs),
                (run, command, tables, srid),
            )
    except psycopg.Error as error:
        reason = " ".join(str(error).split("\n")[0].split()) or type(error).__name__
        raise WriteError(address.label, f"{reason}; nothing was written (transaction rolled back)") from None
    finally:
        conn.close()
    return f"{address.label} schema {schema}: {', '.join(tables)} (SRID {srid})"
