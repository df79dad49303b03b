"""PDF of the filed report: the same HTML printed to A4 by headless Chromium, offline.

The report's print CSS (``@page { size: A4 }``, a page break before every section, images at
most the page width) lays the pages out; Chromium only prints. Without a Chromium the report is
written without a PDF and :func:`write_pdf` says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: Browsers tried in order; ``COVERAGE_CHROMIUM`` names the one to use instead (and only that one).
CHROMIUM_CANDIDATES: tuple[str, ...] = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "chrome")
#: Seconds Chromium may take to print one report.
PRINT_TIMEOUT_S: float = 120.0


def find_chromium() -> str | None:
    """Path of a Chromium-like browser, or None."""
    override = os.environ.get("COVERAGE_CHROMIUM")
    for candidate in (override,) if override else CHROMIUM_CANDIDATES:
        found = shutil.which(candidate) if not os.path.isabs(candidate) else (candidate if os.access(candidate, os.X_OK) else None)
        if found:
            return found
    return None


def write_pdf(html_file: Path, pdf_file: Path) -> str | None:
    """Print ``html_file`` to ``pdf_file`` (A4); return None when written, else why not (one line).

    The browser runs headless, without network access to anything but the local file, in a
    throw-away profile folder.
    """
    browser = find_chromium()
    if browser is None:
        return "no PDF: no Chromium found (install Debian's chromium, or set COVERAGE_CHROMIUM)"
    with tempfile.TemporaryDirectory(prefix="coverage-pdf-") as profile:
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions", "--no-first-run",
            f"--user-data-dir={profile}", "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
            "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            f"--print-to-pdf={pdf_file}", html_file.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PRINT_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"no PDF: Chromium failed ({type(exc).__name__})"
    if done.returncode != 0 or not pdf_file.is_file() or pdf_file.stat().st_size == 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        pdf_file.unlink(missing_ok=True)
        return f"no PDF: Chromium exited with status {done.returncode} ({last})"
    return None
