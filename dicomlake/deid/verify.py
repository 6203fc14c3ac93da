"""Verify a de-identified store: search its DICOM files for the source store's identifying values.

``verify(dest_lake, store, against_lake, against_store)`` collects, with SQL over the source
lake, each source patient's identifying values (every person name, top level and nested; patient
IDs, accession numbers, study IDs; the patient's dates and times; addresses, phone numbers,
institution and department names; the original Study/Series/SOP/Frame of Reference UIDs and every
ReferencedSOPInstanceUID), expands them into their usual written forms
(:func:`~dicomlake.deid.detect.variants_of_name`, :func:`~dicomlake.deid.detect.variants_of_date`,
:func:`~dicomlake.deid.detect.place_forms`: an address's street with and without its house number,
street name, city, postal code, an institution's words that are not vocabulary; phone and ID
spellings; a time as ``084826``, ``08:48:26``, ``8:48:26 AM``, ``08:48``, reported only next to a
date), and searches every file of the de-identified store for them, case-insensitively:

* every element, parsed with pydicom: file meta, private elements, items of sequences at any
  depth; binary values (OB, UN, ...) read as Latin-1 text, so a name in a private blob is found;
  pixel data and other large binary values only for the distinctive values (below);
* the raw bytes of the file (Latin-1) for the distinctive values (UIDs, IDs of 6 characters or
  more, full names, addresses, phone numbers), so a value outside the parsed elements (the
  preamble, trailing bytes, what pydicom could not parse) is reported too.

Values too short or too generic to identify anyone are not searched for: fewer than 4
characters, a lone name part of fewer than 3 letters, a single vocabulary word (a family name
``HEAD`` alone is not searched for; ``HEAD^JOHN``, ``JOHN HEAD`` are) and placeholders.
Word-like values match as whole words (not next to a letter or digit); UIDs and numeric IDs
not next to a digit; distinctive values also inside longer text.

The written forms of all the store's values go into four compiled regular expressions built as
tries (one pass over a text finds any of thousands of forms, longest first), each form mapped to
its kind. Files are scanned in parallel (fork) when there are many. A hit names the output
instance, the file, the element path (``Seq[i].Keyword``, ``Tag_GGGGEEEE`` for private elements,
``(preamble)`` / ``(file bytes @0x..)`` outside them), the kind and the text as written.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import os
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa
import pydicom
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag

from ..codec.vr import MAYBE_BINARY, STRUCT_CODE
from ..engines.local import fork_pool
from ..errors import DicomlakeError, Param, SourceChangedError, StoreError
from ..progress import progress_bar
from ..sources.files import Source, read_checked, source_columns
from ..store.catalog import new_connection, quote_ident
from ..store.views import LakeView

__all__ = ["FORMATS", "FileScan", "Hit", "Matcher", "SourceValues", "VerifyReport", "collect_values", "scan_file"]
__all__ += ["verify"]

#: Output formats of ``dicomlake verify``.
FORMATS = ("table", "json", "csv", "ndjson")

#: Kinds of identifying values, in the order that names a value found under several kinds.
KINDS = (
    "UID",
    "PATIENT_ID",
    "ACCESSION_NUMBER",
    "STUDY_ID",
    "PERSON_NAME",
    "PHONE",
    "ADDRESS",
    "INSTITUTION",
    "DATE",
    "TIME",
)
_KIND_RANK = {k: i for i, k in enumerate(KINDS)}

#: Source attributes (at any depth) and the kind of their values; PN values are found by type.
KEYWORD_KINDS: dict[str, str] = {
    "PatientID": "PATIENT_ID",
    "OtherPatientIDs": "PATIENT_ID",
    "IssuerOfPatientID": "PATIENT_ID",
    "MedicalRecordLocator": "PATIENT_ID",
    "AccessionNumber": "ACCESSION_NUMBER",
    "StudyID": "STUDY_ID",
    "PatientBirthDate": "DATE",
    "StudyDate": "DATE",
    "SeriesDate": "DATE",
    "AcquisitionDate": "DATE",
    "ContentDate": "DATE",
    "AcquisitionDateTime": "DATE",
    "PatientAddress": "ADDRESS",
    "InstitutionAddress": "ADDRESS",
    "PatientTelephoneNumbers": "PHONE",
    "PersonTelephoneNumbers": "PHONE",
    "InstitutionName": "INSTITUTION",
    "InstitutionalDepartmentName": "INSTITUTION",
    "RegionOfResidence": "ADDRESS",
    "StudyTime": "TIME",
    "SeriesTime": "TIME",
    "AcquisitionTime": "TIME",
    "ContentTime": "TIME",
    "StudyInstanceUID": "UID",
    "SeriesInstanceUID": "UID",
    "SOPInstanceUID": "UID",
    "MediaStorageSOPInstanceUID": "UID",
    "FrameOfReferenceUID": "UID",
    "ReferencedFrameOfReferenceUID": "UID",
    "ReferencedSOPInstanceUID": "UID",
}
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
_PN_PARTS = ("FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix")

MIN_VALUE_LEN = 4  # shorter values identify nobody
MIN_UID_LEN = 10
MIN_DISTINCT_ID = 6  # IDs from this length are searched for in raw bytes too
MIN_DISTINCT_TEXT = 8  # full names, addresses, phones, institutions: same
BULK_BYTES = 65536  # binary values from this size: distinctive values only
_PIXEL_TAGS = {0x7FE00010, 0x7FE00008, 0x7FE00009, 0x54000110, 0x54001010}  # pixel data, waveform data
_SKIP_VRS = STRUCT_CODE  # numbers cannot hold text
_BINARY_VRS = MAYBE_BINARY
#: Values that are placeholders, not identifiers (besides the vocabulary words, see _generic_words).
PLACEHOLDERS = frozenset((
    "placeholder", "anonymous", "anonymized", "anonymised", "deidentified", "de-identified", "redacted",
    "removed", "unknown", "none", "null", "empty", "test", "patient", "person_name", "[person_name]",
    "[date]", "[removed]", "[redacted]", "xxxx",
))  # fmt: skip
CHUNK = 16  # files per task of the process pool; up to one chunk is scanned in this process


class VerifyError(DicomlakeError):
    """The verification could not be completed (unreadable files, bad arguments)."""


class IdentifyingValuesFound(VerifyError):
    """Identifying values of the source were found in the de-identified store."""


@dataclass(frozen=True)
class Hit:
    """One identifying value found in one file."""

    instance: str  # SOPInstanceUID of the output instance (from the store)
    file: str
    path: str  # Seq[i].Keyword, Tag_GGGGEEEE for private; "(file bytes @0x..)" outside elements
    kind: str
    text: str  # as written in the file


@dataclass
class VerifyReport:
    files: int
    hits: list[Hit]
    problems: list[str] = field(default_factory=list)  # files read only partly, or not at all
    unreadable: int = 0
    values: int = 0  # distinct written forms searched for
    patients: int = 0  # source patients (distinct PatientID)
    store: str = ""  # the store verified
    against: str = ""  # the source store

    @property
    def instances(self) -> int:
        return len({h.instance for h in self.hits})

    def table(self) -> pa.Table:
        cols = ("instance", "file", "path", "kind", "text")
        return pa.table({c: pa.array([getattr(h, c) for h in self.hits], pa.string()) for c in cols})

    def relation(self, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyRelation:
        """The hits as a DuckDB relation (for ``output.write_result``)."""
        return (con or new_connection()).from_arrow(self.table())

    def check(self, dest: str, source: str) -> str:
        """The one-line summary when nothing was found; raises if something was (or was not read)."""
        if self.hits:
            raise IdentifyingValuesFound(
                f"{len(self.hits)} identifying values found in {self.instances} instances; see above"
            )
        if self.unreadable:
            raise VerifyError(
                f"{self.unreadable} of {self.files} files of {dest} could not be read (listed above), "
                "so the store is not verified; fix their paths (dl_source) or re-run the de-identification"
            )
        return f"no identifying values of {source} found in {self.files} files of {dest}"


# --- source values ---------------------------------------------------------------------


@dataclass
class SourceValues:
    """Identifying values of a source store: patient → kind → original values."""

    by_patient: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    #: Manufacturer values, lower case: a vendor's name (or part of it) is no institution's.
    vendors: set[str] = field(default_factory=set)

    def add(self, patient: str, kind: str, value: str) -> None:
        value = value.strip()
        if value:
            self.by_patient.setdefault(patient, {}).setdefault(kind, set()).add(value)


def _is_pn(value: dict[str, Any]) -> bool:
    return "Alphabetic" in value and set(value) <= set(_PN_GROUPS)


def _pn_strings(value: dict[str, Any]) -> Iterator[str]:
    for group in _PN_GROUPS:
        parts = value.get(group) or {}
        text = "^".join((parts.get(p) or "").strip() for p in _PN_PARTS)
        if text.strip("^"):
            yield text


def _as_text(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return f"{value:%Y%m%d}"
    return str(value)


def _walk_values(value: Any, keyword: str, add: Callable[[str, str], Any]) -> None:
    """Every identifying value in a row value (dicts of sequence items and PN, lists), by keyword."""
    if value is None:
        return
    if isinstance(value, dict):
        if _is_pn(value):
            for pn in _pn_strings(value):
                add("PERSON_NAME", pn)
            return
        for k, v in value.items():
            _walk_values(v, k, add)
    elif isinstance(value, list):
        for v in value:
            _walk_values(v, keyword, add)
    elif (kind := KEYWORD_KINDS.get(keyword)) is not None:
        add(kind, _as_text(value))


def _relevant(t: pa.DataType, name: str) -> bool:
    """Whether a column of this type and name can hold an identifying value."""
    if name in KEYWORD_KINDS:
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _relevant(t.value_type, name)
    if pa.types.is_struct(t):
        names = {t.field(i).name for i in range(t.num_fields)}
        if "Alphabetic" in names and names <= set(_PN_GROUPS):
            return True
        return any(_relevant(t.field(i).type, t.field(i).name) for i in range(t.num_fields))
    return False


def collect_values(lake: LakeView, store: str) -> SourceValues:
    """The identifying values of ``store``, per source patient (PatientID): one SQL query over the
    lake gives each patient's distinct values of every column that can hold one."""
    schema = lake.table(store).limit(0).to_arrow_table().schema
    columns = [f.name for f in schema if not f.name.startswith("dl_") and _relevant(f.type, f.name)]
    raw = "dl_raw" in schema.names  # values that did not parse keep their text there
    patient = quote_ident("PatientID") if "PatientID" in schema.names else "NULL"
    lists = [f"list(DISTINCT {quote_ident(c)}) FILTER (WHERE {quote_ident(c)} IS NOT NULL)" for c in columns]
    if raw:
        lists.append("flatten(list(dl_raw) FILTER (WHERE len(dl_raw) > 0))")
    out = SourceValues()
    if not lists:
        return out
    rows = lake.sql(f"SELECT {patient}, {', '.join(lists)} FROM {quote_ident(store)} GROUP BY ALL").fetchall()
    if "Manufacturer" in schema.names:
        for (m,) in lake.sql(f"SELECT DISTINCT Manufacturer FROM {quote_ident(store)}").fetchall():
            out.vendors |= {m.strip().lower()} if m else set()
    for p, *values in rows:
        add = functools.partial(out.add, "" if p is None else str(p))
        for name, value in zip(columns, values, strict=False):
            _walk_values(value, name, add)
        for item in (values[len(columns)] or []) if raw else []:
            keyword = re.sub(r"\[\d+\]$", "", str(item["Path"]).rsplit(".", 1)[-1])
            if (kind := KEYWORD_KINDS.get(keyword)) is not None and item["Value"]:
                for v in str(item["Value"]).split("\\"):
                    add(kind, v)
    return out


# --- written forms ---------------------------------------------------------------------


@functools.cache
def _generic_words() -> frozenset[str]:
    """Vocabulary words (DICOM dictionary names, the detector's non-name words) and placeholders:
    such a value alone is not identifying, even when it is someone's family name (``HEAD``)."""
    from pydicom.datadict import DicomDictionary

    from .detect import word_lists

    words = {w.lower() for entry in DicomDictionary.values() for w in re.findall(r"[A-Za-z]+", entry[2])}
    return frozenset(words | word_lists()[1] | PLACEHOLDERS)


def _ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _identifying(value: str, kind: str) -> bool:
    v = value.strip()
    if len(v) < (MIN_UID_LEN if kind == "UID" else MIN_VALUE_LEN):
        return False
    if len(set(v.lower()) - set(" .-^,/")) <= 1:  # 0000, ----, XXXX
        return False
    return v.lower() not in _generic_words()


def _name_forms(pn: str) -> set[str]:
    from .detect import variants_of_name

    forms = variants_of_name(pn)
    forms |= {f for f in map(_ascii_fold, forms) if f.strip()}
    return {f for f in forms if not (f.isalpha() and sum(c.isalpha() for c in f) < 3)}


def _date_forms(value: str) -> set[str]:
    from .detect import variants_of_date

    compact = re.sub(r"\D", "", value)[:8]
    forms = variants_of_date(compact) if len(compact) == 8 else set()
    return forms or ({value} if len(value) >= 8 else set())


def _phone_forms(value: str) -> set[str]:
    digits = re.sub(r"\D", "", value)
    forms = {value}
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) == 10:
        a, b, c = digits[:3], digits[3:6], digits[6:]
        forms |= {digits, f"1{digits}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"{a} {b} {c}", f"({a}) {b}-{c}"}
        forms |= {f"({a}){b}-{c}", f"+1 {a} {b} {c}", f"+1-{a}-{b}-{c}", f"+1 ({a}) {b}-{c}", f"+1{digits}"}
    elif len(digits) >= 7:
        forms.add(digits)
    return forms


def _id_forms(value: str) -> set[str]:
    compact = re.sub(r"[^0-9A-Za-z]", "", value)
    return {value, compact} if len(compact) >= MIN_DISTINCT_ID else {value}


def _place_forms(value: str) -> set[str]:
    """An address or institution: the whole value, its parts (street, street name, city, postal
    code) and words that are not vocabulary, in their usual spellings."""
    from .detect import place_forms

    return place_forms(value)


def _time_forms(value: str) -> set[str]:
    """A TM value (``08:48:26``) as written in text: ``084826``, ``08:48:26``, ``8:48:26 AM``, ``08:48``
    (reported only next to a date, see :func:`_element_hits`)."""
    m = re.fullmatch(r"(\d\d):?(\d\d)(?::?(\d\d))?(?:\.\d*)?", value.strip())
    if m is None:
        return set()
    h, mi, sec = int(m[1]), m[2], m[3] or "00"
    h12, ampm = (h % 12 or 12), ("AM" if h < 12 else "PM")
    return {f"{h:02d}{mi}{sec}", f"{h:02d}:{mi}:{sec}", f"{h}:{mi}:{sec}", f"{h12}:{mi}:{sec} {ampm}", f"{h:02d}:{mi}"}


def written_forms(kind: str, value: str) -> set[str]:
    """The written forms of one source value that are searched for (the identifying ones; never
    a value de-identification writes itself, such as the dummy date 19000101)."""
    from .vr_values import plan_wrote

    if plan_wrote(value, kind):
        return set()
    if kind == "PERSON_NAME":
        forms = _name_forms(value)
    elif kind == "DATE":
        forms = _date_forms(value)
    elif kind == "PHONE":
        forms = _phone_forms(value)
    elif kind in ("ADDRESS", "INSTITUTION"):
        forms = _place_forms(value)
    elif kind == "TIME":
        forms = _time_forms(value)
    elif kind in ("PATIENT_ID", "ACCESSION_NUMBER", "STUDY_ID"):
        forms = _id_forms(value)
    else:
        forms = {value}
    return {f.strip() for f in forms if _identifying(f, kind)}


def _distinctive(kind: str, form: str) -> bool:
    """Long and specific enough to search for anywhere (inside longer text, raw bytes)."""
    if kind == "UID":
        return True
    if kind in ("PATIENT_ID", "ACCESSION_NUMBER", "STUDY_ID"):
        return len(form) >= MIN_DISTINCT_ID
    if kind == "PERSON_NAME":
        return len(form) >= MIN_DISTINCT_TEXT and re.search(r"[\s^,]", form) is not None
    if kind in ("ADDRESS", "PHONE", "INSTITUTION"):
        return len(form) >= MIN_DISTINCT_TEXT
    return False


# --- matching --------------------------------------------------------------------------


def trie_regex(words: Iterable[str]) -> str:
    """A regex matching any of ``words`` (lower case: search lower-cased text), longest first.

    Shared prefixes are factored out, so one pass over a text costs about as much whatever the
    number of words (an Aho-Corasick-like automaton the ``re`` engine runs)."""
    trie: dict[str, Any] = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


class _Value(NamedTuple):
    kind: str
    key: str  # the written form it stands for, lower case (its raw-byte spellings share it)


class _Found(NamedTuple):
    start: int
    end: int
    value: _Value
    pass_: str


_WORD_B, _WORD_A = r"(?<![^\W_])", r"(?![^\W_])"
# The passes: (name, lookbehind, lookahead). A YYYYMMDD date may go on as a DT (its time).
_PASS_BOUNDS = {
    "word": (_WORD_B, _WORD_A),
    "date": (_WORD_B, rf"(?:{_WORD_A}|(?<=\d)(?=\d{{4}}))"),
    "digits": (r"(?<!\d)", r"(?!\d)"),
    "loose": ("", ""),
}
TEXT_PASSES = ("word", "date", "digits", "loose")
DISTINCT_PASSES = ("digits", "loose")


def _in_vendor_name(form: str, vendors: set[str]) -> bool:
    """Whether ``form`` is (a run of whole words of) one of the manufacturers' names."""
    rx = re.compile(rf"{_WORD_B}{re.escape(form)}{_WORD_A}")
    return any(rx.search(v) for v in vendors)


class Matcher:
    """Finds the written forms of a store's identifying values in text."""

    def __init__(self, values: SourceValues) -> None:
        kinds: dict[str, str] = {}  # written form (lower case) → kind
        for by_kind in values.by_patient.values():
            for kind, originals in by_kind.items():
                for form in {f.lower() for original in originals for f in written_forms(kind, original)}:
                    if kind in ("ADDRESS", "INSTITUTION") and _in_vendor_name(form, values.vendors):
                        continue
                    known = kinds.get(form)
                    if known is None or _KIND_RANK[kind] < _KIND_RANK[known]:
                        kinds[form] = kind
        self.patients = len(values.by_patient)
        self.count = len(kinds)
        self.values: dict[str, _Value] = {}
        groups: dict[str, set[str]] = {p: set() for p in _PASS_BOUNDS}
        for form, kind in kinds.items():
            v = self.values[form] = _Value(kind, form)
            if _distinctive(kind, form):  # anywhere: a superset of whole-word matches
                group = groups["digits" if form[:1].isdigit() and form[-1:].isdigit() else "loose"]
                group.add(form)
                for spelling in _byte_spellings(form):  # UTF-8 text read as Latin-1 bytes
                    self.values.setdefault(spelling, v)
                    group.add(spelling)
            else:
                groups["date" if kind == "DATE" else "word"].add(form)
        self._folded = {k.casefold(): v for k, v in self.values.items()}
        # Texts are searched lower-cased (several times faster than IGNORECASE), or with
        # IGNORECASE when lower-casing changes their length (a few non-Latin-1 letters).
        self.patterns = {
            name: f"{_PASS_BOUNDS[name][0]}(?:{trie_regex(words)}){_PASS_BOUNDS[name][1]}"
            for name, words in groups.items()
            if words
        }
        self.regexes = {name: re.compile(p) for name, p in self.patterns.items()}

    @functools.cached_property
    def _regexes_i(self) -> dict[str, re.Pattern[str]]:
        return {name: re.compile(p, re.IGNORECASE) for name, p in self.patterns.items()}

    def _value(self, written: str) -> _Value:
        v = self.values.get(written.lower()) or self._folded.get(written.casefold())
        return v if v is not None else _Value("UNKNOWN", written.lower())

    def search(self, text: str, passes: tuple[str, ...] = TEXT_PASSES) -> list[_Found]:
        """Every match of each pass (passes overlap each other; see :func:`merge`)."""
        if len(text) < MIN_VALUE_LEN:
            return []
        low = text.lower()
        regexes = self.regexes
        if len(low) != len(text):
            low, regexes = text, self._regexes_i
        found: list[_Found] = []
        for name in passes:
            rx = regexes.get(name)
            if rx is not None:
                found.extend(_Found(m.start(), m.end(), self._value(m.group()), name) for m in rx.finditer(low))
        return found

    def find(self, text: str, passes: tuple[str, ...] = TEXT_PASSES) -> list[_Found]:
        """Non-overlapping matches in ``text``: leftmost, then longest."""
        return merge(self.search(text, passes))


def merge(found: list[_Found]) -> list[_Found]:
    """Non-overlapping matches, leftmost then longest first."""
    out: list[_Found] = []
    for f in sorted(found, key=lambda f: (f.start, f.start - f.end)):
        if not out or f.start >= out[-1].end:
            out.append(f)
    return out


def _byte_spellings(form: str) -> set[str]:
    """How a non-ASCII form looks in raw bytes read as Latin-1 when the file is UTF-8."""
    if form.isascii():
        return set()
    out = set()
    for v in {form, form.upper(), form.title()}:
        try:
            out.add(v.encode("utf-8").decode("latin-1").lower())
        except UnicodeError:
            continue
    return out - {form}


# --- scanning one file -----------------------------------------------------------------


@dataclass
class FileScan:
    """What :func:`scan_file` found in one file, and what it could not read."""

    hits: list[Hit] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    read: bool = True  # False: the file could not be read at all


def _element_name(tag: int, keyword: str) -> str:
    return keyword if keyword and not BaseTag(tag).is_private else f"Tag_{tag:08X}"


def _text_of(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("latin-1")
    if isinstance(value, list | tuple | MultiValue):
        return "\\".join(_text_of(v) for v in value)
    return "" if value is None else str(value)


def element_texts(ds: Dataset, prefix: str, problems: list[str]) -> Iterator[tuple[str, str, bool]]:
    """(path, text, bulk) of every element of ``ds`` at any depth; ``bulk``: pixel data or another
    large binary value (searched for distinctive values only)."""
    for tag in list(ds.keys()):
        name = _element_name(int(tag), keyword_for_tag(tag))
        try:
            elem = ds[tag]
        except Exception as exc:  # a value pydicom cannot convert: search its bytes
            raw = ds.get_item(tag)
            value = getattr(raw, "value", b"") or b""
            problems.append(f"{prefix}{name}: {type(exc).__name__}: {exc}")
            yield f"{prefix}{name}", _text_of(value), len(value) >= BULK_BYTES
            continue
        value = elem.value
        binary = isinstance(value, bytes | bytearray)
        if elem.VR == "SQ":
            for i, item in enumerate(value or []):
                yield from element_texts(item, f"{prefix}{name}[{i}].", problems)
        elif binary or elem.VR in _BINARY_VRS:
            size = len(value) if binary else 0
            yield f"{prefix}{name}", _text_of(value), int(tag) in _PIXEL_TAGS or size >= BULK_BYTES
        elif elem.VR not in _SKIP_VRS:
            yield f"{prefix}{name}", _text_of(value), False


def scan_file(source: Source | str, instance: str, matcher: Matcher, ocr: bool = False) -> FileScan:
    """Search one file: its elements (each hit with its element path), then its raw bytes for
    distinctive values more often there than in the elements; with ``ocr``, also the text
    Tesseract reads in its pixels (path ``PixelData frame F box LEFT,TOP,RIGHT,BOTTOM``).
    A :class:`Source` is checked against the size and SHA-256 its store recorded."""
    src = source if isinstance(source, Source) else Source(source)
    path = src.path
    scan = FileScan()
    try:
        data = read_checked(src)
    except SourceChangedError as exc:
        return FileScan(problems=[f"{path}: not read: {exc}"], read=False)
    except OSError as exc:
        return FileScan(problems=[f"{path}: not read: {exc.strerror or exc}"], read=False)
    in_elements: Counter[str] = Counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
            parts = [ds.file_meta, ds] if getattr(ds, "file_meta", None) is not None else [ds]
            for part in parts:
                for where, text, bulk in element_texts(part, "", scan.problems):
                    found = matcher.search(text, DISTINCT_PASSES if bulk else TEXT_PASSES)
                    scan.hits.extend(_element_hits(instance, path, where, text, merge(found)))
                    in_elements.update(f.value.key for f in merge([f for f in found if f.pass_ in DISTINCT_PASSES]))
    except Exception as exc:  # what was parsed is searched; the raw pass covers the rest
        scan.problems.append(f"parsing stopped: {type(exc).__name__}: {exc}")
    scan.hits.extend(_raw_hits(instance, path, data, in_elements, matcher))
    if ocr:
        scan.hits.extend(_pixel_hits(instance, path, data, matcher, scan.problems))
    scan.problems = [f"{path}: {p}" for p in scan.problems]
    return scan


def _element_hits(instance: str, path: str, where: str, text: str, found: list[_Found]) -> Iterator[Hit]:
    from .detect import next_to_date

    seen: set[str] = set()
    for f in found:
        if f.value.kind == "TIME" and not next_to_date(text, f.start, f.end):
            continue  # a time alone (a kept StudyTime, a duration) identifies nobody
        if f.value.key not in seen:  # each value once per element
            seen.add(f.value.key)
            yield Hit(instance, path, where, f.value.kind, text[f.start : f.end])


def _raw_hits(instance: str, path: str, data: bytes, in_elements: Counter[str], matcher: Matcher) -> list[Hit]:
    """Distinctive values found in the raw bytes more often than in the parsed elements."""
    found = matcher.find(data.decode("latin-1"), DISTINCT_PASSES)
    preamble = 128 if data[128:132] == b"DICM" else 0
    hits = []
    for key, n in Counter(f.value.key for f in found).items():
        extra = n - in_elements[key]
        if extra <= 0:
            continue
        # which occurrences lie outside the elements is not known: the preamble's, then the last
        spots = [f for f in found if f.value.key == key]
        spots = [f for f in spots if f.start < preamble] + [f for f in reversed(spots) if f.start >= preamble]
        for f in spots[:extra]:
            where = "(preamble)" if f.start < preamble else f"(file bytes @{f.start:#x})"
            hits.append(Hit(instance, path, where, f.value.kind, data[f.start : f.end].decode("latin-1")))
    return hits


def _pixel_hits(instance: str, path: str, data: bytes, matcher: Matcher, problems: list[str]) -> list[Hit]:
    """Identifying values still legible in the pixels: OCR of every distinct frame, line by line."""
    from ..pixels.frames import has_pixels
    from ..pixels.ocr import lines, read_frames

    hits: list[Hit] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
            if not has_pixels(ds):
                return []
            for i, words, repeat in read_frames(ds):
                if repeat:  # the same pixels as an earlier frame: reported there
                    continue
                for line in lines(words):
                    text = " ".join(w.text for w in line)
                    for f in matcher.find(text):
                        box = f"{line[0].left},{min(w.top for w in line)},{line[-1].box.right},{max(w.box.bottom for w in line)}"
                        hits.append(
                            Hit(instance, path, f"PixelData frame {i} box {box}", f.value.kind, text[f.start : f.end])
                        )
    except Exception as exc:
        problems.append(f"pixel data not read by OCR: {type(exc).__name__}: {exc}")
    return hits


# --- running ---------------------------------------------------------------------------

_JOB: dict[str, Any] = {}


def _scan_chunk(
    files: list[tuple[Source, str]], matcher: Matcher | None = None, ocr: bool | None = None
) -> list[FileScan]:
    m: Matcher = matcher or _JOB["matcher"]
    with_ocr = _JOB.get("ocr", False) if ocr is None else ocr
    return [scan_file(path, instance, m, with_ocr) for path, instance in files]


def scan_files(files: list[tuple[Source, str]], matcher: Matcher, workers: int, ocr: bool = False) -> list[FileScan]:
    """:func:`scan_file` over (path, instance) pairs, in worker processes (fork) when there are many."""
    size = 1 if ocr else CHUNK  # OCR is slow: one file per task keeps every core busy
    chunks = [files[i : i + size] for i in range(0, len(files), size)]
    pool = fork_pool(workers, len(chunks))
    advance, stop = progress_bar("verify" + (" (OCR)" if ocr else ""), len(files))
    out: list[FileScan] = []
    try:
        if pool is None:
            for c in chunks:
                out += _scan_chunk(c, matcher, ocr)
                advance(len(c))
            return out
        _JOB.update(matcher=matcher, ocr=ocr)
        with pool:
            for part in pool.map(_scan_chunk, chunks):
                out += part
                advance(len(part))
        return out
    finally:
        _JOB.clear()
        stop()


def _lake(lake: str | os.PathLike[str] | LakeView) -> LakeView:
    return lake if isinstance(lake, LakeView) else LakeView(lake)


def _store(lake: LakeView, store: str | None, what: str) -> str:
    if store is not None:
        lake.store_info(store)
        return store
    stores = lake.stores
    if len(stores) != 1:
        raise StoreError(Param(what), f" {lake.root} has stores {', '.join(stores) or 'none'}: name one")
    return stores[0]


def parse_against(text: str) -> tuple[str, str | None]:
    """``LAKE:STORE`` (or ``LAKE`` with one store) → (lake, store or None)."""
    lake, sep, store = text.rpartition(":")
    if not sep:
        return text, None
    if not lake or not store:
        raise VerifyError(Param("against", text), ": use LAKE:STORE (the source lake folder and store)")
    return lake, store


def verify(
    dest_lake: str | os.PathLike[str] | LakeView,
    store: str | None,
    against_lake: str | os.PathLike[str] | LakeView,
    against_store: str | None,
    *,
    workers: int | None = None,
    ocr: bool = False,
) -> VerifyReport:
    """Search every file of ``store`` (paths from ``dl_source``) for the identifying values of
    ``against_store``; ``None`` for a store means the lake's only store. ``ocr``: also read the
    text burned into the pixels (Tesseract) and search it."""
    dest, src = _lake(dest_lake), _lake(against_lake)
    store = _store(dest, store, "lake")
    against_store = _store(src, against_store, "against")
    matcher = Matcher(collect_values(src, against_store))
    table = dest.table(store)
    rows = dest.sql(
        f"SELECT DISTINCT {source_columns(table.columns)}, SOPInstanceUID FROM {quote_ident(store)} "
        "WHERE dl_source IS NOT NULL ORDER BY dl_source"
    ).fetchall()
    files = [(Source(str(p), n, h, v), str(uid or "")) for p, n, h, v, uid in rows]
    report = VerifyReport(
        len(files), [], values=matcher.count, patients=matcher.patients, store=store, against=against_store
    )
    if ocr:
        from ..pixels.ocr import check_tesseract

        check_tesseract()
    for scan in scan_files(files, matcher, workers or os.cpu_count() or 1, ocr):
        report.hits.extend(scan.hits)
        report.problems.extend(scan.problems)
        report.unreadable += not scan.read
    return report
