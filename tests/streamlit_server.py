"""The app (`python -m ui.launch`, Streamlit serving app.py) on a free local port for the browser tests, always stopped afterwards."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from ui.launch import background_app


@contextmanager
def streamlit_app(*, start_s: float = 60, log_prefix: str = "streamlit-") -> Iterator[str]:
    """Start the app as a planner does (:func:`ui.launch.background_app`), yield its URL, stop it."""
    log = tempfile.NamedTemporaryFile(prefix=log_prefix, suffix=".log", delete=False)
    try:
        with background_app(log, start_s=start_s, cwd=PROJECT_ROOT) as url:
            yield url
    except RuntimeError as error:
        pytest.fail(str(error))
    finally:
        log.close()
        Path(log.name).unlink(missing_ok=True)
