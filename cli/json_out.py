"""The one-line ``--json`` summaries: strict JSON, never ``NaN`` or ``Infinity``.

Python's :func:`json.dumps` writes ``NaN``/``Infinity`` for non-finite floats by default, which
is not JSON (``jq``, JavaScript and most parsers reject the line). :func:`dumps` replaces every
non-finite number with ``null`` (an unknown value, as elsewhere in the summaries) and then refuses
any that slipped through (``allow_nan=False``). Keys are never renamed or removed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def finite(value: Any) -> Any:
    """Return ``value`` with numpy scalars made Python and non-finite floats made ``None`` (recursively)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    if isinstance(value, np.ndarray):
        return [finite(item) for item in value.tolist()]
    return value


def dumps(summary: Mapping[str, Any]) -> str:
    """One line of strict JSON (UTF-8 text kept as is) for a ``--json`` summary."""
    return json.dumps(finite(summary), ensure_ascii=False, allow_nan=False)
