"""CPU time of the OSM XML readers (streets, basemap context, buildings), all built on the one
streaming parser :mod:`layers.osm_xml_stream`.

Run from the project root (needs ``../shared/data``)::

    nice -n 10 .venv/bin/python benchmarks/bench_osm_xml_parse.py [--repeat 7] [--root DIR]

Prints a Markdown table: per reader and file, the minimum and median CPU seconds
(``time.process_time``, so other processes on a loaded host inflate it little) over ``--repeat``
runs, and the peak traced Python memory (MB, ``tracemalloc``) of one run. The files are the
largest OSM XML of ``../shared/data`` (the Nanjing Xuanwu export, 1.5 MB) and the same export
tiled 8 times (ids shifted, each copy 0.05° further east; written to a temporary folder), whose
peak memory shows the streaming: it grows with what is kept (nodes, wanted ways), not with the
whole XML tree. ``--root`` imports the readers from another checkout (e.g. an older commit
unpacked with ``git archive``) to compare before/after in one session.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NANJING_XML = ROOT.parent / "shared" / "data" / "nanjing_xuanwu" / "nanjing_xuanwu.osm"


def tiled_copy(source: Path, copies: int, folder: Path) -> Path:
    """``copies`` shifted copies of an OSM XML file's elements in one file (ids and longitudes moved)."""
    text = source.read_text(encoding="utf-8")
    head_end = text.index(">", text.index("<osm")) + 1
    head, body = text[:head_end], text[head_end : text.rindex("</osm>")]
    body = re.sub(r"<bounds[^>]*/>", "", body)
    parts = [head]
    for k in range(copies):
        shift = k * 10_000_000_000
        piece = re.sub(r'\b(id|ref)="(\d+)"', lambda m, s=shift: f'{m.group(1)}="{int(m.group(2)) + s}"', body)
        piece = re.sub(r'\blon="([-0-9.]+)"', lambda m, k=k: f'lon="{float(m.group(1)) + 0.05 * k:.7f}"', piece)
        parts.append(piece)
    parts.append("</osm>\n")
    path = folder / f"{source.stem}_x{copies}.osm"
    path.write_text("".join(parts), encoding="utf-8")
    return path


def measure(fn, path: Path, repeat: int) -> tuple[float, float, float]:
    """Minimum and median CPU seconds over ``repeat`` runs, and peak traced MB of one run."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn(path)
        times.append(time.process_time() - start)
    tracemalloc.start()
    fn(path)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return min(times), statistics.median(times), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose layers/ is timed")
    args = parser.parse_args()
    if not NANJING_XML.exists():
        sys.exit(f"needs the shared data: {NANJING_XML}")
    sys.path.insert(0, str(args.root.resolve()))
    from layers.osm_context import read_osm_context
    from layers.osm_xml import read_osm_xml
    from layers.osm_xml_buildings import read_osm_xml_buildings

    readers = {
        "streets (read_osm_xml)": read_osm_xml,
        "context (read_osm_context)": read_osm_context,
        "buildings (read_osm_xml_buildings)": read_osm_xml_buildings,
    }
    with tempfile.TemporaryDirectory(prefix="bench-osm-xml-") as tmp:
        files = [NANJING_XML, tiled_copy(NANJING_XML, 8, Path(tmp))]
        print(f"code from {args.root.resolve()}; CPU s over {args.repeat} runs\n")
        print("| reader | file | MB | min CPU s | median CPU s | peak traced MB |")
        print("|---|---|---:|---:|---:|---:|")
        for name, fn in readers.items():
            for path in files:
                low, mid, peak = measure(fn, path, args.repeat)
                size = path.stat().st_size / 1e6
                print(f"| {name} | {path.name} | {size:.1f} | {low:.3f} | {mid:.3f} | {peak:.1f} |", flush=True)


if __name__ == "__main__":
    main()
