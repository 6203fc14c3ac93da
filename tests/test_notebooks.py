"""Every notebook in notebooks/ runs top to bottom, headless, on a sample lake built here.

The notebooks run with nbclient in a kernel of this interpreter (a kernelspec installed in a
temp dir, so a user's or system's "python3" kernelspec cannot point elsewhere), in the
notebooks folder, with ``DICOMLAKE_LAKE`` set to a copy of the session's sample lake; nothing is written back.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from ipykernel.kernelspec import install as install_kernelspec
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
KERNEL = "python3"
CELL_TIMEOUT = 240  # under the per-test timeout (pyproject)
FILTER_SUMMARY = re.compile(r"^\S+: \d+ lines? select [1-9]\d* stud(y|ies), \d+ series, \d+ instances?$", re.MULTILINE)


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_lake_copy: Path) -> Path:
    """Kernelspec KERNEL → sys.executable (JUPYTER_PATH is searched first), lake, and a private TMPDIR."""
    prefix = tmp_path / "jupyter"
    install_kernelspec(prefix=str(prefix), kernel_name=KERNEL)
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    assert KernelSpecManager().get_kernel_spec(KERNEL).argv[0] == sys.executable
    lake = sample_lake_copy.resolve()
    monkeypatch.setenv("DICOMLAKE_LAKE", str(lake))
    tmp = tmp_path / "tmp"  # the notebooks' own temp folders (filter files) land here
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    return lake


def _outputs(nb: Any) -> Iterator[Any]:
    for cell in nb.cells:
        if cell.cell_type == "code":
            yield from cell.outputs


def _folder_state() -> dict[str, int]:
    return {str(p.relative_to(NOTEBOOKS_DIR)): p.stat().st_mtime_ns for p in NOTEBOOKS_DIR.rglob("*")}


def test_explore_notebook_is_there() -> None:
    assert NOTEBOOKS_DIR / "explore.ipynb" in NOTEBOOKS
    assert NOTEBOOKS_DIR / "review.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_saved_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code), "clear the outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, kernel_env: Path) -> None:
    before = _folder_state()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name=KERNEL, resources={"metadata": {"path": str(NOTEBOOKS_DIR)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error

    outputs = list(_outputs(nb))
    assert not [o for o in outputs if o.output_type == "error"]
    assert _folder_state() == before, "running the notebook changed the notebooks folder"

    if path.name == "explore.ipynb":
        pngs = [o for o in outputs if "image/png" in o.get("data", {})]
        assert len(pngs) >= 2, f"expected the plots, got {len(pngs)} images"
        text = "".join(o.text for o in outputs if o.output_type == "stream")
        assert FILTER_SUMMARY.search(text), f"no filter-file summary printed:\n{text[-2000:]}"
        shown = text + "".join(o.get("data", {}).get("text/plain", "") for o in outputs)
        assert str(kernel_env) in shown, "the notebook did not open the lake given by DICOMLAKE_LAKE"
        assert "no lake at" not in text
    if path.name == "review.ipynb":
        _check_review(outputs, kernel_env)


def _check_review(outputs: list[Any], lake: Path) -> None:
    """The review shows the plan and markers, verify's result, before/after, the redaction
    gallery and the plots of what changed."""
    text = "".join(o.text for o in outputs if o.output_type == "stream")
    shown = text + "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert f"reviewing store 'sample' of {lake}" in text, text[:2000]
    assert re.search(r"^PatientIdentityRemoved: (YES|NO)$", text, re.MULTILINE), text[:2000]
    assert "113100  Basic Application Confidentiality Profile" in text
    assert re.search(r"^sample -> sample: [1-9]\d* written, 0 failed", text, re.MULTILINE), text[:2000]
    assert re.search(r"^no identifying values of .* found in [1-9]\d* files", text, re.MULTILINE), text[:3000]
    assert re.search(r"^[1-9]\d* instances paired by the crosswalk$", text, re.MULTILINE)
    assert "PatientName_after" in shown and "PLACEHOLDER" in shown  # before/after, side by side
    previews = re.findall(r"^(\w+): (\d+) words read, (\d+) redacted$", text, re.MULTILINE)
    assert len(previews) == 3 and all(int(r) >= 1 for _, _, r in previews), previews  # text was found and boxed
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) >= 3, f"expected the gallery and two plots, got {len(pngs)} images"
    assert all(len(o["data"]["image/png"]) > 5000 for o in pngs)  # drawn, not empty figures
