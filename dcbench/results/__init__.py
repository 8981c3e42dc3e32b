"""Run directories, atomic writes and manifests.

Every result lives in its own directory (:class:`RunDir`) with a manifest saying how it was
made (exact command, seed, versions, git commit, wall time, machine), so any number can be
re-run and nothing is ever silently overwritten.
"""

from dcbench.results.io import atomic_write_bytes, atomic_write_json, atomic_write_text
from dcbench.results.manifest import environment_info, make_manifest
from dcbench.results.rundir import RunDir, results_root

__all__ = [
    "RunDir",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "environment_info",
    "make_manifest",
    "results_root",
]
