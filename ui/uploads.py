"""Uploaded files: checked, saved under a temporary folder named by their content, zips unpacked safely.

Every problem is raised as an :class:`~layers.errors.InputError` whose message a planner can act on
(file type, size, an unsafe or empty zip); the page shows it and keeps the last good result.
Files are stored as ``<temp>/elderly-circles-uploads/<role>/<sha256 prefix>/<name>``, so the same
bytes always give the same path, and the cached analysis is keyed by content, not by upload time.
Each save marks its folder as used and prunes the others: folders unused for
:data:`UPLOAD_MAX_AGE_S`, then the least recently used ones while all of them together exceed
:data:`UPLOAD_MAX_TOTAL_BYTES` (a server left running does not fill its disk).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from layers.defaults import MAX_COMPRESSION_RATIO, MAX_UPLOAD_MB, UPLOAD_MAX_AGE_S, UPLOAD_MAX_TOTAL_BYTES
from layers.errors import EmptyLayerError, InputError, UnsupportedFileError

MAX_UPLOAD_BYTES: int = MAX_UPLOAD_MB * 1024 * 1024
#: Largest total size of a zip's members once unpacked, in bytes (guards against zip bombs): the
#: upload limit itself, so a zip never puts more on disk than an unzipped upload could.
MAX_UNZIPPED_BYTES: int = MAX_UPLOAD_BYTES
#: Members smaller than this (bytes, unpacked) are not held to the ratio (tiny files compress oddly).
RATIO_MIN_BYTES: int = 1024 * 1024
#: Bytes copied at a time while unpacking (the running total is checked after each).
UNZIP_CHUNK_BYTES: int = 1024 * 1024

#: Accepted file name endings per input role (checked on the lower-case name).
ROLE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "network": (".osm.pbf", ".pbf", ".osm"),
    "facilities": (".csv", ".gpkg", ".geojson", ".json", ".zip"),
    "population": (".tif", ".tiff", ".gpkg", ".geojson", ".json", ".zip"),
    "districts": (".gpkg", ".geojson", ".json", ".zip"),
    "townships": (".gpkg", ".geojson", ".json", ".zip"),
    "villages": (".gpkg", ".geojson", ".json", ".zip"),
    "batch_summary": (".gpkg", ".parquet", ".csv"),  # ui/tab_batch.py: a batch's summary files
}
#: Extensions for Streamlit's ``file_uploader(type=...)`` (it compares the last suffix only).
UPLOADER_TYPES: dict[str, list[str]] = {
    role: sorted({suffix.rsplit(".", 1)[-1] for suffix in suffixes}) for role, suffixes in ROLE_SUFFIXES.items()
}
#: Layer files looked for inside a zip, in order of preference.
ZIP_LAYER_SUFFIXES: tuple[str, ...] = (".shp", ".gpkg", ".geojson", ".json", ".tif", ".tiff")

UPLOAD_ROOT_NAME = "elderly-circles-uploads"


def upload_root() -> Path:
    """Folder under the system temporary directory where uploads are kept."""
    return Path(tempfile.gettempdir()) / UPLOAD_ROOT_NAME


def content_hash(data: bytes) -> str:
    """SHA-256 of the bytes, hex."""
    return hashlib.sha256(data).hexdigest()


def safe_file_name(name: str) -> str:
    """The last part of an uploaded file's name, with only harmless characters (keeps suffixes)."""
    base = PureWindowsPath(PurePosixPath(name.replace("\\", "/")).name).name
    base = re.sub(r"[^\w.\-]+", "_", base, flags=re.UNICODE).strip("._") or "upload"
    return base[-120:]


def check_upload(name: str, size: int, role: str) -> None:
    """Raise :class:`InputError` when an upload has the wrong type for ``role`` or is too large.

    Parameters
    ----------
    name : str
        File name as uploaded.
    size : int
        Size in bytes.
    role : {"network", "facilities", "population"}
    """
    suffixes = ROLE_SUFFIXES[role]
    if not name.lower().endswith(suffixes):
        msg = f"this file type is not read as {role}; use {', '.join(suffixes)}"
        raise UnsupportedFileError(msg, file=name, layer=role)
    if size > MAX_UPLOAD_BYTES:
        msg = (
            f"the file is {size / 1024 / 1024:.0f} MB, over the {MAX_UPLOAD_MB} MB limit; "
            "clip it to the study area first (e.g. osmium extract --bbox for OSM files)"
        )
        raise InputError(msg, file=name, layer=role)
    if size == 0:
        raise EmptyLayerError("the file is empty (0 bytes)", file=name, layer=role)


def _unsafe_member(member: zipfile.ZipInfo) -> str | None:
    """Why a zip member may not be unpacked (absolute path, '..', drive, link), or ``None``."""
    name = member.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "a '..' path component"
    mode = member.external_attr >> 16
    if (mode & 0o170000) == 0o120000:
        return "a symbolic link"
    return None


def _member_label(name: str) -> str:
    """A zip member's name for messages, shortened in the middle when very long."""
    return name if len(name) <= 120 else f"{name[:50]}…{name[-60:]}"


def _check_member_sizes(members: list[zipfile.ZipInfo], label: str) -> None:
    """Refuse a zip by its headers: declared total over the cap, or a member compressed too well."""
    total = sum(m.file_size for m in members)
    if total > MAX_UNZIPPED_BYTES:
        msg = (
            f"the zip unpacks to {total / 1024 / 1024:.0f} MB, over the {MAX_UNZIPPED_BYTES // 1024 // 1024} MB "
            "limit of an upload; refusing to unpack this zip"
        )
        raise InputError(msg, file=label)
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= RATIO_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            msg = (
                f"the zip member '{_member_label(member.filename)}' unpacks {ratio:.0f}× its packed size "
                f"(more than {MAX_COMPRESSION_RATIO:.0f}×: a zip bomb?); refusing to unpack this zip"
            )
            raise InputError(msg, file=label)


def _copy_member(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: int, label: str
) -> int:
    """Copy one member in chunks, counting bytes; stop at its declared size or the budget.

    Returns the bytes written. The headers are not trusted: a member that yields more than it
    declares, or more than ``budget`` bytes, stops the copy with an :class:`InputError`.
    """
    name = _member_label(member.filename)
    limit = min(member.file_size, budget)
    written = 0
    with archive.open(member) as source, target.open("wb") as sink:
        while chunk := source.read(min(UNZIP_CHUNK_BYTES, limit - written + 1)):
            written += len(chunk)
            if written > limit:
                if written > member.file_size:
                    msg = f"the zip member '{name}' holds more than its header declares; refusing to unpack this zip"
                else:
                    msg = (
                        f"the zip unpacks to more than the {MAX_UNZIPPED_BYTES // 1024 // 1024} MB limit of an "
                        f"upload (at member '{name}'); refusing to unpack this zip"
                    )
                raise InputError(msg, file=label)
            sink.write(chunk)
    return written


def safe_extract_zip(zip_path: Path, dest: Path, *, display_name: str | None = None) -> list[Path]:
    """Unpack a zip into ``dest``, refusing any member that could land outside it or blow up.

    Parameters
    ----------
    zip_path : Path
        The zip file.
    dest : Path
        Folder to unpack into (created; removed again when unpacking fails).
    display_name : str, optional
        Name used in error messages (the uploaded name rather than the temporary path).

    Returns
    -------
    list of Path
        The unpacked files.

    Raises
    ------
    InputError
        Every failure, naming the member where there is one: not a zip; a member with an absolute
        path, ``..``, a drive letter or a symbolic link (nothing unpacked); declared sizes over
        :data:`MAX_UNZIPPED_BYTES` in all or a member packed more than :data:`MAX_COMPRESSION_RATIO`
        times (nothing unpacked); a member yielding more bytes than declared or the running total
        passing the cap while copying (stopped at once); a member that cannot be written (name too
        long, disk full, ...) or a damaged member.
    """
    label = display_name or zip_path.name
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"not a readable zip file ({exc})", file=label) from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        for member in archive.infolist():
            reason = _unsafe_member(member)
            if reason:
                msg = f"the zip member '{_member_label(member.filename)}' has {reason}; refusing to unpack this zip"
                raise InputError(msg, file=label)
        _check_member_sizes(members, label)
        try:
            return _extract_members(archive, members, dest, label)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)  # never leave a half-unpacked zip behind
            raise


def _extract_members(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], dest: Path, label: str) -> list[Path]:
    """Copy the checked members under ``dest``; every failure is an :class:`InputError` naming the member."""
    try:
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
    except OSError as exc:
        raise InputError(f"cannot create the folder to unpack into ({exc.strerror or exc})", file=label) from None
    out = []
    budget = MAX_UNZIPPED_BYTES
    for member in members:
        name = _member_label(member.filename)
        try:
            target = (root / member.filename.replace("\\", "/")).resolve()
            if not target.is_relative_to(root):  # belt and braces after the checks above
                raise InputError(f"the zip member '{name}' points outside the folder", file=label)
            target.parent.mkdir(parents=True, exist_ok=True)
            budget -= _copy_member(archive, member, target, budget, label)
        except InputError:
            raise
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
            raise InputError(f"the zip member '{name}' cannot be unpacked: the zip is damaged or unsupported ({exc})", file=label) from None
        except OSError as exc:
            reason = exc.strerror or str(exc)
            msg = f"the zip member '{name}' cannot be written ({reason}); shorten its folder names or re-pack the zip"
            raise InputError(msg, file=label) from None
        out.append(target)
    return out


def layer_in_zip(files: list[Path], *, display_name: str) -> Path:
    """The one layer file among unpacked zip members (a Shapefile's ``.shp``, or a GeoPackage, ...).

    Raises
    ------
    InputError
        No layer file, or several of the preferred kind.
    """
    for suffix in ZIP_LAYER_SUFFIXES:
        found = sorted(f for f in files if f.name.lower().endswith(suffix) and not f.name.startswith("._"))
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(f.name for f in found[:5])
            msg = f"the zip holds several {suffix} layers ({names}); put one layer in each zip"
            raise InputError(msg, file=display_name)
    msg = "the zip holds no layer: expected a Shapefile (.shp with .shx, .dbf and .prj) or a GeoPackage"
    raise EmptyLayerError(msg, file=display_name)


@dataclass(frozen=True)
class SavedUpload:
    """An upload on disk: the path to read, the name the user gave, its content hash."""

    path: Path
    name: str
    sha256: str


def save_upload(name: str, data: bytes, role: str, root: Path | None = None) -> SavedUpload:
    """Check an uploaded file and write it under ``root`` (default :func:`upload_root`).

    Zips are unpacked safely and the layer inside is returned as the path to read.

    Parameters
    ----------
    name : str
        The file name as uploaded.
    data : bytes
        Its content.
    role : {"network", "facilities", "population"}
    root : Path, optional
        Base folder (tests pass a temporary one).

    Raises
    ------
    InputError
        Wrong type, too large, empty, or a bad zip (see :func:`safe_extract_zip`).
    """
    check_upload(name, len(data), role)
    digest = content_hash(data)
    folder = (root or upload_root()) / role / digest[:24]
    path = folder / safe_file_name(name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.stat().st_size != len(data):
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)
    except OSError as exc:
        msg = f"the upload cannot be saved on the server ({exc.strerror or exc}); try again or free disk space"
        raise InputError(msg, file=name, layer=role) from None
    if path.name.lower().endswith(".zip"):
        files = safe_extract_zip(path, folder / "unzipped", display_name=name)
        path = layer_in_zip(files, display_name=name)
    os.utime(folder)  # used now: the last to be pruned
    prune_uploads(root or upload_root(), keep=folder)
    return SavedUpload(path=path, name=name, sha256=digest)


def prune_uploads(
    root: Path,
    *,
    keep: Path | None = None,
    max_age_s: float = UPLOAD_MAX_AGE_S,
    max_total_bytes: int = UPLOAD_MAX_TOTAL_BYTES,
    now: float | None = None,
) -> list[Path]:
    """Delete saved uploads (``root/<role>/<digest>/`` folders) unused for ``max_age_s`` seconds,
    then the least recently used while all together exceed ``max_total_bytes``; never ``keep``.

    "Used" is the folder's modification time, set by :func:`save_upload`. Another session may be
    pruning at the same time, so a folder that vanishes meanwhile is skipped. Returns the deleted
    folders.
    """
    now = time.time() if now is None else now
    folders = []
    for folder in root.glob("*/*"):
        try:
            if folder.is_dir():
                size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
                folders.append((folder.stat().st_mtime, size, folder))
        except OSError:  # deleted by another session meanwhile
            continue
    total = sum(size for _, size, _ in folders)
    deleted = []
    for used, size, folder in sorted(folders, key=lambda item: item[0]):  # least recently used first
        if now - used <= max_age_s and total <= max_total_bytes:
            break
        if folder == keep:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        total -= size
        deleted.append(folder)
    return deleted
