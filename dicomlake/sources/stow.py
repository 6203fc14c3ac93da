"""Sending a store's instances to a DICOMweb server with STOW-RS (export's and de-identify's
``dicomweb:`` destination): each instance's source read as checked bytes, sent in batches, and the
instances the server refused reported one by one."""

from __future__ import annotations

import io
from typing import Any

import pydicom

from ..progress import progress_bar
from .dicomweb import DicomWebError, Server
from .files import Source, read_checked

STOW_BATCH = 50  # instances per STOW-RS request


def _failed(response: Any) -> dict[str, str]:
    """SOPInstanceUID → reason, from a STOW-RS response (dataset or DICOM JSON)."""
    if response is None:
        return {}
    if isinstance(response, dict):  # DICOM JSON body of an error response
        from pydicom import Dataset

        response = Dataset.from_json(response)
    out = {}
    for item in response.get("FailedSOPSequence", []) or []:
        uid = str(item.get("ReferencedSOPInstanceUID", "?"))
        out[uid] = f"the server refused it (FailureReason {item.get('FailureReason', '?')})"
    return out


def stow(server: Server, items: list[tuple[str, Source]]) -> list[dict[str, Any]]:
    """Send ``(SOPInstanceUID, source)`` instances with STOW-RS in batches; the failures, per
    instance, as the server reported them (or why they could not be read, changed since ingest,
    or were not sent)."""
    failures: list[dict[str, Any]] = []
    advance, stop = progress_bar("STOW-RS", len(items))
    try:
        for start in range(0, len(items), STOW_BATCH):
            failures += _stow_batch(server, items[start : start + STOW_BATCH])
            advance(len(items[start : start + STOW_BATCH]))
    finally:
        stop()
    return failures


def _stow_batch(server: Server, batch: list[tuple[str, Source]]) -> list[dict[str, Any]]:
    """STOW-RS one batch: the failures."""
    failures: list[dict[str, Any]] = []
    datasets = []
    sent: dict[str, str] = {}
    for uid, source in batch:
        try:
            datasets.append(pydicom.dcmread(io.BytesIO(read_checked(source))))
            sent[str(datasets[-1].SOPInstanceUID)] = source.path
        except Exception as exc:
            failures.append({"sop_instance_uid": uid, "path": source.path, "reason": f"not read: {exc}"})
    if not datasets:
        return failures
    try:
        refused = _failed(server.store(datasets))
    except DicomWebError as exc:
        if exc.response is None or exc.response.status_code != 409:  # 409: some instances refused
            raise
        refused = _failed(exc.response.json())
    failures += [{"sop_instance_uid": u, "path": sent.get(u, ""), "reason": r} for u, r in refused.items()]
    return failures
