"""Issue 13, "A Chinese embedded default": central Nanjing is the default, Helsinki a second choice.

Through the front doors: ``circles``/``check``/``sites`` with no ``--network`` (in-process and one
``python -m coverage``), ``--embedded helsinki`` (the HSY population grid), ``--embedded`` with
``--network`` refused, ``walk_coverage()`` and the app's first page. The shipped files are compared
with the real data in ``../shared/data`` they were copied from.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
import shapely

from cli.main import main
from layers.embedded import EMBEDDED_CHOICES, embedded_data
from layers.network import embedded_network_path
from tests.conftest import PROJECT_ROOT, shared_path

DATA = PROJECT_ROOT / "data"
NANJING_SITES = DATA / "demo_facilities_nanjing.geojson"
NANJING_TOWNSHIPS = DATA / "demo_townships_nanjing.geojson"
HELSINKI_SITES = DATA / "demo_facilities_helsinki.geojson"
#: Numbers the default run prints (central Nanjing, 15 min at 0.8 m/s, the five DEMO sites).
NANJING_NODES, NANJING_SITE_COUNT = 1607, 5


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def circles_json(capsys, *args: str) -> dict:
    assert main(["circles", *args, "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """``circles --json`` with no input at all, in-process: (summary, output GeoPackage)."""
    out = tmp_path_factory.mktemp("default") / "circles.gpkg"
    buffer = io.StringIO()  # capsys is function-scoped: capture by hand
    with contextlib.redirect_stdout(buffer):
        assert main(["circles", "--json", "--out", str(out)]) == 0
    return json.loads(buffer.getvalue().strip().splitlines()[-1]), out


# ----- the shipped files ------------------------------------------------------------------------
def test_the_shipped_extract_is_the_real_nanjing_file():
    real = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    assert embedded_data().name == "nanjing" and EMBEDDED_CHOICES[0] == "nanjing"
    assert embedded_data().network == DATA / "nanjing_xuanwu.osm.pbf"
    assert _sha256(embedded_data().network) == _sha256(real)


def test_the_shipped_hsy_grid_is_the_real_one_and_attributed():
    real = shared_path("helsinki", "helsinki_population_grid_2020.gpkg")
    helsinki = embedded_data("helsinki")
    assert helsinki.population == DATA / "helsinki_population_grid_2020.gpkg"
    assert _sha256(helsinki.population) == _sha256(real)
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in readme and "HSY" in readme and "ODbL" in readme
    assert any("CC BY 4.0" in a for a in helsinki.attribution)
    assert any("ODbL" in a for a in embedded_data().attribution)


def test_demo_sites_are_labelled_and_lie_on_streets_of_the_extract():
    sites = gpd.read_file(NANJING_SITES)
    assert len(sites) == NANJING_SITE_COUNT
    assert sites["demo"].astype(bool).all()
    assert sites["name"].str.startswith("DEMO ").all()
    assert set(sites["kind"]) >= {"township_centre", "community_station"}
    assert sites["facility_id"].is_unique
    from layers.network import read_network

    edges = read_network(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")).edges
    metric = edges.estimate_utm_crs()
    streets = edges.to_crs(metric)
    on = gpd.sjoin_nearest(sites.to_crs(metric), streets[["name", "geometry"]], distance_col="metres")
    on = on[~on.index.duplicated()]
    assert (on["metres"] < 1.0).all(), on["metres"]  # placed on a street line of the extract
    assert (on["street"] == on["name_right"]).all()  # ... the named street the file says


def test_demo_townships_are_labelled_and_cover_the_residents():
    towns = gpd.read_file(NANJING_TOWNSHIPS)
    assert len(towns) == 4 and towns["demo"].astype(bool).all()
    assert towns["name"].str.startswith("DEMO 街道").all()
    union = shapely.union_all(towns.geometry.to_numpy())
    assert abs(union.area - shapely.area(towns.geometry.to_numpy()).sum()) < 1e-12  # no overlaps
    from layers.population import read_population

    people = read_population(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf"), kind="buildings")
    inside = shapely.contains(union, people.geometry.representative_point().to_numpy())
    assert inside.all()
    # the extract has no 街道 boundaries of its own: that is why DEMO ones are shipped
    from analysis.admin_boundaries import osm_admin_boundaries

    assert osm_admin_boundaries(embedded_data().network) is None


# ----- the command line: the default is Nanjing --------------------------------------------------
def test_default_circles_is_nanjing_with_demo_sites(default_run):
    summary, out = default_run
    assert summary["facilities"] == NANJING_SITE_COUNT and summary["demo_facilities"] is True
    assert summary["graph_nodes"] == NANJING_NODES
    assert "nanjing_xuanwu.osm.pbf" in summary["sources"]["network"]
    assert "ODbL" in summary["sources"]["network"]
    assert "demo_facilities_nanjing.geojson" in summary["sources"]["facilities"]
    assert "buildings of nanjing_xuanwu.osm.pbf" in summary["sources"]["population"]
    assert summary["total_population"] == pytest.approx(78_705.5, abs=1)
    assert summary["covered_share"] == pytest.approx(0.622, abs=0.001)
    facilities = gpd.read_file(out, layer="facilities")
    assert facilities["name"].str.startswith("DEMO").all()
    minx, miny, maxx, maxy = facilities.total_bounds
    assert 118.75 < minx and maxx < 118.80 and 32.03 < miny and maxy < 32.06  # in Nanjing, not Helsinki
    # the demo shows both: elderly within the walk and elderly outside it
    population = gpd.read_file(out, layer="population")
    covered = population["covered"].astype(bool)
    assert population.loc[covered, "elderly_population"].sum() > 1000
    assert population.loc[~covered, "elderly_population"].sum() > 1000


def test_the_default_equals_the_real_extract_with_the_demo_sites(default_run, capsys, tmp_path):
    summary, _ = default_run
    explicit = circles_json(
        capsys, "--network", str(shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")),
        "--facilities", str(NANJING_SITES), "--out", str(tmp_path / "explicit.gpkg"),
    )
    for key in ("total_population", "covered_population", "elderly_population", "graph_nodes", "graph_edges"):
        assert explicit[key] == summary[key], key
    assert explicit["covered_share_by_speed"] == summary["covered_share_by_speed"]


def test_default_as_a_module_prints_the_same_line(default_run, tmp_path):
    summary, _ = default_run
    proc = subprocess.run(
        [sys.executable, "-m", "coverage", "circles", "--json", "--out", str(tmp_path / "m.gpkg")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    again = json.loads(lines[0])
    assert again["facilities"] == NANJING_SITE_COUNT and again["graph_nodes"] == NANJING_NODES
    assert again["covered_share"] == summary["covered_share"]
    assert again["covered_population"] == summary["covered_population"]


def test_default_text_output_names_the_data_and_its_licence(capsys, tmp_path):
    assert main(["circles", "--out", str(tmp_path / "t.gpkg")]) == 0
    text = capsys.readouterr().out
    assert "nanjing_xuanwu.osm.pbf" in text and "© OpenStreetMap contributors, ODbL" in text
    assert "DEMO" in text and "62.2%" in text and f"{NANJING_NODES} nodes" in text


def test_default_check_has_demo_townships_and_mixed_verdicts(capsys, tmp_path):
    out = tmp_path / "report"
    assert main(["check", "--no-pdf", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "demo_townships_nanjing.geojson" in text
    assert main(["check", "--no-pdf", "--json", "--out", str(out)]) == 0
    rules = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rules"]
    t1 = rules["T1"]  # a 街道综合养老服务中心 in two of the four DEMO 街道, none in the others
    assert t1["passed"] >= 2 and t1["failed"] >= 2, t1
    w1 = rules["W1"]
    assert w1["passed"] >= 1 and w1["failed"] >= 1, w1
    townships = gpd.read_file(out / "checks.gpkg", layer="townships")
    assert set(townships["township"]) == set(gpd.read_file(NANJING_TOWNSHIPS)["name"])
    has_centre = townships.set_index("township")["t1_status"]
    assert has_centre.nunique() == 2, has_centre  # passes and fails among the four


def test_default_sites_propose_places_in_nanjing(capsys, tmp_path):
    assert main(["sites", "--p", "2", "--json", "--out", str(tmp_path / "s.gpkg")]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["covered_after"] > result["covered_before"] > 0
    assert result["total_elderly"] == pytest.approx(19_849.5, abs=1)
    lon = np.array([s["lon"] for s in result["sites"]])
    lat = np.array([s["lat"] for s in result["sites"]])
    assert ((118.75 < lon) & (lon < 118.80) & (32.03 < lat) & (lat < 32.06)).all()


# ----- Helsinki, the second embedded choice ------------------------------------------------------
def test_embedded_helsinki_uses_the_hsy_grid(capsys, tmp_path):
    summary = circles_json(capsys, "--embedded", "helsinki", "--out", str(tmp_path / "h.gpkg"))
    assert summary["facilities"] == 4 and summary["demo_facilities"] is True
    assert "Helsinki.osm.pbf" in summary["sources"]["network"]
    assert "HSY" in summary["sources"]["population"] and "CC BY 4.0" in summary["sources"]["population"]
    # the grid's cells over the street extract, counted here from the real grid itself
    grid = gpd.read_file(shared_path("helsinki", "helsinki_population_grid_2020.gpkg"))
    from layers.network import read_network

    extent = shapely.box(*read_network(embedded_network_path()).edges.total_bounds)
    expected = float(grid.loc[grid.intersects(extent), "population"].sum())
    assert summary["total_population"] == pytest.approx(expected)
    assert 0 < summary["covered_share"] < 1
    # and the same as giving the three files by hand
    explicit = circles_json(
        capsys, "--network", str(embedded_network_path()), "--facilities", str(HELSINKI_SITES),
        "--population", str(shared_path("helsinki", "helsinki_population_grid_2020.gpkg")),
        "--out", str(tmp_path / "explicit.gpkg"),
    )
    for key in ("total_population", "covered_population", "graph_nodes", "covered_share"):
        assert explicit[key] == summary[key], key


def test_embedded_helsinki_check_uses_its_demo_townships(capsys, tmp_path):
    assert main(["check", "--embedded", "helsinki", "--no-pdf", "--out", str(tmp_path / "r")]) == 0
    text = capsys.readouterr().out
    assert "demo_townships_helsinki.geojson" in text
    townships = gpd.read_file(tmp_path / "r" / "checks.gpkg", layer="townships")
    assert townships["township"].str.startswith("DEMO street").all() and len(townships) == 4


@pytest.mark.parametrize("command", ["circles", "check", "sites"])
def test_embedded_with_network_is_refused(capsys, tmp_path, command):
    out = tmp_path / ("out" if command == "check" else "out.gpkg")
    network = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    code = main([command, "--embedded", "helsinki", "--network", str(network), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert "--embedded" in err and "--network" in err
    assert not out.exists()


def test_an_unknown_embedded_choice_is_one_line(capsys, tmp_path):
    assert main(["circles", "--embedded", "tokyo", "--out", str(tmp_path / "x.gpkg")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "nanjing" in err and "helsinki" in err


def test_out_may_not_overwrite_the_embedded_files(capsys):
    for target in (DATA / "nanjing_xuanwu.osm.pbf", NANJING_SITES):
        before = _sha256(target)
        assert main(["circles", "--out", str(target)]) == 2
        assert "embedded default" in capsys.readouterr().err
        assert _sha256(target) == before
    target = DATA / "helsinki_population_grid_2020.gpkg"
    before = _sha256(target)
    assert main(["circles", "--embedded", "helsinki", "--out", str(target)]) == 2
    assert "--population (embedded default)" in capsys.readouterr().err
    assert _sha256(target) == before


# ----- the library -------------------------------------------------------------------------------
def test_walk_coverage_default_and_helsinki():
    from coverage import walk_coverage
    from layers.errors import InputError

    nanjing = walk_coverage()
    assert nanjing.inputs.options["embedded"] == "nanjing"
    assert nanjing.graph.n_nodes == NANJING_NODES and len(nanjing.facilities) == NANJING_SITE_COUNT
    helsinki = walk_coverage(embedded="helsinki")
    assert helsinki.inputs.options["embedded"] == "helsinki"
    assert len(helsinki.facilities) == 4 and "HSY" in helsinki.inputs.sources["population"]
    with pytest.raises(InputError, match="--network"):
        walk_coverage(embedded_network_path(), HELSINKI_SITES, embedded="helsinki")
    with pytest.raises(InputError, match="nanjing, helsinki"):
        walk_coverage(embedded="tokyo")


# ----- the app -----------------------------------------------------------------------------------
def test_the_app_starts_on_nanjing_and_switches_to_helsinki():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Facilities"] == str(NANJING_SITE_COUNT)
    assert metrics["Covered population"] == "62.2 %"
    notes = " ".join(info.value for info in at.info)
    assert "Nanjing" in notes and "DEMO" in notes and "ODbL" in notes
    picker = at.selectbox(key="embedded__en")
    assert picker.value == "nanjing" and list(picker.options)[0].startswith("Nanjing")
    picker.set_value("helsinki").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Facilities"] == "4"
    assert "HSY" in " ".join(info.value for info in at.info)


def test_the_embedded_labels_have_chinese_entries():
    from ui import state as ss
    from ui.i18n import chinese_labels

    zh = chinese_labels()
    assert tuple(ss.EMBEDDED_LABELS) == EMBEDDED_CHOICES == tuple(ss.EMBEDDED_NOTES)
    wanted = set(ss.EMBEDDED_LABELS.values()) | set(ss.EMBEDDED_NOTES.values())
    assert not sorted(wanted - zh.keys())
    assert "南京" in zh[ss.EMBEDDED_LABELS["nanjing"]]
