"""Outputs never destroy anything: --out against the inputs, report folders, swaps, locks, failures.

Every case goes through the command line: in-process ``cli.main.main`` (with a monkeypatched
writer where a real failure cannot be provoked, raising the real OSError errno) or a real
``python -m coverage`` subprocess (signals, closed pipes, file-size limits, /sys).
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from cli.main import main
from coverage import folder_swap
from coverage.folder_swap import MARKER
from tests.conftest import PROJECT_ROOT, shared_path

HELSINKI_XY = [(24.945, 60.170), (24.940, 60.168)]
NANJING_XY = [(118.780, 32.045), (118.770, 32.035), (118.790, 32.055)]
LAYERS = {"service_areas", "population", "facilities", "network_edges"}
OLD = b"SQLite format 3\x00an earlier result"  # the header of an earlier GeoPackage


# ----------------------------------------------------------------------------- helpers ---------
def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def facilities_gpkg(path: Path, xy=HELSINKI_XY) -> Path:
    frame = gpd.GeoDataFrame(
        {"name": [f"site {i}" for i in range(len(xy))]}, geometry=gpd.points_from_xy(*zip(*xy)), crs=4326
    )
    frame.to_file(path)
    return path


def facilities_csv(path: Path, xy) -> Path:
    lon, lat = zip(*xy)
    pd.DataFrame({"名称": [f"养老服务站{i}" for i in range(len(xy))], "经度": lon, "纬度": lat}).to_csv(path, index=False)
    return path


def leftovers(folder: Path, *, but: str = "") -> list[str]:
    """Hidden names in ``folder`` (temporaries, old reports, lock files), except ``but``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != but)


def cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "coverage", *args],
        cwd=PROJECT_ROOT,
        stdout=kwargs.pop("stdout", subprocess.PIPE),
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def wait_for(pattern: str, folder: Path, proc: subprocess.Popen, timeout: float = 240.0) -> Path | None:
    """Poll until a name matching ``pattern`` appears in ``folder``; None if ``proc`` ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = list(folder.glob(pattern))
        if found:
            return found[0]
        if proc.poll() is not None:
            return None
        time.sleep(0.0005)
    proc.kill()
    pytest.fail(f"{pattern} never appeared in {folder}")


def report_is_whole(folder: Path) -> None:
    assert (folder / MARKER).is_file()
    assert "</html>" in (folder / "report.html").read_text(encoding="utf-8")
    assert "findings" in pd.ExcelFile(folder / "checks.xlsx").sheet_names
    assert {"service_areas", "facilities"} <= set(pyogrio.list_layers(folder / "checks.gpkg")[:, 0])
    assert len(pd.read_csv(folder / "findings.csv")) > 0


# ------------------------------------------------------------- 1. --out is never an input -----
def test_nanjing_out_equal_to_the_facilities_csv_is_refused(tmp_path, capsys, monkeypatch):
    """Real streets: --out naming the facilities CSV (directly, relatively, via a link) stops at once."""
    network = shared_path("nanjing_xuanwu", "nanjing_xuanwu.osm.pbf")
    csv = facilities_csv(tmp_path / "sites.csv", NANJING_XY)
    before = csv.read_bytes()
    link = tmp_path / "link.gpkg"
    link.symlink_to(csv)
    monkeypatch.chdir(tmp_path)
    for out in (str(csv), "sites.csv", f"../{tmp_path.name}/./sites.csv", str(link)):
        status, _, err = run(capsys, "circles", "--network", str(network), "--facilities", str(csv), "--out", out)
        line = one_error_line(err)
        assert status == 2
        assert f"--out '{Path(out)}'" in line and "--facilities" in line and "input" in line
        assert csv.read_bytes() == before
    # the network file itself is an input too
    status, _, err = run(capsys, "circles", "--network", str(network), "--facilities", str(csv), "--out", str(network))
    assert status == 2 and "--network" in one_error_line(err)
    # and a real run beside the input writes the result, twice over the same --out
    out = tmp_path / "result.gpkg"
    for _ in range(2):
        status, stdout, err = run(
            capsys, "circles", "--network", str(network), "--facilities", str(csv), "--out", str(out), "--json"
        )
        assert status == 0, err
    summary = json.loads(stdout)
    assert summary["facilities"] == 3 and 0 < summary["covered_share"] < 1
    assert set(pyogrio.list_layers(out)[:, 0]) == LAYERS
    assert csv.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_out_equal_to_a_geopackage_population_or_shapefile_sidecar(tmp_path, capsys):
    facilities = facilities_gpkg(tmp_path / "f.gpkg")
    before = facilities.read_bytes()
    status, _, err = run(capsys, "circles", "--facilities", str(facilities), "--out", str(tmp_path / "sub" / ".." / "f.gpkg"))
    assert status == 2 and "--facilities" in one_error_line(err)
    assert facilities.read_bytes() == before
    assert not (tmp_path / "sub").exists()  # refused before anything was created
    population = tmp_path / "pop.gpkg"
    gpd.GeoDataFrame({"population": [10]}, geometry=[shapely.Point(24.944, 60.169)], crs=4326).to_file(population)
    status, _, err = run(capsys, "circles", "--population", str(population), "--out", str(population))
    assert status == 2 and "--population" in one_error_line(err)
    # a Shapefile brings its sidecars: writing over the .dbf would break the input
    shp = tmp_path / "f.shp"
    gpd.read_file(facilities).to_file(shp)
    status, _, err = run(capsys, "circles", "--facilities", str(shp), "--out", str(tmp_path / "f.dbf"))
    assert status == 2 and "f.shp" in one_error_line(err)
    # a hard link to an input is the input
    os.link(facilities, tmp_path / "hard.gpkg")
    status, _, err = run(capsys, "circles", "--facilities", str(facilities), "--out", str(tmp_path / "hard.gpkg"))
    assert status == 2
    assert facilities.read_bytes() == before


def test_out_inside_an_input_folder_and_the_embedded_default(tmp_path, capsys):
    folder = tmp_path / "streets"
    folder.mkdir()
    status, _, err = run(capsys, "circles", "--network", str(folder), "--out", str(folder / "x.gpkg"))
    assert status == 2 and "is inside the input folder of --network" in one_error_line(err)
    # no --network: the embedded default's extract (Nanjing) is an input as well, and so is
    # the Helsinki extract with --embedded helsinki
    from layers.embedded import embedded_data
    from layers.network import embedded_network_path

    status, _, err = run(capsys, "circles", "--out", str(embedded_data().network))
    assert status == 2 and "embedded default" in one_error_line(err)
    status, _, err = run(capsys, "circles", "--embedded", "helsinki", "--out", str(embedded_network_path()))
    assert status == 2 and "embedded default" in one_error_line(err)


def test_an_existing_file_that_is_not_a_geopackage_is_never_replaced(tmp_path, capsys):
    # an OSM extract that is not an input of this run (a copy of the other embedded choice: the
    # shared venv's Helsinki.osm.pbf was once overwritten this way) and a document named .gpkg
    from layers.network import embedded_network_path

    extract = tmp_path / "Helsinki.osm.pbf"
    extract.write_bytes(embedded_network_path().read_bytes())
    before = extract.read_bytes()
    status, stdout, err = run(capsys, "circles", "--out", str(extract), "--json")
    assert status == 2 and stdout == ""
    assert "exists and is not a GeoPackage" in one_error_line(err)
    assert extract.read_bytes() == before
    notes = tmp_path / "notes.gpkg"
    notes.write_text("my notes")
    status, _, err = run(capsys, "sites", "--p", "1", "--out", str(notes))
    assert status == 2 and "is never replaced" in one_error_line(err)
    assert notes.read_text() == "my notes" and leftovers(tmp_path) == []


def test_check_out_containing_an_input_is_refused_even_when_it_is_a_report(tmp_path, capsys):
    report = tmp_path / "report"
    report.mkdir()
    (report / MARKER).write_text("written by python -m coverage\n")
    districts = report / "districts.gpkg"
    gpd.GeoDataFrame(
        {"name": ["a"], "residents": [1000]}, geometry=[shapely.box(24.940, 60.166, 24.948, 60.171)], crs=4326
    ).to_file(districts)
    status, _, err = run(capsys, "check", "--districts", str(districts), "--out", str(report))
    assert status == 2 and "contains the input file of --districts" in one_error_line(err)
    assert districts.exists()


def test_sites_out_equal_to_candidates_or_rules_file(tmp_path, capsys):
    candidates = facilities_gpkg(tmp_path / "cand.gpkg")
    before = candidates.read_bytes()
    status, _, err = run(capsys, "sites", "--candidates", str(candidates), "--out", str(candidates))
    assert status == 2 and "--candidates" in one_error_line(err)
    assert candidates.read_bytes() == before
    rules = tmp_path / "mine.toml"
    rules.write_text((PROJECT_ROOT / "data" / "rules" / "jilin-2023.toml").read_text(encoding="utf-8"))
    status, _, err = run(capsys, "sites", "--rules", str(rules), "--out", str(rules))
    assert status == 2 and "--rules" in one_error_line(err)


# --------------------------------------------- 2. check replaces only folders it wrote itself --
def test_check_never_replaces_a_folder_it_did_not_write(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "survey.csv").write_text("name,residents\nA,1\n")
    status, _, err = run(capsys, "check", "--out", str(data))
    line = one_error_line(err)
    assert status == 2 and f"--out '{data}' exists and was not written by this tool" in line
    assert (data / "survey.csv").read_text() == "name,residents\nA,1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    status, _, err = run(capsys, "check", "--out", str(a_file))
    assert status == 2 and "is a file, not a folder" in one_error_line(err)
    assert a_file.read_text() == "mine"


def test_check_replaces_its_own_report_an_empty_folder_and_an_old_report(tmp_path, capsys):
    out = tmp_path / "report"
    out.mkdir()  # empty: nothing to lose
    assert run(capsys, "check", "--out", str(out), "--json")[0] == 0
    report_is_whole(out)
    (out / "stale.csv").write_text("from the earlier report")
    first = (out / "report.html").stat().st_ino
    assert run(capsys, "check", "--no-pdf", "--out", str(out), "--json")[0] == 0
    report_is_whole(out)
    assert not (out / "stale.csv").exists() and (out / "report.html").stat().st_ino != first
    assert leftovers(tmp_path) == []
    # a report written before the marker existed (same files, the report's title) is replaced too
    (out / MARKER).unlink()
    assert run(capsys, "check", "--no-pdf", "--out", str(out), "--json")[0] == 0
    report_is_whole(out)


# ------------------------------------------------- 3. one-step swap, fallback, concurrent runs --
def test_two_concurrent_checks_both_succeed_and_out_is_always_whole(tmp_path, capsys):
    out = tmp_path / "report"
    assert run(capsys, "check", "--no-pdf", "--out", str(out), "--json")[0] == 0
    seen_missing = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if not (out / MARKER).is_file() or not (out / "report.html").is_file():
                seen_missing.append(time.monotonic())
            time.sleep(0.001)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    procs = [cli("check", "--no-pdf", "--out", str(out), "--json") for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    stop.set()
    watcher.join()
    for proc, (stdout, stderr) in zip(procs, results):
        assert proc.returncode == 0, stderr
        assert json.loads(stdout)["rule_set"] == "jilin-2023"
    assert seen_missing == []
    report_is_whole(out)
    assert leftovers(tmp_path) == []


def test_a_writer_waits_for_the_lock_of_its_output(tmp_path):
    """While another holder has ``.NAME.lock``, a run computes but writes nothing until released."""
    import fcntl

    out = tmp_path / "c.gpkg"
    with open(tmp_path / ".c.gpkg.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = cli("circles", "--out", str(out), "--json")
        end = time.monotonic() + 300
        while not any(line.split()[1] == "->" and line.split()[5] == str(proc.pid) for line in _locks()):
            assert proc.poll() is None and time.monotonic() < end, proc.communicate()
            time.sleep(0.05)
        assert not out.exists() and leftovers(tmp_path, but=".c.gpkg.lock") == []  # blocked before any temporary
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert set(pyogrio.list_layers(out)[:, 0]) == LAYERS


def _locks() -> list[str]:
    """Lines of /proc/locks (blocked waiters read ``N: -> FLOCK ADVISORY WRITE PID ...``)."""
    return [line for line in Path("/proc/locks").read_text().splitlines() if len(line.split()) > 5]


def test_fallback_swap_without_renameat2_and_recovery_of_an_interrupted_one(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(folder_swap, "_RENAMEAT2", None)
    out = tmp_path / "report"
    for _ in range(2):
        assert run(capsys, "check", "--no-pdf", "--out", str(out), "--json")[0] == 0
        report_is_whole(out)
        assert leftovers(tmp_path) == []
    # a run killed between the two renames left --out missing and the previous report aside
    previous = tmp_path / ".report-previous-0123abcd"
    out.rename(previous)
    (previous / "earlier.txt").write_text("the earlier report")

    def disk_full(content, folder):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "checks.xlsx"))

    monkeypatch.setattr("analysis.report._fill_report", disk_full)
    status, _, err = run(capsys, "check", "--no-pdf", "--out", str(out))
    assert status == 1 and "No space left on device" in one_error_line(err)
    assert (out / "earlier.txt").read_text() == "the earlier report"  # put back, then left as it was
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------ 4. temporaries of killed runs --
def test_stale_temporaries_of_this_output_are_removed_and_nothing_else(tmp_path, capsys):
    out = tmp_path / "c.gpkg"
    stale = [".c-partial-0a1b2c3d.gpkg", ".c-partial-0a1b2c3d.gpkg-journal", ".c-k2j_x9q1.gpkg"]
    kept = [".c-notes.txt", ".c-partial-NOTOURS.gpkg", ".d-partial-0a1b2c3d.gpkg", "c-partial-0a1b2c3d.gpkg"]
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".rep-partial-89abcdef").mkdir()  # a report folder's temporary: another output
    facilities = str(facilities_gpkg(tmp_path / "f.gpkg"))  # sites in Helsinki
    status, _, err = run(capsys, "circles", "--embedded", "helsinki", "--facilities", facilities, "--out", str(out))
    assert status == 0, err
    names = {p.name for p in tmp_path.iterdir()}
    assert not names & set(stale)
    assert set(kept) | {".rep-partial-89abcdef"} <= names
    assert set(pyogrio.list_layers(out)[:, 0]) == LAYERS


@pytest.mark.parametrize("command, pattern", [("circles", ".res-partial-*.gpkg"), ("check", ".res-partial-*")])
def test_sigkill_while_writing_leaves_a_temporary_that_the_next_run_removes(tmp_path, command, pattern):
    out = tmp_path / ("res.gpkg" if command == "circles" else "res")
    for _attempt in range(3):
        proc = cli(command, "--out", str(out), "--json")
        temp = wait_for(pattern, tmp_path, proc)
        if temp is not None:
            break
        proc.communicate()
    else:
        pytest.skip("the write finished before the temporary could be seen three times")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert temp.exists()
    proc = cli(command, "--out", str(out), "--json")
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert not temp.exists() and leftovers(tmp_path) == []
    if command == "check":
        report_is_whole(out)
    else:
        assert set(pyogrio.list_layers(out)[:, 0]) == LAYERS


# ------------------------------------------------------ 5. one line for every write failure --
def test_out_is_a_folder_or_under_a_file(tmp_path, capsys):
    status, _, err = run(capsys, "circles", "--out", str(tmp_path))
    assert status == 2 and f"--out '{tmp_path}' is a folder, not a file" in one_error_line(err)
    a_file = tmp_path / "plain"
    a_file.write_text("mine")
    for command, out in (("circles", a_file / "x.gpkg"), ("check", a_file / "sub" / "report"), ("sites", a_file / "s.gpkg")):
        status, _, err = run(capsys, command, "--out", str(out))
        assert status == 2 and f"'{a_file}' is a file, not a folder" in one_error_line(err)
    assert a_file.read_text() == "mine"
    status, _, err = run(capsys, "circles", "--out", "/dev/null")  # as root, replacing it would be harmful
    assert status == 2 and "not a regular file" in one_error_line(err)
    assert Path("/dev/null").is_char_device()
    status, _, err = run(capsys, "circles", "--out", str(tmp_path / ("n" * 300 + ".gpkg")))
    assert status == 2 and "too long" in one_error_line(err)


def _sys_is_unwritable() -> bool:
    try:
        Path("/sys/.coverage-probe").touch()
    except OSError:
        return True
    Path("/sys/.coverage-probe").unlink()
    return False


@pytest.mark.skipif(not _sys_is_unwritable(), reason="/sys is writable here")
def test_permission_denied_is_one_line_exit_1_before_any_work():
    """/sys refuses new files even to root: a real PermissionError, found before computing."""
    for command, out in (("circles", "/sys/x.gpkg"), ("check", "/sys/report"), ("sites", "/sys/s.gpkg")):
        proc = cli(command, "--out", out)
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 1
        line = one_error_line(stderr)
        assert f"cannot write '{out}'" in line and "Permission denied" in line


def test_permission_denied_while_writing_leaves_the_old_result(tmp_path, capsys, monkeypatch):
    out = tmp_path / "keep.gpkg"
    out.write_bytes(OLD)

    def refuse(path, layers):
        Path(path).write_bytes(b"half a GeoPackage")
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr("coverage.output.write_layers", refuse)
    status, stdout, err = run(capsys, "circles", "--out", str(out), "--json")
    assert status == 1 and stdout == ""
    assert f"cannot write '{out}': Permission denied" in one_error_line(err)
    assert out.read_bytes() == OLD and leftovers(tmp_path) == []


def test_sites_writer_disk_full_leaves_the_old_result(tmp_path, capsys, monkeypatch):
    out = tmp_path / "keep.gpkg"
    out.write_bytes(OLD)

    def full(path, layers):
        Path(path).write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("coverage.output.write_layers", full)
    status, stdout, err = run(capsys, "sites", "--p", "2", "--out", str(out), "--json")
    assert status == 1 and stdout == ""
    assert f"cannot write '{out}': No space left on device" in one_error_line(err)
    assert out.read_bytes() == OLD and leftovers(tmp_path) == []


def test_disk_full_in_gdal_or_in_the_report_leaves_the_old_result(tmp_path, capsys, monkeypatch):
    out = tmp_path / "keep.gpkg"
    out.write_bytes(OLD)

    def gdal_full(*args, **kwargs):
        raise pyogrio.errors.DataSourceError("sqlite3_exec(COMMIT) failed: database or disk is full")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", gdal_full)
    status, _, err = run(capsys, "circles", "--out", str(out))
    assert status == 1 and "database or disk is full" in one_error_line(err)
    assert out.read_bytes() == OLD and leftovers(tmp_path) == []
    monkeypatch.undo()
    report = tmp_path / "report"
    assert run(capsys, "check", "--no-pdf", "--out", str(report), "--json")[0] == 0
    html = (report / "report.html").read_bytes()

    def excel_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_excel", excel_full)
    status, _, err = run(capsys, "check", "--no-pdf", "--out", str(report))
    assert status == 1 and f"cannot write '{report}': No space left on device" in one_error_line(err)
    assert (report / "report.html").read_bytes() == html
    report_is_whole(report)
    assert leftovers(tmp_path) == []


def test_file_size_limit_hits_the_real_gdal_writer(tmp_path):
    """A real write failure inside GDAL (RLIMIT_FSIZE: EFBIG, like a full disk) in a subprocess."""
    out = tmp_path / "keep.gpkg"
    out.write_bytes(OLD)

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))

    proc = cli("circles", "--out", str(out), "--json", preexec_fn=limit)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1 and stdout == ""
    assert f"cannot write '{out}'" in one_error_line(stderr)
    assert out.read_bytes() == OLD and leftovers(tmp_path) == []


def test_stdout_closed_by_its_reader(tmp_path):
    """``python -m coverage circles --json | head -c 0``: one line, exit 1, the result still written."""
    out = tmp_path / "r.gpkg"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = cli("circles", "--out", str(out), "--json", stdout=write_end)
    finally:
        os.close(write_end)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1
    assert "broken pipe" in one_error_line(stderr) and str(out) in stderr
    assert set(pyogrio.list_layers(out)[:, 0]) == LAYERS


@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_while_writing_leaves_no_temporary_and_the_old_result(tmp_path, signum, status):
    out = tmp_path / "keep.gpkg"
    out.write_bytes(OLD)
    for _attempt in range(3):
        proc = cli("circles", "--out", str(out), "--json")
        if wait_for(".keep-partial-*.gpkg", tmp_path, proc) is not None:
            break
        proc.communicate()
        out.write_bytes(OLD)
    else:
        pytest.skip("the write finished before the temporary could be seen three times")
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == status, stderr
    assert stdout == ""
    line = one_error_line(stderr)
    assert ("interrupted" if signum == signal.SIGINT else "terminated") in line and str(out) in line
    assert out.read_bytes() == OLD and leftovers(tmp_path) == []


def test_ctrl_c_while_computing(tmp_path):
    out = tmp_path / "report"
    proc = cli("check", "--no-pdf", "--out", str(out))
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the run finished before the signal")
    assert proc.returncode == 130
    assert "interrupted (Ctrl-C)" in one_error_line(stderr)
    assert not out.exists() and leftovers(tmp_path) == []


def test_ctrl_c_while_starting(tmp_path):
    """Ctrl-C during the seconds of importing geopandas/numba is one line and 130 too."""
    out = tmp_path / "circles.gpkg"
    proc = cli("circles", "--out", str(out))
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "interrupted (Ctrl-C)" in one_error_line(stderr)
    assert not out.exists() and leftovers(tmp_path) == []
