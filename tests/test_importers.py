"""``dcbench import``: released sets in the layouts their authors write become dcbench sets.

Files are written here the way each code writes them (torch.save of the DC authors' results
dict, MTT's images_best.pt/labels_best.pt, an npz, a tensors dict), imported through the CLI
on the toy dataset, and the saved sets are checked value by value; every bad input must give
exit code 1, one ``Error:`` line and no file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from dcbench.condense.synthetic_set import SyntheticSet
from dcbench.data import ClassDataset, load_dataset
from dcbench.importers import formats

pytestmark = pytest.mark.usefixtures("one_thread")

TOY = "toy:classes=3:per_class=8:test_per_class=4:size=16x16"
IPC = 2


class NeedsCode:
    """Any custom class: unpickling its instances would run code from the file."""


@pytest.fixture(scope="module")
def ds() -> ClassDataset:
    return load_dataset(TOY)


def normalised(ds: ClassDataset, ipc: int = IPC) -> tuple[torch.Tensor, torch.Tensor]:
    """``ipc`` real train images per class, in the dataset's normalised space, by class."""
    x = torch.cat([ds.class_images(c)[:ipc] for c in range(ds.num_classes)])
    return x, torch.arange(ds.num_classes).repeat_interleave(ipc)


def stats(ds: ClassDataset) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.tensor(ds.mean).view(1, -1, 1, 1), torch.tensor(ds.std).view(1, -1, 1, 1)


def pixels(ds: ClassDataset) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = normalised(ds)
    mean, std = stats(ds)
    return (x * std + mean).clamp(0, 1), y


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def imported(result, out: Path, name: str = "set.pt") -> SyntheticSet:
    assert result.exit_code == 0, result.output
    return SyntheticSet.load(out / name)


def one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def assert_sorted(labels: torch.Tensor) -> None:
    assert bool((labels[1:] >= labels[:-1]).all())


# --------------------------------------------------------------------------- good files
def test_dc_authors_file_gives_one_set_per_experiment(invoke, ds, tmp_path) -> None:
    x, y = normalised(ds)
    perm = torch.tensor([5, 0, 3, 1, 4, 2])
    src = tmp_path / "res_DC_toy_ConvNet_2ipc.pt"
    torch.save({"data": [[x, y], [x[perm], y[perm]]], "accs_all_exps": {"ConvNet": [0.5]}}, src)
    out = tmp_path / "sets"
    result = invoke("import", str(src), "--dataset", TOY, "--format", "dc-authors",
                    "--out", str(out))
    first = imported(result, out, "set-exp0.pt")
    second = SyntheticSet.load(out / "set-exp1.pt")
    assert result.output.count("saved:") == 2
    assert torch.equal(first.images, x) and torch.equal(first.labels, y)
    order = torch.sort(y[perm], stable=True).indices  # stable: a class keeps its order
    assert torch.equal(second.images, x[perm][order]) and torch.equal(second.labels, y)
    assert_sorted(second.labels)
    for k, sset in enumerate((first, second)):
        prov = sset.meta["provenance"]
        assert sset.ipc == IPC and sset.meta["method"] == "imported:dc-authors"
        assert prov["sha256"] == sha256(src) and prov["source"] == str(src.resolve())
        assert prov["experiment"] == k and prov["space"] == "normalised"
        assert sset.meta["class_names"] == ds.class_names
    assert second.meta["provenance"]["reordered_by_class"] is True
    assert first.meta["source_method"] == "dc"


def test_an_authors_dsa_file_is_evaluated_as_a_dsa_set(invoke, ds, tmp_path) -> None:
    from dcbench.evaluation.job import evaluated_as
    from dcbench.evaluation.protocol import EvalProtocol

    x, y = normalised(ds)
    src = tmp_path / "res_DSA_toy_ConvNet_2ipc.pt"
    torch.save({"data": [[x, y]]}, src)
    out = tmp_path / "sets"
    sset = imported(invoke("import", str(src), "--dataset", TOY, "--format", "dc-authors",
                           "--out", str(out)), out, "set-exp0.pt")
    assert sset.meta["method"] == "imported:dc-authors" and evaluated_as(sset.meta) == "dsa"
    resolved = EvalProtocol().resolved(ds.name, evaluated_as(sset.meta), "convnet")
    assert (resolved.augment, resolved.epochs) == ("dsa", 1000)


def test_dc_authors_constants_are_undone(invoke, ds, tmp_path, monkeypatch) -> None:
    """A dataset in the authors' table is read with their constants, not the dataset's."""
    monkeypatch.setitem(formats.DC_AUTHORS_STATS, ds.name, ((0.3,), (0.2,)))
    pix, y = pixels(ds)
    src = tmp_path / "res.pt"
    torch.save({"data": [[(pix - 0.3) / 0.2, y]]}, src)
    out = tmp_path / "sets"
    sset = imported(invoke("import", str(src), "--dataset", TOY, "--format", "dc-authors",
                           "--out", str(out)), out, "set-exp0.pt")
    mean, std = stats(ds)
    torch.testing.assert_close(sset.images, (pix - mean) / std, atol=1e-5, rtol=0)
    assert sset.meta["provenance"]["source_mean"] == [0.3]


@pytest.mark.parametrize("given", ["dir", "labels_file"])
def test_mtt_pair_with_one_hot_labels(invoke, ds, tmp_path, given) -> None:
    x, y = normalised(ds)
    run = tmp_path / "logged_files" / "run"
    run.mkdir(parents=True)
    torch.save(x.clone().requires_grad_(True), run / "images_best.pt")
    torch.save(torch.nn.functional.one_hot(y, 3).float(), run / "labels_best.pt")
    src = run if given == "dir" else run / "labels_best.pt"
    out = tmp_path / "sets"
    sset = imported(invoke("import", str(src), "--dataset", TOY, "--format", "mtt",
                           "--out", str(out)), out)
    assert torch.equal(sset.images, x) and torch.equal(sset.labels, y)
    prov = sset.meta["provenance"]
    assert prov["labels"] == "one-hot (argmax)"
    assert prov["sha256"] == sha256(run / "images_best.pt")
    assert prov["files"]["labels"]["sha256"] == sha256(run / "labels_best.pt")


def test_npz_in_pixel_space_channels_last(invoke, ds, tmp_path) -> None:
    pix, y = pixels(ds)
    src = tmp_path / "syn.npz"
    np.savez(src, x=pix.permute(0, 2, 3, 1).numpy(), y=y.numpy())  # NHWC, as JAX code writes
    out = tmp_path / "sets"
    sset = imported(invoke("import", str(src), "--dataset", TOY, "--format", "npz",
                           "--space", "pixel", "--out", str(out)), out)
    mean, std = stats(ds)
    torch.testing.assert_close(sset.images, (pix - mean) / std, atol=1e-5, rtol=0)
    assert sset.meta["provenance"]["layout"] == "NHWC (transposed)"
    assert sset.meta["provenance"]["sha256"] == sha256(src)


def test_tensors_with_their_own_mean_std_then_evaluate(invoke, ds, tmp_path,
                                                       results) -> None:
    pix, y = pixels(ds)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    src = tmp_path / "mine.pt"
    torch.save({"images": (pix[perm] - 0.5) / 0.25, "labels": y[perm]}, src)
    result = invoke("import", str(src), "--dataset", TOY, "--format", "tensors",
                    "--space", "normalised", "--mean", "0.5", "--std", "0.25")
    assert result.exit_code == 0, result.output
    path = Path(result.output.split()[1])
    assert path.parent.parent == results / "imported"
    sset = SyntheticSet.load(path)
    mean, std = stats(ds)
    order = torch.sort(y[perm], stable=True).indices
    torch.testing.assert_close(sset.images, ((pix[perm] - mean) / std)[order], atol=1e-5,
                               rtol=0)
    assert_sorted(sset.labels)
    assert sset.ipc == IPC
    evaluated = invoke("evaluate", str(path), "--models", "convnet:depth=1:width=4",
                       "--num-models", "1", "--epochs", "1", "--quiet", "--threads", "1",
                       "--device", "cpu")
    assert evaluated.exit_code == 0, evaluated.output
    assert "results:" in evaluated.output


def test_an_existing_set_is_replaced_only_with_force(invoke, ds, tmp_path) -> None:
    pix, y = pixels(ds)
    src = tmp_path / "pix.pt"
    torch.save((pix, y), src)
    out = tmp_path / "sets"
    args = ("import", str(src), "--dataset", TOY, "--format", "tensors", "--space", "pixel",
            "--out", str(out))
    assert invoke(*args).exit_code == 0
    before = (out / "set.pt").read_bytes()
    assert "--force" in one_error_line(invoke(*args))
    assert (out / "set.pt").read_bytes() == before
    assert invoke(*args, "--force").exit_code == 0


# --------------------------------------------------------------------------- bad input
def _bad_file(ds: ClassDataset, tmp_path: Path, case: str) -> tuple[Path, list[str]]:
    """A file (and the extra options) for one bad-input case."""
    pix, y = pixels(ds)
    x, _ = normalised(ds)
    src = tmp_path / "bad.pt"
    pixel = ["--format", "tensors", "--space", "pixel"]
    if case == "unknown format":
        torch.save((pix, y), src)
        return src, ["--format", "nope", "--space", "pixel"]
    if case == "missing file":
        return tmp_path / "absent.pt", pixel
    if case == "corrupt file":
        src.write_bytes(b"not a torch file")
        return src, pixel
    if case == "needs code":
        torch.save({"x": NeedsCode(), "y": y}, src)
        return src, pixel
    if case == "npz of objects":
        src = tmp_path / "bad.npz"
        np.savez(src, x=np.array([{"a": 1}], dtype=object), y=y.numpy())
        return src, ["--format", "npz", "--space", "pixel"]
    if case == "no space":
        torch.save((pix, y), src)
        return src, ["--format", "tensors"]
    if case == "zca":
        torch.save((x, y), src)
        return src, ["--format", "tensors", "--space", "normalised", "--zca"]
    bad = {
        "wrong shape": lambda: (pix[:, :, :8, :8], y),
        "label out of range": lambda: (pix, torch.where(y == 2, 3, y)),
        "unequal classes": lambda: (pix, torch.tensor([0, 0, 0, 1, 2, 2])),
        "count mismatch": lambda: (pix, y[:-1]),
        "nan": lambda: (pix.index_put((torch.tensor([0]),), torch.tensor(float("nan"))), y),
        "0..255 pixels": lambda: (pix * 255, y),
        "fractional labels": lambda: (pix, y.float() + 0.5),
    }[case]()
    torch.save({"x": bad[0], "y": bad[1]}, src)
    return src, pixel


BAD_CASES = {
    "unknown format": "unknown import format",
    "missing file": "no such file",
    "corrupt file": "not a torch file",
    "needs code": "need code",
    "npz of objects": "pickled",
    "no space": "--space",
    "zca": "ZCA",
    "wrong shape": "shape",
    "label out of range": "labels range",
    "unequal classes": "unequal",
    "count mismatch": "labels",
    "nan": "NaN",
    "0..255 pixels": "[0, 1]",
    "fractional labels": "whole numbers",
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_is_one_error_line_and_no_file(invoke, ds, tmp_path, results,
                                                 case) -> None:
    src, options = _bad_file(ds, tmp_path, case)
    line = one_error_line(invoke("import", str(src), "--dataset", TOY, *options))
    assert BAD_CASES[case] in line
    assert not results.exists()


def test_implausible_normalised_range_names_min_max(invoke, ds, tmp_path) -> None:
    x, y = normalised(ds)
    src = tmp_path / "big.pt"
    torch.save((x * 100, y), src)
    args = ["import", str(src), "--dataset", TOY, "--format", "tensors", "--space",
            "normalised", "--out", str(tmp_path / "sets")]
    line = one_error_line(invoke(*args))
    assert f"{float((x * 100).min()):.4g}" in line and "--no-range-check" in line
    assert invoke(*args, "--no-range-check").exit_code == 0


def test_mtt_refuses_soft_labels_and_whitened_looking_images(invoke, ds, tmp_path) -> None:
    x, y = normalised(ds)
    run = tmp_path / "run"
    run.mkdir()
    torch.save(x, run / "images_best.pt")
    torch.save(torch.softmax(torch.randn(len(y), 3), dim=1), run / "labels_best.pt")
    base = ("import", str(run), "--dataset", TOY, "--format", "mtt")
    assert "soft" in one_error_line(invoke(*base))
    torch.save(y, run / "labels_best.pt")
    torch.save(torch.randn(x.shape, generator=torch.Generator().manual_seed(0)) * 0.1,
               run / "images_best.pt")
    line = one_error_line(invoke(*base))
    assert "ZCA" in line and "--zca" in line


def test_a_bad_experiment_leaves_no_set_of_the_file(invoke, ds, tmp_path) -> None:
    x, y = normalised(ds)
    src = tmp_path / "res.pt"
    torch.save({"data": [[x, y], [x, y[:-1]]]}, src)
    out = tmp_path / "sets"
    line = one_error_line(invoke("import", str(src), "--dataset", TOY, "--format",
                                 "dc-authors", "--out", str(out)))
    assert "experiment 1" in line and not out.exists()


@pytest.mark.parametrize("where", ["under a file", "is a file", "a .pt name"])
def test_unusable_out_is_refused_before_reading(invoke, ds, tmp_path, where) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    out = {"under a file": blocker / "sets", "is a file": blocker,
           "a .pt name": tmp_path / "set.pt"}[where]
    src = tmp_path / "src.pt"
    torch.save(normalised(ds), src)
    line = one_error_line(invoke("import", str(src), "--dataset", TOY, "--format", "tensors",
                                 "--space", "normalised", "--out", str(out)))
    assert "--out" in line or "cannot use" in line
    assert blocker.read_text() == ""


# --------------------------------------------------------------------------- units
def test_label_forms() -> None:
    from dcbench.importers.checks import hard_labels

    y = torch.tensor([2, 0, 1])
    one_hot = torch.nn.functional.one_hot(y, 3).float()
    assert torch.equal(hard_labels(one_hot - 0.1, 3)[0], y)  # KIP-style centred one-hot
    assert torch.equal(hard_labels(y.double(), 3)[0], y)
    assert torch.equal(hard_labels(y.view(-1, 1), 3)[0], y)


def test_a_bare_pair_in_data_is_experiment_zero(tmp_path) -> None:
    x, y = torch.zeros(3, 1, 4, 4), torch.arange(3)
    torch.save({"data": (x, y)}, tmp_path / "res.pt")
    loaded = formats.read_dc_authors(tmp_path / "res.pt")
    assert len(loaded.sets) == 1 and loaded.sets[0].experiment == 0
    assert torch.equal(loaded.sets[0].labels, y)
