"""Check ``--out`` before any work starts: never an input, never a folder for a file, never under a file.

Every input a command reads (``--network``, ``--facilities``, ``--population``, ``--districts``,
``--townships``, ``--communities``, ``--health``, ``--candidates``, the ``--rules`` file, and the
embedded defaults used when a flag is left out) is compared with ``--out`` on resolved paths
(``os.path.samefile`` where both exist, so hard links and symbolic links count too). ``--out`` may
not be an input, contain one (a report folder), or lie inside an input folder. A Shapefile input
brings its sidecar files (same stem, any extension) along.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from coverage.folder_swap import check_replaceable
from coverage.safe_write import OutputPathError, check_file_target, probe_writable, write_errors

#: The command-line flags that name input files, in the order messages list them.
INPUT_FLAGS = (
    "network", "facilities", "population", "districts", "townships", "communities", "health", "candidates", "proposed_sites",
    "scenario",
)


def _rules_file(value: str | None) -> Path | None:
    if not value:
        return None
    from analysis.rules import RULES_DIR

    candidate = Path(value)
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    named = RULES_DIR / f"{value}.toml"
    return named if named.exists() else None


def input_paths(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """Every input file of a parsed command line as (flag, path), embedded defaults included."""
    found: list[tuple[str, Path]] = []
    for name in INPUT_FLAGS:
        value = getattr(args, name, None)
        values = value if isinstance(value, list) else [value]
        found += [(f"--{name.replace('_', '-')}", Path(v)) for v in values if v]
    if hasattr(args, "network") and not args.network:
        from layers.embedded import embedded_data

        data = embedded_data(getattr(args, "embedded", None))
        found.append(("--network (embedded default)", data.network))
        if hasattr(args, "facilities") and not args.facilities:
            found.append(("--facilities (embedded default)", data.facilities))
        if hasattr(args, "population") and not args.population and data.population is not None:
            found.append(("--population (embedded default)", data.population))
        if hasattr(args, "townships") and not args.townships:
            found.append(("--townships (embedded default)", data.townships))
    rules = _rules_file(getattr(args, "rules", None))
    if rules is not None:
        found.append(("--rules", rules))
    sidecars = []
    for flag, path in found:
        if path.suffix.lower() == ".shp" and path.parent.is_dir():
            label = f"{flag} (a sidecar of '{path}')"
            sidecars += [(label, p) for p in path.parent.glob(f"{path.stem}.*") if p != path]
    return found + sidecars


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path))


def overlap(out: Path, source: Path) -> str | None:
    """How ``out`` overlaps the input ``source`` ("is", "contains", "is inside"), or None."""
    if out.exists() and source.exists():
        try:
            if os.path.samefile(out, source):
                return "is"
        except OSError:
            pass
    out_r, source_r = _resolved(out), _resolved(source)
    if out_r == source_r:
        return "is"
    if out_r in source_r.parents:
        return "contains"
    if source_r in out_r.parents:
        return "is inside"
    return None


def check_not_an_input(out: str | Path, args: argparse.Namespace, flag: str = "--out") -> None:
    """Refuse (exit 2) an ``out`` that is, contains or lies inside any input of ``args``."""
    out = Path(out)
    for source_flag, source in input_paths(args):
        how = overlap(out, source)
        if how is not None:
            what = "the input folder" if how == "is inside" else "the input file"
            raise OutputPathError(
                f"{flag} '{out}' {how} {what} of {source_flag} ('{source}'); "
                "choose an output path apart from the inputs",
            )


def _check_parents(out: Path, flag: str) -> None:
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputPathError(f"{flag} '{out}': '{parent}' is a file, not a folder")
            return


def check_output_file(out: str | Path, args: argparse.Namespace, flag: str = "--out") -> Path:
    """Pre-flight for a file output (GeoPackage): not an input, not a folder, no file on its path."""
    out = Path(out)
    with write_errors(out, flag):  # e.g. a name too long for the file system: exit 2
        check_not_an_input(out, args, flag)
        check_file_target(out, flag)
        check_replaces_a_geopackage(out, flag)
        _check_parents(out, flag)
        probe_writable(out, flag)
    return out


#: The first 16 bytes of every SQLite file, so of every GeoPackage.
SQLITE_HEADER = b"SQLite format 3\x00"


def check_replaces_a_geopackage(out: Path, flag: str = "--out") -> None:
    """Refuse (exit 2) to replace an existing non-empty file that is not a GeoPackage.

    Every file output is a GeoPackage, so a file of any other content at ``out`` (an OSM extract,
    a raster, a document) is something the tool did not write: it is never replaced.
    """
    if not out.is_file() or out.stat().st_size == 0:
        return
    with open(out, "rb") as existing:
        if existing.read(len(SQLITE_HEADER)) == SQLITE_HEADER:
            return
    raise OutputPathError(
        f"{flag} '{out}' exists and is not a GeoPackage: it is never replaced; choose another name or remove it yourself"
    )


def check_output_folder(out: str | Path, args: argparse.Namespace, flag: str = "--out") -> Path:
    """Pre-flight for a folder output (report): not an input, replaceable, no file on its path."""
    out = Path(out)
    with write_errors(out, flag):
        check_not_an_input(out, args, flag)
        _check_parents(out, flag)
        check_replaceable(out, flag)
        probe_writable(out, flag)
    return out
