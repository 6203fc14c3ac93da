"""The examples of Google's documentation of DICOM de-identification, each from its JSON pasted unchanged."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence

import dicomlake
from dicomlake.deid.config import load_config
from dicomlake.deid.run import deidentify

DOCUMENTED = json.loads((Path(__file__).parent / "data" / "documented_instance.json").read_text())
DEST = "projects/PROJECT_ID/locations/SOURCE_DATASET_LOCATION/datasets/DESTINATION_DATASET_ID"


def documented_instance(path: Path, with_reading_sequence: bool = False) -> Path:
    """A Part 10 file with the documentation's metadata and a JPEG baseline image of its size."""
    ds = Dataset.from_json({k: v for k, v in DOCUMENTED.items() if not k.startswith("0002")})
    meta = FileMetaDataset()
    for k, v in DOCUMENTED.items():
        if k.startswith("0002"):
            meta[int(k, 16)] = pydicom.DataElement(int(k, 16), v["vr"], v["Value"][0])
    rows, cols = ds.Rows, ds.Columns
    img = np.full((rows, cols, 3), 40, np.uint8)
    img[100:300, 100:600] = 200
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    if with_reading_sequence:
        ds.PhysiciansReadingStudyIdentificationSequence = Sequence(
            [
                Dataset.from_json(
                    {
                        "00401101": {
                            "vr": "SQ",
                            "Value": [
                                {
                                    "00080100": {"vr": "SH", "Value": [f"CodeValue{i}"]},
                                    "00080102": {"vr": "SH", "Value": [f"CodingSchemeDesignator{i}"]},
                                }
                            ],
                        }
                    }
                )
                for i in (1, 2)
            ]
        )
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def run(tmp_path: Path, body: dict, **kw: object) -> pydicom.Dataset:
    src = documented_instance(tmp_path / "src" / "dicom_deid_instance_sample.dcm", **kw)  # type: ignore[arg-type]
    dicomlake.ingest(tmp_path / "lake", src.parent, "seed", progress=False)
    deidentify(tmp_path / "lake", load_config(body), dest_lake=tmp_path / "dest", workers=1)
    out = dicomlake.open(tmp_path / "dest").sql("SELECT dl_source FROM seed").fetchall()
    assert len(out) == 1
    return pydicom.dcmread(out[0][0])


def action(op: str) -> dict:
    return {
        "destinationDataset": DEST,
        "config": {"dicomTagConfig": {"actions": [{"queries": ["PatientName"], op: {}}]}},
    }


def test_keep(tmp_path: Path) -> None:
    assert str(run(tmp_path, action("keepTag")).PatientName) == "Ann Johnson"


def test_remove(tmp_path: Path) -> None:
    ds = run(tmp_path, action("removeTag"))
    assert "PatientName" in ds and str(ds.PatientName) == ""


def test_delete(tmp_path: Path) -> None:
    assert "PatientName" not in run(tmp_path, action("deleteTag"))


def test_reset(tmp_path: Path) -> None:
    name = run(tmp_path, action("resetTag")).PatientName  # written PLACEHOLDER^: a PN validators accept
    assert name.family_name == "PLACEHOLDER" and not name.given_name


def test_clean_text_person_name(tmp_path: Path) -> None:
    body = {
        "destinationDataset": DEST,
        "config": {
            "dicomTagConfig": {"actions": [{"queries": ["PatientName"], "cleanTextTag": {}}]},
            "text": {"additionalTransformations": [{"infoTypes": ["PERSON_NAME"], "replaceWithInfoTypeConfig": {}}]},
        },
    }
    assert run(tmp_path, body).PatientName.family_name == "[PERSON_NAME]"


def test_keep_all_regen_sop_only(tmp_path: Path) -> None:
    body = {
        "destinationDataset": DEST,
        "config": {
            "dicomTagConfig": {
                "options": {"primaryIds": "KEEP"},
                "actions": [{"queries": ["00080018"], "regenUidTag": {}}],
                "profileType": "KEEP_ALL_PROFILE",
            }
        },
    }
    out = run(tmp_path, body)
    src = pydicom.dcmread(tmp_path / "src" / "dicom_deid_instance_sample.dcm")
    changed = {e.keyword for e in src if e.keyword in out and out[e.tag].value != e.value}
    assert changed == {"SOPInstanceUID"}
    assert {e.keyword for e in src} <= {e.keyword for e in out}  # nothing lost
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID != src.SOPInstanceUID
    assert out.StudyInstanceUID == src.StudyInstanceUID and out.SeriesInstanceUID == src.SeriesInstanceUID
    added = {e.keyword for e in out} - {e.keyword for e in src}
    assert added <= {"PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence"}
    assert out.PixelData == src.PixelData


def test_recurse_tag(tmp_path: Path) -> None:
    body = {
        "destinationDataset": DEST,
        "config": {
            "dicomTagConfig": {
                "actions": [{"queries": ["PhysiciansReadingStudyIdentificationSequence"], "recurseTag": {}}]
            }
        },
    }
    out = run(tmp_path, body, with_reading_sequence=True)
    items = out.PhysiciansReadingStudyIdentificationSequence
    assert len(items) == 2
    for it in items:
        code = it.PersonIdentificationCodeSequence[0]
        assert code.CodeValue == "PLACEHOLDER" and code.CodingSchemeDesignator == "PLACEHOLDER"


def test_legacy_dicom_config_with_filter(tmp_path: Path) -> None:
    body = {
        "destinationStore": f"{DEST}/dicomStores/DESTINATION_DICOM_STORE_ID",
        "config": {
            "dicom": {"filterProfile": "DEIDENTIFY_TAG_CONTENTS"},
            "image": {"textRedactionMode": "REDACT_ALL_TEXT"},
        },
        "filterConfig": {"resourcePathGcsUri": "gs://BUCKET/PATH/TO/FILE"},
    }
    request = load_config(body)
    assert request.config.dicom is not None and request.config.image is not None
    assert any("filterConfig" in n or "gs://" in n for n in request.notes)
    out = run(tmp_path, body)
    assert out.PatientName.family_name == "[PERSON_NAME]"  # PN is a PERSON_NAME as a whole
    assert out.SOPInstanceUID != DOCUMENTED["00080018"]["Value"][0]  # legacy default: primary IDs regenerated


@pytest.mark.parametrize(
    "profile",
    [
        "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
        "MINIMAL_KEEP_LIST_PROFILE",
        "KEEP_ALL_PROFILE",
        "DEIDENTIFY_TAG_CONTENTS",
    ],
)
def test_every_profile_writes_a_readable_instance(tmp_path: Path, profile: str) -> None:
    out = run(tmp_path, {"dicomTagConfig": {"profileType": profile}})
    assert out.SOPClassUID == DOCUMENTED["00080016"]["Value"][0]
    assert out.file_meta.MediaStorageSOPInstanceUID == out.SOPInstanceUID
    assert len(out.PixelData) > 1000
