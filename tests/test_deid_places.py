"""Addresses, institutions and times in text, and Clean Descriptors that keeps descriptors, through real runs."""

from __future__ import annotations

from pathlib import Path

import pydicom

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
    assert [ds.StudyDescription for ds in out] == ["CT HEAD", "CT HEAD", "CT ABDOMEN at [LOCATION] General"]
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
