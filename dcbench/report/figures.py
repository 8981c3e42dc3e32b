"""Figures from result files. Each ``*_figure`` function returns a matplotlib Figure (built
without pyplot, so it works headless and in notebooks); :func:`save_figure` writes it as PNG and
PDF atomically. The run writers save their own figures (``accuracy_vs_step.png``,
``scatter.png``) with these same functions."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from dcbench.report import published as pub
from dcbench.report.condensation import known_first, time_frame
from dcbench.report.nas import proxy_label
from dcbench.results.io import atomic_write_bytes

FORMATS = ("png", "pdf")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def save_figure(fig: Figure, out_dir: str | Path, stem: str,
                formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write ``<out_dir>/<stem>.png`` and ``.pdf`` (or only ``formats``; reproducible: no
    creation date, so a figure of the same data is the same file)."""
    out = []
    for fmt in formats:
        buf = io.BytesIO()
        metadata = {"CreationDate": None} if fmt == "pdf" else {"Software": None}
        fig.savefig(buf, format=fmt, dpi=150, bbox_inches="tight", metadata=metadata)
        out.append(atomic_write_bytes(Path(out_dir) / f"{stem}.{fmt}", buf.getvalue()))
    return out


def show(fig: Figure):
    """An IPython image of the figure (notebooks: ``show(fig)`` as a cell's last line)."""
    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    return Image(data=buf.getvalue(), format="png")


def _empty(message: str) -> Figure:
    fig = Figure(figsize=(5, 1.5), layout="constrained")
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    return fig


# --- synthetic sets -----------------------------------------------------------------------

def set_mosaic(set_path: str | Path, max_per_class: int = 10) -> np.ndarray:
    """An (H, W, C) array in [0, 1]: one column per class, up to ``max_per_class`` rows."""
    import torch
    from torchvision.utils import make_grid

    from dcbench.condense.synthetic_set import SyntheticSet

    sset = SyntheticSet.load(set_path)
    pixels = sset.denormalised()
    labels = sset.labels.tolist()
    classes = sorted(set(labels))
    by_class = {c: [i for i, y in enumerate(labels) if y == c][:max_per_class] for c in classes}
    rows = max(len(v) for v in by_class.values()) if by_class else 0
    blank = torch.ones_like(pixels[0]) if len(pixels) else torch.ones(1, 8, 8)
    tiles = [pixels[by_class[c][r]] if r < len(by_class[c]) else blank
             for r in range(rows) for c in classes]
    grid = make_grid(torch.stack(tiles), nrow=max(1, len(classes)), padding=2, pad_value=1.0)
    return grid.permute(1, 2, 0).numpy()


def synthetic_grid_figure(condense: pd.DataFrame, dataset: str, preset: str,
                          max_per_class: int = 10) -> Figure:
    """Synthetic sets side by side: one row per method, one column per ipc (lowest seed shown;
    classes as columns inside each panel)."""
    sub = condense[(condense["dataset"] == dataset) & (condense["preset"] == preset)]
    if sub.empty:
        return _empty(f"no condensed sets for {dataset} ({preset})")
    methods = known_first(sub["method"], pub.METHODS)
    ipcs = sorted({int(i) for i in sub["ipc"]})
    fig = Figure(figsize=(max(5.0, 3.2 * len(ipcs)), 0.6 + 2.4 * len(methods)),
                 layout="constrained")
    axes = fig.subplots(len(methods), len(ipcs), squeeze=False)
    for i, method in enumerate(methods):
        for j, ipc in enumerate(ipcs):
            ax = axes[i][j]
            ax.set(xticks=[], yticks=[])
            hit = sub[(sub["method"] == method) & (sub["ipc"] == ipc)]
            if hit.empty:
                ax.text(0.5, 0.5, "not yet run", ha="center", va="center",
                        transform=ax.transAxes)
            else:
                row = hit.assign(no_override=hit["overrides"].map(lambda o: not o)).sort_values(
                    ["no_override", "seed"], ascending=[False, True]).iloc[0]
                img = set_mosaic(row["set_path"], max_per_class)
                if img.shape[2] == 1 or np.allclose(img[..., 0], img[..., 1]):
                    ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=1)
                else:
                    ax.imshow(img)
                shown = min(ipc, max_per_class)
                ax.set_xlabel(f"seed {row['seed']}" + (f", {shown} of {ipc} per class"
                                                       if shown < ipc else ""), fontsize=7)
            if i == 0:
                ax.set_title(f"ipc {ipc}")
            if j == 0:
                ax.set_ylabel(pub.method_label(method))
    fig.suptitle(f"{pub.dataset_label(dataset)} synthetic sets ({preset} preset)")
    return fig


# --- accuracy vs condensation time -------------------------------------------------------

def accuracy_vs_time_figure(evals: pd.DataFrame, dataset: str | None = None) -> Figure:
    """ConvNet accuracy (mean ± std) against wall time of condensation, per method and ipc."""
    data = time_frame(evals)
    if dataset is not None and not data.empty:
        data = data[data["dataset"] == dataset]
    if data.empty:
        return _empty("no evaluated sets with a recorded condensation time")
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    methods = known_first(data["method"], pub.METHODS)
    ipcs = sorted({int(i) for i in data["ipc"]})
    colors = {m: f"C{k % 10}" for k, m in enumerate(methods)}
    markers = {ipc: MARKERS[k % len(MARKERS)] for k, ipc in enumerate(ipcs)}
    for _, r in data.iterrows():
        hollow = r["preset"] != "paper"
        ax.errorbar(max(float(r["condense_time_s"]), 1e-2), r["mean"], yerr=r["std"],
                    color=colors[r["method"]], marker=markers[int(r["ipc"])], linestyle="none",
                    markerfacecolor="white" if hollow else colors[r["method"]], capsize=2)
    for m in methods:
        ax.plot([], [], color=colors[m], marker="o", linestyle="none",
                label=pub.method_label(m))
    for ipc in ipcs:
        ax.plot([], [], color="gray", marker=markers[ipc], linestyle="none", label=f"ipc {ipc}")
    ax.set(xscale="log", xlabel="condensation wall time (s, log scale)",
           ylabel="ConvNet test accuracy (%)")
    ax.set_title("Accuracy vs condensation time"
                 + (f" — {pub.dataset_label(dataset)}" if dataset else "")
                 + " (hollow: quick preset)")
    ax.legend(fontsize=8, ncols=2, loc="best")
    ax.grid(alpha=0.3)
    return fig


# --- continual learning ------------------------------------------------------------------

def continual_figure(steps: pd.DataFrame, title: str = "") -> Figure:
    """Accuracy after each step, one line per memory (mean over seeds, band = ± std).

    ``steps`` is the long form of :func:`dcbench.report.continual.continual_steps` for one run
    (columns ``label``, ``seed``, ``step``, ``accuracy``).
    """
    if steps.empty:
        return _empty("no continual-learning results")
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    for k, (label, g) in enumerate(steps.groupby("label", sort=False)):
        stats = g.groupby("step")["accuracy"].agg(["mean", "std", "count"]).reset_index()
        color = f"C{k % 10}"
        ax.plot(stats["step"], stats["mean"], marker="o", color=color, label=str(label))
        if (stats["count"] > 1).any():
            std = stats["std"].fillna(0)
            lo, hi = (stats["mean"] - std).clip(lower=0), (stats["mean"] + std).clip(upper=100)
            ax.fill_between(stats["step"], lo, hi, color=color, alpha=0.15)
    ax.set(xlabel="step (experience)", ylabel="accuracy on all classes seen (%)",
           xticks=sorted({int(s) for s in steps["step"]}))
    ax.set_title(title or "Continual learning: accuracy vs step")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


# --- NAS ---------------------------------------------------------------------------------

def nas_scatter_figure(candidates: pd.DataFrame, ranking: dict | None = None,
                       title: str = "") -> Figure:
    """Proxy accuracy vs whole-data (ground-truth) accuracy of every candidate, one panel per
    proxy, the proxy's selection circled.

    ``candidates``: the long form of :func:`dcbench.report.nas.nas_candidates` (``proxy``,
    ``candidate``, ``proxy_accuracy``, ``whole_accuracy``) for one run; ``ranking``: that run's
    ``ranking.json`` (its correlations go into the panel titles).
    """
    data = candidates.dropna(subset=["proxy_accuracy", "whole_accuracy"]) \
        if not candidates.empty else candidates
    if data.empty:
        return _empty("no NAS candidates with both proxy and whole-data accuracy")
    proxies = list(dict.fromkeys(data["proxy"]))
    metrics_by_proxy = (ranking or {}).get("proxies") or {}
    ncols = min(3, len(proxies))
    nrows = math.ceil(len(proxies) / ncols)
    fig = Figure(figsize=(3.6 * ncols, 3.3 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, proxy in zip(axes, proxies, strict=False):
        g = data[data["proxy"] == proxy]
        ax.scatter(g["proxy_accuracy"], g["whole_accuracy"], s=12, alpha=0.7)
        m = metrics_by_proxy.get(proxy) or {}
        chosen = g[g["candidate"] == m.get("selected_spec")]  # the run's own tie-breaking
        best = chosen.iloc[0] if len(chosen) else g.loc[g["proxy_accuracy"].idxmax()]
        ax.scatter([best["proxy_accuracy"]], [best["whole_accuracy"]], s=70,
                   facecolors="none", edgecolors="red", linewidths=1.5)
        name = proxy_label(str(proxy))
        parts = []
        if m.get("spearman_all") is not None:
            parts.append(f"ρ all {m['spearman_all']:.2f}")
        if m.get("spearman_top_k") is not None:
            parts.append(f"ρ top-{(ranking or {}).get('k', 'k')} {m['spearman_top_k']:.2f}")
        ax.set_title(name + ("\n" + ", ".join(parts) if parts else ""), fontsize=9)
        ax.set(xlabel="proxy accuracy (%)", ylabel="whole-data accuracy (%)")
        ax.grid(alpha=0.3)
    for ax in axes[len(proxies):]:
        ax.axis("off")
    fig.suptitle((title or "NAS: proxy vs whole-data accuracy") + " (red: selected)")
    return fig
