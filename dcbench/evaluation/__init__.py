"""The evaluation protocol (:mod:`.protocol`) and the ``dcbench evaluate`` job (:mod:`.job`).

Importing this package is light: the job (which loads datasets and sets) is imported from
:mod:`dcbench.evaluation.job` by whoever runs it.
"""

from dcbench.evaluation.protocol import EvalProtocol, accuracy, evaluate_set, train_model

__all__ = ["EvalProtocol", "accuracy", "evaluate_set", "train_model"]
