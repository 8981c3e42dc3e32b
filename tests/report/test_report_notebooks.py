"""The notebooks execute on fixture results (in a copy: the committed ones keep their
outputs)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from dcbench.report.notebooks import execute_notebook  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
NAMES = ["01-condensation.ipynb", "02-continual.ipynb", "03-nas.ipynb"]


def test_all_notebooks_are_tested() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes(name: str, fixture_results: Path, tmp_path: Path) -> None:
    copy = tmp_path / name
    shutil.copy(NOTEBOOKS / name, copy)
    nb = execute_notebook(copy, fixture_results, timeout=120, inplace=True)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    printed = "".join(o.get("text", "") for o in outputs)
    assert f"results: {os.path.relpath(fixture_results.resolve(), tmp_path)}" in printed
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    tables = [o for o in outputs if "text/markdown" in o.get("data", {})]
    assert images and tables
    assert "not yet run" not in "".join(o["data"]["text/markdown"] for o in tables
                                        if name != "01-condensation.ipynb")
