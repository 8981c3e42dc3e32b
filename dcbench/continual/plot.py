"""The picture of a memory (``memory/<buffer>-seed<s>.png``): its images, one row per class.

The run's accuracy-vs-step figure is the report's (:func:`dcbench.report.figures.continual_figure`).
"""

from __future__ import annotations

from pathlib import Path

from dcbench.results.io import atomic_write_with


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
