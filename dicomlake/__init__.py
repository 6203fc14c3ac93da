"""dicomlake: index DICOM stores into a local SQL lake, query them, cut cohorts, de-identify."""

import _signal  # the C module: signal.py would import enum first
import sys as _sys


def _leave_early(signum: int, frame: object) -> None:
    """Ctrl-C while the package's first module loads: nothing can have been published."""
    _sys.stderr.write("Interrupted: nothing was published\n")
    _sys.stderr.flush()
    import os

    os._exit(130)


_original = None
if not (hasattr(_sys, "ps1") or _sys.flags.interactive):
    try:
        # before any other import, so that no moment of loading is left to Python's traceback
        _original = _signal.signal(_signal.SIGINT, _leave_early)
    except ValueError:  # not the main thread: the importer's own handling stays
        pass
    else:
        if _original is None:  # a handler not set from Python: Python's own is what is left
            _original = _signal.default_int_handler
from .interrupts import quiet_while_loading  # noqa: E402

_loaded = quiet_while_loading(restore_to=_original)  # Ctrl-C while the command line loads: one line, no traceback
try:
    from .api import Lake, ingest, open
    from .errors import DicomlakeError
finally:
    _loaded()

__version__ = "0.1.0"
__all__ = ["DicomlakeError", "Lake", "__version__", "ingest", "open"]
