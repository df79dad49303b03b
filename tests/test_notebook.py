"""``examples/quickstart.ipynb`` runs from top to bottom (nbclient) on the embedded default."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "examples" / "quickstart.ipynb"
#: The notebook promises the whole job in under this many lines of code.
MAX_CODE_LINES = 15


def code_lines(notebook) -> list[str]:
    return [
        line
        for cell in notebook.cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


def test_the_quickstart_runs_and_shows_a_map():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    from jupyter_client.manager import KernelManager

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert len(code_lines(notebook)) < MAX_CODE_LINES
    kernel = notebook.metadata["kernelspec"]["name"]
    # the kernel must be this venv's interpreter (a fresh venv has only its own "python3" spec)
    command = KernelManager(kernel_name=kernel).format_kernel_cmd()
    assert Path(command[0]).resolve() == Path(sys.executable).resolve(), command
    client = nbclient.NotebookClient(
        notebook, kernel_name=kernel, timeout=900, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "of residents live within a 15-minute walk" in text
    share = float(text.split("%")[0].split()[-1])
    assert 0 < share < 100
    html = [o["data"]["text/html"] for o in outputs if o.output_type == "execute_result" and "text/html" in o.get("data", {})]
    assert any("folium" in page or "leaflet" in page.lower() for page in html), "the last cell shows a folium map"
    rules = [o["data"]["text/plain"] for o in outputs if o.output_type == "execute_result" and "text/plain" in o.get("data", {})]
    assert any("'W1'" in r and "'passed'" in r for r in rules), "the checks cell shows counts per rule"
