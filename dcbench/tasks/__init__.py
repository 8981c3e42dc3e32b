"""Task files (``tasks/*.yaml``): load, validate, list and run them.

``load_task_file(path)`` validates every preset of a file into its kind's config;
``run_task(task, preset, assignments, options)`` runs that config with the kind's runner
(condense, evaluate, continual, nas).
"""

from dcbench.tasks.spec import (
    KINDS,
    TaskError,
    TaskFile,
    list_task_files,
    load_task_file,
    run_task,
)

__all__ = ["KINDS", "TaskError", "TaskFile", "list_task_files", "load_task_file", "run_task"]
