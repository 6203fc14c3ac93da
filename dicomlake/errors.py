"""One error hierarchy. Every message says what failed, where, and what to do next."""

from __future__ import annotations


class DicomlakeError(Exception):
    """Base class: a handled error. The CLI prints ``Error: <message>`` and exits 1."""


class LakeError(DicomlakeError):
    """The lake folder or its catalog is missing, busy or not a lake."""


class StoreError(DicomlakeError):
    """A store is unknown, already exists, or its write disposition forbids the write."""


class QueryError(DicomlakeError):
    """A query is unknown, misses a parameter, or fails in the engine."""


class FilterFileError(DicomlakeError):
    """A filter file line is not a valid resource path."""


class ConfigError(DicomlakeError):
    """A de-identification config is invalid."""


class SourceError(DicomlakeError):
    """An ingest source (folder, file, list, server) cannot be read."""


class SourceChangedError(DicomlakeError):
    """A row's source file vanished or no longer has the size and SHA-256 ingest recorded."""


class DicomReadError(DicomlakeError):
    """One file cannot be read as DICOM; ingest records it as an issue and goes on."""


class IngestIssuesError(DicomlakeError):
    """``--strict`` was given and the ingest met issues: nothing was published."""

    def __init__(self, message: str, summary: object = None) -> None:
        super().__init__(message)
        self.summary = summary
