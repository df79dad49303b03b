"""Bed capacity checks C1, C2, C3, C5, C7: verdicts, missing inputs, Chinese column names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.capacity import check_capacity
from analysis.rules import load_rule_set
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS
from layers.errors import FieldError


@pytest.fixture(scope="module")
def jilin():
    return load_rule_set("jilin-2023")


def _facilities(**columns) -> pd.DataFrame:
    base = {
        "facility_id": ["F1", "F2", "F3"],
        "name": ["磐石市社会福利中心", "东宁街道综合养老服务中心", "磐石市医院"],
        "kind": ["nursing_home", "township_centre", "health_centre"],
        "beds": [3000.0, 1200.0, 500.0],
    }
    base.update(columns)
    return pd.DataFrame(base)


def _by_rule(findings):
    return {f.rule_id: f for f in findings}


def test_every_value_known(jilin):
    facilities = _facilities(nursing_beds=[2000.0, 300.0, 400.0], dementia_beds=[50.0, 20.0, 0.0])
    found = _by_rule(check_capacity(facilities, jilin, elderly_population=100_000, area_name="磐石市"))
    assert [f.rule_id for f in check_capacity(facilities, jilin, elderly_population=1.0)] == ["C1", "C5", "C2", "C3", "C7"]
    # hospital beds (kind health_centre) are not elderly-care beds
    assert found["C1"].status == PASS and found["C1"].measured == 4200 and found["C1"].required == jilin.value("C1")
    assert found["C5"].status == PASS and found["C5"].measured == pytest.approx(42.0)
    # C2 is over institutions (养老机构, F1) only: the township centre's 300 nursing beds are not in it
    assert found["C2"].status == PASS
    assert found["C2"].measured == pytest.approx(2000 / 3000)
    assert found["C3"].status == PASS and found["C3"].measured == 70
    assert found["C7"].status == PASS and found["C7"].measured == 1
    for finding in found.values():
        assert finding.subject == "磐石市" and finding.subject_kind == "area"
        assert finding.message and finding.message_zh
    assert "66.7%" in found["C2"].message and "养老机构护理型床位" in found["C2"].message_zh


def test_chinese_column_names(jilin):
    facilities = _facilities().rename(columns={"beds": "床位数"})
    facilities["护理型床位"] = [2500.0, 200.0, 0.0]
    facilities["认知症床位"] = [40.0, 10.0, 0.0]
    found = _by_rule(check_capacity(facilities, jilin, elderly_population=120_000))
    assert found["C1"].measured == 4200
    assert found["C2"].status == PASS and found["C2"].measured == pytest.approx(2500 / 3000)
    assert found["C3"].status == FAIL and found["C3"].measured == 50 and found["C3"].shortfall == 10
    assert found["C5"].status == FAIL and found["C5"].measured == pytest.approx(35.0)


def test_missing_columns_are_not_assessable_never_zero(jilin):
    found = _by_rule(check_capacity(_facilities(), jilin, elderly_population=100_000))
    for rule_id, column in (("C2", "nursing_beds"), ("C3", "dementia_beds")):
        assert found[rule_id].status == NOT_ASSESSABLE
        assert found[rule_id].measured is None
        assert column in found[rule_id].message
    assert "护理型床位" in found["C2"].message_zh
    no_beds = _facilities().drop(columns="beds")
    found = _by_rule(check_capacity(no_beds, jilin, elderly_population=100_000))
    assert found["C1"].status == NOT_ASSESSABLE and "beds" in found["C1"].message
    assert found["C5"].status == NOT_ASSESSABLE
    empty = _by_rule(check_capacity(_facilities(beds=[np.nan] * 3), jilin, elderly_population=100_000))
    assert empty["C1"].status == NOT_ASSESSABLE and "no facility has a bed count" in empty["C1"].message


def test_partly_unknown_beds_give_a_lower_bound(jilin):
    short = _facilities(beds=[3000.0, np.nan, 500.0])
    found = _by_rule(check_capacity(short, jilin, elderly_population=100_000))
    # 3000 known < 4000, and F2 could make up the gap: not assessable, never a fail
    assert found["C1"].status == NOT_ASSESSABLE
    assert "3,000" in found["C1"].message and "1 facility has" in found["C1"].message and "F2" in found["C1"].message
    assert found["C5"].status == NOT_ASSESSABLE
    enough = _facilities(beds=[4500.0, np.nan, 500.0])
    found = _by_rule(check_capacity(enough, jilin, elderly_population=100_000))
    assert found["C1"].status == PASS and found["C1"].measured == 4500
    assert "lower bound" in found["C1"].message and "下限" in found["C1"].message_zh
    assert found["C5"].status == PASS and found["C5"].measured == pytest.approx(45.0)


def test_nursing_share_bounds(jilin):
    # two institutions (F1, F2); F2's nursing beds unknown: share between 2000/4200 and 3200/4200, around 55 %
    homes = ["nursing_home", "nursing_home", "health_centre"]

    def _facilities(**columns):  # noqa: ANN202 - the module's helper with F2 an institution
        return globals()["_facilities"](kind=homes, **columns)

    unsure = _by_rule(check_capacity(_facilities(nursing_beds=[2000.0, np.nan, 0.0]), jilin, elderly_population=1e5))
    assert unsure["C2"].status == NOT_ASSESSABLE
    assert "47.6%" in unsure["C2"].message and "76.2%" in unsure["C2"].message
    sure = _by_rule(check_capacity(_facilities(nursing_beds=[2500.0, np.nan, 0.0]), jilin, elderly_population=1e5))
    assert sure["C2"].status == PASS and sure["C2"].measured == pytest.approx(2500 / 4200)
    low = _by_rule(check_capacity(_facilities(nursing_beds=[100.0, np.nan, 0.0]), jilin, elderly_population=1e5))
    assert low["C2"].status == FAIL and low["C2"].measured == pytest.approx(1300 / 4200)
    unbounded = _facilities(beds=[3000.0, np.nan, 500.0], nursing_beds=[2900.0, 10.0, 0.0])
    assert _by_rule(check_capacity(unbounded, jilin, elderly_population=1e5))["C2"].status == NOT_ASSESSABLE


def test_elderly_population_unknown(jilin):
    for unknown in (None, float("nan")):
        finding = _by_rule(check_capacity(_facilities(), jilin, elderly_population=unknown))["C5"]
        assert finding.status == NOT_ASSESSABLE and "elderly" in finding.message
    with pytest.raises(FieldError, match="elderly_population"):
        check_capacity(_facilities(), jilin, elderly_population=-5)


def test_institutions_c7(jilin):
    no_home = _facilities(kind=["community_station", "township_centre", "health_centre"])
    finding = _by_rule(check_capacity(no_home, jilin, elderly_population=1e5))["C7"]
    assert finding.status == FAIL and finding.measured == 0 and finding.shortfall == jilin.value("C7")
    assert "county-level" in finding.message


def test_bad_values_name_the_column(jilin):
    with pytest.raises(FieldError, match="field 'beds'"):
        check_capacity(_facilities(beds=["many", 10, 5]), jilin, elderly_population=1e5)
    with pytest.raises(FieldError, match="negative"):
        check_capacity(_facilities(beds=[-1.0, 10, 5]), jilin, elderly_population=1e5)
    with pytest.raises(FieldError, match="field '护理床位'.*exceed total beds.*F1"):
        check_capacity(_facilities(护理床位=[4000.0, 10.0, 0.0]), jilin, elderly_population=1e5)


def test_thresholds_come_from_the_rule_file(tmp_path):
    text = load_rule_set("jilin-2023").path.read_text(encoding="utf-8")
    stricter = text.replace('gloss = "total elderly-care beds"\nvalue = 4000', 'gloss = "total elderly-care beds"\nvalue = 5000')
    assert stricter != text
    path = tmp_path / "stricter.toml"
    path.write_text(stricter, encoding="utf-8")
    finding = _by_rule(check_capacity(_facilities(), load_rule_set(path), elderly_population=1e5))["C1"]
    assert finding.status == FAIL and finding.required == 5000 and finding.shortfall == 800
