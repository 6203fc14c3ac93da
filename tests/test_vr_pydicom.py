"""Value-level differential test: every element the reader converts equals pydicom's value.

Over all of pydicom's test files (``get_testdata_files()`` and the character set files), each
public element pydicom reads with a non-empty value (at any depth in sequences) is compared
with the row's value, normalised the way the schema documents it:

- DS and IS stay text (the text pydicom read, ``original_string``);
- PN is the BigQuery struct of the text pydicom decoded (:func:`dicomlake.codec.values.parse_pn`);
- DA, TM and DT are typed; a DT with a UTC offset is converted to UTC (naive);
- values of multi-valued elements are lists; binary numbers and AT are ints, FL/FD floats.

Documented differences (see ``_documented``), where the row is not pydicom's value:

- an element with no column (binary VRs, PixelData, sequences deeper than 15 levels);
- a value that does not parse for its dictionary VR: its column is NULL and its text is in
  ``dl_raw`` (compared there instead);
- a DA or TM in the ACR-NEMA form (``14:04:38``) is typed in the row; pydicom keeps the text;
- a PN whose text ends in an empty group (``...=``) keeps that group as ``{}`` (round trip);
- a dictionary-single-valued text element written with several values stays one text with
  its backslashes (its column is not a list);
- repeating groups (50xx, 60xx) are rows of ``{Id, Value}`` and private elements are in
  ``OtherElements``: not compared here (``test_reader`` covers them).
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom import config
from pydicom.data import get_charset_files, get_testdata_files
from pydicom.dataset import Dataset
from pydicom.valuerep import PersonName

from dicomlake.codec.dictionary import entry
from dicomlake.codec.reader import convert_file
from dicomlake.codec.values import parse_pn
from dicomlake.codec.vr import BINARY, DATE_TIME
from dicomlake.errors import DicomReadError

FILES = sorted(p for p in {*get_testdata_files(), *get_charset_files()} if Path(p).is_file())


def _one(value: Any, vr: str) -> Any:
    """One pydicom value, normalised as the schema stores it."""
    if isinstance(value, PersonName):
        return parse_pn("=".join(value.components))
    if vr in ("DS", "IS"):
        return getattr(value, "original_string", None) or str(value)
    if vr == "DT" and isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, dt.datetime) and vr == "DT":
        return value.replace(tzinfo=None)
    if vr in DATE_TIME and isinstance(value, dt.date | dt.time):
        return value
    if isinstance(value, bytes):
        return value
    return int(value) if vr == "AT" else value


def _expected(el: pydicom.DataElement) -> Any:
    value = el.value
    if isinstance(value, list | pydicom.multival.MultiValue):
        return [_one(v, el.VR) for v in value]
    return _one(value, el.VR)


def _raw_text(row: dict[str, Any], path: str) -> str | None:
    for raw in row.get("dl_raw") or []:
        if raw["Path"] == path:
            return str(raw["Value"])
    return None


def _text(el: pydicom.DataElement) -> str:
    value = el.value
    values = value if isinstance(value, list | pydicom.multival.MultiValue) else [value]
    return "\\".join(str(getattr(v, "original_string", None) or v) for v in values)


def _documented(el: pydicom.DataElement, got: Any, want: Any, row: dict[str, Any], path: str) -> bool:
    """Is ``got`` != ``want`` one of the differences listed in the module docstring?"""
    if got is None and _raw_text(row, path) is not None:
        return _raw_text(row, path) == _text(el).rstrip(" \x00")
    if isinstance(want, list) and not isinstance(got, list) and not entry(el.tag).multi:  # type: ignore[union-attr]
        return got == _text(el) or got == [want]
    if el.VR in ("DA", "TM") and isinstance(want, str):
        return got == _acr_nema(el.VR, want)
    if el.VR == "PN":
        return _without_empty_groups(got) == _without_empty_groups(want)
    return False


def _acr_nema(vr: str, text: str) -> Any:
    """A date or time in the ACR-NEMA form (``2004.01.19``, ``14:04:38``), typed by pydicom without
    its separators: the reader accepts that form (pydicom keeps it as text)."""
    cls = pydicom.valuerep.DA if vr == "DA" else pydicom.valuerep.TM
    return cls(text.replace(":", "") if vr == "TM" else text.replace(".", "").replace("-", ""))


def _without_empty_groups(value: Any) -> Any:
    """PN structs without present-but-empty groups (``Wang^XiaoDong=王^小東=`` keeps ``Phonetic: {}``
    in the row, so the text round-trips; pydicom drops the trailing empty group)."""
    if isinstance(value, list):
        return [_without_empty_groups(v) for v in value]
    return {g: c for g, c in value.items() if c} if isinstance(value, dict) else value


def _compare(ds: Dataset, row: dict[str, Any], top: dict[str, Any], prefix: str, bad: list[str]) -> int:
    compared = 0
    for tag in list(ds.keys()):
        try:
            el = ds[tag]
        except (ValueError, TypeError, LookupError, AttributeError, OverflowError):
            continue  # a value pydicom itself cannot convert: nothing to compare with
        e = entry(el.tag)
        if el.tag.is_private or e is None or e.repeater or el.tag.element == 0 or el.tag == 0x7FE00010:
            continue
        if el.VR in BINARY or el.VR not in pydicom.valuerep.STANDARD_VR or el.value in (None, "", b"", []):
            continue
        path = f"{prefix}{e.keyword}"
        if el.VR == "SQ":
            items = row.get(e.keyword)
            if items is None:  # deeper than BigQuery's nesting limit: dropped
                continue
            for i, (item, sub) in enumerate(zip(el.value, items, strict=True)):
                compared += _compare(item, sub or {}, top, f"{path}[{i}].", bad)
            continue
        got, want = row.get(e.keyword), _expected(el)
        if isinstance(want, list) and not e.multi and len(want) == 1:
            want = want[0]
        elif e.multi and not isinstance(want, list):
            want = [want]
        if got != want and not _documented(el, got, want, top, path):
            bad.append(f"{path} ({el.VR}): row {got!r} != pydicom {want!r}")
        compared += 1
    return compared


def _pydicom(path: str) -> Dataset | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path, force=True)
        except Exception:
            return None


@pytest.fixture
def typed_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "datetime_conversion", True)


@pytest.mark.usefixtures("typed_dates")
def test_every_converted_value_equals_pydicoms() -> None:
    compared, files, bad = 0, 0, []
    for path in FILES:
        try:
            row = convert_file(path)[0].row
        except DicomReadError:
            continue
        ds = _pydicom(path)
        if ds is None:
            continue
        problems: list[str] = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compared += _compare(ds, row, row, "", problems)
        bad += [f"{Path(path).name}: {p}" for p in problems]
        files += 1
    assert not bad, "\n".join(bad[:40])
    print(f"{compared} values compared in {files} files")
    assert files > 150 and compared > 5000, (files, compared)
