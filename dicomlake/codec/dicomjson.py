"""DICOM JSON (PS3.18 F.2, what DICOMweb servers return as metadata) → rows of the store schema.

There is one converter (:mod:`dicomlake.codec.reader`): this module does not interpret values
itself. It lays the JSON dataset out as the element stream the converter reads (explicit VR
little endian, tags in order, text in the dataset's own character set, sequences with
undefined length) and hands it over, in memory, so a row from a server is the row the same
instance gives from a file. Bulk data (``BulkDataURI``) is not fetched: such elements keep a
zero-length value and are listed in DroppedTags, as binary elements from files are.
``InlineBinary`` values are decoded; an image whose server leaves PixelData out of the
metadata altogether (Rows, Columns and BitsAllocated present) still lists it in DroppedTags.
What JSON cannot say is stated where it matters: DS and IS values a server sends as JSON
numbers come back in their shortest form (``5.000000`` as ``5``, ``1.50`` as ``1.5``: the
same numbers); the file meta group (TransferSyntaxUID, MediaStorage…, Implementation…) is
carried over only for the elements the server includes (most send none).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable, Mapping
from typing import Any

from pydicom.charset import custom_encoders, encode_string, need_tail_escape_sequence_encodings, python_encoding

from ..errors import DicomReadError
from .reader import Converted, convert_bytes
from .vr import CHARSET_TEXT, FLOAT_NUMBER, LENGTH_32, NUMBER_CODE, NUMBER_TEXT, STRING

_LONG = LENGTH_32
_NUM = NUMBER_CODE
_CHARSET_VRS = CHARSET_TEXT
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
EXPLICIT_LE = "1.2.840.10008.1.2.1"
_PIXEL_KEYS = ("7FE00010", "7FE00008", "7FE00009")
_PLAIN = STRING


_SHORT_HEADER = struct.Struct("<I2sH").pack
_LONG_HEADER = struct.Struct("<I2sHI").pack
_ITEM = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
_ITEM_END = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
_SEQ_END = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
_TAGS: dict[str, tuple[int, int]] = {}  # JSON key → (tag, its group-then-element 32-bit LE word)


def _tag(key: str) -> tuple[int, int]:
    got = _TAGS.get(key)
    if got is None:
        tag = int(key, 16)
        got = _TAGS[key] = (tag, (tag >> 16) | (tag & 0xFFFF) << 16)
    return got


def _header(word: int, vr: str, length: int) -> bytes:
    if vr in _LONG:
        return _LONG_HEADER(word, vr.encode(), 0, length)
    return _SHORT_HEADER(word, vr.encode(), length)


def _encodings(ds: Mapping[str, Any]) -> list[str]:
    terms = (ds.get("00080005") or {}).get("Value") or [""]
    out = [python_encoding.get(str(t or "").strip().upper(), "iso8859") if t else "iso8859" for t in terms]
    return out or ["iso8859"]


def _number_text(v: Any, vr: str) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, int) or vr == "IS" or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return str(int(v))
    return repr(float(v))


def _pn_text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    groups = [str(v.get(g) or "") for g in _PN_GROUPS]
    while groups and not groups[-1]:
        groups.pop()
    return "=".join(groups)


def _text_bytes(text: str, vr: str, encodings: list[str]) -> bytes:
    if vr in _CHARSET_VRS and encodings != ["iso8859"]:
        first = encodings[0]
        if first not in custom_encoders and first not in need_tail_escape_sequence_encodings:
            try:  # what encode_string does first, without its per-call overhead
                return text.encode(first)
            except (UnicodeError, LookupError):
                pass
        return bytes(encode_string(text, encodings))
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:  # not representable in the declared default repertoire: keep the characters
        return text.encode("utf-8")


def _value_bytes(vr: str, el: Mapping[str, Any], encodings: list[str]) -> bytes:
    values = el.get("Value")
    if not values:
        if "InlineBinary" in el:
            return base64.b64decode(el["InlineBinary"])
        return b""
    if vr in _PLAIN:  # the common case: text as it is
        try:
            return _text_bytes("\\".join("" if v is None else v for v in values), vr, encodings)
        except TypeError:
            pass
    if vr in _NUM:
        return struct.pack("<" + _NUM[vr] * len(values), *(v if vr in FLOAT_NUMBER else int(v) for v in values))
    if vr == "AT":
        return b"".join(struct.pack("<HH", int(v, 16) >> 16, int(v, 16) & 0xFFFF) for v in map(str, values))
    if vr in NUMBER_TEXT:
        text = "\\".join(_number_text(v, vr) for v in values)
    elif vr == "PN":
        text = "\\".join(_pn_text(v) for v in values)
    else:
        text = "\\".join("" if v is None else str(v) for v in values)
    return _text_bytes(text, vr, encodings)


def _dataset(ds: Mapping[str, Any], encodings: list[str], skip_meta: bool) -> bytes:
    if "00080005" in ds:
        encodings = _encodings(ds)
    out = []
    keys = sorted(ds)
    if not all(k.isupper() or k.isdigit() for k in keys):  # eight hex digits: text order is tag order
        keys = sorted(ds, key=str.upper)
    for key in keys:
        tag, word = _tag(key)
        if skip_meta and tag >> 16 == 0x0002:
            continue
        el = ds[key]
        vr = el.get("vr") or "UN"
        if vr == "SQ":
            items = b"".join(
                _ITEM + _dataset(item or {}, encodings, False) + _ITEM_END for item in el.get("Value") or []
            )
            out.append(_LONG_HEADER(word, b"SQ", 0, 0xFFFFFFFF) + items + _SEQ_END)
            continue
        data = _value_bytes(vr, el, encodings)
        if len(data) % 2:
            data += b"\0" if vr in ("OB", "UI", "UN") else b" "
        if vr not in _LONG and len(data) > 0xFFFF:
            vr = "UN"
        out.append(_header(word, vr, len(data)))
        out.append(data)
    return b"".join(out)


def _meta(ds: Mapping[str, Any]) -> bytes:
    elements = {k: v for k, v in ds.items() if k.startswith("0002") and k != "00020000"}
    elements["00020010"] = {"vr": "UI", "Value": [EXPLICIT_LE]}  # how the stream is laid out
    group = _dataset(elements, ["iso8859"], False)
    return b"\0" * 128 + b"DICM" + struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(group)) + group


def to_stream(ds: Mapping[str, Any]) -> bytes:
    """The element stream (a Part 10 byte layout, in memory) of one DICOM JSON dataset."""
    if not any(k in ds for k in _PIXEL_KEYS) and all(k in ds for k in ("00280010", "00280011", "00280100")):
        # An image whose server leaves its (bulk) pixel data out of the metadata altogether.
        ds = {**ds, "7FE00010": {"vr": "OB", "BulkDataURI": ""}}
    return _meta(ds) + _dataset(ds, ["iso8859"], True)


def convert_json(ds: Mapping[str, Any]) -> Converted:
    """One DICOM JSON instance → its row (and the converter's issues). Raises DicomReadError."""
    if not isinstance(ds, Mapping):
        raise DicomReadError("DICOM JSON: an instance must be a JSON object of tags")
    try:
        converted = convert_bytes(to_stream(ds))
    except (ValueError, TypeError, struct.error, LookupError) as exc:
        raise DicomReadError(f"DICOM JSON: {type(exc).__name__}: {exc}") from None
    ts = ((ds.get("00020010") or {}).get("Value") or [None])[0]
    converted.row["TransferSyntaxUID"] = ts  # the server's, if it says; the stream's is not the instance's
    return converted


def convert_all(instances: Iterable[Mapping[str, Any]]) -> list[Converted]:
    return [convert_json(i) for i in instances]
