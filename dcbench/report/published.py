"""The published numbers dcbench is measured against, as data (see the paper's tables).

All accuracies are percent test accuracy, ``(mean, std)``; ``None`` where the paper gives no
standard deviation. Dataset keys are dcbench dataset names.
"""

from __future__ import annotations

from dataclasses import dataclass

PAPER = "Zhao, Mopuri, Bilen, Dataset Condensation with Gradient Matching, ICLR 2021"

#: dcbench dataset name -> how the paper writes it.
DATASET_LABELS: dict[str, str] = {
    "mnist": "MNIST",
    "fashion-mnist": "FashionMNIST",
    "svhn": "SVHN",
    "cifar10": "CIFAR10",
}

#: Table 1 column order and labels.
METHODS: tuple[str, ...] = ("random", "herding", "kcenter", "forgetting", "dc")
#: Table 1 columns after the DC paper's own.
EXTRA_METHODS: tuple[str, ...] = ("dsa", "dm")
METHOD_LABELS: dict[str, str] = {
    "random": "Random",
    "herding": "Herding",
    "kcenter": "K-Center",
    "forgetting": "Forgetting",
    "dc": "DC",
    "dsa": "DSA",
    "dm": "DM",
}

Stat = tuple[float, float | None]

_T1 = {  # dataset -> ipc -> (random, herding, kcenter, forgetting, dc)
    "mnist": {
        1: ((64.9, 3.5), (89.2, 1.6), (89.3, 1.5), (35.5, 5.6), (91.7, 0.5)),
        10: ((95.1, 0.9), (93.7, 0.3), (84.4, 1.7), (68.1, 3.3), (97.4, 0.2)),
        50: ((97.9, 0.2), (94.9, 0.2), (97.4, 0.3), (88.2, 1.2), (98.8, 0.2)),
    },
    "fashion-mnist": {
        1: ((51.4, 3.8), (67.0, 1.9), (66.9, 1.8), (42.0, 5.5), (70.5, 0.6)),
        10: ((73.8, 0.7), (71.1, 0.7), (54.7, 1.5), (53.9, 2.0), (82.3, 0.4)),
        50: ((82.5, 0.7), (71.9, 0.8), (68.3, 0.8), (55.0, 1.1), (83.6, 0.4)),
    },
    "svhn": {
        1: ((14.6, 1.6), (20.9, 1.3), (21.0, 1.5), (12.1, 1.7), (31.2, 1.4)),
        10: ((35.1, 4.1), (50.5, 3.3), (14.0, 1.3), (16.8, 1.2), (76.1, 0.6)),
        50: ((70.9, 0.9), (72.6, 0.8), (20.1, 1.4), (27.2, 1.5), (82.3, 0.3)),
    },
    "cifar10": {
        1: ((14.4, 2.0), (21.5, 1.2), (21.5, 1.3), (13.5, 1.2), (28.3, 0.5)),
        10: ((26.0, 1.2), (31.6, 0.7), (14.7, 0.9), (23.3, 1.0), (44.9, 0.5)),
        50: ((43.4, 1.0), (40.4, 0.6), (27.0, 1.4), (23.3, 1.1), (53.9, 0.5)),
    },
}

#: The follow-ups, as ../shared/REFERENCE.md quotes them (means only): DSA (Zhao & Bilen,
#: ICML 2021) and DM (Zhao & Bilen, WACV 2023; no Fashion-MNIST number), ipc 1 / 10 / 50.
FOLLOW_UPS: dict[str, dict[str, tuple[float, float, float]]] = {
    "dsa": {"mnist": (88.7, 97.8, 99.2), "fashion-mnist": (70.6, 84.6, 88.7),
            "svhn": (27.5, 79.2, 84.4), "cifar10": (28.8, 52.1, 60.6)},
    "dm": {"cifar10": (26.0, 48.9, 63.0)},
}
FOLLOW_UP_PAPERS = {
    "dsa": "Zhao, Bilen, Dataset Condensation with Differentiable Siamese Augmentation, "
           "ICML 2021",
    "dm": "Zhao, Bilen, Dataset Condensation with Distribution Matching, WACV 2023",
}

#: TABLE1[dataset][ipc][method] = (mean, std)
TABLE1: dict[str, dict[int, dict[str, Stat]]] = {
    ds: {ipc: dict(zip(METHODS, row, strict=True)) for ipc, row in rows.items()}
    for ds, rows in _T1.items()
}
for _method, _by_dataset in FOLLOW_UPS.items():
    for _ds, _means in _by_dataset.items():
        for _ipc, _mean in zip((1, 10, 50), _means, strict=True):
            TABLE1.setdefault(_ds, {}).setdefault(_ipc, {})[_method] = (_mean, None)

#: Whole training set, same ConvNet.
WHOLE_DATA: dict[str, Stat] = {
    "mnist": (99.6, 0.0),
    "fashion-mnist": (93.5, 0.1),
    "svhn": (95.4, 0.1),
    "cifar10": (84.8, 0.1),
}

#: Table 2: MNIST, DC at 1 image/class condensed with ConvNet, trained on each architecture.
CROSS_ARCH_SETTING = {"dataset": "mnist", "method": "dc", "ipc": 1}
CROSS_ARCH: dict[str, Stat] = {
    "mlp": (69.6, 1.6),
    "convnet": (91.7, 0.5),
    "lenet": (85.3, 1.8),
    "alexnet": (85.1, 3.0),
    "vgg11": (83.4, 1.8),
    "resnet18": (90.0, 0.8),
}
ARCH_LABELS: dict[str, str] = {
    "mlp": "MLP", "convnet": "ConvNet", "lenet": "LeNet", "alexnet": "AlexNet",
    "vgg11": "VGG11", "resnet18": "ResNet18",
}


@dataclass(frozen=True)
class ContinualRef:
    """Fig. 4: SVHN -> MNIST -> USPS, 10 images/class of memory; mean accuracy over all tasks
    seen after stage 2 and stage 3."""

    buffer: str
    kd: bool
    stage2: float
    stage3: float


CONTINUAL_SETTING = ("SVHN → MNIST → USPS, memory 10 images/class, E2E-style training; "
                     "mean accuracy over the tasks seen after stage 2 / stage 3")
CONTINUAL: tuple[ContinualRef, ...] = (
    ContinualRef("herding", True, 94.3, 94.5),
    ContinualRef("dc", True, 94.8, 95.2),
    ContinualRef("herding", False, 90.8, 90.7),
    ContinualRef("dc", False, 92.4, 93.0),
)


@dataclass(frozen=True)
class NASRef:
    """Table 4 (CIFAR10, 720 ConvNets, proxy sets of 10 images/class, 100 epochs)."""

    proxy: str
    accuracy: float  # test accuracy of the selected architecture
    spearman_top10: float
    search_minutes: float
    images: str


NAS_SETTING = ("CIFAR10, 720 ConvNets (width × depth × activation × normalisation × pooling), "
               "proxy sets of 10 images/class, 100 epochs per candidate; Spearman over the "
               "top-10 candidates")
NAS: tuple[NASRef, ...] = (
    NASRef("random", 76.2, -0.21, 18.8, "10²"),
    NASRef("herding", 76.2, -0.20, 18.8, "10²"),
    NASRef("dc", 84.5, 0.79, 18.8, "10²"),
    NASRef("early-stopping", 84.5, 0.42, 18.8, "10⁴"),
    NASRef("whole-data", 85.9, 1.00, 8604.3, "5×10⁴"),
)


def table1_ref(dataset: str, method: str, ipc: int) -> Stat | None:
    return TABLE1.get(dataset, {}).get(ipc, {}).get(method)


def dataset_label(name: str) -> str:
    return DATASET_LABELS.get(name, name)


def method_label(name: str) -> str:
    return METHOD_LABELS.get(name, name)


def arch_label(spec: str) -> str:
    return ARCH_LABELS.get(spec, spec)
