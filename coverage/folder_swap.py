"""Replace an output folder (the ``check`` report) in one step, and only if this tool wrote it.

Choice: the new report is written to a fresh hidden sibling ``.NAME-partial-XXXXXXXX`` and then
swapped with ``--out`` by ``renameat2(RENAME_EXCHANGE)`` (Linux ≥ 3.15, called through ctypes):
one system call exchanges the two names, so at every instant ``--out`` is either the whole old
report or the whole new one, and ``--out`` stays a real folder (no symlink for users to trip
over, nothing to migrate). The old report, now under the sibling's name, is deleted afterwards;
if that deletion is interrupted the next run removes it (:func:`coverage.safe_write.remove_stale_temps`).
When ``--out`` does not exist yet, a plain ``rename`` puts the sibling in place (atomic as well).

Fallback (no ``renameat2`` in the C library, or a file system without RENAME_EXCHANGE): two
renames, ``--out`` → ``.NAME-previous-XXXXXXXX`` then sibling → ``--out``. An interruption between
them leaves ``--out`` missing for that instant only: the next run puts the previous report back
before anything else (:func:`restore_previous`).

Concurrent runs are serialised by :func:`coverage.safe_write.output_lock` on ``.NAME.lock``.
A folder is replaced only when it holds the marker file :data:`MARKER` (written into every report
this tool makes), is empty, or is a report of an earlier version of this tool (its file names
are all report files and ``report.html`` carries the report's title); anything else stops the run
with :class:`coverage.safe_write.OutputPathError` (exit 2) and is never touched.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from coverage import __version__
from coverage.safe_write import (
    OutputPathError,
    output_lock,
    prepare_parent,
    remove_stale_temps,
    temp_path,
    temp_pattern,
    write_errors,
)

#: Marker file in every folder this tool writes; only such folders are ever replaced.
MARKER = ".coverage-report"
#: Title in every ``report.html`` (recognises reports written before the marker existed).
REPORT_TITLE = "Elderly-care facility planning check"
_LEGACY_SUFFIXES = {".html", ".pdf", ".csv", ".xlsx", ".gpkg"}

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
#: errno values meaning "this system/file system cannot exchange": use the two-rename fallback.
_NO_EXCHANGE = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}


def _renameat2():
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Swap the names ``a`` and ``b`` atomically; False when the system cannot (fallback needed)."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def is_own_folder(folder: Path) -> bool:
    """True when ``folder`` may be replaced: it holds :data:`MARKER`, is empty, or is an old report."""
    if (folder / MARKER).is_file():
        return True
    entries = list(folder.iterdir())
    if not entries:
        return True
    if any(not p.is_file() or p.suffix.lower() not in _LEGACY_SUFFIXES for p in entries):
        return False
    page = folder / "report.html"
    try:
        return page.is_file() and REPORT_TITLE in page.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return False


def check_replaceable(out: Path, flag: str = "--out") -> None:
    """Refuse (exit 2) an ``out`` that is a file, a symbolic link, or a folder this tool did not write."""
    if out.is_symlink():
        raise OutputPathError(f"{flag} '{out}' is a symbolic link; give the folder itself")
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"{flag} '{out}' is a file, not a folder")
    if out.is_dir() and not is_own_folder(out):
        raise OutputPathError(
            f"{flag} '{out}' exists and was not written by this tool (no {MARKER} inside); "
            "choose a new folder or remove it yourself",
        )


def restore_previous(out: Path) -> Path | None:
    """If an interrupted fallback swap left ``out`` missing, move the previous report back."""
    if out.exists() or out.is_symlink():
        return None
    pattern = temp_pattern(out)
    previous = [p for p in out.parent.glob(".*-previous-*") if pattern.match(p.name) and p.is_dir()]
    if not previous:
        return None
    newest = max(previous, key=lambda p: p.stat().st_mtime)
    os.rename(newest, out)
    return newest


def replace_folder(out: str | Path, fill: Callable[[Path], None], *, flag: str = "--out") -> Path:
    """Write a folder through a fresh sibling and swap it in as ``out`` in one step.

    Parameters
    ----------
    out : str or Path
        The folder to (re)place. An existing one must pass :func:`check_replaceable`.
    fill : callable
        Writes every file into the (existing, empty) folder it is given; :data:`MARKER` is added
        after it returns.
    flag : str
        The command-line flag that named ``out``, for messages.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    OutputPathError
        ``out`` is a file, a symbolic link, a folder not written by this tool, or under a file (exit 2).
    coverage.safe_write.WriteError
        The environment refused the write (exit 1); ``out`` is unchanged, no sibling is left.
    """
    out = Path(out)
    if not out.name or out.name in (".", ".."):
        raise OutputPathError(f"{flag} '{out}' does not name a folder")
    prepare_parent(out, flag)
    check_replaceable(out, flag)
    with write_errors(out, flag), output_lock(out):
        restore_previous(out)
        remove_stale_temps(out)
        check_replaceable(out, flag)  # again, under the lock: another run may have written meanwhile
        staging = temp_path(out)
        try:
            staging.mkdir()
            fill(staging)
            (staging / MARKER).write_text(f"written by python -m coverage {__version__}\n", encoding="utf-8")
            if not out.exists():
                os.rename(staging, out)
            elif not exchange(staging, out):
                previous = temp_path(out, "previous")
                os.rename(out, previous)
                os.rename(staging, out)
                shutil.rmtree(previous, ignore_errors=True)
            # after an exchange the old report sits under the staging name: removed below
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return out
