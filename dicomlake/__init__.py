"""dicomlake: index DICOM stores into a local SQL lake, query them, cut cohorts, de-identify."""

from .api import Lake, ingest, open
from .errors import DicomlakeError

__version__ = "0.1.0"
__all__ = ["DicomlakeError", "Lake", "__version__", "ingest", "open"]
