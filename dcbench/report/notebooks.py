"""Execute the notebooks of ``notebooks/`` in place against a results folder.

``python -m dcbench.report.notebooks [--results DIR] notebooks/*.ipynb`` (what
``make notebooks`` runs). Each notebook reads the results root from ``$DCBENCH_RESULTS``
(default ``../results``, relative to ``notebooks/``); this sets it to an absolute path.
Needs nbformat, nbclient and ipykernel (the ``dev`` extra).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def execute_notebook(path: str | Path, results: str | Path | None = None,
                     timeout: int = 600, inplace: bool = True, kernel: str = "python3"):
    """Run every cell of ``path`` (working directory: the notebook's folder) with
    ``DCBENCH_RESULTS`` set to ``results``; write the outputs back if ``inplace``.
    Returns the executed notebook; a failing cell raises ``CellExecutionError``."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    before = os.environ.get("DCBENCH_RESULTS")
    if results is not None:
        os.environ["DCBENCH_RESULTS"] = str(Path(results).resolve())
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, record_timing=False,
                                resources={"metadata": {"path": str(path.parent.resolve())}})
        client.execute()
    finally:
        if results is not None:
            if before is None:
                os.environ.pop("DCBENCH_RESULTS", None)
            else:
                os.environ["DCBENCH_RESULTS"] = before
    if inplace:
        from dcbench.results.io import atomic_write_text

        atomic_write_text(path, nbformat.writes(nb) + "\n")
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dcbench.report.notebooks",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--results", type=Path, default=None,
                        help="results folder (default: $DCBENCH_RESULTS, else ./results)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    results = args.results or Path(os.environ.get("DCBENCH_RESULTS", "results"))
    if not results.is_dir():
        print(f"error: no results folder at {results}", file=sys.stderr)
        return 1
    for nb in args.notebooks:
        print(f"executing {nb} against {results}", flush=True)
        execute_notebook(nb, results, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
