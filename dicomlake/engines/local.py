"""Worker processes: a forked pool (workers inherit the loaded modules and the job's data).

A forked worker starts with :func:`gc.freeze` (:data:`CHILD_START`): the objects it inherits are
never collected in it. Inherited garbage (a DuckDB connection in a reference cycle, as a
notebook or a long-lived process leaves) would otherwise be destroyed in a child that has none
of its threads, and crash it (a broken pool)."""

from __future__ import annotations

import gc
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

#: The initializer of every forked worker.
CHILD_START = gc.freeze


def fork_pool(workers: int, tasks: int | None = None) -> ProcessPoolExecutor | None:
    """A pool of ``workers`` forked processes (no more than ``tasks``), or None when one process
    does: one worker, fewer than two tasks, or no fork on this platform."""
    if workers <= 1 or (tasks is not None and tasks < 2) or "fork" not in multiprocessing.get_all_start_methods():
        return None
    size = workers if tasks is None else min(workers, tasks)
    return ProcessPoolExecutor(size, mp_context=multiprocessing.get_context("fork"), initializer=CHILD_START)
