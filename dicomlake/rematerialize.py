"""Rematerialize: rows of a (transformed) store → DICOM Part 10 files.

Every element the table carries is written from the row (typed values back to DICOM text or
binary, nested sequences item by item). What the table cannot carry comes from the source
file, and only where the row says it stays: binary elements and pixel data named in the row's
``DroppedTags``, private and unknown elements named in its ``OtherElements``. Writing is strict:
the file meta is rebuilt (MediaStorageSOPInstanceUID = SOPInstanceUID) and the result is written
with ``enforce_file_format``.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID

from .dictionary import FILE_META_KEYWORDS, entry, keyword_entry
from .encode import PRIVATE_TEXT_VRS, Unsupported, encode_file, fit_private_text
from .pixels import Box, fill_boxes
from .reader import IMPLICIT_LE
from .schema import PLACEHOLDER as ITEM_PLACEHOLDER
from .sources import read_source
from .values import parse_da, parse_dt, parse_tm, to_dicom

SKIP = frozenset(["DroppedTags", "OtherElements", ITEM_PLACEHOLDER])
_PARSE = {"DA": parse_da, "TM": parse_tm, "DT": parse_dt}


def _text(value: Any, vr: str) -> Any:
    """A typed row value as pydicom wants it for ``vr`` (lists stay lists)."""
    if isinstance(value, list):
        return [to_dicom(v) for v in value]
    return to_dicom(value)


class _Builder:
    """Builds one output dataset from a row and its source dataset."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.empty = set(row.get("dl_empty") or [])
        self.raw = {r["Path"]: r for r in row.get("dl_raw") or []}
        self.dropped = set(row.get("DroppedTags") or [])

    def dataset(self, row: dict[str, Any], src: Dataset | None, path: str) -> Dataset:
        out = Dataset()
        for name, value in row.items():
            if name in SKIP or name.startswith("dl_"):
                continue
            self.element(out, name, value, src, f"{path}.{name}" if path else name)
        for empty_path in self.empty:  # typed elements present with an empty value
            prefix, _, leaf = empty_path.rpartition(".")
            e = keyword_entry(leaf) if prefix == path else None
            if e is not None and e.tag not in out:
                out.add(DataElement(e.tag, _vr(e.vr, src, e.tag), None))
        self.from_source(out, row, src, path)
        return out

    def element(self, out: Dataset, name: str, value: Any, src: Dataset | None, path: str) -> None:
        if name.startswith("Tag_"):
            if value is None:
                return
            tag = int(name[4:], 16)
            src_items = src[tag].value if src is not None and tag in src else []
            out.add(DataElement(tag, "SQ", self.items(value or [], src_items, path)))
            return
        e = keyword_entry(name)
        if e is None:
            return
        if e.repeater:
            for rv in value or []:
                tag = int(rv["Id"], 16) << 16 | (e.tag & 0xFFFF)
                out.add(DataElement(tag, _vr(e.vr, src, tag), _text(rv["Value"], e.vr)))
            return
        raw = self.raw.get(path)
        if value is None and raw is None:
            return
        vr = _vr(e.vr, src, e.tag)
        if vr == "SQ":
            src_items = src[e.tag].value if src is not None and e.tag in src else []
            out.add(DataElement(e.tag, "SQ", self.items(value or [], src_items, path)))
            return
        if raw is not None and (value is None or _PARSE.get(raw["VR"], lambda s: (None, 0))(raw["Value"])[0] == value):
            out.add(DataElement(e.tag, vr, raw["Value"] if raw["VR"] in _PARSE else value))
            return
        if vr == "AT":
            value = [Tag(v) for v in value] if isinstance(value, list) else Tag(value)
        out.add(DataElement(e.tag, vr, _text(value, vr)))

    def items(self, rows: list[dict[str, Any]], src_items: Sequence[Dataset], path: str) -> DicomSequence:
        return DicomSequence(
            [
                self.dataset(item, src_items[i] if i < len(src_items) else None, f"{path}[{i}]")
                for i, item in enumerate(rows)
            ]
        )

    def from_source(self, out: Dataset, row: dict[str, Any], src: Dataset | None, path: str) -> None:
        """Binary, pixel and private elements the row says stay, copied from the source as they are."""
        if src is None:
            return
        kept_other = {e["Tag"]: e["Data"] for e in row.get("OtherElements") or []}
        for tag in list(src.keys()):  # raw elements: copied as read, never decoded
            if tag in out or tag.element == 0:
                continue
            raw = src.get_item(tag)
            name = f"Tag_{int(tag):08X}"
            e = None if tag.is_private else entry(int(tag))
            here = f"{path}.{e.keyword if e else name}" if path else (e.keyword if e else name)
            if e is None and getattr(raw, "VR", None) != "SQ":
                if name in kept_other:
                    out[tag] = _private(src, tag, kept_other[name]) or raw
                elif here in self.dropped:
                    out[tag] = raw
                continue
            if here in self.dropped:
                out[tag] = raw


def _private(src: Dataset, tag: BaseTag, data: list[str]) -> DataElement | None:
    """A kept private text element whose text the row changed (cleaned), written from the row;
    None when it is to be copied as it is."""
    elem = src[tag]
    if elem.VR not in PRIVATE_TEXT_VRS:
        return None
    values = elem.value if isinstance(elem.value, (list, MultiValue)) else [elem.value]
    if ["" if v is None else str(v).strip() for v in values] == [d.strip() for d in data]:
        return None
    fitted = fit_private_text(elem.VR, data)
    return DataElement(tag, elem.VR, fitted[0] if len(fitted) == 1 else fitted)


def _vr(dict_vr: str, src: Dataset | None, tag: int) -> str:
    raw = src.get_item(tag) if src is not None and tag in src else None
    if raw is not None and raw.VR and raw.VR != "UN":
        return str(raw.VR)
    if " or " in dict_vr:
        return "US" if dict_vr.startswith("US") else "OB"
    return dict_vr


def build_file(
    row: dict[str, Any], source: str | None, dest: Path, fast: bool = True, boxes: list[Box] | None = None
) -> tuple[int, str, dict[str, Any]]:
    """Write ``row`` as a Part 10 file at ``dest``; returns (size, sha256, changed attributes).

    The fast byte writer (:mod:`dicomlake.encode`) is used where it applies, pydicom otherwise.
    ``boxes``: burned-in text to fill in the pixel data (:func:`dicomlake.pixels.fill_boxes`);
    the attributes that changed with it are returned, so the row can be brought in line.
    """
    missing = [k for k in ("SOPClassUID", "SOPInstanceUID") if not row.get(k)]
    if missing:
        raise ValueError(f"the instance has no {' or '.join(missing)}, which a valid Part 10 file needs")
    data = _fast(row, source) if fast and source else None
    if data is None:
        data = _with_pydicom(row, source)
    changes: dict[str, Any] = {}
    if boxes:
        data, changes = _redacted(data, boxes)
    try:  # dest is in a private staging folder until it is published: no temp file needed
        dest.write_bytes(data)
    except FileNotFoundError:  # the first file of its series
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return len(data), hashlib.sha256(data).hexdigest(), changes


def _redacted(data: bytes, boxes: list[Box]) -> tuple[bytes, dict[str, Any]]:
    ds = pydicom.dcmread(io.BytesIO(data))
    changes = fill_boxes(ds, boxes)
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue(), changes


def _fast(row: dict[str, Any], source: str) -> bytes | None:
    try:
        return encode_file(row, read_source(source))
    except Unsupported:
        return None


def _with_pydicom(row: dict[str, Any], source: str | None) -> bytes:
    src = pydicom.dcmread(io.BytesIO(read_source(source)), force=True) if source else None
    b = _Builder(row)
    body = {k: v for k, v in row.items() if not k.startswith("Media") and k not in _META_KEYWORDS}
    ds = b.dataset(body, src, "")
    meta = FileMetaDataset()
    for k in _META_KEYWORDS:
        if row.get(k) is not None:
            setattr(meta, k, row[k])
    meta.MediaStorageSOPClassUID = UID(row.get("SOPClassUID") or row.get("MediaStorageSOPClassUID") or "")
    meta.MediaStorageSOPInstanceUID = UID(row.get("SOPInstanceUID") or "")
    ts = src.file_meta.get("TransferSyntaxUID") if src is not None and hasattr(src, "file_meta") else None
    meta.TransferSyntaxUID = UID(ts or row.get("TransferSyntaxUID") or IMPLICIT_LE)
    ds.file_meta = meta
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


_META_KEYWORDS = FILE_META_KEYWORDS
