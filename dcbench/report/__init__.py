"""Tables, figures and the reproduction table, built from result files.

Notebooks and ``dcbench report`` call these functions; no analysis lives elsewhere.

* loading: :func:`load_runs` (any runs as a DataFrame), :func:`load_evaluations`,
  :func:`load_condense`, :func:`continual_steps`, :func:`continual_summary`,
  :func:`nas_candidates`, :func:`nas_rows`;
* tables (``.markdown()``, ``.latex()``): :func:`table1`, :func:`table1_tables`,
  :func:`cross_arch_table`, :func:`continual_table`, :func:`nas_table`,
  :func:`reproducibility_table`;
* figures (matplotlib Figures; :func:`save_figure` writes PNG + PDF):
  :func:`synthetic_grid_figure`, :func:`accuracy_vs_time_figure`, :func:`continual_figure`,
  :func:`nas_scatter_figure`;
* everything at once: :func:`build_report`.
"""

from dcbench.report.build import build_report
from dcbench.report.condensation import (
    aggregate,
    cross_arch_table,
    table1,
    table1_frame,
    table1_tables,
)
from dcbench.report.continual import continual_steps, continual_summary, continual_table
from dcbench.report.evaluations import load_condense, load_evaluations
from dcbench.report.figures import (
    accuracy_vs_time_figure,
    continual_figure,
    nas_scatter_figure,
    save_figure,
    show,
    synthetic_grid_figure,
)
from dcbench.report.nas import nas_candidates, nas_ranking, nas_rows, nas_table
from dcbench.report.render import Table
from dcbench.report.reproducibility import reproducibility_table
from dcbench.report.runs import check_run, discover_runs, load_runs, read_run

__all__ = [
    "Table",
    "accuracy_vs_time_figure",
    "aggregate",
    "build_report",
    "check_run",
    "continual_figure",
    "continual_steps",
    "continual_summary",
    "continual_table",
    "cross_arch_table",
    "discover_runs",
    "load_condense",
    "load_evaluations",
    "load_runs",
    "nas_candidates",
    "nas_ranking",
    "nas_rows",
    "nas_scatter_figure",
    "nas_table",
    "read_run",
    "reproducibility_table",
    "save_figure",
    "show",
    "synthetic_grid_figure",
    "table1",
    "table1_frame",
    "table1_tables",
]
