"""Addresses, institutions and times in text, and Clean Descriptors that keeps descriptors, through real runs."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

import dicomlake
from dicomlake.deid.config import load_config
from dicomlake.deid.run import deidentify

from .conftest import write_instance

NGUYEN = {"PatientName": "NGUYEN^VAN", "PatientID": "PID-771203"}


def run(tmp_path: Path, instances: list[dict[str, object]], body: dict) -> list[pydicom.Dataset]:
    """Write ``instances``, ingest them, de-identify with ``body``; the output files re-read, in order of
    their source ``InstanceNumber``."""
    for i, attrs in enumerate(instances):
        write_instance(tmp_path / "src" / f"{i}.dcm", InstanceNumber=i + 1, **attrs)
    dicomlake.ingest(tmp_path / "lake", tmp_path / "src", "s", progress=False)
    deidentify(tmp_path / "lake", load_config(body), dest_lake=tmp_path / "dest", workers=1)
    files = [p for (p,) in dicomlake.open(tmp_path / "dest").sql("SELECT dl_source FROM s").fetchall()]
    return sorted((pydicom.dcmread(p) for p in files), key=lambda ds: int(ds.InstanceNumber))


CLEAN_DESCRIPTORS = {"dicomTagConfig": {"options": {"cleanDescriptors": {}}}}


def test_clean_descriptors_keeps_descriptors_and_removes_only_the_identifying_words(tmp_path: Path) -> None:
    out = run(
        tmp_path,
        [
            {
                **NGUYEN,
                "StudyDescription": "CT HEAD",
                "SeriesDescription": "SCOUT",
                "ImageComments": "Follow-up for Nguyen",
            },
            {**NGUYEN, "StudyDescription": "CT HEAD", "SeriesDescription": "ARTERIAL PHASE", "ProtocolName": "ROUTINE"},
            {
                **NGUYEN,
                "StudyDescription": "CT ABDOMEN at Madison General",
                "InstitutionName": "Madison General Hospital",
                "InstitutionalDepartmentName": "Radiology",
                "SeriesDescription": "Radiology review PID-771203",
            },
        ],
        CLEAN_DESCRIPTORS,
    )
    assert [ds.StudyDescription for ds in out] == ["CT HEAD", "CT HEAD", "CT ABDOMEN at [LOCATION]"]
    assert [ds.SeriesDescription for ds in out] == [
        "SCOUT",
        "ARTERIAL PHASE",
        "Radiology review [MEDICAL_RECORD_NUMBER]",
    ]
    assert out[0].ImageComments == "Follow-up for [PERSON_NAME]"
    assert out[1].ProtocolName == "ROUTINE"
    assert all("113105" in [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] for ds in out)


def test_clean_descriptors_ctx_is_another_elements_removed_value(tmp_path: Path) -> None:
    # BranchOfService (X) is removed by the profile: its value is context for the descriptors
    attrs = {**NGUYEN, "BranchOfService": "Coast Guard", "StudyDescription": "CHEST coast guard lung"}
    out = run(tmp_path, [attrs], CLEAN_DESCRIPTORS)
    assert out[0].StudyDescription == "CHEST [CTX] lung"
    assert "BranchOfService" not in out[0]


ADDRESS = "7536 Pine Street, Madison, WI 53703"
HISTORY = f"Lives at {ADDRESS}; moved from 12B Elm Ave., Apt 4, Springfield, IL 62704-1234 on 01/02/2019 08:48."
PARTS = ("7536", "Pine Street", "Madison", "53703", "12B Elm", "Springfield", "62704", "08:48")


def _private(ds: pydicom.Dataset) -> list[str]:
    return [str(e.value) for e in ds if e.tag.is_private and e.tag.element > 0xFF]


def _with_private(path: Path) -> None:
    ds = pydicom.dcmread(path)
    block = ds.private_block(0x0011, "DICOMLAKE TEST", create=True)
    block.add_new(0x01, "LO", "Madison General, Radiology")
    block.add_new(0x02, "LT", HISTORY)
    block.add_new(0x03, "SH", "Madison 53703")  # cleaned, too long for SH: cut at a space
    item = Dataset()  # a private element inside an item (written by the general writer)
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = "1.2.840.10008.3.1.2.3.1", "1.2.3.4"
    item.private_block(0x0011, "DICOMLAKE TEST", create=True).add_new(0x01, "LO", "Madison General, Radiology")
    ds.ReferencedStudySequence = [item]
    ds.save_as(path, enforce_file_format=True)


@pytest.mark.parametrize(
    "body",
    [
        {"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}},
        {
            "dicomTagConfig": {
                "actions": [{"queries": ["PatientAddress", "AdditionalPatientHistory"], "cleanTextTag": {}}]
            }
        },
    ],
)
def test_an_address_in_any_text_element_leaves_none_of_its_parts(tmp_path: Path, body: dict) -> None:
    attrs = {**NGUYEN, "PatientAddress": ADDRESS, "AdditionalPatientHistory": HISTORY}
    src = write_instance(
        tmp_path / "src" / "0.dcm", InstanceNumber=1, InstitutionName="Madison General Hospital", **attrs
    )
    _with_private(src)
    dicomlake.ingest(tmp_path / "lake", tmp_path / "src", "s", progress=False)
    deidentify(tmp_path / "lake", load_config(body), dest_lake=tmp_path / "dest", workers=1)
    [(path,)] = dicomlake.open(tmp_path / "dest").sql("SELECT dl_source FROM s").fetchall()
    ds = pydicom.dcmread(path)
    texts = [str(ds.PatientAddress), str(ds.AdditionalPatientHistory), *_private(ds)]
    assert ds.PatientAddress == "[LOCATION]"
    assert "Lives at [LOCATION]" in ds.AdditionalPatientHistory  # the instance's own address, whole
    assert "moved from [STREET_ADDRESS], [LOCATION] on " in ds.AdditionalPatientHistory  # any address
    for text in texts:
        assert not [p for p in PARTS if p.lower() in text.lower()], text
    if body["dicomTagConfig"].get("profileType") == "DEIDENTIFY_TAG_CONTENTS":
        assert _private(ds) == ["[LOCATION], Radiology", ds.AdditionalPatientHistory, "[LOCATION]"]
        assert _private(ds.ReferencedStudySequence[0]) == ["[LOCATION], Radiology"]
    else:
        assert _private(ds) == []  # the basic profile removes private elements


def test_verify_flags_each_leftover_address_part_institution_word_and_time(tmp_path: Path) -> None:
    from dicomlake.deid.verify import verify

    kept = {
        "ImageComments": "Lives at 7536 PINE STREET",
        "StudyDescription": "moved to Pine St.",
        "SeriesDescription": "MADISON scan 08:48",  # a time alone is no hit
        "ProtocolName": "ZIP 53703",
        "AdditionalPatientHistory": "Seen at St. Mary's 01/02/2020 08:48:26",
        "PatientComments": "Referred from madison general",
    }
    attrs = {
        **NGUYEN,
        **kept,
        "PatientAddress": ADDRESS,
        "InstitutionName": "St. Mary's Hospital",
        "InstitutionAddress": "1 Main Road, Madison General",
        "StudyTime": "084826",
    }
    keep = {"dicomTagConfig": {"actions": [{"queries": sorted(kept), "keepTag": {}}]}}
    run(tmp_path, [attrs], keep)
    report = verify(tmp_path / "dest", "s", tmp_path / "lake", "s")
    assert sorted((h.path, h.kind, h.text) for h in report.hits) == [
        ("AdditionalPatientHistory", "DATE", "01/02/2020"),
        ("AdditionalPatientHistory", "INSTITUTION", "St. Mary's"),
        ("AdditionalPatientHistory", "TIME", "08:48:26"),
        ("ImageComments", "ADDRESS", "7536 PINE STREET"),
        ("PatientComments", "ADDRESS", "madison general"),
        ("ProtocolName", "ADDRESS", "53703"),
        ("SeriesDescription", "ADDRESS", "MADISON"),
        ("StudyDescription", "ADDRESS", "Pine St"),
    ]


def test_a_place_word_with_letters_beyond_ascii_is_one_word(tmp_path: Path) -> None:
    """``Weißenkirchen`` (pydicom's examples_overlay.dcm has this address) is found whole, not as
    ``Wei`` and ``enkirchen``, in the descriptors and in the address itself."""
    place = {"SpecificCharacterSet": "ISO_IR 100", "InstitutionName": "Klinikum Weißenkirchen"}
    descriptors = run(
        tmp_path / "a", [{**NGUYEN, **place, "StudyDescription": "CT HEAD Weißenkirchen"}], CLEAN_DESCRIPTORS
    )
    assert descriptors[0].StudyDescription == "CT HEAD [LOCATION]"
    address = {"PatientAddress": "Nr. 309^^3610^^Weißenkirchen In Der Wachau^A", **place}
    contents = {"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}}
    (out,) = run(tmp_path / "b", [{**NGUYEN, **address}], contents)
    assert "enkirchen" not in out.PatientAddress and "Wachau" not in out.PatientAddress
