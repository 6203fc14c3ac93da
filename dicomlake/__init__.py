"""dicomlake: index DICOM stores into a local SQL lake, query them, cut cohorts, de-identify."""

from .interrupts import quiet_while_loading

_loaded = quiet_while_loading()  # Ctrl-C while the command line loads: one line, no traceback
try:
    from .api import Lake, ingest, open
    from .errors import DicomlakeError
finally:
    _loaded()

__version__ = "0.1.0"
__all__ = ["DicomlakeError", "Lake", "__version__", "ingest", "open"]
