"""Responsiveness of the app as a planner feels it, measured in headless Chromium (issue 13).

Starts the app as ``scripts/demo.sh`` does (``python -m ui.launch``: Streamlit serving ``app.py``) on a free port, drives it with Playwright and the system's Chromium
(``/usr/bin/chromium``, or ``COVERAGE_CHROMIUM``), and times, in the browser's own clock:

- **first map**: page load (navigation start) to the map's Leaflet layers drawn (cold: the first
  session after the server started; warm: later sessions, the server's caches filled); for
  uploaded data, the last upload to the map drawn;
- **minutes change** / **speed change**: the new value entered to the updated map drawn;
- **what-if add**: "Add facility here" pressed to the updated headline and the updated map drawn;
- **district check**: "Check district" pressed to its tables shown.

Each time is split at the moment the new map frame appears, or, when the coverage map keeps its
frame and only its overlays are swapped (``ui/basemap_frame.py``), when the frame starts evaluating
them: before it, the server's rerun (walk, layers, map serialisation, transfer); after it, the
browser parsing and drawing the map. A second
table times the server's steps in-process (no browser) on the same data: the walk, the display
layers, building the folium map, rendering it to HTML (and its size), the what-if add and the
district check.

Cases: ``default`` (the app's embedded default, whatever it is), ``city`` (a generated street
lattice of ~10⁵ nodes with population cells and facilities, uploaded through the sidebar like a
planner's own files), and ``files`` (``--network``/``--facilities``/``--population`` given).

    .venv/bin/python benchmarks/bench_app_browser.py                       # default and city, 3 runs
    .venv/bin/python benchmarks/bench_app_browser.py --cases default --runs 5
    .venv/bin/python benchmarks/bench_app_browser.py --cases files --network x.osm.pbf --facilities f.csv
    .venv/bin/python benchmarks/bench_app_browser.py --json out.json

The report (Markdown) goes to stdout, progress to stderr. Median of ``--runs`` browser sessions.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

CHROMIUM = Path(os.environ.get("COVERAGE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
MAP_FRAME = "iframe[title*='streamlit_folium']"
WAIT_MS = int(float(os.environ.get("BENCH_WAIT_S", "240")) * 1000)
#: Targets in seconds (issue 13): default data / a city of 10⁵ street nodes.
TARGETS = {
    "default": {"first map": 4.0, "minutes change": 1.0, "speed change": 1.0, "what-if add": 1.0, "district check": 1.0},
    "large": {"first map": None, "minutes change": 2.0, "speed change": 2.0, "what-if add": 2.0, "district check": 2.0},
}

#: Installed in the page before it loads: a requestAnimationFrame loop recording (in the page's
#: clock, ms since navigation) when a new map frame appears, when its Leaflet paths are drawn, when
#: the headline (metrics and captions) changes and when two more tables are shown, after
#: ``__benchArm()`` marked the current state.
WATCHER = """
(() => {
  if (window.top !== window) return;
  const SEL = "iframe[title*='streamlit_folium']";
  const B = window.__bench = {start: 0, frame: null, drawn: null, headline: null, tables: null, sig: null, nTables: 0};
  const sig = () => [...document.querySelectorAll('[data-testid="stMetricValue"], [data-testid="stCaptionContainer"]')]
    .map(e => e.innerText).join('|');
  const nTables = () => document.querySelectorAll('[data-testid="stDataFrame"]').length;
  window.__benchArm = () => {
    for (const f of document.querySelectorAll(SEL)) {
      try { const w = f.contentWindow; w.__benchOld = true; w.__benchVersion = w.__circleMap ? w.__circleMap.version : 0; } catch (e) {}
    }
    B.start = performance.now(); B.frame = B.drawn = B.headline = B.tables = null;
    B.sig = sig(); B.nTables = nTables();
    return B.start;
  };
  const tick = () => {
    const now = performance.now();
    for (const f of document.querySelectorAll(SEL)) {
      let w = null;
      try { w = f.contentWindow; } catch (e) { continue; }
      if (!w) continue;
      if (w.__benchOld) {
        // the same frame kept (its basemap stays drawn): its overlays swapped (ui/basemap_frame.py)
        let m = null;
        try { m = w.__circleMap; } catch (e) { continue; }
        if (!m || m.version <= w.__benchVersion) continue;
        if (B.frame === null) B.frame = Math.min(now, w.__circleMapStart - performance.timeOrigin);
        if (B.drawn === null) B.drawn = now;
        continue;
      }
      if (B.frame === null) B.frame = now;
      try { if (B.drawn === null && w.document.querySelector('path.leaflet-interactive')) B.drawn = now; } catch (e) {}
    }
    if (B.headline === null && B.sig !== null && sig() !== B.sig) B.headline = now;
    if (B.tables === null && B.sig !== null && nTables() >= B.nTables + 2) B.tables = now;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ----- the server -----------------------------------------------------------------------------
def wait_for_enabled_button(page, text: str) -> None:
    """Wait until a button showing ``text`` is on the page and enabled (its rerun has settled)."""
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('button')].some(b => b.innerText.includes(t) && !b.disabled)",
        arg=text,
        timeout=WAIT_MS,
    )


@contextmanager
def streamlit_server(log_path: Path):
    """The app started as ``scripts/demo.sh`` starts it (:func:`ui.launch.background_app`); yields its URL."""
    from ui.launch import background_app

    with open(log_path, "wb") as log, background_app(log, start_s=90, cwd=ROOT) as url:
        yield url


# ----- the data -------------------------------------------------------------------------------
@dataclass
class Case:
    """One data set: the embedded default (no files) or files uploaded through the sidebar."""

    name: str
    size: str  # "default" or "large": which targets apply
    network: Path | None = None
    facilities: Path | None = None
    population: Path | None = None
    note: str = ""

    @property
    def uploads(self) -> bool:
        return self.network is not None


@dataclass
class Timing:
    """One interaction, in seconds from its start: the new map frame, the map drawn, the headline
    changed, the tables shown (``None`` when that did not happen or is not watched)."""

    frame: float | None = None
    drawn: float | None = None
    headline: float | None = None
    tables: float | None = None

    @property
    def total(self) -> float | None:
        ends = [v for v in (self.drawn, self.headline, self.tables) if v is not None]
        return max(ends) if ends else None


@dataclass
class CaseResult:
    case: Case
    nodes: int | None = None
    runs: dict[str, list[Timing]] = field(default_factory=dict)
    server: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, name: str, timing: Timing) -> None:
        self.runs.setdefault(name, []).append(timing)


# ----- the browser ----------------------------------------------------------------------------
def read_timing(page, keys: tuple[str, ...]) -> Timing:
    """Wait until the watcher recorded every one of ``keys``; return the times (s from the start)."""
    condition = " && ".join(f"window.__bench.{k} !== null" for k in keys)
    page.wait_for_function(f"() => window.__bench && {condition}", timeout=WAIT_MS, polling=50)
    raw = page.evaluate("() => window.__bench")
    start = raw["start"]

    def seconds(key: str) -> float | None:
        return None if raw.get(key) is None else (raw[key] - start) / 1000.0

    return Timing(seconds("frame"), seconds("drawn"), seconds("headline"), seconds("tables"))


def arm(page) -> None:
    page.evaluate("() => window.__benchArm()")


def settle(page, ms: int = 1500) -> None:
    """Wait until Streamlit is idle (no "running" indicator), then a little more."""
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') "
        "|| !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=WAIT_MS,
    )
    page.wait_for_timeout(ms)


def map_frame(page):
    """The coverage map's frame (the newest attached one)."""
    return [f for f in page.frames if "streamlit_folium" in f.url and not f.is_detached()][-1]


#: Map points (container pixels) where a click lands on no polygon: the nearest to the centre first.
#: A click on a polygon feature (a service area) comes back from st_folium as a "drawing" and
#: proposes no site (see benchmarks/README.md); clicks on the map, a street or a dot do.
FREE_POINTS = """
() => {
  const m = window.map, s = m.getSize(), r = m.getContainer().getBoundingClientRect(), out = [];
  for (let i = 2; i < 30; i++) for (let j = 2; j < 30; j++) {
    const x = s.x * i / 31, y = s.y * j / 31, e = document.elementFromPoint(r.left + x, r.top + y);
    if (!e || e.closest('.leaflet-control') || e.closest('.leaflet-tooltip')) continue;
    if (e.tagName.toLowerCase() === 'path' && !/[aA]/.test(e.getAttribute('d') || '')) continue;
    out.push([Math.hypot(x - s.x / 2, y - s.y / 2), x, y]);
  }
  out.sort((a, b) => a[0] - b[0]);
  return out.map(p => [p[1], p[2]]);
}
"""


def upload_case(page, case: Case) -> Timing:
    """Choose "Upload my own layers" and upload the case's files, facilities last; time to the map."""
    page.get_by_text("Upload my own layers").click()
    inputs = page.locator("section[data-testid='stSidebar'] [data-testid='stFileUploaderDropzoneInput']")
    inputs.first.wait_for(state="attached", timeout=WAIT_MS)
    settle(page)
    order = [(0, case.network), (2, case.population), (1, case.facilities)]
    for index, path in order:
        if path is None:
            continue
        if index == 1:
            arm(page)
        inputs.nth(index).set_input_files(str(path))
        page.get_by_text(path.name).first.wait_for(timeout=WAIT_MS)
        if index != 1:
            settle(page)
    return read_timing(page, ("frame", "drawn"))


def district_file(page, folder: Path) -> Path:
    """A ~600 m square district GeoJSON at the map's centre (whatever data is loaded)."""
    lat, lng = map_frame(page).evaluate("() => { const c = window.map.getCenter(); return [c.lat, c.lng]; }")
    d_lat, d_lng = 300 / 111_320, 300 / (111_320 * max(0.2, abs(math.cos(math.radians(lat)))))
    ring = [[lng - d_lng, lat - d_lat], [lng + d_lng, lat - d_lat], [lng + d_lng, lat + d_lat], [lng - d_lng, lat + d_lat], [lng - d_lng, lat - d_lat]]
    path = folder / f"district_{abs(hash((lat, lng))) % 10**8}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "bench district"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))  # fmt: skip
    return path


def one_session(browser_type, url: str, case: Case, run: int, result: CaseResult, folder: Path) -> None:
    """One fresh browser session: load, (upload), minutes, speed, what-if, district; times recorded."""
    with tempfile.TemporaryDirectory(prefix="bench-chromium-") as profile:
        context = browser_type.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, viewport={"width": 1500, "height": 1100}
        )
        try:
            context.add_init_script(WATCHER)
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(WAIT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" and "favicon" not in msg.text else None)
            page.goto(url, timeout=WAIT_MS)
            if case.uploads:
                page.get_by_text("Layers").first.wait_for(timeout=WAIT_MS)
                settle(page, 500)
                result.add("upload → first map" if run else "upload → first map (cold)", upload_case(page, case))
            else:
                first = read_timing(page, ("frame", "drawn"))  # the watcher's start is 0: navigation start
                result.add("first map" if run else "first map (cold)", first)
            settle(page)

            # minutes: a value not computed before in this server (each run its own)
            box = page.get_by_label("Walking minutes")
            arm(page)
            box.fill(str(14 - run))
            box.press("Enter")
            result.add("minutes change", read_timing(page, ("frame", "drawn", "headline")))
            settle(page)

            # speed: alternate presets, so each run changes it
            preset = ["general", "frail"][run % 2]
            speed = page.get_by_label("Walking speed")
            speed.scroll_into_view_if_needed()
            speed.click()
            page.keyboard.type(preset)  # the selectbox filters its options as one types
            page.get_by_role("option").filter(has_text=preset).first.wait_for(timeout=WAIT_MS)
            arm(page)
            page.keyboard.press("Enter")
            result.add("speed change", read_timing(page, ("frame", "drawn", "headline")))
            settle(page)

            # what-if: click the map near its centre, off any polygon (proposes a site; untimed), then add it
            frame = page.frame_locator(MAP_FRAME).first
            points = map_frame(page).evaluate(FREE_POINTS)
            page.mouse.move(0, 0)  # no tooltip over the map
            x, y = points[min(3 * run, len(points) - 1)]
            frame.locator("#map_div").click(position={"x": x, "y": y})
            wait_for_enabled_button(page, "Add facility here")
            settle(page)
            arm(page)
            page.get_by_role("button", name="Add facility here").click()
            result.add("what-if add", read_timing(page, ("frame", "drawn", "headline")))
            settle(page)

            # district: upload a boundary at the map's centre and the planned households (untimed), then check
            uploader = page.locator("[data-testid='stFileUploader']").filter(has_text="District boundary")
            uploader.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(district_file(page, folder)))
            page.get_by_text("No district boundary yet").wait_for(state="detached", timeout=WAIT_MS)
            settle(page)
            households = page.get_by_label("Planned households")
            households.fill("800")
            households.press("Enter")
            wait_for_enabled_button(page, "Check district")
            settle(page)
            arm(page)
            page.get_by_role("button", name="Check district").click()
            result.add("district check", read_timing(page, ("tables",)))
            settle(page, 500)
            if page.get_by_text("could not be checked").count():
                result.errors.append(f"run {run}: the district could not be checked")
            result.errors.extend(f"run {run}: {e}" for e in errors if "_stcore" not in e)
        except Exception:
            page.screenshot(path=str(folder / f"{case.name}_{run}_failed.png"), full_page=True)
            raise
        finally:
            context.close()


def measure_browser(case: Case, runs: int, folder: Path, result: CaseResult) -> None:
    from playwright.sync_api import sync_playwright

    with streamlit_server(folder / f"streamlit_{case.name}.log") as url, sync_playwright() as playwright:
        for run in range(runs):
            log(f"[{case.name}] browser session {run + 1}/{runs}")
            try:
                one_session(playwright.chromium, url, case, run, result, folder)
            except Exception as exc:  # a stuck wait: report it, go on with the next session
                result.errors.append(f"run {run}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
                log(f"[{case.name}] run {run + 1} failed: {exc}")


# ----- the server's steps, in-process ---------------------------------------------------------
def measure_server(case: Case, result: CaseResult) -> None:
    """Time the steps of one rerun without a browser: walk, display layers, map build, HTML."""
    from analysis.rules import DEFAULT_RULE_SET, load_rule_set
    from coverage.output import facilities_layer, service_area_layer
    from coverage.pipeline import load_inputs, run_circles
    from ui import planning
    from ui import state as ss
    from ui.basemap import basemap
    from ui.basemap_frame import FETCHED_STREETS_BYTES, overlay_scripts, render_base
    from ui.i18n import Translator
    from ui.map_layers import population_display
    from ui.mapping import add_draw_control, build_map, coverage_base, coverage_overlays

    def timed(name: str, call):
        start = time.perf_counter()
        value = call()
        result.server[name] = time.perf_counter() - start
        return value

    arguments = {} if not case.uploads else {"network": case.network, "facilities": case.facilities, "population": case.population}
    inputs = timed("read layers (once per data)", lambda: load_inputs(**arguments))
    timed("walk, first (numba warm-up included)", lambda: run_circles(inputs, minutes=15, speed="elderly"))
    walk = timed("walk (minutes change)", lambda: run_circles(inputs, minutes=13, speed="elderly"))
    result.nodes = int(walk.graph.n_nodes)
    streets = timed("basemap streets (once per data)", lambda: basemap(inputs.network.edges))

    def layers(res):
        return population_display(res), service_area_layer(res), facilities_layer(res), ss.facilities_table(res), ss.population_table(res)

    display, areas, facilities, _, _ = timed("display layers + tables", lambda: layers(walk))
    t = Translator("en")

    def make_map():
        fmap = build_map(walk, streets, t, display=display, service_areas=areas, facilities=facilities)
        add_draw_control(fmap)
        return fmap

    fmap = timed("folium map built", make_map)
    html = timed("map rendered to HTML (st_folium serialises it)", lambda: fmap.get_root().render())
    result.server["map HTML size (MB)"] = len(html.encode("utf-8")) / 1e6

    # what the app does now (ui/basemap_frame.py): the base map rendered once per data, only the
    # overlays rendered and swapped in the kept frame on each rerun; large streets fetched once
    streets_bytes = len(json.dumps(streets.geojson, separators=(",", ":")).encode("utf-8"))
    result.server["streets GeoJSON (MB; > 1 MB: a media file the map fetches once)"] = streets_bytes / 1e6
    url = "/media/streets.json" if streets_bytes > FETCHED_STREETS_BYTES else None

    def make_base():
        base_map, rows = coverage_base(streets, t, streets_url=url)
        add_draw_control(base_map, t)
        return base_map, rows

    base = timed("base map built and rendered (once per data, language, search)", lambda: render_base(*make_base()))
    result.server["base map script (MB, sent with each rerun, drawn once)"] = base.size_bytes / 1e6

    def overlays():
        groups, legend = coverage_overlays(walk, t, display=display, service_areas=areas, facilities=facilities)
        return overlay_scripts(groups, legend)

    scripts = timed("overlays built and rendered (each rerun)", overlays)
    result.server["overlays script (MB, each rerun, drawn each rerun)"] = sum(len(x.encode("utf-8")) for x in scripts) / 1e6
    x0, y0, x1, y1 = inputs.network.edges.total_bounds
    lon, lat = (x0 + x1) / 2, (y0 + y1) / 2
    walk.with_facility_added(_point(lon + 0.001, lat, walk))  # the first call compiles/caches; the page's is not the first
    added = timed("what-if add (result.with_facility_added)", lambda: walk.with_facility_added(_point(lon, lat, walk)))
    timed("display layers + tables after what-if", lambda: layers(added))
    rules = load_rule_set(DEFAULT_RULE_SET)
    from shapely.geometry import box

    d = 0.003
    polygon = box(lon - d, lat - d, lon + d, lat + d)
    timed("district check (planning.check_district)", lambda: planning.check_district(polygon, result=walk, rules=rules, households=800.0))


def _point(lon: float, lat: float, result):
    """A what-if site at lon/lat as the page passes it (``ui.whatif`` projects it the same way)."""
    from pyproj import Transformer
    from shapely.geometry import Point

    x, y = Transformer.from_crs("EPSG:4326", result.graph.crs, always_xy=True).transform(lon, lat)
    return Point(x, y)


# ----- the report -----------------------------------------------------------------------------
def median(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def report(results: list[CaseResult], runs: int) -> str:
    load = os.getloadavg()
    lines = [
        f"Host: {os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min) at the end; "
        f"median of {runs} browser sessions (cold = the first session after the server started).",
        "",
        "| case | nodes | interaction | median s | target s | ok | server part s | browser part s | runs s |",
        "| --- | ---: | --- | ---: | ---: | :-: | ---: | ---: | --- |",
    ]
    for res in results:
        targets = TARGETS[res.case.size]
        for name, timings in res.runs.items():
            total = median([t.total for t in timings])
            base = name.replace(" (cold)", "")
            target = targets.get("first map" if "first map" in base else base)
            if "upload" in base:
                target = None
            ok = "—" if target is None or total is None else ("yes" if total < target else "**no**")
            server = median([t.frame for t in timings])
            browser = median([None if t.drawn is None or t.frame is None else t.drawn - t.frame for t in timings])
            each = ", ".join(fmt(t.total) for t in timings)
            lines.append(
                f"| {res.case.name} | {res.nodes or '—'} | {name} | {fmt(total)} | {fmt(target, 0) if target else '—'} | {ok} | "
                f"{fmt(server)} | {fmt(browser)} | {each} |"
            )
    lines += ["", "Server steps in-process (one run each, seconds unless stated):", ""]
    names = list(dict.fromkeys(k for res in results for k in res.server))
    lines.append("| step | " + " | ".join(res.case.name for res in results) + " |")
    lines.append("| --- | " + " | ".join("---:" for _ in results) + " |")
    for name in names:
        lines.append(f"| {name} | " + " | ".join(fmt(res.server.get(name)) for res in results) + " |")
    for res in results:
        if res.case.note:
            lines.append(f"\n{res.case.name}: {res.case.note}")
        for error in res.errors:
            lines.append(f"\n{res.case.name}: {error}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="default,city", help="comma-separated: default, city, files")
    parser.add_argument("--runs", type=int, default=3, help="browser sessions per case (median)")
    parser.add_argument("--side", type=int, default=317, help="lattice side of the city case (317² ≈ 10⁵ nodes)")
    parser.add_argument("--network", type=Path, help="files case: street network (.osm.pbf or .osm)")
    parser.add_argument("--facilities", type=Path, help="files case: facilities (CSV, GeoPackage, GeoJSON)")
    parser.add_argument("--population", type=Path, help="files case: population (optional with .osm.pbf)")
    parser.add_argument("--no-server-steps", action="store_true", help="skip the in-process server table")
    parser.add_argument("--json", type=Path, help="also write the raw times as JSON")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"error: {CHROMIUM} is absent (apt-get install chromium, or set COVERAGE_CHROMIUM)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        folder = Path(os.environ.get("BENCH_KEEP_DIR") or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cases = []
        for name in args.cases.split(","):
            if name == "default":
                cases.append(Case("default", "default", note="the app's embedded default data"))
            elif name == "city":
                from app_city import make_city

                log(f"writing a {args.side}×{args.side} street lattice city")
                city = make_city(folder / "city", side=args.side)
                cases.append(Case("city", "large", city.network, city.facilities, city.population,
                                  note=f"generated lattice {args.side}×{args.side} = {city.nodes:,} nodes, 50 m apart, "
                                       f"{city.residents:,.0f} residents in 200 m cells, uploaded as .osm/.gpkg/.csv"))  # fmt: skip
            elif name == "files":
                if args.network is None or args.facilities is None:
                    parser.error("the files case needs --network and --facilities")
                cases.append(Case("files", "large", args.network.resolve(), args.facilities.resolve(),
                                  args.population.resolve() if args.population else None, note=f"{args.network.name}"))  # fmt: skip
            else:
                parser.error(f"unknown case {name!r}")
        results = []
        for case in cases:
            res = CaseResult(case)
            if not args.no_server_steps:
                log(f"[{case.name}] server steps in-process")
                measure_server(case, res)
            measure_browser(case, args.runs, folder, res)
            results.append(res)
        text = report(results, args.runs)
        print(text)
        if args.json:
            raw = {
                res.case.name: {"nodes": res.nodes, "server": res.server, "errors": res.errors,
                                "runs": {k: [vars(t) for t in v] for k, v in res.runs.items()}}  # fmt: skip
                for res in results
            }
            raw["loadavg"] = os.getloadavg()
            args.json.write_text(json.dumps(raw, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
