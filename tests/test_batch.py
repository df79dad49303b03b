"""`python -m coverage batch` (issue 14): the JSON contract, Dask (a LocalCluster and a real
scheduler with two worker processes), resuming, failing areas, a worker killed mid-run, and the
same numbers as each area run alone through `circles`, on real areas cut from ../shared/data."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from analysis.batch.areas import read_areas, walk_limit_m
from analysis.batch.partition import partition_inputs
from analysis.batch.task import BatchParams, run_task
from cli.main import main
from tests.batch_support import nanjing_case, project_env, start_cluster, stop
from tests.conftest import PROJECT_ROOT

JSON_KEYS = ["areas", "done", "failed", "skipped", "seconds", "summary"]
#: Columns that must be equal between two runs of the same area.
NUMBERS = ["population", "elderly_population", "covered_population", "covered_elderly_population",
           "covered_share", "covered_share_frail", "covered_share_general", "facilities",
           "findings_assessed", "findings_passed", "findings_failed", "findings_not_assessable", "verdict"]


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(list(args))
    return status, out.getvalue()


def run_json(*args: str) -> dict:
    extra = ["--no-progress"] if args[0] == "batch" else []
    status, text = run_cli(*args, "--json", *extra)
    assert status == 0, text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    return nanjing_case(tmp_path_factory.mktemp("nanjing"))


@pytest.fixture(scope="module")
def reference(case, tmp_path_factory):
    """A single-machine run (no Dask): every area's task in this process, one after the other.

    It also fills numba's on-disk cache, so that worker processes started afterwards do not each
    compile the kernels.
    """
    out = tmp_path_factory.mktemp("reference")
    areas = read_areas(case.areas, "code")
    parts = partition_inputs(
        areas, out, network=case.network, facilities=case.facilities, population=case.population,
        minutes=15, max_snap_m=300,
    ).parts
    (out / "areas").mkdir()
    params = BatchParams(out_dir=str(out), rules="jilin-2023", rules_digest="reference")
    rows = {part.area_id: run_task(part, params)["row"] for part in parts}
    assert {row["status"] for row in rows.values()} == {"done"}, rows
    return pd.DataFrame(rows.values()).set_index("area_id")


@pytest.fixture(scope="module")
def cluster(reference, tmp_path_factory):
    """A real `dask scheduler` and two `dask worker` processes on free localhost ports."""
    started = start_cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def local_run(case, reference, tmp_path_factory):
    """The batch through the CLI on its default LocalCluster (one worker)."""
    out = tmp_path_factory.mktemp("local") / "batch"
    report = run_json(*case.args(out), "--workers", "1")
    return out, report


def same_numbers(summary: pd.DataFrame, reference: pd.DataFrame) -> None:
    got = summary.set_index("area_id").loc[reference.index, NUMBERS]
    pd.testing.assert_frame_equal(got, reference[NUMBERS], check_dtype=False)


def test_local_cluster_json_contract_and_outputs(local_run, reference):
    out, report = local_run
    assert list(report) == JSON_KEYS
    assert (report["areas"], report["done"], report["failed"], report["skipped"]) == (4, 4, 0, 0)
    assert report["summary"] == str(out / "summary.csv")
    summary = pd.read_csv(report["summary"])
    same_numbers(summary, reference)
    assert (summary["population"] > 0).all() and (summary["covered_share"].between(0, 1)).all()
    # every area's result GeoPackage, complete; no temporaries left
    for code in summary["area_id"]:
        layers = set(gpd.list_layers(out / "areas" / f"{code}.gpkg")["name"])
        assert {"service_areas", "population", "facilities", "network_edges"} <= layers
    assert not list((out / "areas").glob(".*partial*"))
    # a row per area × rule, and the map layer for QGIS with its verdict colours and style
    rules = pd.read_csv(out / "summary_rules.csv")
    assert set(rules["area_id"]) == set(summary["area_id"]) and {"C1", "C5"} <= set(rules["rule"])
    per_area = rules.groupby("area_id")["failed"].sum()
    assert (per_area.loc[summary["area_id"]].to_numpy() == summary["findings_failed"].to_numpy()).all()
    mapped = gpd.read_file(out / "summary.gpkg", layer="areas")
    assert set(mapped["colour"]) <= {"#1a9850", "#d73027", "#bdbdbd", "#252525"} and mapped["verdict"].notna().all()
    import sqlite3

    with contextlib.closing(sqlite3.connect(out / "summary.gpkg")) as db:
        (qml,) = db.execute("SELECT styleQML FROM layer_styles WHERE f_table_name='areas' AND useAsDefault").fetchone()
    assert 'attr="verdict"' in qml
    parquet = gpd.read_parquet(out / "summary.parquet")
    assert len(parquet) == 4 and parquet.crs.to_epsg() == 4326


def test_each_area_alone_through_circles_gives_the_batch_numbers(case, local_run, tmp_path):
    """People near a border reach facilities across it, and are counted in their own area only."""
    _out, report = local_run
    summary = pd.read_csv(report["summary"]).set_index("area_id")
    total = 0.0
    for code in case.area_frame["code"]:
        alone = run_json(
            "circles", "--network", str(case.network), "--facilities", str(case.facilities),
            "--population", str(case.area_population(code, tmp_path)), "--out", str(tmp_path / f"{code}.gpkg"),
        )
        row = summary.loc[code]
        assert alone["total_population"] == pytest.approx(row["population"], abs=0.05)
        assert alone["covered_population"] == pytest.approx(row["covered_population"], abs=0.05)
        for preset in ("elderly", "general", "frail"):
            assert alone["covered_share_by_speed"][preset] == pytest.approx(row[f"covered_share_{preset}"], abs=1e-9)
        total += row["population"]
    everyone = gpd.read_file(case.population)["population"].sum()
    assert 0 < total <= everyone + 0.5  # nobody counted twice


def test_scheduler_rerun_skips_done_areas_reruns_changed_ones_and_records_failures(case, cluster, reference, tmp_path, capsys):
    out = tmp_path / "batch"
    areas = gpd.read_file(case.areas)
    far = gpd.GeoDataFrame({"code": ["FAR"]}, geometry=[box(119.5, 33.5, 119.51, 33.51)], crs=areas.crs)
    with_far = tmp_path / "areas5.gpkg"
    pd.concat([areas, far]).to_file(with_far)
    args = [*case.args(out), "--areas", str(with_far), "--scheduler", cluster.address]
    first = run_json(*args)
    assert (first["areas"], first["done"], first["failed"], first["skipped"]) == (5, 4, 1, 0)
    summary = pd.read_csv(first["summary"], keep_default_na=False)
    failed = summary.set_index("area_id").loc["FAR"]
    # beyond the streets and the buildings: outside the population data is said first (naming the file)
    assert failed["status"] == "failed" and "area FAR lies outside the population data" in failed["error"]
    assert str(case.population) in failed["error"] and failed["verdict"] == "error"
    same_numbers(pd.read_csv(first["summary"]).query("area_id != 'FAR'"), reference)

    again = run_json(*args)
    assert (again["done"], again["failed"], again["skipped"]) == (0, 1, 4)
    same_numbers(pd.read_csv(again["summary"]).query("area_id != 'FAR'"), reference)

    # one population unit of A1 changes: only A1 is run again
    people = gpd.read_file(case.population)
    from analysis.batch.areas import area_of_points

    owner = area_of_points(people.geometry.representative_point(), case.area_frame)
    changed = people.copy()
    first_a1 = changed.index[owner == 0][0]
    changed.loc[first_a1, "population"] += 1000
    changed_path = tmp_path / "population_changed.gpkg"
    changed.to_file(changed_path)
    # without --json: a progress bar on stderr, the counts on stdout
    capsys.readouterr()
    assert main([*args, "--population", str(changed_path)]) == 0
    captured = capsys.readouterr()
    assert "5/5" in captured.err and "area" in captured.err
    assert "done 1  skipped 3 (unchanged)  failed 1" in captured.out and "failed FAR" in captured.out
    rows = pd.read_csv(out / "summary.csv").set_index("area_id")
    assert rows.loc["A1", "status"] == "done" and (rows.drop(index=["A1", "FAR"])["status"] == "skipped").all()
    assert rows.loc["A1", "population"] == pytest.approx(reference.loc["A1", "population"] + 1000, abs=0.1)


def test_a_worker_killed_mid_run_loses_nothing(case, reference, tmp_path):
    """Kill one of two `dask worker` processes while areas run: every result is there and equal."""
    cluster = start_cluster(tmp_path / "cluster")
    out = tmp_path / "batch"
    run = None
    try:
        run = subprocess.Popen(
            [sys.executable, "-m", "coverage", *case.args(out), "--scheduler", cluster.address, "--json", "--no-progress"],
            cwd=PROJECT_ROOT, env=project_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 120
        while not list((out / "areas").glob("*.json")) if (out / "areas").exists() else True:
            assert run.poll() is None, run.communicate()
            assert time.monotonic() < deadline, "no area finished in 120 s"
            time.sleep(0.05)
        finished_before_kill = len(list((out / "areas").glob("*.json")))
        stop(cluster.workers[0])  # SIGKILL to the worker and its nanny
        stdout, stderr = run.communicate(timeout=180)
        assert run.returncode == 0, stderr
    finally:
        if run is not None and run.poll() is None:
            run.kill()
            run.wait()
        cluster.stop()
    assert finished_before_kill < 4, "every area finished before the kill: the test proved nothing"
    report = json.loads(stdout)
    # an area the killed worker had finished and written, but not yet handed back, is run again
    # elsewhere and found complete on disk: "skipped", never lost and never failed
    assert report["failed"] == 0 and report["done"] + report["skipped"] == 4
    same_numbers(pd.read_csv(report["summary"]), reference)
    assert len(list((out / "areas").glob("*.gpkg"))) == 4


def test_bad_areas_and_out_stop_in_one_line(case, tmp_path, capsys):
    no_id = tmp_path / "no_id.gpkg"
    gpd.read_file(case.areas).rename(columns={"code": "kod"}).to_file(no_id)
    status = main([*case.args(tmp_path / "o"), "--areas", str(no_id), "--id-field", "code"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith("error:") and "code" in err[0]
    status = main([*case.args(case.areas.parent)])  # --out holds the inputs
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "--out" in err[0]
    # a database address is not a folder: refused before any work, no folder "postgresql:" made
    status = main([*case.args("postgresql://planner@localhost/plan?schema=p")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "--summary-db" in err[0]
    assert not any(path.name.startswith("postgresql") for path in PROJECT_ROOT.iterdir())


def test_walk_buffer_is_the_fastest_preset_walk_plus_two_snaps():
    assert walk_limit_m(15, 300) == pytest.approx(15 * 60 * 1.0 + 600)


def test_helsinki_grid_areas_alone_through_circles_give_the_batch_numbers(cluster, tmp_path):
    """Real streets with their real population grid: polygons counted in one area each."""
    from tests.batch_support import helsinki_case

    case = helsinki_case(tmp_path / "helsinki")
    report = run_json(*case.args(tmp_path / "batch"), "--scheduler", cluster.address)
    assert (report["done"], report["failed"]) == (2, 0)
    summary = pd.read_csv(report["summary"]).set_index("area_id")
    for code in case.area_frame["code"]:
        alone = run_json(
            "circles", "--network", str(case.network), "--facilities", str(case.facilities),
            "--population", str(case.area_population(code, tmp_path)), "--out", str(tmp_path / f"{code}.gpkg"),
        )
        assert alone["total_population"] == pytest.approx(summary.loc[code, "population"], abs=0.05)
        assert alone["covered_population"] == pytest.approx(summary.loc[code, "covered_population"], abs=0.05)
        for preset in ("elderly", "general", "frail"):
            assert alone["covered_share_by_speed"][preset] == pytest.approx(summary.loc[code, f"covered_share_{preset}"], abs=1e-9)
    # the cells of the two areas, each counted once: as many people as the areas' cells in one run
    whole = run_json(
        "circles", "--network", str(case.network), "--facilities", str(case.facilities),
        "--population", str(case.population), "--out", str(tmp_path / "whole.gpkg"),
    )
    assert 0 < summary["population"].sum() <= whole["total_population"] + 0.5


def test_wuhan_rasters_read_per_area_give_the_numbers_of_one_whole_run(cluster, tmp_path):
    """WorldPop 60+ bands, read by each task in its area's window only, under a generated lattice."""
    from tests.batch_support import wuhan_case

    case, rasters = wuhan_case(tmp_path / "wuhan")
    raster_args = ["--population", *map(str, rasters), "--population-elderly", "--network-noded"]
    report = run_json(*case.args(tmp_path / "batch"), *raster_args, "--scheduler", cluster.address)
    assert (report["done"], report["failed"]) == (2, 0)
    summary = pd.read_csv(report["summary"]).set_index("area_id")
    whole_gpkg = tmp_path / "whole.gpkg"
    run_json(
        "circles", "--network", str(case.network), "--network-noded", "--facilities", str(case.facilities),
        "--population", *map(str, rasters), "--population-elderly", "--out", str(whole_gpkg),
    )
    cells = gpd.read_file(whole_gpkg, layer="population")
    from analysis.batch.areas import area_of_points

    owner = area_of_points(cells.geometry.representative_point(), case.area_frame)
    for i, code in enumerate(case.area_frame["code"]):
        mine = cells[owner == i]
        assert summary.loc[code, "population"] == pytest.approx(mine["population"].sum(), abs=0.5)
        assert summary.loc[code, "covered_population"] == pytest.approx(mine.loc[mine["covered"], "population"].sum(), abs=0.5)
        assert summary.loc[code, "elderly_population"] == pytest.approx(mine["elderly_population"].sum(), abs=0.5)
    assert 0.0 < summary["covered_share"].min() and summary["population"].sum() > 1000


def test_summary_also_written_to_postgis(case, local_run, monkeypatch, capsys):
    """``--summary-db``: the rerun (every area unchanged, skipped) writes the summary tables to a real PostGIS."""
    import sqlalchemy

    from tests.postgis_server import postgres_bin, start_server

    if postgres_bin() is None:
        pytest.skip("PostgreSQL with PostGIS is not installed (apt-get install postgresql postgresql-15-postgis-3)")
    server = start_server()
    try:
        monkeypatch.setenv("PGPASSWORD", server.password)
        out, _ = local_run
        report = run_json(*case.args(out), "--workers", "1", "--summary-db", server.uri(schema="province", run="jilin"))
        assert (report["areas"], report["skipped"]) == (4, 4)
        summary = pd.read_csv(out / "summary.csv").set_index("area_id").sort_index()
        engine = sqlalchemy.create_engine(
            sqlalchemy.engine.URL.create(
                "postgresql+psycopg", username=server.user, password=server.password,
                host=server.host, port=server.port, database=server.dbname,
            )
        )
        with engine.connect() as conn:
            areas = gpd.read_postgis('SELECT * FROM province."jilin_areas"', conn, geom_col="geom")
            rules = pd.read_sql('SELECT * FROM province."jilin_area_rules"', conn)
            registered = conn.execute(sqlalchemy.text(
                "SELECT count(*) FROM geometry_columns WHERE f_table_schema = 'province' AND f_table_name = 'jilin_areas'"
            )).scalar()
        engine.dispose()
        areas = areas.set_index("area_id").sort_index()
        assert list(areas.index) == list(summary.index)
        assert (areas["covered_share_elderly"] - summary["covered_share_elderly"]).abs().max() < 1e-9
        assert len(rules) == len(pd.read_csv(out / "summary_rules.csv")) and registered == 1
        # a password in the address is refused before any work, and never echoed
        capsys.readouterr()
        status, text = run_cli(*case.args(out), "--summary-db", "postgresql://u:secret@127.0.0.1/db?schema=s", "--json")
        err = capsys.readouterr().err
        assert status == 2 and "secret" not in text + err and "password" in err
    finally:
        server.stop()
