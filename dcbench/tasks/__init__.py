"""Task files (``tasks/*.yaml``): load, validate, list and run them.

``load_task_file(path)`` validates every preset of a file; ``run_task(task, preset,
overrides, options)`` dispatches by kind (condense, evaluate, continual, nas).
"""

from dcbench.tasks.spec import KINDS, TaskError, TaskFile, list_task_files, load_task_file

__all__ = ["KINDS", "TaskError", "TaskFile", "list_task_files", "load_task_file"]
