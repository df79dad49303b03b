"""Writing results without ever destroying anything: locks, temporary names, one-line failures.

Every output of ``python -m coverage`` (the ``circles``/``sites`` GeoPackage, the ``check`` report
folder) is written the same way:

1. ``--out`` is checked before any work starts (:mod:`cli.output_guard`): not an input, not a
   folder where a file is wanted, no file on its parent path.
2. At write time a lock is taken on ``.NAME.lock`` beside ``--out`` (``fcntl.flock``, exclusive,
   blocking), so concurrent runs on the same ``--out`` write one after the other. The lock file
   is removed on release (safely: see :func:`output_lock`).
3. Under the lock, temporaries that an earlier run killed by SIGTERM/SIGKILL left behind are
   removed: only names of this tool's own pattern for that output (``.STEM-partial-XXXXXXXX``
   + suffix, plus their SQLite ``-journal``/``-wal``/``-shm`` sidecars, and the older
   ``tempfile`` form ``.STEM-XXXXXXXX.gpkg``). No running writer can own them: writers hold the lock.
4. The result is written to a fresh temporary name beside ``--out`` (same file system) and moved
   into place in one ``os.replace`` (files) or one ``renameat2(RENAME_EXCHANGE)`` (folders, see
   :mod:`coverage.folder_swap`). Any failure or Ctrl-C removes the temporary; ``--out`` keeps its
   old content.

Failures of the write itself become :class:`WriteError` (the environment refused: permission,
disk full, I/O; exit status 1) or :class:`OutputPathError` (the path given cannot be written
as asked: ``--out`` is a folder, its parent is a file, its name is too long; exit status 2).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from layers.errors import InputError

#: Tag in the name of every temporary this tool writes beside an output.
TEMP_TAG = "partial"
#: Exit status for an environment failure while writing (permission, disk full, I/O error).
EXIT_WRITE_FAILURE = 1

#: errno values that mean the path given is unusable as asked (an argument problem, exit 2).
_PATH_ERRNOS = {errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP}
#: errno values that explain a failed write when found behind another library's error.
_CAUSE_ERRNOS = _PATH_ERRNOS | {
    errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM, errno.EROFS, errno.EIO,
}


class OutputPathError(InputError):
    """``--out`` cannot be used as given (is an input, a folder, under a file, not this tool's)."""


class WriteError(Exception):
    """The environment refused to let the result be written (permission, disk full, I/O).

    Parameters
    ----------
    path : Path
        The output being written.
    reason : str
        Why, in words (``Permission denied``, ``No space left on device``, ...).
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot write '{self.path}': {reason}; nothing was changed there")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = " ".join(str(exc).split())
    return text[:300] or type(exc).__name__


def _path_error(out: Path, exc: OSError, flag: str) -> OutputPathError:
    detail = {
        errno.EISDIR: "is a folder, not a file",
        errno.ENOTDIR: "has a file where a folder is needed on its path",
        errno.ENAMETOOLONG: "has a name too long for the file system",
        errno.ELOOP: "has too many symbolic links on its path",
    }[exc.errno]
    return OutputPathError(f"{flag} '{out}' {detail}")


@contextmanager
def write_errors(out: str | Path, flag: str = "--out") -> Iterator[None]:
    """Turn any failure of writing ``out`` into :class:`OutputPathError` or :class:`WriteError`.

    OSError with EISDIR/ENOTDIR/ENAMETOOLONG/ELOOP is a path problem (exit 2); any other OSError,
    and any error a writer library raises (pyogrio/GDAL ``No space left on device``, SQLite
    ``database or disk is full``, openpyxl, ...) is an environment failure (exit 1).
    ``KeyboardInterrupt`` and this module's own errors pass through unchanged.
    """
    out = Path(out)
    try:
        yield
    except (OutputPathError, WriteError):
        raise
    except Exception as exc:  # GDAL/SQLite/openpyxl errors name the cause only in their text
        cause = _first_os_error(exc)
        if cause is not None and cause.errno in _PATH_ERRNOS:
            raise _path_error(out, cause, flag) from None
        raise WriteError(out, _reason(cause or exc)) from None


def _first_os_error(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc``: itself, or a root cause a writer's clean-up raised over.

    openpyxl closing a workbook after a failed sheet says "At least one sheet must be visible"
    over the real "No space left on device"; only causes that explain a failed write (disk full,
    permission, I/O, path errors) are taken from the chain, never an unrelated handled error.
    """
    if isinstance(exc, OSError):
        return exc
    found = None
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _CAUSE_ERRNOS:
            found = current
        current = current.__cause__ or current.__context__
    return found


def temp_pattern(out: Path) -> re.Pattern[str]:
    """Names of this tool's temporaries for ``out`` (and the older ``tempfile`` form for files)."""
    stem = re.escape(out.stem)
    suffix = re.escape(out.suffix)
    own = rf"\.{stem}-(?:{TEMP_TAG}|previous)-[a-z0-9]{{8}}{suffix}"
    legacy = rf"\.{stem}-[a-z0-9_]{{8}}{suffix}" if out.suffix else r"(?!)"
    return re.compile(rf"^(?:{own}|{legacy})(?:-journal|-wal|-shm)?$")


def temp_path(out: Path, kind: str = TEMP_TAG) -> Path:
    """A fresh name beside ``out``: ``.STEM-partial-XXXXXXXX`` + ``out``'s suffix."""
    return out.with_name(f".{out.stem}-{kind}-{secrets.token_hex(4)}{out.suffix}")


def lock_path(out: Path) -> Path:
    """The lock file of ``out``: ``.NAME.lock`` beside it."""
    return out.with_name(f".{out.name}.lock")


@contextmanager
def output_lock(out: str | Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``.NAME.lock`` beside ``out`` (waits for other writers).

    The lock file is removed on release, while still locked; a waiter that then gets the lock
    on the removed file sees that the name now points elsewhere (or nowhere) and tries again,
    so two runs never hold "the" lock at once and no lock file is left behind.
    """
    path = lock_path(Path(out))
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)  # closing releases the lock


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_stale_temps(out: str | Path, keep: Callable[[Path], bool] = lambda p: False) -> list[Path]:
    """Remove temporaries of ``out`` that killed runs left behind; return what was removed.

    Call only while holding :func:`output_lock`: every writer holds it while its temporaries
    exist, so any match is an orphan. ``keep`` spares names the caller still needs.
    """
    out = Path(out)
    pattern = temp_pattern(out)
    removed = []
    try:
        siblings = list(out.parent.iterdir())
    except FileNotFoundError:
        return removed
    for path in siblings:
        if pattern.match(path.name) and not keep(path):
            _remove(path)
            removed.append(path)
    return removed


def probe_writable(out: str | Path, flag: str = "--out") -> None:
    """Fail early (before any work) when ``out``'s folder cannot take new files.

    Refuses a name too long for the file system once the temporary's or the lock's tag is
    added (exit 2). Creates an unnamed temporary file in the nearest existing folder on ``out``'s path and
    closes it at once (``O_TMPFILE`` on Linux: nothing is ever visible). A read-only or
    forbidden folder raises :class:`WriteError`; a full disk is only found at write time.
    """
    out = Path(out)
    folder = next((p for p in (out.parent, *out.parent.parents) if p.exists()), Path.cwd())
    with write_errors(out, flag):
        if not folder.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
        longest = max(len(os.fsencode(lock_path(out).name)), len(os.fsencode(temp_path(out, "previous").name)))
        if longest > os.pathconf(folder, "PC_NAME_MAX"):
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG), str(out))
        tempfile.TemporaryFile(dir=folder).close()


def check_file_target(out: Path, flag: str = "--out") -> None:
    """Refuse (exit 2) a file output that exists as a folder, device, pipe or socket."""
    if out.is_dir():
        raise OutputPathError(f"{flag} '{out}' is a folder, not a file")
    if out.exists() and not out.is_file():
        raise OutputPathError(f"{flag} '{out}' is a device, pipe or socket, not a regular file")


def prepare_parent(out: Path, flag: str = "--out") -> None:
    """Create ``out``'s parent folders (a file on the way is a path error, exit 2)."""
    with write_errors(out, flag):
        out.parent.mkdir(parents=True, exist_ok=True)


def write_file_atomically(out: str | Path, write: Callable[[Path], None], *, flag: str = "--out") -> Path:
    """Write a file through a temporary beside ``out`` renamed into place under the lock.

    Parameters
    ----------
    out : str or Path
        The file to (re)place. An existing folder there is refused (:class:`OutputPathError`).
    write : callable
        Writes the whole content to the temporary path it is given (which does not exist yet).
    flag : str
        The command-line flag that named ``out``, for messages.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    OutputPathError
        ``out`` is a folder, or a file stands where a parent folder is needed (exit 2).
    WriteError
        The environment refused the write (permission, disk full, I/O; exit 1). ``out`` is
        unchanged and no temporary is left.
    """
    out = Path(out)
    prepare_parent(out, flag)
    with write_errors(out, flag):
        check_file_target(out, flag)
    with write_errors(out, flag), output_lock(out):
        remove_stale_temps(out)
        tmp = temp_path(out)
        try:
            write(tmp)
            os.replace(tmp, out)
        finally:
            for leftover in (tmp, *(tmp.with_name(tmp.name + s) for s in ("-journal", "-wal", "-shm"))):
                leftover.unlink(missing_ok=True)
    return out
