"""Rule sets load from data/rules, and a malformed rule file says what is wrong."""

from __future__ import annotations

import pytest

from analysis.rules import available_rule_sets, load_rule_set
from layers.errors import FieldError, InputError


def test_shipped_rule_sets():
    assert {"jilin-2023", "hebei-2022", "national"} <= set(available_rule_sets())
    jilin = load_rule_set()
    assert jilin.name == "jilin-2023"
    assert jilin.value("Q1") == 0.12
    assert load_rule_set("hebei-2022").value("Q1") == 0.1
    assert jilin["T1"].extra["targets"] == {"2025": 0.6, "2027": 0.7}
    assert "0.12" in jilin["Q1"].text_zh
    assert jilin["W2"].extra["presets"]["frail"] == 0.67


def test_every_rule_has_its_keys():
    for name in available_rule_sets():
        rules = load_rule_set(name)
        assert {"W1", "Q1", "Q2", "Q3", "T1", "T3", "T4", "C2", "C5", "C6"} <= set(rules.rules)
        for rule in rules.rules.values():
            assert rule.text_zh and rule.gloss and rule.source


def test_malformed_rule_files(tmp_path):
    missing = tmp_path / "mine.toml"
    missing.write_text('name = "mine"\n[rules.Q1]\ntext_zh = "x"\ngloss = "y"\nunit = "m2/person"\nsource = "me"\n')
    with pytest.raises(FieldError, match=r"mine.toml.*rules.Q1.*field 'value'"):
        load_rule_set(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text("[rules.Q1\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_rule_set(broken)
    text = tmp_path / "text.toml"
    text.write_text('[rules.Q1]\ntext_zh = "x"\ngloss = "y"\nvalue = "lots"\nunit = "m2/person"\nsource = "me"\n')
    with pytest.raises(FieldError, match="numeric value"):
        load_rule_set(text)
    with pytest.raises(InputError, match="unknown rule set 'mars-2030'"):
        load_rule_set("mars-2030")
    with pytest.raises(InputError, match="has no rule Z9"):
        load_rule_set()["Z9"]
