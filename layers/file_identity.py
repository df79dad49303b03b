"""Refuse the same input file given twice (same path, another path to it, or a byte-identical copy).

``--population a.tif a.tif``, ``--population data/a.tif ./data/../data/a.tif`` or two overlapping
shell globs would add a raster to itself and double the population. :func:`refuse_duplicates`
compares resolved paths (symbolic links and ``..`` followed), then the SHA-256 of the files of
equal size (only those are hashed, in 1 MiB chunks, so distinct rasters cost nothing).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from layers.errors import InputError

#: Bytes read at a time while hashing.
CHUNK_BYTES = 1 << 20


def sha256_of(file: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def refuse_duplicates(files: Sequence[Path], *, option: str) -> None:
    """Raise :class:`InputError` naming both paths when two of ``files`` are the same data.

    Parameters
    ----------
    files : sequence of Path
        Existing files.
    option : str
        The command-line flag they were given with (``"--population"``), for the message.
    """
    seen: dict[Path, Path] = {}
    for file in files:
        real = file.resolve()
        if real in seen:
            first = seen[real]
            if str(first) == str(file):
                msg = f"the same file is given twice to {option}: it would be counted twice; give each file once"
            else:
                msg = (
                    f"'{first}' and '{file}' given to {option} are the same file: it would be counted twice; "
                    "give each file once"
                )
            raise InputError(msg, file=file)
        seen[real] = file
    by_size: dict[int, list[Path]] = defaultdict(list)
    for file in files:
        by_size[file.stat().st_size].append(file)
    for group in by_size.values():
        if len(group) < 2:
            continue
        by_hash: dict[str, Path] = {}
        for file in group:
            digest = sha256_of(file)
            if digest in by_hash:
                msg = (
                    f"'{by_hash[digest]}' and '{file}' given to {option} have identical contents "
                    f"(SHA-256 {digest[:12]}…): it would be counted twice; give each file once"
                )
                raise InputError(msg, file=file)
            by_hash[digest] = file
