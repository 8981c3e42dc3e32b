"""``dcbench import``: turn a synthetic set released by others into dcbench set files.

Published sets come in their authors' own layouts, normalised with their own constants (or
not at all), with labels in any order; :mod:`dcbench.condense.synthetic_set` needs images in
*this* dataset's normalised space, sorted by class, equal counts per class. Each layout is one
reader in :data:`dcbench.importers.formats.FORMATS`; :mod:`dcbench.importers.checks` holds the
checks and the one conversion; :mod:`dcbench.importers.job` ties them together.

Only the command is imported here: ``dcbench --help`` lists it without importing torch.
"""

from dcbench.importers.cli import import_command

__all__ = ["import_command"]
