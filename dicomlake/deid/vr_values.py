"""Values a de-identification writes are valid for their VR (PS3.5 6.2): the dummies and the check.

:data:`DUMMY` is the one table of dummy values (``resetTag``, code D, and any transformed value
that does not fit its VR), written as DICOM text; :mod:`.sqlgen` writes them as SQL literals.
:func:`fit` keeps a transformed value where it is valid for its VR (length, character
repertoire, format: pydicom's validators, plus no value delimiter ``\\`` inside one value and
no control characters outside LT/ST/UT) and writes the VR's dummy otherwise: ``[AGE]`` in an AS
becomes ``000D``, ``[MEDICAL_RECORD_NUMBER]`` (23 characters) in an SH becomes ``PLACEHOLDER``.
"""

from __future__ import annotations

import functools
import re

from pydicom import config
from pydicom.valuerep import validate_value

from ..codec.vr import NUMBER_TEXT, STRUCT_CODE, TEXT_BLOCK

PLACEHOLDER = "PLACEHOLDER"
#: The dummy of each VR, as DICOM text; every other text VR (and PN) gets :data:`PLACEHOLDER`.
#: UI has none: its dummy is a regenerated UID.
DUMMY = {
    "DA": "19000101",
    "TM": "000000",
    "DT": "19000101000000",
    "AS": "000D",
    **dict.fromkeys(NUMBER_TEXT | frozenset(STRUCT_CODE), "0"),
}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")  # ESC (0x1B) starts a character set
_LINE = re.compile(r"[\r\n\f\t]")


def dummy(vr: str) -> str:
    """The dummy value of ``vr`` (DICOM text)."""
    return DUMMY.get(vr, PLACEHOLDER)


@functools.lru_cache(maxsize=65536)
def fits(vr: str, value: str) -> bool:
    """Is ``value`` (one value, DICOM text) valid for ``vr``?"""
    if _CONTROL.search(value) or (vr not in TEXT_BLOCK and ("\\" in value or _LINE.search(value))):
        return False
    try:
        validate_value(vr, value, config.RAISE)
    except (ValueError, TypeError):
        return False
    return True


def fit(vr: str, value: str) -> str:
    """``value`` where it is valid for ``vr``, else the VR's dummy."""
    return value if fits(vr, value) else dummy(vr)


_TOKEN = re.compile(r"\[[A-Z_]+\]")


def plan_wrote(value: str, kind: str = "") -> bool:
    """Could a de-identification have written ``value`` itself: a dummy (any written form of the
    dummy date when ``kind`` is DATE) or a ``[INFO_TYPE]`` token? ``verify`` never reports those."""
    v = value.strip().rstrip("^")
    if v in DUMMY.values() or v == PLACEHOLDER or _TOKEN.fullmatch(v):
        return True
    return kind == "DATE" and re.sub(r"\D", "", v)[:8] == DUMMY["DA"]
