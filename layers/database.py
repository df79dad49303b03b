"""PostGIS layers as inputs: ``postgresql://user@host:port/db?table=schema.name`` or GDAL's ``PG:``.

Every layer argument accepts such an address as well as a file. The table is read with
:func:`geopandas.read_postgis` through SQLAlchemy and psycopg; the frame then goes through the same
validation as a file's (CRS, geometry type, fields), and the messages name the database, the table
and the column (see :class:`layers.errors.InputError`).

Passwords never come from the command line: an address holding one is refused, and libpq takes it
from ``PGPASSWORD`` or ``~/.pgpass``. Every identifier is quoted by :class:`psycopg.sql.Identifier`;
values are bound parameters, so a table named ``x; DROP TABLE y`` is just a (missing) table.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

import geopandas as gpd

from layers.errors import GeometryError, InputError, MissingCRSError

#: Prefixes of a database address (URI or GDAL connection string).
URI_PREFIXES = ("postgresql://", "postgres://")
GDAL_PREFIX = "pg:"
#: Words that start the label of a database in messages (:class:`InputError` prints "database ...").
LABEL_PREFIX = "PostgreSQL "
#: Seconds to wait for the server before "unreachable".
CONNECT_TIMEOUT_S = 5
APPLICATION_NAME = "elderly-coverage"
#: Commands whose ``--out`` may be a database (coverage/database_output.py).
DATABASE_OUTPUT_COMMANDS = ("circles", "check", "sites")

_PASSWORD_HINT = (
    "a password in the database address is refused (it would show in the shell history and process list): "
    "remove it and set PGPASSWORD or a ~/.pgpass line instead"
)


def is_database_uri(value: object) -> bool:
    """Return True for a ``postgresql://``/``postgres://`` URI or a GDAL ``PG:`` string."""
    if not isinstance(value, str):
        return False
    low = value.strip().lower()
    return low.startswith(URI_PREFIXES) or low.startswith(GDAL_PREFIX)


@dataclass(frozen=True)
class DatabaseAddress:
    """Where a layer lives in PostgreSQL: connection keywords (never a password) and the table.

    Attributes
    ----------
    connect : dict
        libpq keywords: ``host``, ``port``, ``dbname``, ``user`` (only those given).
    table : str, optional
        ``name`` or ``schema.name``.
    sql : str, optional
        A query whose result is the layer (GDAL's ``sql=``), run in a read-only transaction.
    options : dict
        Other query parameters (``schema``, ``run``, ``srid`` for ``--out``; ``geometry``).
    """

    connect: dict[str, str]
    table: str | None = None
    sql: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The database for messages: ``PostgreSQL user@host:port/db`` (no password, no ``//``)."""
        user = f"{self.connect['user']}@" if "user" in self.connect else ""
        host = self.connect.get("host", "localhost")
        port = f":{self.connect['port']}" if "port" in self.connect else ""
        return f"{LABEL_PREFIX}{user}{host}{port}/{self.connect.get('dbname', '')}".rstrip("/")

    def schema_table(self, layer: str | None = None) -> tuple[str, str]:
        """Return ``(schema, table)`` of the table given in the address or by ``layer``."""
        name = self.table or layer
        if not name:
            msg = "the database address names no table: add ?table=schema.name (or table= in a PG: string)"
            raise InputError(msg, file=self.label)
        schema, dot, table = name.partition(".")
        if not dot:
            return self.options.get("schema", "public"), name
        return schema, table


def parse_database_uri(value: str) -> DatabaseAddress:
    """Parse ``postgresql://user@host:port/db?table=schema.name`` or ``PG:"dbname=... " table=...``.

    Raises
    ------
    InputError
        A password in the address (set ``PGPASSWORD`` or ``~/.pgpass`` instead), or an address
        that cannot be parsed. The message never repeats the address.
    """
    text = value.strip()
    if text.lower().startswith(GDAL_PREFIX):
        return _parse_gdal(text[len(GDAL_PREFIX):])
    parts = urlsplit(text)
    try:
        password, port = parts.password, parts.port
    except ValueError:
        raise InputError("the database address has an invalid port: use postgresql://user@host:5432/db") from None
    if password is not None:
        raise InputError(_PASSWORD_HINT)
    query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    if "password" in {key.lower() for key in query}:
        raise InputError(_PASSWORD_HINT)
    connect: dict[str, str] = {}
    if parts.username:
        connect["user"] = unquote(parts.username)
    if parts.hostname:
        connect["host"] = unquote(parts.hostname)
    if "host" in query:  # a Unix socket folder: ?host=/run/postgresql
        connect["host"] = query.pop("host")
    if port is not None:
        connect["port"] = str(port)
    if "port" in query:
        connect["port"] = query.pop("port")
    dbname = unquote(parts.path.lstrip("/"))
    if dbname:
        connect["dbname"] = dbname
    if "user" in query:
        connect["user"] = query.pop("user")
    return DatabaseAddress(connect, table=query.pop("table", None), sql=query.pop("sql", None), options=query)


def _parse_gdal(rest: str) -> DatabaseAddress:
    """GDAL's ``PG:"dbname=x host=y" table=s.t`` or ``PG:dbname=x host=y tables=s.t``.

    ``sql=`` takes the rest of the string (a query has spaces): ``PG:"dbname=x" sql=SELECT ...``.
    """
    query = None
    found = re.search(r"(?:^|\s)sql=", rest)
    if found:
        rest, query = rest[: found.start()], rest[found.end():].strip()
        if len(query) >= 2 and query[0] == query[-1] and query[0] in "\"'":
            query = query[1:-1]
    try:
        words = shlex.split(rest)
    except ValueError as error:
        raise InputError(f"the PG: connection string cannot be parsed ({error})") from None
    pairs: dict[str, str] = {}
    for word in words:
        for item in shlex.split(word) if " " in word else [word]:
            key, eq, val = item.partition("=")
            if not eq:
                raise InputError(f"the PG: connection string has a word without '=': {key[:40]!r}")
            pairs[key.strip().lower()] = val
    if "password" in pairs:
        raise InputError(_PASSWORD_HINT)
    connect = {key: pairs.pop(key) for key in ("host", "port", "dbname", "user") if key in pairs}
    table = pairs.pop("table", None) or pairs.pop("tables", None)
    return DatabaseAddress(connect, table=table, sql=query, options=pairs)


def connect(address: DatabaseAddress, password: str | None = None):
    """Open a psycopg connection, or raise InputError.

    ``password`` is for the app's masked field only; the command line never passes one, so libpq
    takes it from ``PGPASSWORD`` or ``~/.pgpass``. It is never part of a message or a label.
    """
    import psycopg

    secret = {"password": password} if password else {}
    try:
        return psycopg.connect(
            **address.connect, **secret, connect_timeout=CONNECT_TIMEOUT_S, application_name=APPLICATION_NAME
        )
    except psycopg.Error as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        if password:
            reason = reason.replace(password, "***")
        raise InputError(f"cannot connect to the database ({reason})", file=address.label) from None


def _engine(address: DatabaseAddress, password: str | None = None):
    """A SQLAlchemy engine of read-only connections opened by :func:`connect` (no password in a URL)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    def read_only():
        conn = connect(address, password)
        conn.read_only = True  # reading a layer (or a sql= query) never changes the database
        return conn

    return create_engine("postgresql+psycopg://", creator=read_only, poolclass=NullPool)


def _crs_of(cur, srid: int, *, label: str, where: str, column: str) -> str:
    """Return ``AUTH:CODE`` (or WKT) of a PostGIS SRID; raise MissingCRSError for SRID 0/unknown."""
    if srid == 0:
        msg = "the geometry column has no SRID (0): set it with UpdateGeometrySRID or ST_SetSRID"
        raise MissingCRSError(msg, file=label, layer=where, field=column)
    cur.execute("SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = %s", (srid,))
    row = cur.fetchone()
    if row is None:
        raise MissingCRSError(f"SRID {srid} is not in spatial_ref_sys", file=label, layer=where, field=column)
    auth, code, wkt = row
    return f"{auth}:{code}" if auth and code else wkt


def list_spatial_tables(
    address: DatabaseAddress, password: str | None = None
) -> list[tuple[str, str, str, int, str]]:
    """Return ``(schema, table, geometry column, srid, type)`` of every PostGIS geometry column."""
    with connect(address, password) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT f_table_schema, f_table_name, f_geometry_column, srid, type FROM geometry_columns "
            "WHERE f_table_schema NOT IN ('pg_catalog', 'information_schema', 'tiger', 'topology') "
            "ORDER BY 1, 2, 3"
        )
        return [tuple(row) for row in cur.fetchall()]


def read_database_layer(
    value: str | DatabaseAddress, layer: str | None = None, *, what: str = "vector", password: str | None = None
) -> tuple[gpd.GeoDataFrame, str, str]:
    """Read a PostGIS table (or ``sql=`` query) as a GeoDataFrame in its declared CRS.

    Parameters
    ----------
    value : str or DatabaseAddress
        The address; its ``table=`` (or ``layer``, e.g. ``--facilities-layer``) chooses the table.
    layer : str, optional
        ``schema.name`` or ``name`` (schema ``public``) when the address has no ``table=``.
    what : str
        What the layer holds (``"facility"``), for the messages.
    password : str, optional
        From the app's masked field; otherwise ``PGPASSWORD``/``~/.pgpass``.

    Returns
    -------
    (GeoDataFrame, str, str)
        The rows as stored, the database's label and ``schema.table`` (for the messages).

    Raises
    ------
    InputError
        Unreachable server, refused login, no such table (the message lists the spatial ones).
    GeometryError
        The table has no geometry column (or several and none chosen with ``geometry=``).
    MissingCRSError
        The geometry column has SRID 0 or an SRID missing from ``spatial_ref_sys``.
    """
    address = value if isinstance(value, DatabaseAddress) else parse_database_uri(value)
    import psycopg

    try:
        return _read(address, layer, what, password)
    except psycopg.Error as error:  # server-side errors (permissions, a bad sql=) in one line
        reason = " ".join(str(error).split("\n")[0].split()) or type(error).__name__
        where = "sql=" + address.sql[:60] if address.sql is not None else ".".join(address.schema_table(layer))
        raise InputError(f"cannot read the {what} table ({reason})", file=address.label, layer=where) from None


def _read(address: DatabaseAddress, layer: str | None, what: str, password: str | None):
    """:func:`read_database_layer` without the translation of server errors."""
    from psycopg import sql

    label = address.label
    with connect(address, password) as conn, conn.cursor() as cur:
        conn.read_only = True
        if address.sql is not None:
            where = "sql=" + address.sql[:60]
            query = sql.SQL("SELECT * FROM ({}) AS layer").format(sql.SQL(address.sql))
            column, srid = _query_geometry(cur, query, label=label, where=where, what=what)
        else:
            schema, table = address.schema_table(layer)
            where = f"{schema}.{table}"
            column, srid = _table_geometry(cur, schema, table, address, label=label, where=where, what=what)
            query = sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        crs = _crs_of(cur, srid, label=label, where=where, column=column)
        text = query.as_string(conn)
    try:
        frame = gpd.read_postgis(text, _engine(address, password), geom_col=column, crs=crs)
    except InputError:
        raise
    except Exception as error:  # server-side errors (permissions, a bad sql=) in one line
        reason = " ".join(str(error).split("\n")[0].split())
        raise InputError(f"cannot read the {what} table ({reason})", file=label, layer=where) from None
    if frame.geometry.name != "geometry" and "geometry" not in frame.columns:
        frame = frame.rename_geometry("geometry")  # as a file reads: the readers expect this name
    frame.attrs["source"] = f"{label} table {where}"
    return frame, label, where


def _table_geometry(cur, schema, table, address, *, label, where, what) -> tuple[str, int]:
    """The geometry column and SRID of ``schema.table`` (bound parameters: no SQL built from names)."""
    cur.execute(
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    )
    if cur.fetchone() is None:
        cur.execute(
            "SELECT f_table_schema || '.' || f_table_name FROM geometry_columns "
            "WHERE f_table_schema NOT IN ('tiger', 'topology') ORDER BY 1 LIMIT 20"
        )
        found = [row[0] for row in cur.fetchall()]
        listing = f"; its spatial tables are {', '.join(found)}" if found else "; it has no spatial table"
        raise InputError(f"no such {what} table in the database{listing}", file=label, layer=where)
    cur.execute(
        "SELECT f_geometry_column, srid FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = %s "
        "ORDER BY 1",
        (schema, table),
    )
    columns = cur.fetchall()
    wanted = address.options.get("geometry")
    if wanted is not None:
        columns = [row for row in columns if row[0] == wanted]
    if not columns:
        msg = f"the table has no PostGIS geometry column{' named ' + wanted if wanted else ''}: not a {what} layer"
        raise GeometryError(msg, file=label, layer=where, field=wanted)
    if len(columns) > 1:
        names = ", ".join(row[0] for row in columns)
        raise GeometryError(f"the table has several geometry columns ({names}): choose one with geometry=", file=label, layer=where)
    column, srid = columns[0]
    if not srid:  # an unconstrained column: the rows' own SRIDs
        from psycopg import sql

        cur.execute(
            sql.SQL("SELECT DISTINCT ST_SRID({}) FROM {}.{} LIMIT 3").format(
                sql.Identifier(column), sql.Identifier(schema), sql.Identifier(table)
            )
        )
        srids = sorted({row[0] for row in cur.fetchall() if row[0] is not None})
        if len(srids) > 1:
            raise MissingCRSError(f"the rows mix SRIDs {srids}: give them one", file=label, layer=where, field=column)
        srid = srids[0] if srids else 0
    return column, int(srid)


def _query_geometry(cur, query, *, label, where, what) -> tuple[str, int]:
    """The geometry column and SRID of a ``sql=`` query's result (the first geometry column)."""
    from psycopg import sql

    cur.execute("SELECT 'geometry'::regtype::oid")
    geometry_oid = cur.fetchone()[0]
    try:
        cur.execute(sql.SQL("SELECT * FROM ({}) AS probe LIMIT 0").format(query))
    except Exception as error:
        reason = " ".join(str(error).split("\n")[0].split())
        raise InputError(f"the sql= query fails ({reason})", file=label, layer=where) from None
    columns = [col.name for col in cur.description if col.type_code == geometry_oid]
    if not columns:
        raise GeometryError(f"the query returns no geometry column: not a {what} layer", file=label, layer=where)
    column = columns[0]
    cur.execute(
        sql.SQL("SELECT DISTINCT ST_SRID({}) FROM ({}) AS probe LIMIT 3").format(sql.Identifier(column), query)
    )
    srids = sorted({row[0] for row in cur.fetchall() if row[0] is not None})
    if len(srids) > 1:
        raise MissingCRSError(f"the rows mix SRIDs {srids}: give them one", file=label, layer=where, field=column)
    return column, (srids[0] if srids else 0)


def refuse_database_passwords(args: object) -> None:
    """Parse every database address among the command's options before any work.

    Raises
    ------
    InputError
        An address holds a password (or cannot be parsed); the message names the option only.
    """
    out = getattr(args, "out", None)
    if is_database_uri(out) and getattr(args, "command", None) not in DATABASE_OUTPUT_COMMANDS:
        msg = f"--out to a database is for {', '.join(DATABASE_OUTPUT_COMMANDS)}; give a file or folder for this command"
        raise InputError(msg)
    for name, value in sorted(vars(args).items()):
        for item in value if isinstance(value, list) else [value]:
            if is_database_uri(item):
                try:
                    parse_database_uri(item)
                except InputError as error:
                    raise InputError(f"--{name.replace('_', '-')}: {error.message}") from None


def where_of(value: object, layer: str | None = None, default_layer: str | None = None) -> tuple[object, str | None]:
    """``(file, layer)`` for messages about an input: the database label and table for an address."""
    if is_database_uri(value):
        try:
            address = parse_database_uri(str(value))
            schema, table = address.schema_table(layer)
            return address.label, f"{schema}.{table}"
        except InputError:
            pass
    return value, default_layer
