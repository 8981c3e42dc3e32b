"""Avalanche streams from dcbench datasets, through Avalanche 0.6's current builders.

* :func:`class_incremental_stream`: a :class:`ClassDataset` split into ``n_experiences`` of
  equal class counts, in a class order drawn from the seed with a private generator (Avalanche's
  own ``seed=`` would reseed torch's *global* RNG, so the order is passed as ``class_order``);
* :func:`dataset_sequence_stream`: one experience per dataset (SVHN → MNIST → USPS), the
  datasets sharing one label space.

Both return a :class:`DcbenchStream`: the Avalanche benchmark (``train_stream``/``test_stream``
of ``ClassificationDataset``s over in-memory ``TensorDataset``s, samples ``(x, y, t)`` with task
label 0) plus what dcbench needs beside it: per experience, the source :class:`ClassDataset` and
its classes (the condensed buffer condenses from these tensors directly) and the test tensors
(evaluation runs on tensors, without a DataLoader).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from dcbench.continual._compat import import_avalanche
from dcbench.data import ClassDataset
from dcbench.errors import DcbenchError
from dcbench.seeding import generator


@dataclass
class ExperienceSource:
    """Where an experience's images come from: a dataset and the classes of the experience.

    Labels in ``dataset`` are the model's targets (class-incremental: the dataset's class ids;
    a sequence: the shared labels).
    """

    dataset: ClassDataset
    classes: list[int]

    def test_tensors(self) -> tuple[Tensor, Tensor]:
        ds = self.dataset
        mask = torch.isin(ds.y_test, torch.tensor(self.classes))
        return ds.x_test[mask], ds.y_test[mask]


@dataclass
class DcbenchStream:
    """An Avalanche benchmark plus the dcbench view of each experience."""

    benchmark: Any  # avalanche CLScenario
    sources: list[ExperienceSource]
    num_classes: int  # model outputs
    name: str

    @property
    def n_experiences(self) -> int:
        return len(self.sources)

    @property
    def train_stream(self) -> Any:
        return self.benchmark.train_stream

    @property
    def test_stream(self) -> Any:
        return self.benchmark.test_stream

    @property
    def channels(self) -> int:
        return self.sources[0].dataset.channels

    @property
    def image_size(self) -> tuple[int, int]:
        return self.sources[0].dataset.image_size

    def classes(self) -> list[list[int]]:
        """The classes of each experience, in stream order."""
        return [list(s.classes) for s in self.sources]

    def source(self, experience: Any) -> tuple[ClassDataset, list[int]]:
        """For :class:`~dcbench.continual.buffers.CondensedBuffer`: the experience's data."""
        src = self.sources[experience.current_experience]
        return src.dataset, list(src.classes)


def draw_class_order(num_classes: int, seed: int) -> list[int]:
    """A permutation of ``range(num_classes)`` that depends only on ``seed`` (no global RNG)."""
    return torch.randperm(num_classes, generator=generator(seed, 0xC1A55)).tolist()


def avalanche_dataset(
    x: Tensor, y: Tensor, task_labels: int | Sequence[int] = 0, task_in_getitem: bool = True
):
    """A ClassificationDataset over in-memory tensors: ``targets`` and ``targets_task_labels``
    (returned by ``__getitem__`` as ``(x, y, t)`` unless ``task_in_getitem`` is False)."""
    import_avalanche()
    from avalanche.benchmarks.utils import DataAttribute
    from avalanche.benchmarks.utils.classification_dataset import ClassificationDataset

    y = y.to(torch.int64)
    labels = y.tolist()
    tasks = [task_labels] * len(labels) if isinstance(task_labels, int) else [
        int(t) for t in task_labels]
    return ClassificationDataset(
        [TensorDataset(x, y)],
        data_attributes=[
            DataAttribute(labels, "targets"),
            DataAttribute(tasks, "targets_task_labels", use_in_getitem=task_in_getitem),
        ],
    )


def check_split(num_classes: int, n_experiences: int, name: str) -> int:
    """Classes per experience, or a one-line error for an impossible split."""
    if n_experiences < 1:
        raise DcbenchError(f"experiences must be at least 1 (got {n_experiences})")
    if n_experiences > num_classes:
        raise DcbenchError(
            f"{n_experiences} experiences need at least {n_experiences} classes; "
            f"{name} has {num_classes}"
        )
    if num_classes % n_experiences:
        divisors = [d for d in range(1, num_classes + 1) if num_classes % d == 0]
        raise DcbenchError(
            f"{name}'s {num_classes} classes do not split into {n_experiences} experiences of "
            f"equal size; use one of {', '.join(map(str, divisors))}"
        )
    return num_classes // n_experiences


def class_incremental_stream(
    dataset: ClassDataset,
    n_experiences: int,
    seed: int = 0,
    class_order: Sequence[int] | None = None,
) -> DcbenchStream:
    """Split ``dataset`` into experiences of equal class counts (order from ``seed``)."""
    import_avalanche()
    from avalanche.benchmarks.scenarios import class_incremental_benchmark
    from avalanche.benchmarks.scenarios.task_aware import with_task_labels

    k = dataset.num_classes
    per_exp = check_split(k, n_experiences, dataset.name)
    order = draw_class_order(k, seed) if class_order is None else [int(c) for c in class_order]
    if sorted(order) != list(range(k)):
        raise DcbenchError(
            f"class_order must be a permutation of 0..{k - 1} for {dataset.name}; got {order}"
        )
    counts = dataset.class_counts()
    test_counts = torch.bincount(dataset.y_test, minlength=k).tolist()
    empty = [dataset.class_names[c] for c in range(k) if counts[c] == 0 or test_counts[c] == 0]
    if empty:
        raise DcbenchError(
            f"{dataset.name}: every class needs train and test images; empty: "
            f"{', '.join(sorted(set(empty)))}"
        )
    streams = {"train": avalanche_dataset(dataset.x_train, dataset.y_train),
               "test": avalanche_dataset(dataset.x_test, dataset.y_test)}
    benchmark = with_task_labels(class_incremental_benchmark(
        streams, class_order=order, num_classes_per_exp=[per_exp] * n_experiences
    ))
    sources = [ExperienceSource(dataset, order[i * per_exp:(i + 1) * per_exp])
               for i in range(n_experiences)]
    return DcbenchStream(benchmark, sources, k, f"split-{dataset.name}")


def dataset_sequence_stream(datasets: Sequence[ClassDataset]) -> DcbenchStream:
    """One experience per dataset; all share one label space and one image format."""
    import_avalanche()
    from avalanche.benchmarks.scenarios import benchmark_from_datasets
    from avalanche.benchmarks.scenarios.supervised import with_classes_timeline
    from avalanche.benchmarks.scenarios.task_aware import with_task_labels

    if not datasets:
        raise DcbenchError("a dataset sequence needs at least one dataset")
    shape = (datasets[0].channels, *datasets[0].image_size)
    k = datasets[0].num_classes
    for ds in datasets[1:]:
        if (ds.channels, *ds.image_size) != shape or ds.num_classes != k:
            raise DcbenchError(
                f"datasets of a sequence must share image shape and classes: {datasets[0].name} "
                f"is {shape} with {k} classes, {ds.name} {(ds.channels, *ds.image_size)} with "
                f"{ds.num_classes}"
            )
    benchmark = with_task_labels(with_classes_timeline(benchmark_from_datasets(
        train=[avalanche_dataset(ds.x_train, ds.y_train) for ds in datasets],
        test=[avalanche_dataset(ds.x_test, ds.y_test) for ds in datasets],
    )))
    sources = [ExperienceSource(ds, sorted(torch.unique(ds.y_train).tolist())) for ds in datasets]
    return DcbenchStream(benchmark, sources, k, "→".join(ds.name for ds in datasets))
