"""The accuracy-vs-step figure: one line per buffer, mean ± std band over seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dcbench.results.io import atomic_write_with


def plot_accuracy(summary: dict[str, dict[str, Any]], path: str | Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.0), dpi=120)
    steps_max = 1
    for buffer, s in summary.items():
        if not s.get("complete"):
            continue
        means = [m["mean"] for m in s["average_accuracy"]]
        stds = [m["std"] or 0.0 for m in s["average_accuracy"]]
        steps = list(range(1, len(means) + 1))
        steps_max = max(steps_max, len(steps))
        (line,) = ax.plot(steps, means, marker="o", label=f"{buffer} (n={len(s['seeds'])})")
        # accuracy lives in [0, 100]: clip the ± std band there
        lo = [max(0.0, m - d) for m, d in zip(means, stds, strict=True)]
        hi = [min(100.0, m + d) for m, d in zip(means, stds, strict=True)]
        ax.fill_between(steps, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("step (experiences learned)")
    ax.set_ylabel("average accuracy on classes seen (%)")
    ax.set_xticks(range(1, steps_max + 1))
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        return atomic_write_with(path, lambda p: fig.savefig(p, format="png"))
    finally:
        plt.close(fig)


def save_memory_grid(images, labels, mean, std, path: str | Path) -> Path:
    """A PNG of a memory: one row per class (in label order), images denormalised."""
    import torch
    import torchvision.utils as vutils
    from PIL import Image

    order = torch.argsort(labels, stable=True)
    images, labels = images[order], labels[order]
    m = torch.tensor(mean).view(1, -1, 1, 1)
    s = torch.tensor(std).view(1, -1, 1, 1)
    pixels = (images * s + m).clamp(0, 1)
    per_class = int(torch.bincount(labels).max())
    rows = []
    for c in labels.unique().tolist():
        row = pixels[labels == c]
        pad = pixels.new_ones((per_class - len(row), *pixels.shape[1:]))
        rows.append(torch.cat([row, pad]))
    grid = vutils.make_grid(torch.cat(rows), nrow=per_class, padding=2, pad_value=1.0)
    array = grid.mul(255).round().byte().permute(1, 2, 0).numpy()
    img = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    scale = max(1, 256 // max(img.size))
    if scale > 1:
        img = img.resize((img.size[0] * scale, img.size[1] * scale), Image.NEAREST)
    return atomic_write_with(path, lambda p: img.save(p, format="PNG"))
