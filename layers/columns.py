"""Finding a column by any of its accepted names (English or Chinese, any case)."""

from __future__ import annotations

from collections.abc import Sequence


def find_column(columns: Sequence[object], aliases: Sequence[str]) -> str | None:
    """Return the first column whose name (stripped, case-insensitive) is one of ``aliases``.

    ``aliases`` are tried in order, so the preferred name goes first; ``None`` when none matches.
    """
    lower = {str(c).strip().lower(): c for c in columns}
    for alias in aliases:
        if alias.lower() in lower:
            return lower[alias.lower()]
    return None
