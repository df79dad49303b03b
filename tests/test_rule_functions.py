"""One function per rule: T1-T6 and Q1-Q5 can be called (and grepped) by their rule id."""

from __future__ import annotations

import re
from collections import namedtuple
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.districts import check_q4_share
from analysis.rules import load_rule_set
from analysis.township_findings import check_t1_township, check_t2_township, check_t3_township, check_t4_community
from analysis.townships import check_t1_share, check_t6_share
from analysis.verdicts import FAIL, NOT_ASSESSABLE, PASS

ROOT = Path(__file__).resolve().parents[1]
Row = namedtuple("Row", "township centres stations communities communities_without_station")


def test_every_township_and_district_rule_has_a_function() -> None:
    names = ("townships.py", "township_findings.py", "districts.py")
    source = "".join((ROOT / "analysis" / name).read_text(encoding="utf-8") for name in names)
    defined = set(re.findall(r"^def check_([tqw]\d)_", source, flags=re.MULTILINE))
    assert {"t1", "t2", "t3", "t4", "t5", "t6", "q1", "q2", "q3", "q4", "q5", "w1"} <= defined


def test_township_rules_one_row_at_a_time() -> None:
    rules = load_rule_set()
    without = Row("甲街道", 0, 2, 3.0, 1.0)
    with_all = Row("乙街道", 1, 3, 3.0, 0.0)
    assert check_t1_township(without).status == FAIL
    assert check_t1_township(with_all).status == PASS
    assert check_t2_township(without, True).status == FAIL
    assert check_t2_township(with_all, True).status == PASS
    assert check_t2_township(with_all, False).status == NOT_ASSESSABLE
    finding, status, required, short = check_t3_township(with_all, float(rules.value("T3")), True)
    assert status == finding.status == PASS and required == 3.0 * float(rules.value("T3")) and short == 0.0
    finding, _, required, short = check_t3_township(with_all, float(rules.value("T3")), False)
    assert finding.status == NOT_ASSESSABLE and np.isnan(required) and np.isnan(short)


def test_t4_t1_t6_q4_over_the_area() -> None:
    rules = load_rule_set()
    threshold = float(rules.value("T4"))
    finding, need, short = check_t4_community("社区", threshold, 0, threshold, None, "")
    assert (finding.status, need, short) == (FAIL, 1, 1)
    finding, need, short = check_t4_community("社区", float("nan"), 0, threshold, None, "")
    assert finding.status == NOT_ASSESSABLE and np.isnan(need) and np.isnan(short)
    t1 = check_t1_share(rules["T1"], np.array([True, False]))
    assert [f.rule_id for f in t1] == ["T1"] * len(t1) and len(t1) >= 1
    assert check_t6_share(rules, np.array([False, False]), np.array([True, True])).status == NOT_ASSESSABLE
    assert check_t6_share(rules, np.array([True, False]), np.array([True, False])).status == PASS
    met = pd.Series([PASS, FAIL, NOT_ASSESSABLE])
    q4 = check_q4_share(rules["Q4"], met)  # Q4 asks every district (share 1.0 in jilin-2023)
    assert (q4.rule_id, q4.status, q4.measured) == ("Q4", FAIL, 1 / 3)
    assert check_q4_share(rules["Q4"], pd.Series([PASS, PASS])).status == PASS
