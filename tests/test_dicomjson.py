"""DICOM JSON → rows without a server: text in its character set (single-byte, UTF-8, ISO 2022
with escapes) comes out as a file ingest of the same dataset gives it."""

from __future__ import annotations

import io

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from dicomlake.codec.dicomjson import convert_json
from dicomlake.codec.reader import convert_bytes

CASES = {
    "latin1": ("ISO_IR 100", "Buc^Jérôme", "Éléonore présente"),
    "utf8": ("ISO_IR 192", "Wang^XiaoDong=王^小東", "Крупный план"),
    "jis": ("\\ISO 2022 IR 87", "Yamada^Tarou=山田^太郎", "Yamada"),
    "greek": ("ISO_IR 126", "Διονυσιος", "Ελληνικά"),
    "default": ("", "Doe^John", "Plain"),
}


def _dataset(charset: str, name: str, text: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    if charset:
        ds.SpecificCharacterSet = charset.split("\\") if "\\" in charset else charset
    ds.PatientName = name
    ds.StudyDescription = text
    ds.InstitutionName = text
    ds.Modality = "OT"
    ds.PixelSpacing = ["0.5", "0.25"]
    ds.ReferencedImageSequence = [Dataset()]
    ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID = generate_uid()
    ds.ReferencedImageSequence[0].DerivationDescription = text
    return ds


@pytest.mark.parametrize("case", sorted(CASES))
def test_json_text_equals_file_text(case: str) -> None:
    ds = _dataset(*CASES[case])
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    from_file = convert_bytes(buf.getvalue()).row
    from_json = convert_json(ds.to_json_dict()).row
    for col in (
        "PatientName",
        "StudyDescription",
        "InstitutionName",
        "Modality",
        "PixelSpacing",
        "SpecificCharacterSet",
    ):
        assert from_json.get(col) == from_file.get(col), col
    assert from_json["ReferencedImageSequence"] == from_file["ReferencedImageSequence"]
    assert from_json["PatientName"]["Alphabetic"]["FamilyName"] == CASES[case][1].split("^")[0]


def test_lowercase_keys_keep_tag_order() -> None:
    ds = _dataset(*CASES["default"]).to_json_dict()
    lower = {k.lower(): v for k, v in ds.items()}
    assert convert_json(lower).row == convert_json(ds).row
