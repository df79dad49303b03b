"""Scenarios (issue 13): named what-if changes with settings, saved, loaded, undone, compared, re-run by the CLI.

Real data: the Nanjing Xuanwu extract (`../shared/data/nanjing_xuanwu/nanjing_xuanwu.osm.pbf`) with
three facilities and two townships written here (a comprehensive centre in the east township
only, so T1 fails for the west one until a scenario builds a centre there). Nothing relies on the
embedded default's numbers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from analysis.scenario_compare import compare_scenario
from cli.main import main
from coverage import walk_coverage
from coverage.scenario import AddSite, MoveSite, RemoveSite, Scenario, ScenarioSettings
from coverage.scenario_file import SCENARIO_FORMAT, SCENARIO_VERSION, load_scenario, save_scenario, scenario_from_bytes
from layers.errors import InputError
from ui import whatif
from ui.data_choice import Analysis

WEST_CENTRE = (118.775, 32.045)  # a street corner of the west township, no centre there yet
FAR_AWAY = (118.60, 32.20)  # ~20 km from every street of the extract


# ----- data ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nanjing(nanjing_pbf, tmp_path_factory) -> dict[str, Path]:
    """The Nanjing extract plus a facility file and a township file written for these tests."""
    folder = tmp_path_factory.mktemp("nanjing_scenarios")
    facilities = gpd.GeoDataFrame(
        {
            "facility_id": ["NJ1", "NJ2", "NJ3"],
            "name": ["东街道综合养老服务中心", "社区养老服务站二", "社区养老服务站三"],
            "kind": ["township_centre", "community_station", "community_station"],
            "building_area_m2": [800.0, 250.0, 400.0],
        },
        geometry=[shapely.Point(118.790, 32.047), shapely.Point(118.772, 32.040), shapely.Point(118.780, 32.050)],
        crs="EPSG:4326",
    )
    townships = gpd.GeoDataFrame(
        {"name": ["西街道", "东街道"]},
        geometry=[shapely.box(118.755, 32.028, 118.782, 32.058), shapely.box(118.782, 32.028, 118.805, 32.058)],
        crs="EPSG:4326",
    )
    paths = {"network": nanjing_pbf, "facilities": folder / "facilities.geojson", "townships": folder / "townships.geojson", "folder": folder}
    facilities.to_file(paths["facilities"])
    townships.to_file(paths["townships"])
    return paths


@pytest.fixture(scope="module")
def baseline(nanjing):
    """The library's walk on the Nanjing data (15 min, elderly speed)."""
    return walk_coverage(nanjing["network"], nanjing["facilities"], minutes=15, speed="elderly")


def centre_scenario(**settings) -> Scenario:
    """A centre in the west township (800 m² floor area) and station NJ3 closed."""
    return Scenario(
        "西街道新建中心",
        (AddSite(*WEST_CENTRE, "WHATIF-1", "西街道综合养老服务中心", "township_centre", 800.0), RemoveSite(None, "NJ3")),
        ScenarioSettings(**settings),
    )


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def circles_json(capsys, nanjing, out: Path, *extra) -> dict:
    code, stdout, stderr = run_cli(
        capsys, "circles", "--network", nanjing["network"], "--facilities", nanjing["facilities"], "--out", out, "--json", *extra
    )
    assert code == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


def elderly_covered(result) -> float:
    return float(result.population["elderly_population"].to_numpy(dtype=float)[result.covered].sum())


# ----- the file ----------------------------------------------------------------------------------
def test_a_scenario_file_is_versioned_geojson_and_reads_back_the_same(tmp_path):
    scenario = Scenario(
        "北片区调整",
        (
            AddSite(118.78, 32.04, "WHATIF-1", "新中心", "township_centre", 650.0, 40.0),
            RemoveSite(7, "F2", "旧站"),
            MoveSite("F3", 118.79, 32.05, "迁建站"),
        ),
        ScenarioSettings(minutes=10.0, speed="frail", rules="hebei-2022", year=2027, elderly_share=0.28),
        "试算",
    )
    path = save_scenario(scenario, tmp_path / "s.geojson")
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["type"] == "FeatureCollection"
    assert (document["format"], document["version"]) == (SCENARIO_FORMAT, SCENARIO_VERSION)
    assert [f["properties"]["change"] for f in document["features"]] == ["add", "remove", "move"]
    assert document["features"][0]["geometry"] == {"type": "Point", "coordinates": [118.78, 32.04]}
    assert document["features"][1]["geometry"] is None
    assert "新中心" in path.read_text(encoding="utf-8")  # names as they are, not \\u escapes
    loaded = load_scenario(path)
    # the file names a facility to remove by its id: the label of one loaded result is not saved
    assert loaded == Scenario(scenario.name, (scenario.changes[0], RemoveSite(None, "F2", "旧站"), scenario.changes[2]), scenario.settings, "试算")
    assert loaded.undone().changes == loaded.changes[:2]
    assert loaded.undone().undone().undone().undone().changes == ()
    assert loaded.with_change(scenario.changes[0]).changes[-1] == scenario.changes[0]


def _site(change: str, lon: float = 118.7, **properties) -> list[dict]:
    """One change as the ``features`` of a scenario file."""
    point = {"type": "Point", "coordinates": [lon, 32.0]}
    return [{"type": "Feature", "geometry": point, "properties": {"change": change, "facility_id": "X", **properties}}]


def _document(**overrides) -> dict:
    document = json.loads(centre_scenario().to_json())
    for key, value in overrides.items():
        document[key] = value
    return document


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (_document(version=2), "version"),
        (_document(format="something-else"), "format"),
        (_document(name=""), "name"),
        (_document(settings={"minutes": -5}), "settings.minutes"),
        (_document(settings={"speed": "sprint"}), "settings.speed"),
        (_document(settings={"year": 20.5}), "settings.year"),
        (_document(settings={"colour": "red"}), "settings"),
        (_document(features=[{"type": "Feature", "geometry": None, "properties": {"change": "explode", "facility_id": "X"}}]), "features[0].properties.change"),
        (_document(features=[{"type": "Feature", "geometry": None, "properties": {"change": "add", "facility_id": "X"}}]), "features[0].geometry"),
        (_document(features=_site("add", kind="casino")), "features[0].properties.kind"),
        (_document(features=_site("add", floor_area_m2=-1)), "features[0].properties.floor_area_m2"),
        (_document(features=_site("move", lon=218.7)), "features[0].geometry.coordinates[0]"),
        (_document(features=[{"type": "Feature", "geometry": None, "properties": {"change": "remove"}}]), "features[0].properties.facility_id"),
    ],
)
def test_a_bad_scenario_file_names_the_file_and_the_field(document, field):
    with pytest.raises(InputError) as error:
        scenario_from_bytes(json.dumps(document).encode(), "plan.geojson")
    assert error.value.file == "plan.geojson"
    assert error.value.field == field
    assert f"file 'plan.geojson', field '{field}'" in str(error.value)


def test_a_file_that_is_no_json_or_no_object_is_refused(tmp_path):
    with pytest.raises(InputError, match="not valid JSON"):
        scenario_from_bytes(b"{not json", "x.geojson")
    with pytest.raises(InputError, match="JSON object"):
        scenario_from_bytes(b"[1, 2]", "x.geojson")
    with pytest.raises(InputError, match="does not exist"):
        load_scenario(tmp_path / "missing.geojson")


# ----- the library: apply and compare ------------------------------------------------------------
def test_applying_a_scenario_uses_the_what_if_updates_and_matches_a_full_recompute(baseline, nanjing):
    scenario = centre_scenario()
    applied = scenario.apply(baseline)
    assert len(applied.facilities) == len(baseline.facilities)  # one added, one removed
    assert set(applied.facilities["facility_id"]) == {"NJ1", "NJ2", "WHATIF-1"}
    added = applied.facilities.loc[applied.facilities["facility_id"] == "WHATIF-1"].iloc[0]
    assert (added["kind"], added["building_area_m2"]) == ("township_centre", 800.0)
    assert elderly_covered(applied) > elderly_covered(baseline)
    # the same facilities walked from scratch give the same minutes
    facilities = applied.facilities.drop(columns="facility_label").to_crs("EPSG:4326")
    fresh = walk_coverage(nanjing["network"], facilities, minutes=15, speed="elderly")
    np.testing.assert_allclose(np.sort(applied.distance_m), np.sort(fresh.distance_m), rtol=1e-9)


def test_moving_a_site_keeps_its_id_kind_and_area(baseline):
    moved = Scenario("迁建", (MoveSite("NJ2", *WEST_CENTRE),)).apply(baseline)
    row = moved.facilities.loc[moved.facilities["facility_id"] == "NJ2"].iloc[0]
    assert (row["kind"], row["building_area_m2"], row["name"]) == ("community_station", 250.0, "社区养老服务站二")
    lon, lat = gpd.GeoSeries([row.geometry], crs=moved.facilities.crs).to_crs("EPSG:4326").iloc[0].coords[0]
    assert math.isclose(lon, WEST_CENTRE[0], abs_tol=1e-7) and math.isclose(lat, WEST_CENTRE[1], abs_tol=1e-7)
    assert len(moved.facilities) == len(baseline.facilities)


def test_changes_that_do_not_apply_name_the_change_and_its_field(baseline):
    with pytest.raises(InputError) as error:
        Scenario("x", (RemoveSite(None, "NJ9"),)).apply(baseline, source="/some/where/plan.geojson")
    assert error.value.file == "plan.geojson"  # the file name only, never the server's path
    assert error.value.field == "features[0].properties.facility_id"
    assert "NJ9" in str(error.value) and "NJ1" in str(error.value)  # the ids that exist are listed
    with pytest.raises(InputError) as error:
        Scenario("x", (RemoveSite(None, "NJ1"), AddSite(*FAR_AWAY, "W", "far"))).apply(baseline)
    assert error.value.field == "features[1].geometry"
    assert "change 2" in str(error.value) and "outside the street network" in str(error.value)


def test_the_comparison_shows_t1_passing_with_the_new_centre_and_q1_still_failing(baseline, nanjing):
    comparison = compare_scenario(baseline, centre_scenario(), townships=nanjing["townships"])
    towns = comparison.townships.set_index("township")
    assert towns.loc["西街道", "elderly_covered_scenario"] > towns.loc["西街道", "elderly_covered_baseline"]
    np.testing.assert_allclose(
        towns["elderly_covered_change"], towns["elderly_covered_scenario"] - towns["elderly_covered_baseline"], atol=1.0
    )
    verdicts = comparison.verdicts
    west_t1 = verdicts.loc[(verdicts["rule_id"] == "T1") & (verdicts["subject"] == "西街道")].iloc[0]
    assert (west_t1["status_baseline"], west_t1["status_scenario"], bool(west_t1["changed"])) == ("fail", "pass", True)
    rules = comparison.rules.set_index("rule_id")
    assert rules.loc["T1", "failed_baseline"] > 0 and rules.loc["T1", "failed_scenario"] == 0
    assert rules.loc["Q1", "failed_scenario"] > 0 and not verdicts.loc[verdicts["rule_id"] == "Q1", "changed"].any()
    # per district: the OSM residential areas stand in; the changes are the differences of the two walks
    districts = comparison.districts
    assert len(districts) > 0
    before, after = comparison.covered_elderly()
    assert after == pytest.approx(elderly_covered(centre_scenario().apply(baseline)))
    assert before == pytest.approx(elderly_covered(baseline))


# ----- the command line --------------------------------------------------------------------------
def test_circles_with_a_scenario_changes_coverage_and_adds_only_a_scenario_key(capsys, nanjing, tmp_path):
    plain = circles_json(capsys, nanjing, tmp_path / "plain.gpkg")
    path = save_scenario(centre_scenario(), tmp_path / "centre.geojson")
    with_it = circles_json(capsys, nanjing, tmp_path / "with.gpkg", "--scenario", path)
    assert set(plain) <= set(with_it) and set(with_it) - set(plain) == {"scenario"}
    assert with_it["scenario"]["name"] == "西街道新建中心"
    assert (with_it["scenario"]["changes"], with_it["scenario"]["added"], with_it["scenario"]["removed"]) == (2, 1, 1)
    assert with_it["covered_elderly_population"] > plain["covered_elderly_population"]
    assert with_it["scenario"]["baseline_covered_population"] == plain["covered_population"]
    # the written layers hold the scenario's sites
    facilities = gpd.read_file(tmp_path / "with.gpkg", layer="facilities")
    assert "WHATIF-1" in set(facilities["facility_id"]) and "NJ3" not in set(facilities["facility_id"])


def test_the_scenario_settings_are_defaults_that_flags_override(capsys, nanjing, tmp_path):
    path = save_scenario(centre_scenario(minutes=10.0, speed="general"), tmp_path / "ten.geojson")
    from_file = circles_json(capsys, nanjing, tmp_path / "a.gpkg", "--scenario", path)
    assert (from_file["minutes"], from_file["speed_mps"]) == (10.0, 1.0)
    overridden = circles_json(capsys, nanjing, tmp_path / "b.gpkg", "--scenario", path, "--minutes", "15", "--speed", "elderly")
    assert (overridden["minutes"], overridden["speed_mps"]) == (15.0, 0.8)
    code, stdout, _ = run_cli(capsys, "circles", "--help")
    assert code == 0 and "--scenario" in stdout and "override" in " ".join(stdout.split())


def test_check_with_a_scenario_writes_the_comparison_and_a_changed_verdict(capsys, nanjing, tmp_path):
    path = save_scenario(centre_scenario(year=2025), tmp_path / "centre.geojson")
    out = tmp_path / "report"
    code, stdout, stderr = run_cli(
        capsys, "check", "--network", nanjing["network"], "--facilities", nanjing["facilities"],
        "--townships", nanjing["townships"], "--scenario", path, "--no-pdf", "--out", out, "--json",
    )  # fmt: skip
    assert code == 0, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert {"rule_set", "year", "rules"} <= set(summary)
    assert summary["year"] == 2025  # the scenario's year, no --year given
    scenario = summary["scenario"]
    assert (scenario["name"], scenario["changes"]) == ("西街道新建中心", 2)
    assert "T1" in scenario["changed_rules"]
    assert scenario["baseline_rules"]["T1"]["failed"] > 0 and summary["rules"]["T1"]["failed"] == 0
    assert summary["rules"]["Q1"]["failed"] > 0  # Q1 still fails
    assert scenario["covered_elderly"] > scenario["baseline_covered_elderly"]
    verdicts = pd.read_csv(out / "scenario_verdicts.csv")
    west = verdicts.loc[(verdicts["rule_id"] == "T1") & (verdicts["subject"] == "西街道")].iloc[0]
    assert (west["status_baseline"], west["status_scenario"], bool(west["changed"])) == ("fail", "pass", True)
    towns = pd.read_csv(out / "scenario_townships.csv").set_index("township")
    assert towns.loc["西街道", "elderly_covered_change"] > 0
    for name in ("scenario_rules", "scenario_districts", "scenario_changes"):
        assert (out / f"{name}.csv").stat().st_size > 0
    from openpyxl import load_workbook

    sheets = load_workbook(out / "checks.xlsx", read_only=True).sheetnames
    assert {"scenario_verdicts", "scenario_townships", "scenario_rules"} <= set(sheets)
    assert "方案与现状对比" in (out / "report.html").read_text(encoding="utf-8")


# ----- the app's what-if session and the CLI give the same numbers -------------------------------
def _analysis(result) -> Analysis:
    return Analysis("nanjing-test", result.minutes, result.speed_mps, result.inputs, result, 0.0)


def test_app_session_save_load_cli_round_trip_and_undo(capsys, baseline, nanjing, tmp_path):
    analysis = _analysis(baseline)
    state: dict = {}
    whatif.changes_for(state, analysis)
    whatif.add_site(state, analysis, *WEST_CENTRE, "西街道综合养老服务中心", "township_centre")
    label = int(baseline.facilities.loc[baseline.facilities["facility_id"] == "NJ3", "facility_label"].iloc[0])
    whatif.remove_site(state, analysis, label)
    two_changes = whatif.current_result(state, analysis)
    state[whatif.SCENARIO_NAME] = "会话方案"
    saved = save_scenario(whatif.session_scenario(state, ScenarioSettings(minutes=15.0, speed="elderly")), tmp_path / "session.geojson")

    # the saved file, run by the CLI, gives the numbers the app showed
    from_cli = circles_json(capsys, nanjing, tmp_path / "s.gpkg", "--scenario", saved)
    population = two_changes.population["population"].to_numpy(dtype=float)
    assert from_cli["covered_population"] == round(float(population[two_changes.covered].sum()), 1)
    assert from_cli["covered_elderly_population"] == round(elderly_covered(two_changes), 1)
    assert from_cli["scenario"]["name"] == "会话方案"

    # loaded into a fresh session: the same changes, the same result
    fresh: dict = {}
    whatif.load_scenario(fresh, analysis, load_scenario(saved), source=saved.name)
    assert fresh[whatif.SCENARIO_NAME] == "会话方案"
    assert elderly_covered(whatif.current_result(fresh, analysis)) == pytest.approx(elderly_covered(two_changes))

    # undo, one change at a time
    undone = whatif.undo_last_change(fresh)
    assert isinstance(undone, RemoveSite) and undone.facility_id == "NJ3"
    one_change = whatif.current_result(fresh, analysis)
    assert set(one_change.facilities["facility_id"]) == {"NJ1", "NJ2", "NJ3", "WHATIF-1"}
    saved_one = save_scenario(whatif.session_scenario(fresh), tmp_path / "one.geojson")
    from_cli_one = circles_json(capsys, nanjing, tmp_path / "one.gpkg", "--scenario", saved_one)
    assert from_cli_one["covered_elderly_population"] == round(elderly_covered(one_change), 1)
    assert from_cli_one["scenario"]["changes"] == 1
    assert isinstance(whatif.undo_last_change(fresh), AddSite)
    assert whatif.undo_last_change(fresh) is None
    assert elderly_covered(whatif.current_result(fresh, analysis)) == pytest.approx(elderly_covered(baseline))


def test_loading_a_scenario_that_does_not_fit_the_data_leaves_the_session_as_it_was(baseline):
    analysis = _analysis(baseline)
    state: dict = {}
    whatif.changes_for(state, analysis)
    whatif.add_site(state, analysis, *WEST_CENTRE, "keep me")
    before = list(state[whatif.CHANGES])
    with pytest.raises(InputError, match="NJ42"):
        whatif.load_scenario(state, analysis, Scenario("bad", (RemoveSite(None, "NJ42"),)), source="bad.geojson")
    assert state[whatif.CHANGES] == before


# ----- bad scenario files through the CLI: exit 2, one line -------------------------------------
def _bad_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """Bad scenario files, each with a text its one-line error must hold."""
    files = {}

    def write(name: str, text: str, expect: str) -> None:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        files[name] = (path, expect)

    good = json.loads(centre_scenario().to_json())
    write("not_json.geojson", "{ this is not json", "not valid JSON")
    write("version.geojson", json.dumps({**good, "version": 99}), "field 'version'")
    unknown = {**good, "features": [{"type": "Feature", "geometry": None, "properties": {"change": "remove", "facility_id": "NJ42"}}]}
    write("unknown_id.geojson", json.dumps(unknown), "field 'features[0].properties.facility_id'")
    outside = {**good, "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(FAR_AWAY)}, "properties": {"change": "add", "facility_id": "W1", "kind": "township_centre"}},
    ]}  # fmt: skip
    write("outside.geojson", json.dumps(outside), "field 'features[0].geometry'")
    write("kind.geojson", json.dumps({**good, "features": [{**good["features"][0], "properties": {**good["features"][0]["properties"], "kind": "casino"}}]}), "features[0].properties.kind")
    write("rules.geojson", json.dumps({**good, "settings": {"rules": "no-such-rules"}}), "field 'settings.rules'")
    files["missing.geojson"] = (folder / "missing.geojson", "does not exist")
    return files


@pytest.mark.parametrize("name", ["not_json.geojson", "version.geojson", "unknown_id.geojson", "outside.geojson", "kind.geojson", "rules.geojson", "missing.geojson"])
def test_bad_scenario_files_exit_2_with_one_line(capsys, nanjing, tmp_path, name):
    path, expect = _bad_files(tmp_path)[name]
    command = "check" if name == "rules.geojson" else "circles"
    out = tmp_path / ("report" if command == "check" else "out.gpkg")
    code, stdout, stderr = run_cli(
        capsys, command, "--network", nanjing["network"], "--facilities", nanjing["facilities"], "--scenario", path, "--out", out, "--json",
    )  # fmt: skip
    assert code == 2, (stdout, stderr)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert f"'{path.name}'" in lines[0] and expect in lines[0], lines[0]
    assert "Traceback" not in stderr and not out.exists()


def test_out_may_not_overwrite_the_scenario_file(capsys, nanjing, tmp_path):
    path = save_scenario(centre_scenario(), tmp_path / "centre.gpkg")
    text = path.read_text(encoding="utf-8")
    code, _, stderr = run_cli(
        capsys, "circles", "--network", nanjing["network"], "--facilities", nanjing["facilities"], "--scenario", path, "--out", path
    )
    assert code == 2 and "--scenario" in stderr and len(stderr.strip().splitlines()) == 1
    assert path.read_text(encoding="utf-8") == text


def test_a_loaded_scenario_sets_the_sidebar_settings_it_can():
    from ui.scenario_panel import apply_settings, file_name

    state = {"speed_choice__en": "elderly", "check_year__zh": "now", "other": 1}
    skipped = apply_settings(state, ScenarioSettings(minutes=10.0, speed="frail", rules="hebei-2022", year=2027))
    assert skipped == []
    assert (state["minutes"], state["speed_choice"], state["rule_set"], state["check_year"]) == (10, "frail", "hebei-2022", 2027)
    assert "speed_choice__en" not in state and "check_year__zh" not in state and state["other"] == 1
    state = {}
    skipped = apply_settings(state, ScenarioSettings(minutes=12.5, speed=0.9, rules="my-rules.toml"))
    assert (state["speed_choice"], state["speed_custom"]) == ("custom", 0.9)
    assert skipped == ["minutes 12.5", "rule set my-rules.toml"] and "minutes" not in state
    assert file_name("西街道 新中心/2025") == "西街道_新中心_2025.scenario.geojson"


def test_check_help_says_the_scenario_settings_are_defaults(capsys):
    code, stdout, _ = run_cli(capsys, "check", "--help")
    text = " ".join(stdout.split())
    assert code == 0 and "--scenario FILE" in text and "flags given explicitly override" in text


def test_a_site_moved_in_the_app_session_re_runs_the_same_from_its_file(capsys, baseline, nanjing, tmp_path):
    analysis = _analysis(baseline)
    state: dict = {}
    whatif.changes_for(state, analysis)
    label = int(baseline.facilities.loc[baseline.facilities["facility_id"] == "NJ2", "facility_label"].iloc[0])
    moved = whatif.move_site(state, analysis, label, *WEST_CENTRE)
    assert isinstance(state[whatif.CHANGES][0], MoveSite) and state[whatif.CHANGES][0].facility_id == "NJ2"
    assert elderly_covered(moved) != elderly_covered(baseline)
    saved = save_scenario(whatif.session_scenario(state), tmp_path / "moved.geojson")
    from_cli = circles_json(capsys, nanjing, tmp_path / "moved.gpkg", "--scenario", saved)
    assert from_cli["scenario"]["moved"] == 1 and from_cli["facilities"] == len(baseline.facilities)
    assert from_cli["covered_elderly_population"] == round(elderly_covered(moved), 1)
    new_label = int(moved.facilities.loc[moved.facilities["facility_id"] == "NJ2", "facility_label"].iloc[0])
    with pytest.raises(KeyError):
        whatif.move_site(state, analysis, label, *WEST_CENTRE)  # the label it had before the move is gone
    with pytest.raises(InputError, match="outside the street network"):
        whatif.move_site(state, analysis, new_label, *FAR_AWAY)
    assert len(state[whatif.CHANGES]) == 1  # the failed move changed nothing


def test_the_session_keeps_a_list_of_named_scenarios_to_switch_between(baseline):
    analysis = _analysis(baseline)
    state: dict = {}
    whatif.changes_for(state, analysis)
    whatif.add_site(state, analysis, *WEST_CENTRE, "西中心", "township_centre")
    state[whatif.SCENARIO_NAME] = "方案甲"
    whatif.keep_scenario(state)
    whatif.reset_changes(state)
    label = int(baseline.facilities.loc[baseline.facilities["facility_id"] == "NJ3", "facility_label"].iloc[0])
    whatif.remove_site(state, analysis, label)
    state[whatif.SCENARIO_NAME] = "方案乙"
    whatif.keep_scenario(state)
    kept = whatif.kept_scenarios(state)
    assert list(kept) == ["方案甲", "方案乙"] and [len(s.changes) for s in kept.values()] == [1, 1]
    whatif.load_scenario(state, analysis, kept["方案甲"])
    assert state[whatif.SCENARIO_NAME] == "方案甲"
    assert set(whatif.current_result(state, analysis).facilities["facility_id"]) == {"NJ1", "NJ2", "NJ3", "WHATIF-1"}
    # other data: the list starts afresh
    whatif.changes_for(state, Analysis("other data", 15.0, 0.8, baseline.inputs, baseline, 0.0))
    assert whatif.kept_scenarios(state) == {}
