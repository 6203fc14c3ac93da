"""Progress bars on stderr (rich) for long steps; silent when stderr is not a terminal.

The rule: a bar is drawn only where stderr is a terminal, so a pipe, a redirect or a CI log
never receives one (and stdout never does: the bars write to stderr). Bars of nested steps
(a de-identification's OCR and file writing inside its transform) share one display, one line
each, because a terminal holds one live display at a time.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_live: dict[str, Any] = {"bar": None, "open": 0}


def enabled_here() -> bool:
    """Whether bars are drawn: stderr is a terminal."""
    return sys.stderr.isatty()


def progress_bar(
    label: str, total: int | None, enabled: bool | None = None
) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(advance(n), stop()) of a bar counting to ``total`` (None: not known, the bar only counts)."""
    if enabled is None:
        enabled = enabled_here()
    if not enabled:
        return (lambda n: None), (lambda: None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with _lock:
        bar: Any = _live["bar"]
        if bar is None:
            bar = _live["bar"] = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=True,
            )
            bar.start()
        task = bar.add_task(label, total=total)
        _live["open"] += 1
    stopped = False

    def stop() -> None:
        nonlocal stopped
        with _lock:
            if stopped:
                return
            stopped = True
            bar.remove_task(task)
            _live["open"] -= 1
            if _live["open"] == 0:
                bar.stop()
                _live["bar"] = None

    return (lambda n: bar.advance(task, n)), stop
