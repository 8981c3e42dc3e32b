"""NAS proxies: rank a space of architectures by training each candidate on a small proxy set
(condensed, random, herding, early stopping) and compare with whole-data training.

``run_nas(NASConfig(...))`` runs an experiment; ``dcbench run nas`` and task files
(``tasks/nas-*.yaml``) are thin layers over it. Spaces, proxies and
executors are registries (:data:`SPACES`, :data:`PROXIES`, :data:`EXECUTORS`).
"""

from dcbench.nas.config import NAS_PRESETS, NASConfig
from dcbench.nas.executors import EXECUTORS
from dcbench.nas.metrics import kendall, precision_at_k, ranking_metrics, spearman, top_k
from dcbench.nas.proxies import DEFAULT_PROXIES, GROUND_TRUTH, PROXIES
from dcbench.nas.spaces import SPACES, Candidate, SearchSpace, resolve_space

__all__ = [
    "DEFAULT_PROXIES",
    "EXECUTORS",
    "GROUND_TRUTH",
    "NAS_PRESETS",
    "PROXIES",
    "SPACES",
    "Candidate",
    "NASConfig",
    "SearchSpace",
    "kendall",
    "precision_at_k",
    "ranking_metrics",
    "resolve_space",
    "run_nas",
    "spearman",
    "top_k",
]


def run_nas(config: NASConfig):
    """Run (or resume) a NAS-proxy experiment; see :mod:`dcbench.nas.experiment`."""
    from dcbench.nas.experiment import run_nas as _run

    return _run(config)
