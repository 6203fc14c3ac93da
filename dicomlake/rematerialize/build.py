"""Rematerialize: rows of a (transformed) store → DICOM Part 10 files.

Every element the table carries is written from the row (typed values back to DICOM text or
binary, nested sequences item by item). What the table cannot carry comes from the source
file, and only where the row says it stays: binary elements and pixel data named in the row's
``DroppedTags``, private and unknown elements named in its ``OtherElements``. An element whose
source bytes read as the row's value is written as the source wrote it (:class:`dicomlake.codec.writer.Kept`),
in the source's transfer syntax (for a source without file meta: the family its data is in), after
the file meta of :func:`dicomlake.codec.writer.file_meta` (MediaStorageSOPInstanceUID = SOPInstanceUID).
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pydicom
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import ExplicitVRLittleEndian

from ..codec.dictionary import FILE_META_KEYWORDS, entry, keyword_entry
from ..codec.reader import DEFLATED, EXPLICIT_BE, IMPLICIT_LE
from ..codec.schema import PLACEHOLDER as ITEM_PLACEHOLDER
from ..codec.values import parse_da, parse_dt, parse_tm, to_dicom
from ..codec.vr import PRIVATE_TEXT, resolve
from ..codec.writer import Kept, Unsupported, encode_file, file_meta, fit_private_text, meta_elements
from ..pixels.frames import Box, fill_boxes
from ..sources.files import Source, read_checked

SKIP = frozenset(["DroppedTags", "OtherElements", ITEM_PLACEHOLDER])
_PARSE = {"DA": parse_da, "TM": parse_tm, "DT": parse_dt}


def _text(value: Any, vr: str) -> Any:
    """A typed row value as pydicom wants it for ``vr`` (lists stay lists)."""
    if isinstance(value, list):
        return [to_dicom(v) for v in value]
    return to_dicom(value)


class _Builder:
    """Builds one output dataset from a row and its source dataset."""

    def __init__(self, row: dict[str, Any], encoding: tuple[bool, bool]) -> None:
        self.encoding = encoding  # (implicit VR, little endian) of the output
        self.empty = set(row.get("dl_empty") or [])
        self.raw = {r["Path"]: r for r in row.get("dl_raw") or []}
        self.dropped = set(row.get("DroppedTags") or [])
        self.kept = Kept(row)

    def dataset(self, row: dict[str, Any], src: Dataset | None, path: str) -> Dataset:
        out = Dataset()
        for name, value in row.items():
            if name in SKIP or name.startswith("dl_"):
                continue
            self.element(out, name, value, src, f"{path}.{name}" if path else name)
        for empty_path in self.empty:  # typed elements present with an empty value
            prefix, _, leaf = empty_path.rpartition(".")
            e = keyword_entry(leaf) if prefix == path else None
            if e is not None and e.tag not in out and not self.as_written(out, src, e.tag, None, empty_path):
                out.add(DataElement(e.tag, _vr(e.vr, src, e.tag), None))
        self.from_source(out, row, src, path)
        # written in the encoding it was read in: pydicom then writes source elements as they are
        out.set_original_encoding(*self.encoding, out._character_set)
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
        if self.as_written(out, src, e.tag, value, path):
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

    def as_written(self, out: Dataset, src: Dataset | None, tag: int, value: Any, path: str) -> bool:
        """Copy the source's element as written (its VR, padding, text) where it reads as ``value``."""
        el = src.get_item(tag) if src is not None and tag in src else None
        if not isinstance(el, RawDataElement) or not isinstance(el.value, bytes) or not self.same_encoding(el):
            return False
        same = self.kept.same(tag, el.VR, el.value, el.length, el.is_little_endian, value, path)
        if same:
            out[tag] = el
        return same

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
        # last tag first: pydicom decodes a private creator already in ``out`` when one of its elements is added
        for tag in sorted(src.keys(), reverse=True):  # raw elements: copied as read, never decoded
            if tag in out or tag.element == 0:
                continue
            raw = src.get_item(tag)
            name = f"Tag_{int(tag):08X}"
            e = None if tag.is_private else entry(int(tag))
            here = f"{path}.{e.keyword if e else name}" if path else (e.keyword if e else name)
            if e is None and getattr(raw, "VR", None) != "SQ":
                if name in kept_other:
                    out[tag] = _private(src, tag, kept_other[name]) or self.as_read(src, tag)
                elif here in self.dropped:
                    out[tag] = self.as_read(src, tag)
                continue
            if here in self.dropped:
                out[tag] = self.as_read(src, tag)

    def as_read(self, src: Dataset, tag: BaseTag) -> DataElement | RawDataElement:
        """A source element as read where it is in the output's encoding, else decoded (to be encoded anew)."""
        raw = src.get_item(tag)
        return raw if self.same_encoding(raw) else src[tag]

    def same_encoding(self, el: DataElement | RawDataElement) -> bool:
        """A raw element read in the output's encoding: written as it is (else decoded and encoded anew)."""
        return not isinstance(el, RawDataElement) or (el.is_implicit_VR, el.is_little_endian) == self.encoding


def _private(src: Dataset, tag: BaseTag, data: list[str]) -> DataElement | None:
    """A kept private text element whose text the row changed (cleaned), written from the row;
    None when it is to be copied as it is (also where the source wrote a VR that is not text, such as UN)."""
    written = getattr(src.get_item(tag), "VR", None)  # None in an implicit VR file
    if written is not None and written not in PRIVATE_TEXT:
        return None  # before src[tag], which would decode the raw element in place
    elem = src[tag]
    if elem.VR not in PRIVATE_TEXT:
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
    return resolve(dict_vr)


def build_file(
    row: dict[str, Any], source: Source | None, dest: Path, fast: bool = True, boxes: list[Box] | None = None
) -> tuple[int, str, dict[str, Any]]:
    """Write ``row`` as a Part 10 file at ``dest``; returns (size, sha256, changed attributes).

    The source is read once and checked against the size and SHA-256 ingest recorded
    (:class:`~dicomlake.errors.SourceChangedError` when it vanished or changed: nothing is written).

    The fast byte writer (:mod:`dicomlake.codec.writer`) is used where it applies, pydicom otherwise.
    ``boxes``: burned-in text to fill in the pixel data (:func:`dicomlake.pixels.frames.fill_boxes`);
    the attributes that changed with it are returned, so the row can be brought in line.
    """
    missing = [k for k in ("SOPClassUID", "SOPInstanceUID") if not row.get(k)]
    if missing:
        raise ValueError(f"the instance has no {' or '.join(missing)}, which a valid Part 10 file needs")
    raw = read_checked(source) if source and source.path else None
    data = _fast(row, raw) if fast and raw is not None else None
    if data is None:
        data = _with_pydicom(row, raw)
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
    ds.save_as(buf, enforce_file_format=False)  # the file meta as written: implementation UID and version together
    return buf.getvalue(), changes


def _fast(row: dict[str, Any], source: bytes | str) -> bytes | None:
    """The fast writer's file (``source``: the source's bytes, or a path read unchecked)."""
    try:
        return encode_file(row, _bytes(source))
    except Unsupported:
        return None


def _bytes(source: bytes | str) -> bytes:
    return source if isinstance(source, bytes) else read_checked(Source(source))


def _with_pydicom(row: dict[str, Any], source: bytes | str | None) -> bytes:
    data = _bytes(source) if source else b""
    src = pydicom.dcmread(io.BytesIO(data), force=True) if source else None
    body = {k: v for k, v in row.items() if not k.startswith("Media") and k not in FILE_META_KEYWORDS}
    ts = _transfer_syntax(row, data, src)
    fp = DicomBytesIO()
    fp.is_implicit_VR, fp.is_little_endian = ts == IMPLICIT_LE, ts != EXPLICIT_BE
    ds = _Builder(row, (fp.is_implicit_VR, fp.is_little_endian)).dataset(body, src, "")
    write_dataset(fp, ds)
    dataset = fp.getvalue()
    if ts == DEFLATED:
        packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        dataset = packer.compress(dataset) + packer.flush()
        dataset += b"\0" * (len(dataset) % 2)
    return b"\0" * 128 + b"DICM" + file_meta(row, data, ts) + dataset


def _transfer_syntax(row: dict[str, Any], data: bytes, src: Dataset | None) -> str:
    """The source's transfer syntax; for a source without file meta, the family its data is in."""
    ts = meta_elements(data)[2]
    if ts or src is None:
        return ts or row.get("TransferSyntaxUID") or IMPLICIT_LE
    implicit, little = src.original_encoding
    return IMPLICIT_LE if implicit is not False else (ExplicitVRLittleEndian if little is not False else EXPLICIT_BE)
