"""PostGIS as source and sink, on a real PostgreSQL + PostGIS server started by the tests (issue 15).

The server (``tests/postgis_server.py``) runs as an unprivileged user from Debian's packages; the
tests skip only when those binaries are absent. Real data: the Helsinki population grid and the
embedded Helsinki streets, and the Nanjing extract's streets and buildings.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from cli.main import main
from coverage.pipeline import DEMO_FACILITIES
from layers.database import read_database_layer
from layers.network import embedded_network_path
from tests.conftest import shared_path
from tests.postgis_server import postgres_bin, start_server

HELSINKI_NETWORK = str(embedded_network_path())
INJECTION = "x; DROP TABLE y"


@pytest.fixture(scope="module")
def pg():
    if postgres_bin() is None:
        pytest.skip("PostgreSQL with PostGIS is not installed (apt-get install postgresql postgresql-15-postgis-3)")
    server = start_server()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def password_from_environment(pg, monkeypatch):
    """The password comes from PGPASSWORD only (never ~/.pgpass of whoever runs the tests)."""
    monkeypatch.setenv("PGPASSWORD", pg.password)
    monkeypatch.setenv("PGPASSFILE", "/nonexistent/pgpass")


def load(pg, frame: gpd.GeoDataFrame | pd.DataFrame, table: str, *, schema: str = "public", srid: int | None = None) -> None:
    """Put ``frame`` into ``schema.table`` by plain INSERTs (independent of the tool's writer)."""
    from psycopg import sql

    geo = isinstance(frame, gpd.GeoDataFrame)
    columns = [c for c in frame.columns if not (geo and c == frame.geometry.name)]
    types = {c: ("double precision" if frame[c].dtype.kind in "fiu" else "text") for c in columns}
    srid = srid if srid is not None else (frame.crs.to_epsg() if geo else 0)
    definition = [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types[c])) for c in columns]
    if geo:
        definition.append(sql.SQL("geom geometry" + (f"(Geometry, {int(srid)})" if srid else "")))
    target = sql.Identifier(schema, table)
    with pg.connect() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
        conn.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(", ").join(definition)))
        names = [sql.Identifier(c) for c in columns] + ([sql.Identifier("geom")] if geo else [])
        marks = [sql.Placeholder()] * len(columns) + ([sql.SQL("ST_GeomFromWKB({}, {})").format(sql.Placeholder(), sql.Literal(int(srid)))] if geo else [])
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(target, sql.SQL(", ").join(names), sql.SQL(", ").join(marks))
        values = frame[columns].astype(object).where(frame[columns].notna(), None).to_numpy().tolist()
        if geo:
            values = [row + [shapely.to_wkb(g)] for row, g in zip(values, frame.geometry, strict=True)]
        with conn.cursor() as cur:
            cur.executemany(insert, values)


def tables_in(pg, schema: str) -> set[str]:
    with pg.connect() as conn:
        rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)).fetchall()
    return {row[0] for row in rows}


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def helsinki_tables(pg):
    grid = gpd.read_file(shared_path("helsinki", "helsinki_population_grid_2020.gpkg"))
    load(pg, grid, "helsinki_grid", schema="bureau")
    load(pg, gpd.read_file(DEMO_FACILITIES), "facilities", schema="bureau")
    return grid


def test_circles_reads_tables_and_writes_them_back_with_the_same_numbers(pg, helsinki_tables, tmp_path, capsys):
    grid_path = shared_path("helsinki", "helsinki_population_grid_2020.gpkg")
    gpkg = tmp_path / "circles.gpkg"
    code, out, err = run(capsys, "circles", "--network", HELSINKI_NETWORK, "--facilities", str(DEMO_FACILITIES),
                         "--population", str(grid_path), "--out", str(gpkg), "--json")
    assert code == 0, err
    from_files = json.loads(out)
    gdal = f'PG:"dbname={pg.dbname} host={pg.host} port={pg.port} user={pg.user}" table=bureau.helsinki_grid'
    code, out, err = run(capsys, "circles", "--network", HELSINKI_NETWORK, "--facilities", pg.uri(table="bureau.facilities"),
                         "--population", gdal, "--out", pg.uri(schema="plan_2025", run="hel"), "--json")
    assert code == 0, err
    from_tables = json.loads(out)
    assert from_files["total_population"] > 5_000  # the grid cells within the street extent
    for key in ("covered_population", "total_population", "covered_share", "graph_nodes", "off_network_facilities"):
        assert from_tables[key] == from_files[key]
    assert "bureau.facilities" in from_tables["sources"]["facilities"] and pg.password not in out
    # read back: the same rows and numbers as the GeoPackage, tables visible to QGIS with an index
    for layer in ("population", "service_areas", "facilities"):
        back, _, _ = read_database_layer(pg.uri(table=f"plan_2025.hel_{layer}"))
        expected = gpd.read_file(gpkg, layer=layer)
        assert len(back) == len(expected) and back.crs.to_epsg() == 4326
        for column in expected.select_dtypes("number").columns:
            assert np.allclose(back[column].to_numpy(float), expected[column].to_numpy(float), equal_nan=True), column
        assert np.allclose(back.to_crs(3067).area.sum(), expected.to_crs(3067).area.sum())
    with pg.connect() as conn:
        registered = conn.execute(
            "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = 'plan_2025'"
        ).fetchall()
        indexed = conn.execute("SELECT tablename FROM pg_indexes WHERE schemaname = 'plan_2025' AND indexdef LIKE '%gist%'").fetchall()
    assert {("hel_population", 4326), ("hel_service_areas", 4326), ("hel_network_edges", 4326)} <= set(registered)
    assert {row[0] for row in indexed} >= {"hel_population", "hel_service_areas", "hel_facilities"}
    # CGCS2000 on request; the same run name is replaced, not added to
    code, _, err = run(capsys, "circles", "--network", HELSINKI_NETWORK, "--facilities", pg.uri(table="bureau.facilities"),
                       "--population", pg.uri(table="bureau.helsinki_grid"), "--out", pg.uri(schema="plan_2025", run="hel", srid="4490"))
    assert code == 0, err
    with pg.connect() as conn:
        srids = {row[0] for row in conn.execute("SELECT srid FROM geometry_columns WHERE f_table_schema = 'plan_2025'")}
        runs = conn.execute("SELECT run, srid FROM plan_2025.coverage_runs").fetchall()
    assert srids == {4490} and runs == [("hel", 4490)]


def nanjing_layers():
    """Real Nanjing streets and buildings; townships/districts cut from the extent, sites on streets."""
    from layers.network import read_network
    from layers.population import read_population

    pbf = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    edges = read_network(pbf).edges
    x0, y0, x1, y1 = edges.total_bounds
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    quads = [shapely.box(x0, ym, xm, y1), shapely.box(xm, ym, x1, y1), shapely.box(x0, y0, xm, ym), shapely.box(xm, y0, x1, ym)]
    townships = gpd.GeoDataFrame({"name": ["街道甲", "街道乙", "街道丙", "街道丁"]}, geometry=quads, crs=4326)
    districts = gpd.GeoDataFrame(
        {"name": ["小区一", "小区二"], "residents": [8000.0, 12000.0], "households": [2500.0, 4000.0]},
        geometry=[shapely.box(x0, y0, xm, ym).buffer(-0.002), shapely.box(xm, ym, x1, y1).buffer(-0.002)], crs=4326,
    )
    sites = shapely.line_interpolate_point(edges.to_crs(32650).geometry.to_numpy()[::300], 0.5, normalized=True)
    sites = gpd.GeoSeries(sites, crs=32650).to_crs(4326)
    kinds = ["township_centre", "community_station", "day_care", "nursing_home"] * 3
    facilities = gpd.GeoDataFrame(
        {"name": [f"设施{i}" for i in range(len(sites))], "kind": kinds[: len(sites)], "beds": 40.0}, geometry=sites.values, crs=4326
    )
    buildings = read_population(pbf, kind="buildings")
    people = gpd.GeoDataFrame({"population": buildings["population"].to_numpy(float)}, geometry=buildings.geometry.values, crs=4326)
    lines = gpd.GeoDataFrame({"highway": edges["highway"].astype(str)}, geometry=edges.geometry.values, crs=4326)
    from layers.facilities import read_facilities

    health = read_facilities(pbf)  # the extract's 5 hospitals (C6 co-location)
    health = gpd.GeoDataFrame({"name": health["name"].astype(str), "kind": health["kind"].astype(str)}, geometry=health.geometry.values, crs=4326)
    return {"streets": lines, "facilities": facilities, "population": people, "districts": districts, "townships": townships,
            "health": health}


def test_check_reads_every_layer_from_tables_and_writes_findings(pg, tmp_path, capsys):
    layers = nanjing_layers()
    files = {}
    for name, frame in layers.items():
        load(pg, frame, name, schema="nanjing")
        files[name] = tmp_path / f"{name}.gpkg"
        frame.to_file(files[name])
    args = ["--network", "--facilities", "--population", "--districts", "--townships", "--health"]
    order = ["streets", "facilities", "population", "districts", "townships", "health"]
    code, out, err = run(capsys, "check", *[x for a, n in zip(args, order) for x in (a, str(files[n]))],
                         "--out", str(tmp_path / "report"), "--json")
    assert code == 0, err
    from_files = json.loads(out)
    uris = [x for a, n in zip(args, order) for x in (a, pg.uri(table=f"nanjing.{n}"))]
    code, out, err = run(capsys, "check", *uris, "--out", pg.uri(schema="plan_2025", run="nanjing"), "--json")
    assert code == 0, err
    from_tables = json.loads(out)
    assert from_tables["rules"] == from_files["rules"]
    assert from_tables["rules"]["C6"]["assessed"] > 0
    assert from_tables["rules"]["T1"]["assessed"] >= 4 and from_tables["rules"]["Q1"]["assessed"] >= 1
    findings_file = pd.read_csv(tmp_path / "report" / "findings.csv")
    with pg.connect() as conn:
        count = conn.execute('SELECT count(*) FROM plan_2025."nanjing_findings"').fetchone()[0]
        q1 = conn.execute("SELECT count(*) FROM plan_2025.nanjing_findings WHERE rule_id = 'Q1'").fetchone()[0]
    assert count == len(findings_file) and q1 == (findings_file["rule_id"] == "Q1").sum()
    assert {"nanjing_districts", "nanjing_townships", "nanjing_service_areas"} <= tables_in(pg, "plan_2025")


@pytest.fixture(scope="module")
def helsinki_streets():
    """The embedded Helsinki streets as a line layer (read once)."""
    from layers.network import read_network

    edges = read_network(embedded_network_path()).edges
    return gpd.GeoDataFrame({"highway": edges["highway"].astype(str)}, geometry=edges.geometry.values, crs=4326)


@pytest.fixture(scope="module")
def small_network(helsinki_streets, tmp_path_factory):
    """The real streets around the demo sites only: quick to read for the tests of bad inputs."""
    x0, y0, x1, y1 = gpd.read_file(DEMO_FACILITIES).total_bounds
    box = shapely.box(x0 - 0.005, y0 - 0.003, x1 + 0.005, y1 + 0.003)
    path = tmp_path_factory.mktemp("small") / "streets.gpkg"
    helsinki_streets.loc[helsinki_streets.intersects(box)].to_file(path)
    return str(path)


def bad_input(pg, capsys, *args: str, network: str = HELSINKI_NETWORK) -> str:
    """Run circles into schema ``never`` and return the error line; nothing may be written."""
    code, out, err = run(capsys, "circles", "--network", network, *args, "--out", pg.uri(schema="never"))
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert tables_in(pg, "never") == set()
    return err


def test_bad_tables_are_refused_naming_the_table_and_column(pg, helsinki_tables, small_network, capsys):
    facilities = gpd.read_file(DEMO_FACILITIES)
    load(pg, facilities, "fac_3857", schema="bad", srid=3857)  # lon/lat degrees declared as metres
    load(pg, facilities, "fac_nosrid", schema="bad", srid=0)
    load(pg, helsinki_tables.rename(columns={"population": "asukkaat_x"}), "grid_no_count", schema="bad")
    load(pg, pd.DataFrame({"name": ["a"], "beds": [3.0]}), "no_geometry", schema="bad")
    err = bad_input(pg, capsys, "--facilities", pg.uri(table="bad.fac_3857"), network=small_network)
    assert "table 'bad.fac_3857'" in err and "extent" in err
    err = bad_input(pg, capsys, "--facilities", pg.uri(table="bad.fac_nosrid"), network=small_network)
    assert "table 'bad.fac_nosrid'" in err and "column 'geom'" in err and "no SRID" in err
    err = bad_input(pg, capsys, "--facilities", pg.uri(table="bureau.facilities"), "--population", pg.uri(table="bad.grid_no_count"), network=small_network)
    assert "table 'bad.grid_no_count'" in err and "database '" in err
    err = bad_input(pg, capsys, "--facilities", pg.uri(table="bad.no_geometry"), network=small_network)
    assert "table 'bad.no_geometry'" in err and "no PostGIS geometry column" in err
    err = bad_input(pg, capsys, "--facilities", pg.uri(table="bad.missing"), network=small_network)
    assert "no such facility table" in err and "bureau.facilities" in err


def test_connection_problems_and_passwords(pg, helsinki_tables, small_network, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", "wrong-password")
    err = bad_input(pg, capsys, "--facilities", pg.uri(table="bureau.facilities"), network=small_network)
    assert "cannot connect" in err and "password authentication failed" in err and "wrong-password" not in err
    monkeypatch.setenv("PGPASSWORD", pg.password)
    from tests.postgis_server import _free_port

    unreachable = pg.uri(table="bureau.facilities").replace(f":{pg.port}/", f":{_free_port()}/")
    err = bad_input(pg, capsys, "--facilities", unreachable, network=small_network)
    assert "cannot connect" in err and "database '" in err
    # ~/.pgpass (here through PGPASSFILE) instead of PGPASSWORD; a database network without population is refused by table
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"{pg.host}:{pg.port}:*:{pg.user}:{pg.password}\n")
    pgpass.chmod(0o600)
    monkeypatch.delenv("PGPASSWORD")
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    load(pg, gpd.read_file(small_network), "small_streets", schema="bureau")
    err = bad_input(pg, capsys, "--facilities", pg.uri(table="bureau.facilities"), network=pg.uri(table="bureau.small_streets"))
    assert "database '" in err and "no population layer given" in err
    secret = "s3cret-Word"
    with_password = pg.uri(table="bureau.facilities").replace(f"{pg.user}@", f"{pg.user}:{secret}@")
    for args in (["--facilities", with_password], ["--population", f"PG:dbname=x password={secret} table=t"]):
        err = bad_input(pg, capsys, *args, network=small_network)
        assert "PGPASSWORD" in err and secret not in err
    code, _, err = run(capsys, "circles", "--out", with_password.replace("table=bureau.facilities", "schema=never"))
    assert code == 2 and "PGPASSWORD" in err and secret not in err


def test_a_connection_killed_mid_write_leaves_the_previous_result(pg, helsinki_tables, small_network, capsys, monkeypatch):
    import coverage.database_output as database_output

    common = ["circles", "--network", small_network, "--facilities", pg.uri(table="bureau.facilities"),
              "--population", pg.uri(table="bureau.helsinki_grid")]
    code, out, err = run(capsys, *common, "--out", pg.uri(schema="atomic", run="r1"))
    assert code == 0, err
    assert "schema atomic: r1_service_areas, r1_population" in out and pg.password not in out + err  # text output
    before = tables_in(pg, "atomic")
    with pg.connect() as conn:
        rows_before = conn.execute("SELECT count(*) FROM atomic.r1_population").fetchone()[0]
    original = database_output._write_table
    written = []

    def killing_write(cur, schema, table, frame, srid):
        written.append(table)
        if len(written) == 3:  # halfway: another connection ends this one's backend
            with pg.connect() as killer:
                killer.execute("SELECT pg_terminate_backend(%s)", (cur.connection.info.backend_pid,))
        original(cur, schema, table, frame, srid)

    monkeypatch.setattr(database_output, "_write_table", killing_write)
    for out in (pg.uri(schema="atomic", run="r1"), pg.uri(schema="atomic", run="r2")):
        written.clear()
        code, _, err = run(capsys, *common, "--out", out)
        assert code == 1 and "nothing was written" in err and "Traceback" not in err
        assert tables_in(pg, "atomic") == before  # neither new tables nor the old ones dropped
    with pg.connect() as conn:
        assert conn.execute("SELECT count(*) FROM atomic.r1_population").fetchone()[0] == rows_before
        assert conn.execute("SELECT run FROM atomic.coverage_runs").fetchall() == [("r1",)]


def test_sql_injection_through_table_layer_and_run_names(pg, helsinki_tables, small_network, capsys):
    load(pg, pd.DataFrame({"keep": [1.0]}), "y")
    load(pg, gpd.read_file(DEMO_FACILITIES), INJECTION)  # a table really named "x; DROP TABLE y"
    code, out, err = run(capsys, "circles", "--network", small_network, "--facilities", pg.uri(table=f"public.{INJECTION}"),
                         "--population", pg.uri(table="bureau.helsinki_grid"), "--out", pg.uri(schema=INJECTION, run=INJECTION), "--json")
    assert code == 0, err
    assert json.loads(out)["covered_population"] > 0
    assert f"{INJECTION}_population" in tables_in(pg, INJECTION)
    err = bad_input(pg, capsys, "--facilities", pg.uri(), "--facilities-layer", "y'; DROP TABLE y; --", network=small_network)
    assert "no such facility table" in err
    with pg.connect() as conn:
        assert conn.execute("SELECT keep FROM public.y").fetchall() == [(1.0,)]


def test_app_lists_spatial_tables_and_reads_the_chosen_ones(pg, helsinki_tables, helsinki_streets, tmp_path, monkeypatch):
    """The app's database source: address typed in, password in the masked field (not PGPASSWORD)."""
    from streamlit.testing.v1 import AppTest

    from coverage.pipeline import load_inputs, run_circles
    from tests.conftest import PROJECT_ROOT

    streets = helsinki_streets
    load(pg, streets, "helsinki_streets", schema="bureau")
    streets.to_file(tmp_path / "streets.gpkg")
    inputs = load_inputs(network=tmp_path / "streets.gpkg", facilities=DEMO_FACILITIES,
                         population=shared_path("helsinki", "helsinki_population_grid_2020.gpkg"))
    expected = run_circles(inputs, minutes=15, speed="elderly").covered_share()
    monkeypatch.delenv("PGPASSWORD")
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.run()
    at.radio(key="data_source__en").set_value("database").run()
    at.text_input(key="db_uri").input(pg.uri()).run()
    at.text_input(key="db_password").input("not-the-password").run()
    errors = " ".join(e.value for e in at.error)
    assert "password authentication failed" in errors and "not-the-password" not in errors
    at.text_input(key="db_password").input(pg.password).run()
    assert "bureau.helsinki_streets" in at.selectbox(key="db_network").options
    assert "bureau.helsinki_grid" in at.selectbox(key="db_population").options
    at.selectbox(key="db_network").set_value("bureau.helsinki_streets")
    at.selectbox(key="db_facilities").set_value("bureau.facilities")
    at.selectbox(key="db_population").set_value("bureau.helsinki_grid").run()
    assert not at.exception, at.exception
    shares = [m.value for m in at.metric if m.label == "Covered population"]
    assert shares == [f"{100 * expected:.1f} %"], [e.value for e in at.error]  # shares shown as 68.7 %
    page = " ".join(str(e.value) for kind in (at.markdown, at.caption, at.info, at.error, at.warning) for e in kind)
    assert pg.password not in page


def test_gdal_sql_layers_are_read_only_and_batch_out_stays_a_folder(pg, helsinki_tables, small_network, tmp_path, capsys):
    load(pg, pd.DataFrame({"keep": [1.0]}), "z")
    base = f'PG:"dbname={pg.dbname} host={pg.host} port={pg.port} user={pg.user}"'
    query = "SELECT * FROM bureau.facilities WHERE kind <> 'nursing_home'"
    code, out, err = run(capsys, "circles", "--network", small_network, "--facilities", f"{base} sql={query}",
                         "--population", pg.uri(table="bureau.helsinki_grid"), "--out", pg.uri(schema="sqlrun"), "--json")
    assert code == 0, err
    with pg.connect() as conn:
        wanted = conn.execute("SELECT count(*) FROM bureau.facilities WHERE kind <> 'nursing_home'").fetchone()[0]
        written = conn.execute("SELECT count(*) FROM sqlrun.circles_facilities").fetchone()[0]
    assert 0 < written == wanted < 4
    writing = "SELECT bureau.facilities.*, (SELECT count(*) FROM (SELECT setval('zz', 1)) s) FROM bureau.facilities"
    with pg.connect() as conn:
        conn.execute("CREATE SEQUENCE IF NOT EXISTS zz")
    err = bad_input(pg, capsys, "--facilities", f"{base} sql={writing}", network=small_network)
    assert "read-only transaction" in err
    areas = tmp_path / "areas.gpkg"
    gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.box(*gpd.read_file(small_network).total_bounds)], crs=4326).to_file(areas)
    code, _, err = run(capsys, "batch", "--areas", str(areas), "--network", small_network,
                       "--facilities", small_network, "--out", pg.uri(schema="never"))
    assert code == 2 and "--out to a database is for circles, check, sites" in err


def test_sites_writes_its_layers_to_tables_like_its_geopackage(pg, helsinki_tables, small_network, tmp_path, capsys):
    common = ["sites", "--network", small_network, "--facilities", pg.uri(table="bureau.facilities"),
              "--population", pg.uri(table="bureau.helsinki_grid"), "--model", "mclp", "--p", "2", "--json"]
    gpkg = tmp_path / "sites.gpkg"
    code, out, err = run(capsys, *common, "--out", str(gpkg))
    assert code == 0, err
    from_file = json.loads(out)
    code, out, err = run(capsys, *common, "--out", pg.uri(schema="plan", run="sites_a"))
    assert code == 0, err
    from_database = json.loads(out)
    assert from_database["objective"] == from_file["objective"] and from_database["p"] == 2
    proposed = gpd.read_file(gpkg, layer="proposed_sites")
    with pg.connect() as conn:
        tables = {row[0] for row in conn.execute(
            "SELECT f_table_name FROM geometry_columns WHERE f_table_schema = 'plan'").fetchall()}
        rows = conn.execute("SELECT count(*) FROM plan.sites_a_proposed_sites").fetchone()[0]
        runs = conn.execute("SELECT count(*) FROM plan.coverage_runs WHERE run = 'sites_a'").fetchone()[0]
    assert "sites_a_proposed_sites" in tables and rows == len(proposed) == 2 and runs == 1
