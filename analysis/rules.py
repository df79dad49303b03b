"""Planning rule sets: every quota the checks use, read from ``data/rules/<name>.toml``.

No quota number is written in Python: checks ask a :class:`RuleSet` for ``rules["Q1"].value``.
A rule file names its rules by the ids of ``PLANNING_RULES.md`` (W1, Q1, T1, C5, ...); each has its
Chinese text, an English gloss, a value, a unit and the source document.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from layers.errors import FieldError, InputError

RULES_DIR = Path(__file__).resolve().parents[1] / "data" / "rules"
DEFAULT_RULE_SET = "jilin-2023"
REQUIRED_KEYS = ("text_zh", "gloss", "value", "unit", "source")


@dataclass(frozen=True)
class Rule:
    """One planning rule.

    Attributes
    ----------
    id : str
        Rule id from PLANNING_RULES.md, e.g. ``"Q1"``.
    text_zh, gloss : str
        The rule in the source's Chinese words, and in English.
    value : Any
        The threshold (a number in ``unit``, or a status for Q5).
    unit : str
        Unit of ``value`` (``"m2/person"``, ``"min"``, ``"share"``, ...).
    source : str
        Document and article it comes from.
    extra : dict
        Further parameters (``presets`` of W2, ``targets`` of T1, ...).
    """

    id: str
    text_zh: str
    gloss: str
    value: Any
    unit: str
    source: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """A named set of rules, e.g. ``jilin-2023``."""

    name: str
    title: str
    title_zh: str
    rules: Mapping[str, Rule]
    path: Path

    def __getitem__(self, rule_id: str) -> Rule:
        try:
            return self.rules[rule_id]
        except KeyError:
            msg = f"rule set '{self.name}' has no rule {rule_id}; add it to the rule file"
            raise InputError(msg, file=self.path, layer=f"rules.{rule_id}") from None

    def value(self, rule_id: str) -> Any:
        """The value of one rule."""
        return self[rule_id].value

    def __contains__(self, rule_id: str) -> bool:
        return rule_id in self.rules


def available_rule_sets() -> list[str]:
    """Names of the rule sets shipped in ``data/rules``."""
    return sorted(p.stem for p in RULES_DIR.glob("*.toml"))


def load_rule_set(name_or_path: str | Path = DEFAULT_RULE_SET) -> RuleSet:
    """Load a rule set by name (``jilin-2023``, ``hebei-2022``, ``national``) or from a file path.

    Raises
    ------
    InputError
        Unknown name, unreadable TOML, or a rule missing one of its keys (naming file and rule).
    """
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        path = candidate
    else:
        path = RULES_DIR / f"{name_or_path}.toml"
        if not path.exists():
            msg = f"unknown rule set '{name_or_path}'; available: {', '.join(available_rule_sets())} or a .toml path"
            raise InputError(msg)
    if not path.exists():
        raise InputError("the rule file does not exist", file=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"the rule file is not valid TOML: {exc}", file=path) from exc
    raw_rules = data.get("rules")
    if not isinstance(raw_rules, dict) or not raw_rules:
        raise FieldError("the rule file has no [rules.<id>] tables", file=path, field="rules")
    rules: dict[str, Rule] = {}
    for rule_id, body in raw_rules.items():
        if not isinstance(body, dict):
            raise FieldError("a rule must be a table", file=path, layer=f"rules.{rule_id}")
        missing = [k for k in REQUIRED_KEYS if k not in body]
        if missing:
            msg = f"rule {rule_id} is missing {', '.join(missing)}"
            raise FieldError(msg, file=path, layer=f"rules.{rule_id}", field=missing[0])
        value = body["value"]
        if body["unit"] != "status" and not isinstance(value, int | float):
            msg = f"rule {rule_id} needs a numeric value, got {value!r}"
            raise FieldError(msg, file=path, layer=f"rules.{rule_id}", field="value")
        extra = {k: v for k, v in body.items() if k not in REQUIRED_KEYS}
        rules[rule_id] = Rule(rule_id, body["text_zh"], body["gloss"], value, body["unit"], body["source"], extra)
    return RuleSet(
        name=str(data.get("name", path.stem)),
        title=str(data.get("title", path.stem)),
        title_zh=str(data.get("title_zh", "")),
        rules=rules,
        path=path,
    )
