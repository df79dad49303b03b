"""Issue 14: the app opens a batch summary and shows its areas as a map (tab "Batch results").

A real small batch is run through the command line (Nanjing's streets and building population cut
into 2 × 2 areas, plus one area with no streets that fails), then its summary is read back
(:func:`analysis.batch.summary_reader.read_batch_summary`) and loaded in the app (AppTest): the
areas, verdicts, failed rules and errors shown must be those of ``summary.csv`` and
``summary_rules.csv``; a map click inside an area shows that area's row. Folders and files that are
not a batch summary give one readable message naming the file, never a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from analysis.batch.summary import VERDICT_COLOURS
from analysis.batch.summary_reader import read_batch_summary
from cli.main import main
from layers.errors import InputError
from tests.batch_support import nanjing_case
from tests.conftest import PROJECT_ROOT
from ui.batch_map import COVERED_SHARE, VERDICT, area_colours, batch_map, share_colour
from ui.i18n import Translator
from ui.tab_batch import area_at, summary_from_uploads

APP = str(PROJECT_ROOT / "app.py")
EMPTY_AREA = "Z9"  # an area far from every street: its run fails and the summary says why


@pytest.fixture(scope="module")
def batch_out(tmp_path_factory):
    """A real batch run through the CLI (one local Dask worker): its --out folder."""
    folder = tmp_path_factory.mktemp("batch_app")
    case = nanjing_case(folder / "inputs")
    areas = pd.concat(
        [case.area_frame, gpd.GeoDataFrame({"code": [EMPTY_AREA]}, geometry=[box(118.90, 32.20, 118.91, 32.21)], crs="EPSG:4326")],
        ignore_index=True,
    )
    areas.to_file(case.areas)
    out = folder / "out"
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        status = main([*case.args(out), "--workers", "1", "--no-progress", "--json"])
    assert status == 0, text.getvalue()
    report = json.loads(text.getvalue().strip().splitlines()[-1])
    assert report["areas"] == 5 and report["failed"] == 1, report
    return out


@pytest.fixture(scope="module")
def expected(batch_out):
    """The summary as the batch wrote it (CSV), area ids as text."""
    areas = pd.read_csv(batch_out / "summary.csv", dtype={"area_id": str}).sort_values("area_id").reset_index(drop=True)
    rules = pd.read_csv(batch_out / "summary_rules.csv", dtype={"area_id": str})
    return areas, rules


# ----- the reader -------------------------------------------------------------------------------
def test_reader_gives_the_summary_the_batch_wrote(batch_out, expected):
    areas, rules = expected
    summary = read_batch_summary(batch_out)
    assert summary.source.endswith("summary.parquet")
    assert list(summary.areas["area_id"]) == list(areas["area_id"])
    assert list(summary.areas["verdict"]) == list(areas["verdict"])
    assert summary.areas.crs.to_epsg() == 4326 and summary.areas.geometry.is_valid.all()
    pd.testing.assert_series_equal(summary.areas["population"], areas["population"], check_names=False)
    failed = summary.areas.set_index("area_id").loc[EMPTY_AREA]
    assert failed["verdict"] == "error" and failed["status"] == "failed" and failed["error"]
    assert "fail" in set(summary.areas["verdict"]) or "pass" in set(summary.areas["verdict"])
    # the area × rule view: a rule fails in an area exactly when summary_rules.csv counts failed findings
    matrix = summary.rule_matrix()
    for row in rules.itertuples():
        want = "fail" if row.failed else ("pass" if row.passed else "not assessable")
        assert matrix.loc[row.area_id, row.rule] == want
    assert (matrix.loc[EMPTY_AREA] == "").all()  # the failed area has no rule rows
    failing = rules.loc[rules["failed"] > 0].groupby("area_id")["rule"].apply(lambda r: ", ".join(sorted(r)))
    shown = summary.failed_rules().set_axis(summary.areas["area_id"])
    for area_id, text in shown.items():
        assert text == failing.get(area_id, "")
    # the GeoPackage for QGIS reads the same
    from_gpkg = read_batch_summary(batch_out / "summary.gpkg")
    assert list(from_gpkg.areas["verdict"]) == list(areas["verdict"])
    assert len(from_gpkg.rules) == len(rules)


def test_not_a_batch_summary_is_one_readable_error(batch_out, tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        read_batch_summary(tmp_path / "missing")
    with pytest.raises(InputError, match="holds no batch summary") as caught:
        read_batch_summary(tmp_path)
    assert str(tmp_path) in str(caught.value)
    inputs = batch_out.parent / "inputs"
    with pytest.raises(InputError, match="no layer 'areas'") as caught:
        read_batch_summary(inputs / "facilities.gpkg")
    assert "facilities.gpkg" in str(caught.value)
    # a GeoParquet without the batch's columns names the missing field
    gpd.read_file(inputs / "areas.gpkg").to_parquet(tmp_path / "summary.parquet")
    with pytest.raises(InputError, match="field 'area_id'"):
        read_batch_summary(tmp_path)
    (tmp_path / "summary.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="cannot be read as a batch summary"):
        read_batch_summary(tmp_path)
    # rules of another batch
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(batch_out / "summary.parquet", other / "summary.parquet")
    pd.DataFrame({"area_id": ["X1"], "rule": ["Q1"], "assessed": [1], "passed": [1], "failed": [0], "not_assessable": [0]}).to_csv(
        other / "summary_rules.csv", index=False
    )
    with pytest.raises(InputError, match="different batches"):
        read_batch_summary(other)


def test_uploaded_summary_files_are_read_with_their_rules(batch_out, expected):
    class Upload:
        def __init__(self, path):
            self.name, self._data = path.name, path.read_bytes()

        def getvalue(self):
            return self._data

    summary = summary_from_uploads([Upload(batch_out / "summary.gpkg"), Upload(batch_out / "summary_rules.csv")])
    assert summary.source == "summary.gpkg"
    assert list(summary.areas["verdict"]) == list(expected[0]["verdict"])
    assert len(summary.rules) == len(expected[1])
    with pytest.raises(InputError, match="upload one area table"):
        summary_from_uploads([Upload(batch_out / "summary_rules.csv")])


def test_map_colours_follow_verdicts_rules_and_shares(batch_out):
    summary = read_batch_summary(batch_out)
    t = Translator("en")
    assert list(area_colours(summary, VERDICT)) == [VERDICT_COLOURS[v] for v in summary.areas["verdict"]]
    rule = summary.rule_ids[0]
    verdicts = summary.rule_verdicts(rule)
    colours = area_colours(summary, rule)
    assert all(colours[i] == VERDICT_COLOURS[v] for i, v in verdicts.items() if v)
    shares = area_colours(summary, COVERED_SHARE)
    assert shares[summary.areas["area_id"] == EMPTY_AREA].item() == share_colour(float("nan"))
    assert share_colour(0.05) != share_colour(0.95)
    html = batch_map(summary, VERDICT, t, selected="A1").get_root().render()
    assert "leaflet" in html.lower() and "A1" in html and "$(" not in html
    # a point inside an area finds it; one outside every area finds none
    centre = summary.areas.geometry.iloc[0].representative_point()
    assert area_at(summary, centre.x, centre.y) == summary.areas["area_id"].iloc[0]
    assert area_at(summary, 0.0, 0.0) is None


# ----- the app ----------------------------------------------------------------------------------
def frame_with(at, column: str) -> pd.DataFrame:
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_the_app_shows_the_batch_areas_and_verdicts(batch_out, expected, monkeypatch):
    import streamlit_folium

    answers: dict = {}
    monkeypatch.setattr(
        streamlit_folium, "st_folium", lambda fmap, key=None, **kw: answers.get("batch") if key and key.startswith("batch_map") else {}
    )
    areas, rules = expected
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert not at.exception
    at.text_input(key="batch_folder").set_value(str(batch_out)).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    shown = frame_with(at, "Batch area")
    shown = shown.sort_values("Batch area").reset_index(drop=True)
    assert list(shown["Batch area"]) == list(areas["area_id"])
    words = {"pass": "pass", "fail": "fail", "not assessable": "not assessable", "error": "Area failed to run"}
    assert list(shown["Batch verdict"]) == [words[v] for v in areas["verdict"]]
    pd.testing.assert_series_equal(shown["Residents of the area (persons)"], areas["population"].round(0), check_names=False)
    pd.testing.assert_series_equal(shown["Covered share of the area (%)"], (100 * areas["covered_share"]).round(1), check_names=False)
    assert shown.loc[shown["Batch area"] == EMPTY_AREA, "Error of the area"].item() == areas.set_index("area_id").loc[EMPTY_AREA, "error"]
    # the area × rule view: one column per rule of summary_rules.csv
    matrix = frame_with(at, sorted(rules["rule"].unique())[0])
    assert set(matrix.columns) - {"Batch area"} == set(rules["rule"])
    assert len(matrix) == len(areas)
    assert any("5** areas" in m.value or "**5** areas" in m.value for m in at.markdown)

    # a click inside area A2 on the map shows its row and its rules
    target = read_batch_summary(batch_out).areas.set_index("area_id").loc["A2"].geometry.representative_point()
    answers["batch"] = {"last_clicked": {"lat": target.y, "lng": target.x}}
    at.run()
    assert not at.exception
    chosen = next(s for s in at.selectbox if s.key.startswith("batch_area_"))
    assert chosen.value == "A2"
    row = next(df.value for df in at.dataframe if list(df.value.columns) == ["A2"])
    assert row.loc["Batch verdict", "A2"] == words[areas.set_index("area_id").loc["A2", "verdict"]]
    own_rules = frame_with(at, "Batch rule")
    assert sorted(own_rules["Batch rule"]) == sorted(rules.loc[rules["area_id"] == "A2", "rule"])

    # colour by one rule: the map is redrawn, nothing breaks; in Chinese the verdicts are Chinese
    colour = next(s for s in at.selectbox if s.key.startswith("batch_colour_"))
    colour.set_value(sorted(rules["rule"].unique())[0]).run()
    assert not at.exception
    at.radio(key="lang").set_value("zh").run()
    assert not at.exception
    zh = frame_with(at, "区域")
    assert set(zh["结论"]) <= {"达标", "不达标", "无法评估", "运行失败"}


def test_the_app_says_why_a_folder_is_not_a_batch(tmp_path):
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.text_input(key="batch_folder").set_value(str(tmp_path)).run()
    assert not at.exception
    assert any("holds no batch summary" in e.value for e in at.error), [e.value for e in at.error]
