"""Every rule file cites the seed documents truthfully: documents, sections and quotes exist in ``../shared/seeds``.

Citation format (``data/rules/*.toml``): a ``[documents]`` table gives each seed's title and 文号;
each rule's ``cite`` lists ``{ seed = "000", section = ["（三）...", "3.完善..."], quote = "..." }``;
its ``source`` names each cited document as ``seed 000 《title》（文号）`` and starts with ``seed``,
``standard`` or ``project parameter``. Text is compared with all whitespace removed (the seeds are
converted from Word files and carry stray spaces).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from analysis.rules import RULES_DIR, load_rule_set
from tests.conftest import PROJECT_ROOT

SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"
RULE_FILES = sorted(RULES_DIR.glob("*.toml"))
ORIGINS = ("seed", "standard", "project parameter")


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _seed_text(seed: str) -> str:
    if not SEEDS.exists():
        pytest.skip(f"seed documents not available: {SEEDS}")
    found = sorted(SEEDS.glob(f"{seed}_*.txt"))
    assert found, f"seed {seed} is cited but there is no {SEEDS}/{seed}_*.txt"
    return _plain(found[0].read_text(encoding="utf-8"))


def _load(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_documents_are_the_seeds(path):
    documents = _load(path)["documents"]
    assert documents, "a rule file names its documents"
    for seed, doc in documents.items():
        text = _seed_text(seed)
        assert _plain(doc["title"]) in text, f"{path.name}: title of seed {seed} not in its text"
        if doc.get("number"):
            assert _plain(doc["number"]) in text, f"{path.name}: 文号 of seed {seed} not in its text"


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.stem)
def test_every_citation_occurs_in_its_seed(path):
    data = _load(path)
    documents = data["documents"]
    for rule_id, rule in data["rules"].items():
        where = f"{path.name} rule {rule_id}"
        source = rule["source"]
        assert source.startswith(ORIGINS), f"{where}: source must start with one of {ORIGINS}"
        cites = rule.get("cite", [])
        if source.startswith("seed"):
            assert cites, f"{where}: a seed value needs a cite"
        cited = {c["seed"] for c in cites}
        assert set(re.findall(r"seed (\d{3})", source)) == cited, f"{where}: source and cite name other seeds"
        texts = {}
        for cite in cites:
            seed = cite["seed"]
            text = texts.setdefault(seed, _seed_text(seed))
            for marker in cite["section"]:
                assert _plain(marker) in text, f"{where}: section '{marker}' not in seed {seed}"
            assert _plain(cite["quote"]) in text, f"{where}: quote '{cite['quote']}' not in seed {seed}"
            doc = documents[seed]
            assert f"seed {seed} 《{doc['title']}》" in source, f"{where}: source must name seed {seed} by title"
            if doc.get("number"):
                assert doc["number"] in source, f"{where}: source must give the 文号 of seed {seed}"
        if cites:
            assert any(_plain(rule["text_zh"]) in texts[s] for s in cited), (
                f"{where}: text_zh '{rule['text_zh']}' is not quoted from a cited seed"
            )


def test_the_audited_citations():
    """The citation bugs of issue 11, one by one."""
    for name in ("jilin-2023", "hebei-2022", "national"):
        rules = load_rule_set(name)
        assert "公办" not in rules["C2"].text_zh and rules["C2"].value == 0.55  # C2 is 养老机构 55 %
        assert "公办" in rules["C2b"].text_zh and rules["C2b"].value == 0.6
        for rule_id in ("W4", "C6"):  # 300 m is the project's, not a seed value
            assert rules[rule_id].source.startswith("project parameter")
        assert "project parameter" in rules["T4"].extra["extra_point_per_persons_source"]
    national = load_rule_set("national")
    assert "0.1平方米" in national["Q1"].text_zh and "0.12" not in national["Q1"].text_zh
    assert national["Q1"].value == 0.1 and national["Q2"].value == 30
    assert "at 20" not in national.title and "0.1 m2" in national.title  # the title said Q2 was 20
    hebei = load_rule_set("hebei-2022")
    assert {c["seed"] for c in hebei["Q1"].extra["cite"]} == {"002"}
    for rule_id in ("Q2", "Q3", "C3"):  # Changchun's / Panshi's numbers, not Shuangqiao's
        assert hebei[rule_id].source.startswith("project parameter"), rule_id
    jilin = load_rule_set("jilin-2023")
    t1 = {c["seed"]: c["section"] for c in jilin["T1"].extra["cite"]}
    assert "（三）创新居家社区养老服务模式" in t1["003"] and "（四）加快发展社区居家养老服务" in t1["001"]
    assert {c["seed"] for c in jilin["C7"].extra["cite"]} == {"000", "001", "003"}
