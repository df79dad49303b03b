"""One area's Dask task: skip when already done, else run, write atomically, return its row.

A task never raises for a bad area: the error becomes the row's ``error`` (status ``failed``) and
the other areas go on. The result GeoPackage ``areas/<id>.gpkg`` and then its record
``areas/<id>.json`` (the run key and the row) are each written to a temporary name and renamed
(:mod:`coverage.safe_write`), so a killed worker leaves either nothing or a whole result, and a
rerun recomputes exactly the areas whose key changed.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

from analysis.batch import area_job
from analysis.batch.partition import AreaPart, frame_digest
from coverage.output import write_geopackage
from coverage.safe_write import write_file_atomically
from coverage.settings import SPEED_PRESETS
from layers.errors import InputError

#: Version of the row layout and the job; bump to force every area to rerun.
JOB_VERSION = "3"


@dataclass(frozen=True)
class BatchParams:
    """Parameters every area shares (part of each area's key).

    Attributes
    ----------
    out_dir : str
        The batch's ``--out`` folder.
    rules : str
        Rule set name or ``.toml`` path.
    rules_digest : str
        SHA-256 of the rule set's content (a changed rule file reruns every area).
    elderly_share : float or None
        Share aged 60+ (0-1) for totals-only population.
    population_elderly : bool
        Rasters count people aged 60+.
    nodata_as_zero : bool
        Nodata raster cells inside the rasters' extent are 0 people (``--nodata-as-zero``); in
        the key only when set, so the keys of earlier runs without it stay the same.
    """

    out_dir: str
    rules: str
    rules_digest: str
    elderly_share: float | None = None
    population_elderly: bool = False
    nodata_as_zero: bool = False

    def digest(self) -> str:
        """SHA-256 of what changes results (not the output folder)."""
        fields = asdict(self)
        fields.pop("out_dir")
        if not fields["nodata_as_zero"]:  # absent as before the option existed: earlier runs stay done
            fields.pop("nodata_as_zero")
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def area_paths(out_dir: str | Path, area_id: str) -> tuple[Path, Path]:
    """``(areas/<id>.gpkg, areas/<id>.json)`` under the batch folder."""
    folder = Path(out_dir) / "areas"
    return folder / f"{area_id}.gpkg", folder / f"{area_id}.json"


def _done_record(out_dir: str, area_id: str, key: str) -> dict | None:
    gpkg, record = area_paths(out_dir, area_id)
    if not (gpkg.exists() and record.exists()):
        return None
    try:
        stored = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stored if stored.get("key") == key else None


def _row(area_id: str, key: str, result: area_job.AreaResult, seconds: float, cpu_seconds: float) -> dict:
    circles = result.circles
    row: dict = {
        "area_id": area_id,
        "status": "done",
        "error": "",
        "note": result.note,
        "population": circles["total_population"],
        "elderly_population": circles["elderly_population"],
        "covered_population": circles["covered_population"],
        "covered_elderly_population": circles["covered_elderly_population"],
        "covered_share": circles["covered_share"],
    }
    for preset in [*SPEED_PRESETS, "chosen"]:
        row[f"covered_share_{preset}"] = circles["covered_share_by_speed"].get(preset, float("nan"))
    row["facilities"] = circles["facilities"]
    row["graph_nodes"] = circles["graph_nodes"]
    for count in ("assessed", "passed", "failed", "not_assessable"):
        row[f"findings_{count}"] = int(sum(r[count] for r in result.rules.values()))
    row["rules_failed"] = int(sum(1 for r in result.rules.values() if r["failed"]))
    row["verdict"] = "fail" if row["findings_failed"] else ("pass" if row["findings_passed"] else "not assessable")
    row["seconds"] = round(seconds, 3)
    row["cpu_seconds"] = round(cpu_seconds, 3)
    row["key"] = key
    return row


def failed_row(area_id: str, error: str, key: str = "") -> dict:
    """The row of an area that could not be run (its error in words)."""
    return {"area_id": area_id, "status": "failed", "error": error, "verdict": "error", "key": key}


def run_task(part: AreaPart, params: BatchParams) -> dict:
    """Run one area (or skip it when its key is recorded as done); never raises for bad input.

    Returns
    -------
    dict
        ``{"row": {...}, "rules": {rule_id: counts}}``; ``row["status"]`` is ``done``,
        ``skipped`` or ``failed``.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    key = ""
    try:
        digest = hashlib.sha256(f"{JOB_VERSION}:{part.key}:{params.digest()}".encode())
        population, population_note = None, ""
        if part.rasters:  # the raster window's content is part of the key
            population, population_note = area_job.raster_population(
                part,
                elderly=params.population_elderly,
                elderly_share=params.elderly_share,
                nodata_as_zero=params.nodata_as_zero,
            )
            digest.update(frame_digest(population[["population", "geometry"]]).encode())  # keys of earlier runs
        key = digest.hexdigest()
        stored = _done_record(params.out_dir, part.area_id, key)
        if stored is not None:
            return {"row": {**stored["row"], "status": "skipped"}, "rules": stored["rules"]}
        with area_job.one_kernel_thread():
            result = area_job.run_area(
                part,
                rules=params.rules,
                elderly_share=params.elderly_share,
                population_elderly=params.population_elderly,
                population=population,
                nodata_as_zero=params.nodata_as_zero,
                population_note=population_note,
            )
        gpkg, record = area_paths(params.out_dir, part.area_id)
        write_geopackage(gpkg, result.layers)
        row = _row(part.area_id, key, result, time.perf_counter() - start, time.process_time() - cpu_start)
        text = json.dumps({"key": key, "row": row, "rules": result.rules}, ensure_ascii=False)
        write_file_atomically(record, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return {"row": row, "rules": result.rules}
    except InputError as exc:
        return {"row": failed_row(part.area_id, str(exc), key), "rules": {}}
    except Exception as exc:  # noqa: BLE001 - one failing area must not stop the others
        last = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" ({Path(last.filename).name}:{last.lineno})" if last else ""
        return {"row": failed_row(part.area_id, f"{type(exc).__name__}: {exc}{where}", key), "rules": {}}
