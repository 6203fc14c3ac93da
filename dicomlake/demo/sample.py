"""Deterministic generator of a synthetic archive of DICOM Part 10 files.

``make_sample(dest, n, seed=...)`` writes ``n`` instances built from pydicom's bundled
``CT_small.dcm`` and ``MR_small.dcm`` (their pixel data is kept unchanged) into a
nested ``dest/<patient>/<study>/<series>/<file>`` tree, spread over about ``n / 32``
patients with 1-3 studies each, 1-4 series per study and 3-10 instances per series.
Everything is derived from ``(seed, instance ordinal)``, so the output is byte-identical
for a given seed whatever the number of worker processes.

Each instance carries:

* consistent fresh ``2.25.`` UIDs: Study, Series, SOP (== MediaStorageSOPInstanceUID)
  and FrameOfReference;
* PHI a de-identifier has to find: PatientName (``FAMILY^GIVEN[^MIDDLE]``, some
  Latin-1 names), PatientID, OtherPatientIDs (+ OtherPatientIDsSequence),
  PatientBirthDate, PatientSex, PatientAge, PatientAddress, PatientTelephoneNumbers,
  AccessionNumber, StudyID, InstitutionName/Address, ReferringPhysicianName,
  NameOfPhysiciansReadingStudy, OperatorsName, dates and times spread over
  1995-2024, a StudyDescription that sometimes holds the family name, and
  SeriesDescription / Modality / BodyPartExamined consistent with the template;
* nested sequences (two levels), present or not and with optional fields that vary
  from instance to instance, so item structures differ: RequestAttributesSequence
  > ScheduledProtocolCodeSequence, ProcedureCodeSequence, ReferencedImageSequence
  (pointing at another instance of the same series) > PurposeOfReferenceCodeSequence,
  PhysiciansReadingStudyIdentificationSequence > PersonIdentificationCodeSequence;
* a private block in group 0x0009, creator ``DICOMLAKE SAMPLE``: LO patient name,
  DS, US, OB blob and an SQ whose item holds the PatientID (LO) and a nested private
  SQ whose item holds the accession number (LO) (the creator sits at (0009,0011) in
  CT files, whose template keeps its own GEMS_* vendor blocks, and (0009,0010) in MR);
* InstanceNumber, ImagePositionPatient and SliceLocation varying along the series.

Files are explicit VR little endian Part 10 files (the templates' 128-byte preamble,
``DICM``, file meta) and about a third have no ``.dcm`` extension, like many real
archives.  For speed the bytes are spliced from elements encoded once per template and
per shared part (patient, study, series, sequence variant); they are identical to what
``Dataset.save_as(path, enforce_file_format=True)`` writes for the same dataset
(``_encode_reference``, checked by the tests).  n=5000 (~130 MB) takes a few seconds.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
import random
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple

import pydicom
from pydicom.data import get_testdata_file
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.tag import Tag
from pydicom.uid import UID

from ..engines.local import CHILD_START

__all__ = ["PRIVATE_CREATOR", "PRIVATE_GROUP", "make_sample"]

PRIVATE_GROUP = 0x0009
PRIVATE_CREATOR = "DICOMLAKE SAMPLE"
_CHARSET = "ISO_IR 100"
_MIN_PARALLEL = 200  # below this many instances a process pool costs more than it saves
_UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:dicomlake:sample")
_TEMPLATES = {"CT": "CT_small.dcm", "MR": "MR_small.dcm"}
_FIRST_DAY = dt.date(1995, 1, 1).toordinal()
_LAST_DAY = dt.date(2024, 12, 31).toordinal()
_FIRST_BIRTH = dt.date(1930, 1, 1).toordinal()
_LAST_BIRTH = dt.date(2020, 12, 31).toordinal()

_FAMILY = (
    "SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS",
    "RODRIGUEZ", "MARTINEZ", "WALL", "HERNANDEZ", "LOPEZ", "WILSON", "ANDERSON",
    "TAYLOR", "MOORE", "JACKSON", "LEE", "THOMPSON", "WHITE", "HARRIS", "CLARK",
    "NGUYEN", "KIM", "PATEL", "O'BRIEN", "MÜLLER", "NÚÑEZ", "HEAD", "KOWALSKI",
    "SCHMIDT",
)  # fmt: skip
_GIVEN = {
    "M": ("JAMES", "JOHN", "ROBERT", "MICHAEL", "WILLIAM", "DAVID", "JOSÉ", "WEI",
          "RAJ", "AHMED", "THOMAS", "PIOTR"),
    "F": ("MARY", "PATRICIA", "JENNIFER", "LINDA", "ELIZABETH", "SUSAN", "MARIA",
          "SOFÍA", "MEI", "PRIYA", "FATIMA", "ANNA"),
}  # fmt: skip
_PHYSICIANS = (
    "KILDARE^JAMES^^DR", "QUINN^MICHAELA^^DR", "WELBY^MARCUS^^DR^MD", "CHEN^LI^^^MD",
    "OKAFOR^ADAEZE^^DR", "NOVAK^PETR^^^MD", "ROSS^DOUGLAS", "GREY^MEREDITH^E",
    "SHEPHERD^DEREK^^DR", "BAILEY^MIRANDA^^^MD",
)  # fmt: skip
_OPERATORS = ("PARKER^ALEX", "RIVERA^SAM", "BAKER^JO", "NOVAK^EVA", "ITO^KEN")
_INSTITUTIONS = (
    ("RIVERSIDE GENERAL HOSPITAL", "1200 River Road, Riverside, CA 92501, USA"),
    ("MERCY REGIONAL MEDICAL CENTER", "45 Mercy Way, Springfield, IL 62704, USA"),
    ("LAKEVIEW IMAGING CENTER", "300 Lakeshore Dr, Madison, WI 53703, USA"),
    ("NORTHGATE CLINIC RADIOLOGY", "9 Northgate Plaza, Franklin, MA 02038, USA"),
    ("ST. ELIZABETH HOSPITAL", "77 Saint Elizabeth Ave, Greenville, SC 29601, USA"),
)
_STREETS = ("Maple St", "Oak Avenue", "Elm Rd", "Cedar Lane", "Pine Court",
            "Washington Blvd", "Birch Way", "Lincoln St")  # fmt: skip
_CITIES = (  # city, state, ZIP, phone area code
    ("Springfield", "IL", "62704", "217"), ("Riverside", "CA", "92501", "951"),
    ("Fairview", "TN", "37062", "615"), ("Madison", "WI", "53703", "608"),
    ("Franklin", "MA", "02038", "508"), ("Greenville", "SC", "29601", "864"),
)  # fmt: skip
_BODY = {"CT": ("CHEST", "ABDOMEN", "HEAD", "PELVIS", "NECK"),
         "MR": ("BRAIN", "KNEE", "LSPINE", "CSPINE", "SHOULDER")}  # fmt: skip
_SERIES_DESC = {
    "CT": ("AXIAL 5MM", "CORONAL MPR", "SCOUT", "ARTERIAL PHASE", "LUNG 1.25MM",
           "SOFT TISSUE", "BONE WINDOW"),
    "MR": ("T1 SAG", "T2 AX", "FLAIR AX", "DWI", "T1 POST GD", "STIR COR", "PD FS"),
}  # fmt: skip
_PROTOCOLS = (
    ("P-{}01", "99DLK", "{} {} ROUTINE"),
    ("P-{}02", "99DLK", "{} {} PROTOCOL"),
    ("24627-2", "LN", "{} {} (LN)"),
)
_PURPOSES = (("121311", "Localizer"), ("121313", "Other partial views"))


class _Slot(NamedTuple):
    """Where instance number ``ordinal`` sits in the patient/study/series hierarchy."""

    ordinal: int
    patient: int  # global ordinals, unique over the whole sample
    study: int
    series: int
    series_in_study: int
    instance: int  # position in the series, 0-based
    series_size: int
    modality: str


class _Patient(NamedTuple):
    family: str
    given: str
    name: str
    sex: str
    pid: str
    other_ids: tuple[str, ...]
    birth: dt.date
    address: str
    phones: tuple[str, ...]
    dirname: str


class _Study(NamedTuple):
    uid: str
    when: dt.datetime
    accession: str
    institution: tuple[str, str]
    referring: str
    reader: str
    reader_code: str
    reader_scheme: str
    description: str
    body: str
    procedure: tuple[str, str, str]
    dirname: str


class _Series(NamedTuple):
    uid: str
    frame_uid: str
    number: int
    when: dt.datetime
    description: str
    operator: str
    dirname: str
    file_style: int


# --------------------------------------------------------------------------- plan


def _plan(n: int, seed: int) -> list[_Slot]:
    """Lay ``n`` instances out over patients, studies and series (stable in n)."""
    rng = random.Random(f"{seed}:plan")
    slots: list[_Slot] = []
    patient = study = series = 0
    while len(slots) < n:
        for _ in range(rng.randint(1, 3)):
            modality = ("CT", "MR")[study % 2]
            for k in range(rng.randint(1, 4)):
                size = rng.randint(3, 10)
                for i in range(size):
                    slots.append(_Slot(len(slots), patient, study, series, k, i, size, modality))
                series += 1
            study += 1
        patient += 1
    return _truncate(slots[:n])


def _truncate(slots: list[_Slot]) -> list[_Slot]:
    """Fix ``series_size`` of the series cut short by the end of the sample."""
    if not slots:
        return slots
    last = slots[-1]
    if last.instance + 1 == last.series_size:
        return slots
    size = last.instance + 1
    return [s._replace(series_size=size) if s.series == last.series else s for s in slots]


# ------------------------------------------------------------------- identities


def _uid(seed: int, *parts: object) -> str:
    """Deterministic ``2.25.<uuid>`` UID: a name-based (SHA-1) UUID of seed and key.

    (``generate_uid(prefix=None, entropy_srcs=...)`` ignores the entropy and returns
    a random UUID, so it cannot be used for a reproducible sample.)
    """
    name = ":".join(map(str, (seed, *parts)))
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, name).int}"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "_", folded).strip("_")


def _phone(rng: random.Random, area: str) -> str:
    line = rng.randint(100, 199)
    return rng.choice((f"({area}) 555-{line:04d}", f"+1 {area} 555 {line:04d}"))


@functools.lru_cache(maxsize=64)
def _patient(seed: int, p: int) -> _Patient:
    rng = random.Random(f"{seed}:patient:{p}")
    sex = rng.choice("MF")
    family, given = rng.choice(_FAMILY), rng.choice(_GIVEN[sex])
    middle = rng.choice(("", "", "A", "J", "M", "MARIE", "LEE"))
    name = f"{family}^{given}" + (f"^{middle}" if middle else "")
    pid = f"{(p * 7_654_321 + seed * 104_729 + 4_817_293) % 10**7:07d}"  # unique per p
    pid = rng.choice((f"MRN{pid}", pid, f"{pid[:3]}-{pid[3:]}"))
    other = tuple(
        f"{rng.choice(('RGH', 'MRC', 'LIC'))}{rng.randint(10**5, 10**6 - 1)}" for _ in range(rng.choice((0, 1, 1, 2)))
    )
    birth = dt.date.fromordinal(rng.randint(_FIRST_BIRTH, _LAST_BIRTH))
    city, state, zipcode, area = rng.choice(_CITIES)
    address = f"{rng.randint(1, 9999)} {rng.choice(_STREETS)}, {city}, {state} {zipcode}"
    phones = tuple(_phone(rng, area) for _ in range(rng.choice((1, 1, 2))))
    dirname = rng.choice((pid, f"{_ascii(family)}_{_ascii(given)}_{_ascii(pid)}"))
    return _Patient(family, given, name, sex, pid, other, birth, address, phones, dirname)


def _study_description(rng: random.Random, pat: _Patient, modality: str, body: str) -> str:
    options = [
        f"{modality} {body}",
        f"{modality} {body} W/O CONTRAST",
        f"{modality} {body} W/WO CONTRAST",
        f"Follow-up for {pat.family.title()}",
        f"{modality} {body} - {pat.family}^{pat.given}",
    ]
    if body == "CHEST":
        options.append(f"{modality} CHEST WALL")
    return rng.choice(options)


def _study(seed: int, slot: _Slot) -> _Study:
    return _study_at(seed, slot.patient, slot.study, slot.modality)


@functools.lru_cache(maxsize=64)
def _study_at(seed: int, patient: int, study: int, modality: str) -> _Study:
    rng = random.Random(f"{seed}:study:{study}")
    pat = _patient(seed, patient)
    day = rng.randint(max(_FIRST_DAY, pat.birth.toordinal()), _LAST_DAY)
    when = dt.datetime.fromordinal(day).replace(
        hour=rng.randint(7, 19), minute=rng.randint(0, 59), second=rng.randint(0, 59)
    )
    number = f"{(study * 3_141_593 + seed * 7_919 + 52_718_406) % 10**8:08d}"  # unique
    accession = rng.choice((f"A{number}", number, f"RAD-{number[:4]}-{number[4:]}"))
    body = rng.choice(_BODY[modality])
    code, scheme, meaning = rng.choice(_PROTOCOLS)
    procedure = (code.format(modality), scheme, meaning.format(modality, body))
    dirname = rng.choice((f"{when:%Y%m%d}_{_ascii(accession)}", _ascii(accession), f"STUDY_{study:05d}"))
    return _Study(
        uid=_uid(seed, "study", study),
        when=when,
        accession=accession,
        institution=rng.choice(_INSTITUTIONS),
        referring=rng.choice(_PHYSICIANS),
        reader=rng.choice(_PHYSICIANS),
        reader_code=str(rng.randint(10**9, 2 * 10**9)),
        reader_scheme=rng.choice(("L", "99NPI")),
        description=_study_description(rng, pat, modality, body),
        body=body,
        procedure=procedure,
        dirname=dirname,
    )


def _series(seed: int, slot: _Slot) -> _Series:
    start = _study(seed, slot).when
    return _series_at(seed, slot.series, slot.series_in_study, slot.modality, start)


@functools.lru_cache(maxsize=64)
def _series_at(seed: int, series: int, in_study: int, modality: str, start: dt.datetime) -> _Series:
    rng = random.Random(f"{seed}:series:{series}")
    offset = dt.timedelta(minutes=6 * in_study + rng.randint(0, 5), seconds=rng.randint(0, 59))
    number = in_study + 1 + rng.choice((0, 0, 100, 1000))
    description = rng.choice(_SERIES_DESC[modality])
    dirname = rng.choice((f"SE{number:04d}", f"{number:03d}_{_ascii(description)}", f"S{number}"))
    return _Series(
        uid=_uid(seed, "series", series),
        frame_uid=_uid(seed, "frame", series),
        number=number,
        when=start + offset,
        description=description,
        operator=rng.choice(_OPERATORS),
        dirname=dirname,
        file_style=rng.randrange(5),
    )


def _sop_uid(seed: int, series: int, instance: int) -> str:
    return _uid(seed, "sop", series, instance)


def _file_name(style: int, slot: _Slot, sop: str) -> str:
    k = slot.instance + 1
    return (f"IM{k:05d}", f"{k:04d}.dcm", f"{sop}.dcm", f"I{k}",
            f"{slot.modality}{k:06d}.DCM")[style]  # fmt: skip


def _relpath(seed: int, slot: _Slot) -> Path:
    pat, st, se = _patient(seed, slot.patient), _study(seed, slot), _series(seed, slot)
    name = _file_name(se.file_style, slot, _sop_uid(seed, slot.series, slot.instance))
    return Path(pat.dirname, st.dirname, se.dirname, name)


# -------------------------------------------------------------------- templates


class _Template(NamedTuple):
    raw: bytes  # the prepared Part 10 file (reference path re-reads it per instance)
    preamble: bytes
    meta: tuple[DataElement, ...]  # file meta minus group length and SOP instance
    meta_head: bytes  # encoded file meta elements sorting before (0002,0003)
    meta_tail: bytes  # ... and after it
    elements: dict[int, bytes]  # encoded top-level elements of the dataset
    sop_class: str
    private_slot: int  # element number of our private creator, (0009,00xx)
    position: tuple[float, float, float]
    thickness: float


def _prepare(ds: FileDataset) -> int:
    """Normalise a bundled test file once; return the slot of our private block."""
    ds.SpecificCharacterSet = _CHARSET
    for keyword in ("OtherPatientIDsSequence", "NameOfPhysiciansReadingStudy"):
        if keyword in ds:
            delattr(ds, keyword)
    block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)
    return block.block_start >> 8


def _encode_element(elem: DataElement | RawDataElement) -> bytes:
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, False
    write_data_element(fp, elem, _CHARSET)
    return fp.getvalue()


def _encode_dataset(ds: Dataset) -> dict[int, bytes]:
    """Each top-level element of ``ds`` encoded on its own, keyed by int tag."""
    return {int(tag): _encode_element(ds.get_item(tag)) for tag in ds.keys()}  # noqa: SIM118


@functools.cache
def _template(modality: str) -> _Template:
    source = get_testdata_file(_TEMPLATES[modality])
    if not isinstance(source, str):
        raise FileNotFoundError(f"pydicom test file {_TEMPLATES[modality]} not found")
    ds = pydicom.dcmread(source)
    slot = _prepare(ds)
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    ds = pydicom.dcmread(BytesIO(buf.getvalue()))  # re-read: elements stay raw
    meta = tuple(e for e in ds.file_meta if e.tag not in (0x00020000, 0x00020003))
    x, y, z = (float(v) for v in ds.ImagePositionPatient)
    return _Template(
        raw=buf.getvalue(),
        preamble=ds.preamble or b"\0" * 128,
        meta=meta,
        meta_head=b"".join(_encode_element(e) for e in meta if e.tag < 0x00020003),
        meta_tail=b"".join(_encode_element(e) for e in meta if e.tag > 0x00020003),
        # like write_dataset: no group length elements in the dataset
        elements={t: b for t, b in _encode_dataset(ds).items() if t & 0xFFFF or t >> 16 <= 6},
        sop_class=ds.SOPClassUID,
        private_slot=slot,
        position=(x, y, z),
        thickness=float(ds.SliceThickness),
    )


# ------------------------------------------------------------------------ parts
#
# An instance is the template plus a list of "parts": (filler, args, shared).  A filler
# sets elements on a Dataset and depends on its (hashable) args only, so the fast path
# encodes a shared part once and reuses the bytes for every instance with the same args
# (all instances of a patient, a study, a series, or with the same sequence variant).


def _code_item(value: str, scheme: str, meaning: str, version: str = "") -> Dataset:
    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    item.CodeMeaning = meaning
    if version:
        item.CodingSchemeVersion = version
    return item


def _private(slot: int, offset: int) -> int:
    return Tag(PRIVATE_GROUP, (slot << 8) | offset)


def _fill_patient(ds: Dataset, seed: int, patient: int) -> None:
    pat = _patient(seed, patient)
    ds.PatientName, ds.PatientID, ds.PatientSex = pat.name, pat.pid, pat.sex
    ds.PatientBirthDate = f"{pat.birth:%Y%m%d}"
    ds.PatientAddress = pat.address
    ds.PatientTelephoneNumbers = list(pat.phones)
    if pat.other_ids:
        ds.OtherPatientIDs = list(pat.other_ids)
        ds.OtherPatientIDsSequence = [_other_id(o) for o in pat.other_ids]


def _other_id(other: str) -> Dataset:
    item = Dataset()
    item.PatientID, item.TypeOfPatientID = other, "TEXT"
    item.IssuerOfPatientID = other[:3]
    return item


def _age(birth: dt.date, on: dt.date) -> str:
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    if years >= 2:
        return f"{years:03d}Y"
    days = (on - birth).days
    return f"{days // 30:03d}M" if days >= 60 else f"{days:03d}D"


def _fill_study(ds: Dataset, seed: int, patient: int, study: int, modality: str) -> None:
    pat, st = _patient(seed, patient), _study_at(seed, patient, study, modality)
    ds.PatientAge = _age(pat.birth, st.when.date())
    ds.StudyInstanceUID = st.uid
    ds.StudyDate, ds.StudyTime = f"{st.when:%Y%m%d}", f"{st.when:%H%M%S}"
    ds.AccessionNumber, ds.StudyID = st.accession, st.accession[-8:]
    ds.InstitutionName, ds.InstitutionAddress = st.institution
    ds.ReferringPhysicianName = st.referring
    ds.NameOfPhysiciansReadingStudy = st.reader
    ds.StudyDescription, ds.BodyPartExamined = st.description, st.body


def _fill_series(ds: Dataset, seed: int, slot: _Slot) -> None:
    se = _series(seed, slot)
    ds.SeriesInstanceUID, ds.FrameOfReferenceUID = se.uid, se.frame_uid
    ds.Modality, ds.SeriesNumber = slot.modality, se.number
    ds.SeriesDescription = se.description
    ds.SeriesDate, ds.SeriesTime = f"{se.when:%Y%m%d}", f"{se.when:%H%M%S}"
    ds.OperatorsName = se.operator


def _fill_instance(ds: Dataset, seed: int, slot: _Slot, tpl: _Template, extra: tuple[str, int]) -> None:
    """The elements unique to one instance (``extra``: private DS and US values)."""
    ds.SOPInstanceUID = _sop_uid(seed, slot.series, slot.instance)
    ds.InstanceNumber = ds.AcquisitionNumber = slot.instance + 1
    when = _series(seed, slot).when + dt.timedelta(seconds=2 * slot.instance + 1)
    ds.AcquisitionDate = ds.ContentDate = ds.InstanceCreationDate = f"{when:%Y%m%d}"
    ds.AcquisitionTime = f"{when:%H%M%S}.{slot.instance * 37 % 1000:03d}"
    ds.ContentTime = ds.InstanceCreationTime = f"{when:%H%M%S}"
    x, y, z = tpl.position
    z -= slot.instance * tpl.thickness
    ds.ImagePositionPatient = [f"{x:.4f}", f"{y:.4f}", f"{z:.4f}"]
    ds.SliceLocation = f"{z:.4f}"
    ds.add_new(_private(tpl.private_slot, 0x02), "DS", extra[0])
    ds.add_new(_private(tpl.private_slot, 0x03), "US", extra[1])


def _fill_request(ds: Dataset, seed: int, slot: _Slot, flags: tuple[bool, bool, bool]) -> None:
    st = _study(seed, slot)
    item = Dataset()
    item.RequestedProcedureID = f"RP{st.accession[-6:]}"
    item.ScheduledProcedureStepID = f"SPS{st.accession[-6:]}1"
    if flags[0]:
        item.RequestedProcedureDescription = st.description
    if flags[1]:
        item.AccessionNumber = st.accession
    codes = [_code_item(*st.procedure)]
    if flags[2]:
        codes.append(_code_item("P-EXTRA", "99DLK", "ADDITIONAL VIEWS", "1.0"))
    item.ScheduledProtocolCodeSequence = codes
    ds.RequestAttributesSequence = [item]


def _fill_procedure(ds: Dataset, seed: int, slot: _Slot) -> None:
    ds.ProcedureCodeSequence = [_code_item(*_study(seed, slot).procedure)]


def _fill_reference(ds: Dataset, seed: int, slot: _Slot, sop_class: str, purpose: int) -> None:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    target = 0 if slot.instance else 1  # always an existing instance of this series
    item.ReferencedSOPInstanceUID = _sop_uid(seed, slot.series, target)
    if purpose >= 0:
        value, meaning = _PURPOSES[purpose]
        item.PurposeOfReferenceCodeSequence = [_code_item(value, "DCM", meaning)]
    ds.ReferencedImageSequence = [item]


def _fill_reader(ds: Dataset, seed: int, slot: _Slot, extra: tuple[bool, str]) -> None:
    st = _study(seed, slot)
    item = Dataset()
    item.PersonName = st.reader
    meaning = " ".join(part for part in st.reader.split("^") if part)
    item.PersonIdentificationCodeSequence = [_code_item(st.reader_code, st.reader_scheme, meaning)]
    if extra[0]:
        item.InstitutionName = st.institution[0]
    if extra[1]:
        item.PersonTelephoneNumbers = extra[1]
    ds.PhysiciansReadingStudyIdentificationSequence = [item]


def _fill_private(ds: Dataset, seed: int, slot: _Slot, creator_slot: int, with_date: bool) -> None:
    """Our private block, bar its per-instance DS and US (see :func:`_fill_instance`)."""
    pat, st = _patient(seed, slot.patient), _study(seed, slot)
    ds.add_new(Tag(PRIVATE_GROUP, creator_slot), "LO", PRIVATE_CREATOR)
    block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
    block.add_new(0x01, "LO", pat.name)
    blob = b"DLSAMPLE" + pat.pid.encode() + hashlib.sha256(pat.pid.encode()).digest()
    block.add_new(0x04, "OB", blob + b"\0" * (len(blob) % 2))
    inner = Dataset()
    inner.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True).add_new(0x01, "LO", st.accession)
    item = Dataset()
    item_block = item.private_block(PRIVATE_GROUP, PRIVATE_CREATOR, create=True)
    item_block.add_new(0x01, "LO", pat.pid)
    if with_date:
        item_block.add_new(0x02, "DA", f"{pat.birth:%Y%m%d}")
    item_block.add_new(0x03, "SQ", [inner])
    block.add_new(0x05, "SQ", [item])


_Filler = Callable[..., None]
_Part = tuple[_Filler, tuple[Any, ...], bool]


def _blank(slot: _Slot, *fields: str) -> _Slot:
    """``slot`` with all but ``fields`` zeroed: a cache key shared by its group."""
    return _Slot(0, 0, 0, 0, 0, 0, 0, "")._replace(**{f: getattr(slot, f) for f in fields})


def _parts(seed: int, slot: _Slot, tpl: _Template) -> list[_Part]:
    """What instance ``slot`` is made of; the random choices come from (seed, ordinal)."""
    rng = random.Random(f"{seed}:instance:{slot.ordinal}")
    study = _blank(slot, "patient", "study", "modality")
    series = _blank(slot, "patient", "study", "modality", "series", "series_in_study")
    extra = (f"{rng.uniform(0, 500):.3f}", rng.randrange(65536))
    parts: list[_Part] = [
        (_fill_patient, (seed, slot.patient), True),
        (_fill_study, (seed, slot.patient, slot.study, slot.modality), True),
        (_fill_series, (seed, series), True),
        (_fill_instance, (seed, slot, tpl, extra), False),
        (_fill_private, (seed, study, tpl.private_slot, rng.random() < 0.5), True),
    ]
    if rng.random() < 0.85:
        flags = (rng.random() < 0.5, rng.random() < 0.4, rng.random() < 0.3)
        parts.append((_fill_request, (seed, study, flags), True))
    if rng.random() < 0.7:
        parts.append((_fill_procedure, (seed, study), True))
    if slot.series_size > 1 and rng.random() < 0.6:
        purpose = rng.randrange(len(_PURPOSES)) if rng.random() < 0.5 else -1
        key = _blank(slot, "patient", "study", "modality", "series")._replace(instance=min(slot.instance, 1))
        parts.append((_fill_reference, (seed, key, tpl.sop_class, purpose), True))
    if rng.random() < 0.6:
        phone = f"(555) 555-01{slot.study % 100:02d}" if rng.random() < 0.3 else ""
        parts.append((_fill_reader, (seed, study, (rng.random() < 0.5, phone)), True))
    return parts


# ---------------------------------------------------------------------- writing


def _encode_part(fill: _Filler, args: tuple[Any, ...]) -> dict[int, bytes]:
    ds = Dataset()
    fill(ds, *args)
    return _encode_dataset(ds)


_encode_shared_part = functools.lru_cache(maxsize=1024)(_encode_part)


def _file_meta(tpl: _Template, sop: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    for elem in tpl.meta:
        meta.add(elem)
    meta.MediaStorageSOPInstanceUID = UID(sop)
    return meta


def _encode_reference(seed: int, slot: _Slot) -> bytes:
    """One instance through the plain pydicom path: template + parts, ``save_as``."""
    tpl = _template(slot.modality)
    ds = pydicom.dcmread(BytesIO(tpl.raw))
    for fill, args, _shared in _parts(seed, slot, tpl):
        fill(ds, *args)
    ds.file_meta = _file_meta(tpl, ds.SOPInstanceUID)
    buf = BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _meta_bytes(tpl: _Template, sop: str) -> bytes:
    """Preamble, ``DICM`` and the file meta group, as ``write_file_meta_info`` does."""
    body = tpl.meta_head + _encode_element(DataElement(0x00020003, "UI", sop)) + tpl.meta_tail
    length = _encode_element(DataElement(0x00020000, "UL", len(body)))
    return tpl.preamble + b"DICM" + length + body


def _encode(seed: int, slot: _Slot) -> bytes:
    """Same bytes as :func:`_encode_reference` (tested), several times faster: the
    template and every shared part are encoded once, then spliced in tag order."""
    tpl = _template(slot.modality)
    elements = dict(tpl.elements)
    for fill, args, shared in _parts(seed, slot, tpl):
        elements.update((_encode_shared_part if shared else _encode_part)(fill, args))
    sop = _sop_uid(seed, slot.series, slot.instance)
    return _meta_bytes(tpl, sop) + b"".join(elements[tag] for tag in sorted(elements))


def _write_chunk(dest: str, seed: int, slots: Sequence[_Slot]) -> list[str]:
    out: list[str] = []
    made: set[Path] = set()
    for slot in slots:
        path = Path(dest, _relpath(seed, slot))
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_bytes(_encode(seed, slot))
        out.append(str(path))
    return out


def _chunks(slots: list[_Slot], parts: int) -> list[list[_Slot]]:
    size = max(1, -(-len(slots) // parts))
    return [slots[i : i + size] for i in range(0, len(slots), size)]


def make_sample(dest: str | Path, n: int = 120, *, seed: int = 0, workers: int | None = None) -> list[Path]:
    """Write ``n`` synthetic DICOM files under ``dest``; return their paths in order.

    The output depends only on ``(n, seed)``: it is byte-identical whatever ``workers``
    is (default ``os.cpu_count()``; a process pool is used when ``workers > 1`` and
    ``n`` is at least a couple of hundred).
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    slots = _plan(n, seed)
    workers = (os.cpu_count() or 1) if workers is None else max(1, workers)
    if workers == 1 or n < _MIN_PARALLEL:
        return [Path(p) for p in _write_chunk(str(dest), seed, slots)]
    chunks = _chunks(slots, workers * 4)
    with ProcessPoolExecutor(max_workers=workers, initializer=CHILD_START) as pool:
        done = pool.map(_write_chunk, [str(dest)] * len(chunks), [seed] * len(chunks), chunks)
        return [Path(p) for paths in done for p in paths]
