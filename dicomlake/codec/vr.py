"""The one VR authority: every Value Representation fact dicomlake uses, built from pydicom's tables.

The sets below are read from :mod:`pydicom.valuerep` (and :mod:`pydicom.values` for the struct
codes of binary numbers), never typed out again elsewhere: the reader, the writers
(:mod:`dicomlake.codec.writer`, :mod:`dicomlake.rematerialize.build`), the DICOM JSON converter, the schema,
the de-identification plan and value fitting, and ``verify`` all import them from here
(``tests/test_vr.py`` checks that no other module declares a VR table). The few facts pydicom
has no table for are written here once, each with the part of the standard it comes from.

An ambiguous dictionary VR (``US or SS``, ``OB or OW``, ``US or OW``, ``US or SS or OW``) is
resolved by :func:`resolve` only.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

from pydicom import valuerep
from pydicom.values import converters


def _names(vrs: Iterable[Any]) -> frozenset[str]:
    """Plain strings (pydicom's tables hold ``VR`` enum members; ``VR.OB_OW`` hashes as ``"OB_OW"``)."""
    return frozenset(str(getattr(v, "value", v)) for v in vrs)


#: Every VR a file may write (PS3.5 Table 6.2-1).
ALL = _names(valuerep.STANDARD_VR)
#: Dictionary VRs with more than one possibility (PS3.6); :func:`resolve` picks one.
AMBIGUOUS = _names(valuerep.AMBIGUOUS_VR)
#: VRs whose explicit-VR header has two reserved bytes and a 32-bit length (PS3.5 7.1.2).
LENGTH_32 = _names(valuerep.EXPLICIT_VR_LENGTH_32)
#: Binary or bulk VRs: no column (listed in DroppedTags), skipped by length when reading.
BINARY = _names(valuerep.BYTES_VR)
#: Text VRs (PS3.5 6.2: character strings).
TEXT = _names(valuerep.STR_VR)
#: Text VRs decoded with the SpecificCharacterSet (PS3.5 6.1.2.3); the rest are always ASCII.
CHARSET_TEXT = _names(valuerep.CUSTOMIZABLE_CHARSET_VR)
#: Text VRs always in the default repertoire.
DEFAULT_TEXT = _names(valuerep.DEFAULT_CHARSET_VR)
#: Text VRs with one value that may hold a backslash and CR, LF, FF, TAB (LT, ST, UT).
TEXT_BLOCK = TEXT & _names(valuerep.ALLOW_BACKSLASH)
#: Text VRs whose values are separated by a backslash (UR, like LT ST UT, has one value: PS3.5 6.2).
MULTI_TEXT = TEXT - TEXT_BLOCK - {"UR"}
#: Numbers written as text (DS, IS).
NUMBER_TEXT = TEXT & _names(valuerep.FLOAT_VR | valuerep.INT_VR)
#: Dates and times (PS3.5 6.2: DA, DT, TM), typed columns in the schema.
DATE_TIME = frozenset({"DA", "DT", "TM"})
#: Text VRs whose value is its text as it is: not a number (DS, IS), not a person name (PN).
STRING = TEXT - NUMBER_TEXT - {"PN"}
#: Binary numbers: VR → :mod:`struct` code of one value (little or big endian by prefix).
NUMBER_CODE: dict[str, str] = {
    str(getattr(vr, "value", vr)): conv[1] for vr, conv in converters.items() if isinstance(conv, tuple)
}
#: Binary numbers and AT (an attribute tag: two US, group then element; PS3.5 6.2).
STRUCT_CODE: dict[str, str] = {**NUMBER_CODE, "AT": "H"}
#: Binary floating point numbers (FL, FD) and binary integers (AT, SL, SS, UL, US, SV, UV).
FLOAT_NUMBER = frozenset(NUMBER_CODE) & _names(valuerep.FLOAT_VR)
INT_NUMBER = frozenset(STRUCT_CODE) - FLOAT_NUMBER
#: Text VRs other than dates, times and person names: their values are strings as they are.
PLAIN_TEXT = TEXT - DATE_TIME - {"PN"}
#: Size in bytes of one value of each struct code.
CODE_SIZE: dict[str, int] = {code: struct.calcsize("<" + code) for code in STRUCT_CODE.values()}
#: Maximum characters of one value (PS3.5 Table 6.2-1); PN: 64 per component group.
MAX_CHARS: dict[str, int] = {**valuerep.MAX_VALUE_LEN, "PN": 64}
#: The value delimiter of text VRs (backslash, PS3.5 6.4).
VALUE_DELIMITER = 0x5C
#: Bytes at which a code extension returns to the initial character set (PS3.5 6.1.2.5.3), as
#: :func:`pydicom.charset.decode_bytes` takes them: the value delimiter, and in PN also ``^`` and ``=``.
CHARSET_RESET: set[int] = {VALUE_DELIMITER}
CHARSET_RESET_PN: set[int] = CHARSET_RESET | set(valuerep.PN_DELIMS) | {ord("=")}
#: Private text VRs a de-identification may clean: the character-set text VRs and AE.
PRIVATE_TEXT = CHARSET_TEXT | {"AE"}


def possible(vr: str) -> frozenset[str]:
    """The VRs an element of dictionary VR ``vr`` may have (one, or the choices of an ambiguous VR)."""
    return frozenset(vr.split(" or "))


#: VRs that are or may be binary: ``OB or OW``, ``US or OW`` and ``US or SS or OW`` besides :data:`BINARY`.
MAYBE_BINARY = BINARY | frozenset(a for a in AMBIGUOUS if possible(a) & BINARY)


def resolve(vr: str, pixel_representation: int | None = None, values: Iterable[Any] = ()) -> str:
    """The VR of an element whose dictionary VR is ``vr``, where the file does not say it.

    A VR written in the file (explicit VR, other than UN) always wins: callers check it first.
    The rule (PS3.5 Annex A, PS3.3 C.7.6.3.1.4):

    - a VR that is not ambiguous is itself;
    - ``US or SS``: SS where ``pixel_representation`` is 1 (signed pixels, given by the reader
      from the dataset's PixelRepresentation) or any of ``values`` is negative (a writer with
      the row's values), US otherwise;
    - ``US or OW`` and ``US or SS or OW`` (LUT data): US;
    - ``OB or OW``: OB — the value is bulk data, kept as its bytes (no byte swapping); it has
      no column either way.
    """
    if vr not in AMBIGUOUS:
        return vr
    if vr == "OB or OW":
        return "OB"
    if vr == "US or SS" and (pixel_representation == 1 or any(isinstance(v, int) and v < 0 for v in values)):
        return "SS"
    return "US"
