"""Read back the summary a batch wrote (``python -m coverage batch --out DIR``), for the app.

A batch folder holds ``summary.parquet`` (GeoParquet) and ``summary.gpkg`` (layer ``areas``): the
area polygons with a row each, and ``summary_rules.csv``: a row per area × rule
(:mod:`analysis.batch.summary`). :func:`read_batch_summary` takes the folder, or one of those
files (an upload), and checks it; anything that is not a batch summary stops with an
:class:`~layers.errors.InputError` naming the file, layer and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from layers.errors import EmptyLayerError, FieldError, InputError, UnsupportedFileError

#: The summary files of a batch folder, in the order they are looked for.
AREA_FILES: tuple[str, ...] = ("summary.parquet", "summary.gpkg")
RULES_FILE = "summary_rules.csv"
AREAS_LAYER = "areas"
#: Columns every area table of a batch has (``analysis.batch.task`` rows).
AREA_COLUMNS: tuple[str, ...] = ("area_id", "status", "verdict")
#: Columns of the area × rule table (:func:`analysis.batch.summary.rule_table`).
RULE_COLUMNS: tuple[str, ...] = ("area_id", "rule", "assessed", "passed", "failed", "not_assessable")
#: Number columns of an area row (NaN for a failed area).
NUMBER_COLUMNS: tuple[str, ...] = (
    "population",
    "elderly_population",
    "covered_population",
    "covered_elderly_population",
    "covered_share",
    "findings_assessed",
    "findings_passed",
    "findings_failed",
    "findings_not_assessable",
    "rules_failed",
)


@dataclass(frozen=True)
class BatchSummary:
    """A batch's summary as read back.

    Attributes
    ----------
    areas : GeoDataFrame
        A row per area (EPSG:4326): ``area_id`` (text), ``status``, ``verdict``, ``error`` and the
        numbers (persons, shares 0-1, finding counts), sorted by ``area_id``.
    rules : DataFrame
        A row per area × rule (``area_id``, ``rule``, ``assessed``, ``passed``, ``failed``,
        ``not_assessable``: finding counts) plus ``verdict`` (pass/fail/not assessable); empty
        (those columns) when no ``summary_rules.csv`` was given.
    source : str
        The file the areas were read from (its name only for uploads).
    """

    areas: gpd.GeoDataFrame
    rules: pd.DataFrame
    source: str

    @property
    def rule_ids(self) -> list[str]:
        """The rules of the area × rule table, sorted."""
        return sorted(self.rules["rule"].unique()) if len(self.rules) else []

    def failed_rules(self) -> pd.Series:
        """Per ``area_id``: the rules with failed findings, joined by ", " ("" when none)."""
        failing = self.rules.loc[self.rules["failed"] > 0]
        joined = failing.groupby("area_id")["rule"].agg(lambda rules: ", ".join(sorted(rules)))
        return joined.reindex(self.areas["area_id"]).fillna("").set_axis(self.areas.index)

    def rule_matrix(self) -> pd.DataFrame:
        """Areas × rules of verdicts (pass/fail/not assessable; "" where the area has no row)."""
        if not len(self.rules):
            return pd.DataFrame(index=pd.Index(self.areas["area_id"], name="area_id"))
        wide = self.rules.pivot(index="area_id", columns="rule", values="verdict")
        return wide.reindex(pd.Index(self.areas["area_id"], name="area_id")).fillna("")

    def rule_verdicts(self, rule: str) -> pd.Series:
        """Verdict of ``rule`` per area (aligned with ``areas``); "" where the area has none."""
        picked = self.rules.loc[self.rules["rule"] == rule].set_index("area_id")["verdict"]
        return picked.reindex(self.areas["area_id"]).fillna("").set_axis(self.areas.index)


def rule_verdict(failed: int, passed: int) -> str:
    """An area's verdict on one rule from its finding counts: any failure fails."""
    return "fail" if failed > 0 else ("pass" if passed > 0 else "not assessable")


def _read_areas(path: Path, label: str) -> gpd.GeoDataFrame:
    name = path.name.lower()
    layer = None
    try:
        if name.endswith(".parquet"):
            areas = gpd.read_parquet(path)
        elif name.endswith(".gpkg"):
            layers = [str(row[0]) for row in pyogrio.list_layers(path)]
            if AREAS_LAYER not in layers:
                msg = f"this GeoPackage has no layer '{AREAS_LAYER}' (it holds {', '.join(layers) or 'none'}); it is not a batch summary"
                raise InputError(msg, file=label, layer=AREAS_LAYER)
            layer = AREAS_LAYER
            areas = gpd.read_file(path, layer=AREAS_LAYER)
        else:
            msg = f"a batch summary is {' or '.join(AREA_FILES)} (with {RULES_FILE})"
            raise UnsupportedFileError(msg, file=label)
    except InputError:
        raise
    except Exception as exc:  # not a Parquet/GeoPackage file at all, or no geometry column
        msg = f"cannot be read as a batch summary ({type(exc).__name__}: {exc})"
        raise InputError(msg, file=label, layer=layer) from None
    missing = [c for c in AREA_COLUMNS if c not in areas.columns]
    if missing:
        msg = f"the area table has no '{missing[0]}' column: it is not a summary written by 'python -m coverage batch'"
        raise FieldError(msg, file=label, layer=layer, field=missing[0])
    if not len(areas):
        raise EmptyLayerError("the batch summary has no areas", file=label, layer=layer)
    if areas.crs is None:
        raise InputError("the area polygons have no coordinate reference system", file=label, layer=layer, field="geometry")
    areas = areas.to_crs(4326)
    areas["area_id"] = areas["area_id"].astype(str)
    for column in NUMBER_COLUMNS:
        if column in areas.columns:
            areas[column] = pd.to_numeric(areas[column], errors="coerce")
    areas["error"] = areas["error"].fillna("").astype(str) if "error" in areas.columns else ""
    return areas.sort_values("area_id", kind="stable").reset_index(drop=True)


def _read_rules(path: Path | None, label: str) -> pd.DataFrame:
    if path is None:
        return pd.DataFrame(columns=[*RULE_COLUMNS, "verdict"])
    try:
        rules = pd.read_csv(path, dtype={"area_id": str, "rule": str})
    except Exception as exc:
        raise InputError(f"cannot be read as CSV ({type(exc).__name__}: {exc})", file=label) from None
    missing = [c for c in RULE_COLUMNS if c not in rules.columns]
    if missing:
        msg = f"the area × rule table has no '{missing[0]}' column: it is not a {RULES_FILE} of a batch"
        raise FieldError(msg, file=label, field=missing[0])
    counts = ["assessed", "passed", "failed", "not_assessable"]
    rules[counts] = rules[counts].apply(pd.to_numeric, errors="coerce").fillna(0).astype(int)
    rules["verdict"] = [rule_verdict(f, p) for f, p in zip(rules["failed"], rules["passed"], strict=True)]
    return rules[[*RULE_COLUMNS, "verdict"]]


def find_summary_files(folder: str | Path) -> tuple[Path, Path | None]:
    """The area file and the area × rule file of a batch folder.

    Raises
    ------
    InputError
        ``folder`` does not exist, is not a folder, or holds no batch summary.
    """
    path = Path(folder).expanduser()
    if not path.exists():
        raise InputError("no such folder on the server", file=folder)
    if not path.is_dir():
        raise InputError("this is a file, not a batch folder: give the folder passed to 'batch --out'", file=folder)
    areas = next((path / name for name in AREA_FILES if (path / name).is_file()), None)
    if areas is None:
        msg = (
            f"this folder holds no batch summary ({' or '.join(AREA_FILES)}): "
            "give the folder passed to 'python -m coverage batch --out' after the run has finished"
        )
        raise InputError(msg, file=folder)
    rules = path / RULES_FILE
    return areas, rules if rules.is_file() else None


def read_batch_summary(
    source: str | Path,
    rules: str | Path | None = None,
    *,
    label: str | None = None,
    rules_label: str | None = None,
) -> BatchSummary:
    """Read a batch summary: a batch folder, or its ``summary.parquet``/``summary.gpkg``.

    Parameters
    ----------
    source : str or Path
        The ``--out`` folder of a batch, or one of its area files.
    rules : str or Path, optional
        ``summary_rules.csv`` (taken from the folder when ``source`` is one; with a file and none
        given, the one beside it if present).
    label, rules_label : str, optional
        Names shown in messages instead of the paths (uploads: the uploaded names).

    Raises
    ------
    InputError
        Not a folder or file of a batch summary, a missing column (named), no areas, no CRS.
    """
    path = Path(source)
    if path.is_dir():
        area_file, found_rules = find_summary_files(path)
        rules = rules if rules is not None else found_rules
        shown = label or str(area_file)
    else:
        if not path.exists():
            raise InputError("no such file or folder on the server", file=label or source)
        area_file, shown = path, label or str(path)
        if rules is None and (path.parent / RULES_FILE).is_file() and path.name in AREA_FILES:
            rules = path.parent / RULES_FILE
    areas = _read_areas(area_file, shown)
    rule_path = Path(rules) if rules is not None else None
    table = _read_rules(rule_path, rules_label or (str(rule_path) if rule_path else ""))
    unknown = sorted(set(table["area_id"]) - set(areas["area_id"]))
    if unknown:
        msg = f"area ids {', '.join(unknown[:3])} are not in the area table {shown}: the two files are of different batches"
        raise FieldError(msg, file=rules_label or str(rule_path), field="area_id")
    return BatchSummary(areas=areas, rules=table, source=shown)
