"""A progress bar on stderr (rich) for long steps; silent when stderr is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable


def progress_bar(
    label: str, total: int | None, enabled: bool | None = None
) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(advance(n), stop()) of a bar counting to ``total`` (None: not known, the bar only counts)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return (lambda n: None), (lambda: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(label, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True)
    task = bar.add_task(label, total=total)
    bar.start()
    return (lambda n: bar.advance(task, n)), bar.stop
