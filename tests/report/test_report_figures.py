"""Every figure function writes a non-empty PNG and PDF."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dcbench.report import (
    accuracy_vs_time_figure,
    continual_figure,
    continual_steps,
    load_condense,
    load_evaluations,
    nas_candidates,
    nas_ranking,
    nas_scatter_figure,
    save_figure,
    synthetic_grid_figure,
)
from dcbench.report.figures import set_mosaic


def _check(paths: list[Path]) -> None:
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    png, pdf = (p.read_bytes() for p in paths)
    assert png.startswith(b"\x89PNG") and len(png) > 1000
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000


@pytest.mark.parametrize("which", ["grid", "time", "continual", "nas"])
def test_figure_functions_write_images(which: str, fixture_results: Path, fixture_runs,
                                       tmp_path: Path) -> None:
    if which == "grid":
        fig = synthetic_grid_figure(load_condense(fixture_results), fixture_runs.dataset,
                                    "quick")
    elif which == "time":
        fig = accuracy_vs_time_figure(load_evaluations(fixture_results))
    elif which == "continual":
        fig = continual_figure(continual_steps(fixture_results))
    else:
        fig = nas_scatter_figure(nas_candidates(fixture_results), nas_ranking(fixture_runs.nas))
    _check(save_figure(fig, tmp_path, which))


def test_figures_without_data_still_render(tmp_path: Path) -> None:
    empty = pd.DataFrame(columns=["dataset", "preset", "method", "ipc"])
    for k, fig in enumerate([
        synthetic_grid_figure(empty, "mnist", "quick"),
        accuracy_vs_time_figure(load_evaluations(tmp_path)),
        continual_figure(continual_steps(tmp_path)),
        nas_scatter_figure(nas_candidates(tmp_path)),
    ]):
        paths = save_figure(fig, tmp_path, f"empty{k}")
        assert all(p.stat().st_size > 0 for p in paths)


def test_set_mosaic_puts_classes_in_columns(fixture_runs) -> None:
    img = set_mosaic(fixture_runs.sets["herding"], max_per_class=4)  # ipc 5
    # 3 classes of 16x16 images with 2-pixel padding: 3 columns, 4 rows
    assert img.shape == (2 + 4 * 18, 2 + 3 * 18, 3)
    assert 0.0 <= img.min() and img.max() <= 1.0
