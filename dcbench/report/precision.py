"""bf16 against fp32, from runs that differ only in precision (the speed issue's accuracy rule:
adopt bf16 only where the final accuracy stays within one std of fp32's).

Two kinds of pair are found in the results, never typed:

* **training**: one set evaluated twice with the same seed, model and number of models, once
  with fp32 and once with bf16 training (``--set precision=bf16``);
* **condensation**: a set condensed with ``--set <method>.precision=bf16`` beside the same
  unit (dataset, method, ipc, preset, seed) condensed with the preset as it is, both evaluated
  with fp32 training, the same seed and the same number of models.
"""

from __future__ import annotations

import pandas as pd

from dcbench.report import published as pub
from dcbench.report.evaluations import parse_overrides
from dcbench.report.render import Table, fmt_stat
from dcbench.results.stats import mean_std

PAIR_KEY = ["eval_seed", "model", "num_models"]
UNIT = ["dataset", "method", "ipc", "preset", "seed"]


def _stat(g: pd.DataFrame) -> tuple[float, float, int]:
    mean, std = mean_std([float(a) for a in g["accuracy"]])
    return mean, std, len(g)


def precision_frame(evals: pd.DataFrame) -> pd.DataFrame:
    """One row per pair: what differs, the fp32 and bf16 mean, std and n, and the difference."""
    cols = ["kind", *UNIT, "model", "fp32_mean", "fp32_std", "n_fp32", "bf16_mean", "bf16_std",
            "n_bf16", "diff", "within_1_std"]
    if evals.empty or "overrides" not in evals:
        return pd.DataFrame(columns=cols)
    frame = evals.assign(overrides=evals["overrides"].fillna(""),
                         precision=evals["precision"].fillna("fp32"))
    items = frame["overrides"].map(parse_overrides)
    # the set's other overrides (an earlier preset's iterations, say) pair like with like
    frame = frame.assign(condensed_bf16=items.map(lambda i: i.get("precision") == "bf16"),
                         rest=items.map(lambda i: ",".join(f"{k}={v}" for k, v in i.items()
                                                           if k != "precision")))
    rows = []
    for _, g in frame.groupby(["set_path", *PAIR_KEY], sort=True):  # one file, two trainings
        fp32, bf16 = g[g["precision"] == "fp32"], g[g["precision"] == "bf16"]
        if len(fp32) and len(bf16):
            rows.append(("training", g.iloc[0], _stat(fp32), _stat(bf16)))
    plain = frame[~frame["condensed_bf16"] & (frame["precision"] == "fp32")]
    condensed_bf16 = frame[frame["condensed_bf16"] & (frame["precision"] == "fp32")]
    for key, g in condensed_bf16.groupby([*UNIT, *PAIR_KEY, "rest"], sort=True):
        mask = pd.Series(True, index=plain.index)
        for col, value in zip([*UNIT, *PAIR_KEY, "rest"], key, strict=True):
            mask &= plain[col] == value
        if mask.any():
            rows.append(("condensation", g.iloc[0], _stat(plain[mask]), _stat(g)))
    out = []
    for kind, first, (m32, s32, n32), (m16, s16, n16) in rows:
        out.append({"kind": kind, **{c: first[c] for c in UNIT}, "model": first["model"],
                    "fp32_mean": m32, "fp32_std": s32, "n_fp32": n32, "bf16_mean": m16,
                    "bf16_std": s16, "n_bf16": n16, "diff": m16 - m32,
                    "within_1_std": abs(m16 - m32) <= s32})
    return pd.DataFrame(out, columns=cols)


def precision_table(evals: pd.DataFrame) -> Table:
    data = precision_frame(evals)
    columns = ["bf16 in", "set", "fp32", "bf16", "bf16 − fp32", "within 1 std of fp32"]
    rows = [[r["kind"], f"{pub.dataset_label(r['dataset'])} {pub.method_label(r['method'])} "
                        f"ipc {int(r['ipc'])} ({r['preset']}, seed {int(r['seed'])}), {r['model']}",
             fmt_stat(r["fp32_mean"], r["fp32_std"], int(r["n_fp32"]), 2),
             fmt_stat(r["bf16_mean"], r["bf16_std"], int(r["n_bf16"]), 2),
             f"{r['diff']:+.2f}", "yes" if r["within_1_std"] else "no"]
            for _, r in data.iterrows()]
    notes = ["training: the same set trained with fp32 and with bf16 autocast (`--set "
             "precision=bf16`), same seeds; condensation: the set condensed with `--set "
             "<method>.precision=bf16` against the preset's fp32 set, both trained in fp32 with "
             "the same seeds. Mean ± sample std over n models."]
    return Table("precision", "bf16 against fp32 (final ConvNet accuracy, %)", columns, rows,
                 notes, data)
