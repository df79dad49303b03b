"""The loaded extract's land use, water and buildings, read once per file (``st.cache_data``).

Keyed by the file's identity (resolved path, size in bytes, modification time in ns): an upload is
saved under a folder named by its content hash, the embedded extracts never change, so a rerun, a
minutes change or a what-if click never reads the file again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from coverage.pipeline import Inputs
from layers.errors import InputError
from layers.osm_context import OsmContext, read_osm_context

LOG = logging.getLogger(__name__)
#: Network files that hold OSM land use, water and buildings.
OSM_SUFFIXES: tuple[str, ...] = (".pbf", ".osm", ".xml")


@st.cache_data(show_spinner=False, max_entries=8)
def _context(path: str, size: int, mtime_ns: int) -> OsmContext:  # size and mtime_ns: part of the cache key
    return read_osm_context(path)


def extract_context(inputs: Inputs) -> OsmContext | None:
    """The context layers of the network file when it is an OSM extract, else ``None``.

    A file that cannot be read for them gives ``None`` too (the basemap is display only: the
    streets are still drawn, and the analysis read the file already).
    """
    path = inputs.network_path
    if path is None:
        return None
    file = Path(path)
    if not file.is_file() or not file.name.lower().endswith(OSM_SUFFIXES):
        return None
    stat = file.stat()
    try:
        return _context(str(file.resolve()), stat.st_size, stat.st_mtime_ns)
    except InputError:
        LOG.warning("no land use, water or buildings drawn from %s", file.name, exc_info=True)
        return None
