"""Ctrl-C (SIGINT) in the ``dicomlake`` command: one ``Interrupted: …`` line and exit code 130 at
any moment, no traceback.

:class:`Interrupts` is installed by the CLI around a command: it remembers the interrupt (a
library may turn it into its own exception, as DuckDB's ``Query interrupted`` or a broken
worker pool), passes it on to forked workers, which leave quietly, and says what was published.
:func:`quiet_while_loading` covers the moments before a command runs (importing the package).
This module imports nothing heavy: the package loads it first.
"""

from __future__ import annotations

import _thread
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

EXIT = 130
#: logging's at-fork hooks, run inside ``os.fork``: an exception there cannot propagate.
_FORK_HOOKS = frozenset({"_acquireLock", "_releaseLock", "_after_at_fork_child_reinit_locks"})
_held: list[bool] = []  # per open held() block: whether a Ctrl-C came in it


def message() -> str:
    """What an interrupted command leaves: nothing, or the commits done before the interrupt."""
    lake = sys.modules.get("dicomlake.store.catalog")  # not loaded yet: nothing can have been published
    done: list[str] = lake.published() if lake is not None and hasattr(lake, "published") else []
    if not done:
        return "Interrupted: nothing was published"
    stores = ", ".join(sorted({f"'{s}'" for s in done}))
    return (
        f"Interrupted: {len(done)} commit(s) to store {stores} were published before it, nothing after "
        "(an ingest from an object store and a DICOMweb harvest resume where they stopped when the same "
        "command runs again)"
    )


class Interrupts:
    """SIGINT handling for one command of this process (a context manager).

    The handler raises KeyboardInterrupt in the main thread; where a library's C code does not
    let that through promptly (a DuckDB query can run on), a watcher thread woken by the signal
    itself (``signal.set_wakeup_fd``) ends the process after ``GRACE`` seconds, as a kill would:
    the lake is left as it was, and the next write removes what the command staged."""

    GRACE = 3.0

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.seen = False
        self._told = threading.Lock()
        self._done = threading.Event()

    def __call__(self, signum: int, frame: Any) -> None:
        if os.getpid() != self.pid:  # a forked worker: its parent reports the interrupt
            os._exit(EXIT)
        if frame is not None and frame.f_code.co_name in _FORK_HOOKS and frame.f_globals.get("__name__") == "logging":
            # An exception raised in logging's at-fork hook is printed as 'Exception ignored' and
            # lost: deliver the interrupt again a moment later, once the fork has returned.
            threading.Timer(0.05, _thread.interrupt_main, (signum,)).start()
            return
        self.seen = True
        _stop_children()
        if _held:
            _held[-1] = True  # raised at the end of the held block
            return
        raise KeyboardInterrupt

    def report(self) -> str | None:
        """The message, the first time it is asked for (the main thread or the watcher)."""
        return message() if self._told.acquire(blocking=False) else None

    def __enter__(self) -> Interrupts:
        self._installed = threading.current_thread() is threading.main_thread()  # where signals go
        if not self._installed:
            return self
        self._previous = signal.signal(signal.SIGINT, self)
        self._read, write = os.pipe()
        os.set_blocking(write, False)
        self._write = write
        self._wakeup = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, name="dicomlake-interrupts", daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if not self._installed:
            return
        signal.set_wakeup_fd(self._wakeup)
        # In the dicomlake command (quiet_while_loading's handler was in force) the command is over:
        # a late Ctrl-C changes nothing, so it is ignored rather than reported as an interrupt.
        signal.signal(signal.SIGINT, signal.SIG_IGN if self._previous is _leave else self._previous)
        os.close(self._write)  # the watcher reads the end of the pipe and leaves

    def _watch(self) -> None:
        with os.fdopen(self._read, "rb", buffering=0) as pipe:
            while data := pipe.read(64):
                if signal.SIGINT in data and not self._done.wait(self.GRACE):
                    text = self.report()
                    if text is not None:
                        _stop_children()
                        sys.stderr.write(text + "\n")
                        sys.stderr.flush()
                        os._exit(EXIT)


def _stop_children() -> None:
    for child in multiprocessing.active_children():
        if child.pid:
            os.kill(child.pid, signal.SIGINT)


def _leave(signum: int, frame: Any) -> None:
    sys.stderr.write(message() + "\n")
    sys.stderr.flush()
    os._exit(EXIT)


def quiet_while_loading(restore_to: Any = None) -> Callable[[], None]:
    """Until the returned function is called, SIGINT ends the process with the message (no
    traceback from the middle of an import). Not in an interactive session or another thread.
    The handler restored is ``restore_to`` if given (the one before the package's first
    module), else the one found."""
    if hasattr(sys, "ps1") or sys.flags.interactive or threading.current_thread() is not threading.main_thread():
        return lambda: None
    found = signal.signal(signal.SIGINT, _leave)
    previous = found if restore_to is None else restore_to

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    return restore


@contextmanager
def held() -> Iterator[None]:
    """A Ctrl-C inside the block takes effect at its end: a catalog commit and the record that it
    was published happen together, so the message never says nothing was published after a commit
    (nor the reverse). Only under :class:`Interrupts`; keep the block short (its watcher still ends
    the process after ``GRACE`` seconds)."""
    _held.append(False)
    try:
        yield
    finally:
        if _held.pop():
            if _held:
                _held[-1] = True
            else:
                raise KeyboardInterrupt
