"""The lake's locks (``flock``): the writers' lock, and one per live operation's staging folder.

A lock held by a process dies with it, so a killed operation's staging is recognisably dead.
Workers forked by a writer drop the inherited lock descriptors (and, on Linux, die with the
writer), so that a killed writer's workers never keep its locks alive. The writers' lock file
names its holder (pid, command, operations) for the message of a writer that waits
(:func:`lock_wait`, the CLI's ``--wait``) or gives up.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path
from typing import IO

from ..errors import LakeBusyError, LakeError, Param

_WAIT: ContextVar[float] = ContextVar("dicomlake_lock_wait", default=0.0)
_HELD: dict[int, IO[str]] = {}  # the lock files this process holds
_FORK: dict[str, bool] = {}


@contextmanager
def lock_wait(seconds: float) -> Iterator[None]:
    """Writers started inside wait up to ``seconds`` for another writer to finish (``--wait``)."""
    if seconds < 0:
        raise LakeError(Param("wait", seconds), ": give 0 or more seconds")
    token = _WAIT.set(seconds)
    try:
        yield
    finally:
        _WAIT.reset(token)


@contextmanager
def writer(path: Path, lake: str) -> Iterator[IO[str]]:
    """Hold the writers' lock ``path`` of ``lake`` (waiting as :func:`lock_wait` says)."""
    with open(path, "a+") as fh:
        _acquire(fh, lake)
        _HELD[id(fh)] = fh
        try:
            yield fh
        finally:
            _HELD.pop(id(fh), None)
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)


def _acquire(fh: IO[str], lake: str) -> None:
    deadline = time.monotonic() + _WAIT.get()
    told = False
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            who = _holder(fh)
            if time.monotonic() >= deadline:
                raise LakeBusyError(who, lake) from None
            if not told:
                print(f"waiting for {who} to finish writing to {lake}", file=sys.stderr, flush=True)
                told = True
            time.sleep(0.1)


def _holder(fh: IO[str]) -> str:
    fh.seek(0)
    try:
        who = json.loads(fh.read() or "{}")
    except json.JSONDecodeError:  # being written
        who = {}
    if not who:
        return "a writer"
    ops = ", ".join(who.get("operations") or []) or "starting"
    return f"pid {who.get('pid')}: {who.get('command')}; operation {ops}"


def announce(fh: IO[str], operations: list[str]) -> None:
    """Write who holds the writers' lock ``fh`` (read by a waiting writer's message)."""
    fh.seek(0)
    fh.truncate()
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python"
    fh.write(json.dumps({"pid": os.getpid(), "command": command, "operations": operations}))
    fh.flush()


def hold(path: Path) -> IO[str]:
    """Create and lock ``path`` (an operation's lock), held until :func:`release`."""
    fh = open(path, "w")  # noqa: SIM115 (held until release)
    fcntl.flock(fh, fcntl.LOCK_EX)
    _HELD[id(fh)] = fh
    return fh


def release(fh: IO[str], path: Path) -> None:
    _HELD.pop(id(fh), None)
    path.unlink(missing_ok=True)
    fh.close()


def is_held(path: Path) -> bool:
    """Whether some live process holds the lock ``path`` (False when there is no such file)."""
    try:
        fh = open(path)  # noqa: SIM115
    except FileNotFoundError:
        return False
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def _forking() -> None:
    _FORK["main"] = threading.current_thread() is threading.main_thread()


def _drop_inherited_locks() -> None:
    """In a process forked by a writer (a worker): point the inherited lock descriptors at
    /dev/null, so that the locks die with the writer, and die with it too (Linux), so that a
    killed writer leaves nothing running that could keep writing into its staging."""
    if not _HELD:
        return
    null = os.open(os.devnull, os.O_RDONLY)
    for fh in _HELD.values():
        os.dup2(null, fh.fileno())
    os.close(null)
    _HELD.clear()
    if _FORK.get("main"):  # the signal follows the forking thread: only the main thread lives as long
        with suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


os.register_at_fork(before=_forking, after_in_child=_drop_inherited_locks)
