"""The reproduction table: published numbers beside ours from real runs, with a verdict."""

from __future__ import annotations

import json
from pathlib import Path

from dcbench.report import load_evaluations, reproducibility_table
from dcbench.report.render import NOT_RUN, fmt_stat
from dcbench.report.reproducibility import Ours, verdict
from dcbench.results.stats import mean_std


def _rows(evals, root: Path) -> dict[tuple[str, str], list[str]]:
    return {(r[0], r[1]): r for r in reproducibility_table(evals, root).rows}


def _step_accuracies(run: Path, buffer: str, step: int) -> list[float]:
    """Accuracy after ``step`` (1-based) of every seed of one memory, from metrics.json."""
    seeds = json.loads((run / "metrics.json").read_text())["buffers"][buffer]["seeds"]
    return [u["average_accuracy"][step - 1] for u in seeds.values()]


def test_verdicts() -> None:
    assert verdict(None, 70.5, 0.6) == NOT_RUN
    assert verdict(Ours(71.0, 1.0, 3, "paper", []), 70.5, 0.6) == "reproduced"
    assert verdict(Ours(66.0, 0.5, 3, "paper", []), 70.5, 0.6) == "within 5 points (below)"
    assert verdict(Ours(73.2, 0.1, 3, "quick", []), 70.5, 0.1) == \
        "within 3 points (above), quick preset"
    # a wide spread counts: |53 - 51.4| < sqrt(3.8² + 2.6²)
    assert verdict(Ours(53.0, 2.6, 4, "paper", []), 51.4, 3.8) == "reproduced"
    assert verdict(Ours(0.5, None, 1, None, []), 0.79, tolerance=0.1, unit="",
                   digits=2).startswith("within 0.29")


def test_reproducibility_rows(fixture_results: Path, fixture_runs) -> None:
    rows = _rows(load_evaluations(fixture_results), fixture_results)
    assert len(rows) == 60 + 12 + 3 + 6 + 8 + 10  # DC Table 1, DSA and DM papers, ...
    assert rows[("DSA paper", "FashionMNIST, DSA, ipc 10")][2] == "84.6"
    # the toy runs are none of the paper's settings: no Table 1 or 2 number of ours
    assert rows[("Table 1", "FashionMNIST, Random, ipc 1")][3:] == [NOT_RUN, "", "", NOT_RUN]
    assert rows[("Table 2", "MNIST, DC ipc 1 → MLP")][6] == NOT_RUN
    # continual and NAS runs are shown beside the paper's, named as another setting
    cl = rows[("Continual (Fig. 4)", "DC without KD, after stage 2")]
    dc_step2 = _step_accuracies(fixture_runs.continual, "condensed", 2)
    assert cl[6] == "other setting"
    assert cl[3].startswith(f"{fmt_stat(*mean_std(dc_step2))} (other setting: "
                            f"{fixture_runs.dataset}, gdumb, run ")
    assert cl[4] == "n=2" and "dcbench run continual" in cl[5]
    herding = rows[("Continual (Fig. 4)", "Herding with KD, after stage 3")]
    assert herding[3].startswith(
        fmt_stat(*mean_std(_step_accuracies(fixture_runs.continual, "herding", 3))))
    ranking = json.loads((fixture_runs.nas / "ranking.json").read_text())
    nas = rows[("NAS (Table 4)", "DC: Spearman (top-10)")]
    assert nas[6] == "other setting"
    assert nas[3] == (f"{ranking['proxies']['condensed']['spearman_top_k']:.2f} (other "
                      f"setting: {fixture_runs.dataset}, 15 ConvNets, k=3)")
    assert rows[("NAS (Table 4)", "Early-stopping: Spearman (top-10)")][6] == NOT_RUN


def test_verdicts_of_runs_on_a_paper_dataset(fixture_results: Path, fixture_runs) -> None:
    """Rows meet runs by dataset name: the toy evaluations, relabelled, are FashionMNIST's."""
    evals = load_evaluations(fixture_results).assign(dataset="fashion-mnist")
    rows = _rows(evals, fixture_results)
    r = rows[("Table 1", "FashionMNIST, Random, ipc 1")]
    mean, std = mean_std(fixture_runs.accuracies("random0", "random1"))
    assert r[2:5] == ["51.4 ± 3.8", fmt_stat(mean, std), "quick, n=4"]
    assert r[6] == verdict(Ours(mean, std, 4, "quick", []), 51.4, 3.8)
    assert r[6].endswith(", quick preset")
    assert "`dcbench condense --dataset " in r[5]  # the commands that made ours
    assert rows[("Table 1", "FashionMNIST, Herding, ipc 10")][3:] == [NOT_RUN, "", "",
                                                                      NOT_RUN]  # ours: ipc 5
