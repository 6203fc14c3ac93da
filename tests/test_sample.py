"""Tests for dicomlake.demo.sample: real files written to tmp dirs and re-read with pydicom."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileDataset
from pydicom.uid import ExplicitVRLittleEndian

from dicomlake.demo import sample
from dicomlake.demo.sample import PRIVATE_CREATOR, PRIVATE_GROUP, make_sample

N = 240


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_sample(tmp_path_factory.mktemp("sample"), N, seed=7, workers=1)


@pytest.fixture(scope="module")
def datasets(files: list[Path]) -> list[FileDataset]:
    return [pydicom.dcmread(p) for p in files]


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_returns_existing_paths_in_nested_tree(files: list[Path]) -> None:
    assert len(files) == N == len(set(files))
    assert all(p.read_bytes()[128:132] == b"DICM" for p in files)
    root = files[0].parents[3]
    assert all(p.is_file() and p.parents[3] == root for p in files)
    assert len(_tree(root)) == N  # nothing else written
    suffixes = {p.suffix for p in files}
    assert "" in suffixes and ".dcm" in suffixes  # some names without extension


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    a = make_sample(tmp_path / "a", 60, seed=3, workers=1)
    b = make_sample(tmp_path / "b", 60, seed=3, workers=1)
    assert [p.relative_to(tmp_path / "a") for p in a] == [p.relative_to(tmp_path / "b") for p in b]
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_different_seed_gives_different_uids(tmp_path: Path) -> None:
    def uids(seed: int) -> set[str]:
        out: set[str] = set()
        for p in make_sample(tmp_path / str(seed), 40, seed=seed, workers=1):
            ds = pydicom.dcmread(p)
            out |= {ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID}
        return out

    assert uids(1).isdisjoint(uids(2))


def test_workers_do_not_change_output(tmp_path: Path) -> None:
    n = sample._MIN_PARALLEL + 50  # large enough to really use the process pool
    one = make_sample(tmp_path / "one", n, seed=11, workers=1)
    two = make_sample(tmp_path / "two", n, seed=11, workers=2)
    assert [p.relative_to(tmp_path / "one") for p in one] == [p.relative_to(tmp_path / "two") for p in two]
    assert _tree(tmp_path / "one") == _tree(tmp_path / "two")


def test_fast_encoder_matches_pydicom_save_as() -> None:
    for slot in sample._plan(150, 5):
        assert sample._encode(5, slot) == sample._encode_reference(5, slot), slot


def test_zero_instances(tmp_path: Path) -> None:
    assert make_sample(tmp_path / "empty", 0) == []


def test_files_are_valid_part10(datasets: list[FileDataset]) -> None:
    sops = [ds.SOPInstanceUID for ds in datasets]
    assert len(set(sops)) == N
    for ds in datasets:
        assert len(ds.preamble or b"") == 128  # the templates' own (TIFF-ish) preamble
        assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
        assert ds.SOPInstanceUID.startswith("2.25.") and ds.SOPInstanceUID.is_valid


def test_pixel_data_and_modality_come_from_templates(
    datasets: list[FileDataset],
) -> None:
    pixels = {m: pydicom.dcmread(str(get_testdata_file(f"{m}_small.dcm"))).PixelData for m in ("CT", "MR")}
    assert {ds.Modality for ds in datasets} == {"CT", "MR"}
    for ds in datasets:
        assert ds.PixelData == pixels[ds.Modality]
        assert ds.SOPClassUID.name == f"{ds.Modality} Image Storage"


def test_hierarchy_counts(datasets: list[FileDataset]) -> None:
    study_of_series: dict[str, set[str]] = defaultdict(set)
    patient_of_study: dict[str, set[str]] = defaultdict(set)
    modality_of_series: dict[str, set[str]] = defaultdict(set)
    for ds in datasets:
        study_of_series[ds.SeriesInstanceUID].add(ds.StudyInstanceUID)
        patient_of_study[ds.StudyInstanceUID].add(ds.PatientID)
        modality_of_series[ds.SeriesInstanceUID].add(ds.Modality)
    assert all(len(v) == 1 for v in study_of_series.values())
    assert all(len(v) == 1 for v in patient_of_study.values())
    assert all(len(v) == 1 for v in modality_of_series.values())
    patients = {ds.PatientID for ds in datasets}
    assert 3 <= len(patients) < len(patient_of_study) < len(study_of_series) < N
    plan = sample._plan(N, 7)
    assert len(patients) == len({s.patient for s in plan})
    assert len(patient_of_study) == len({s.study for s in plan})
    assert len(study_of_series) == len({s.series for s in plan})


def test_large_sample_plan_spreads_over_many_patients() -> None:
    plan = sample._plan(5000, 0)
    assert len(plan) == 5000
    assert 120 <= len({s.patient for s in plan}) <= 190  # "~n/32"
    sizes: dict[int, int] = defaultdict(int)
    for s in plan:
        sizes[s.series] += 1
    assert all(sizes[s.series] == s.series_size for s in plan)
    # a smaller sample is a prefix of a larger one (bar the truncated last series)
    assert [s[:6] for s in sample._plan(100, 0)] == [s[:6] for s in plan[:100]]


def test_series_geometry_and_uids(datasets: list[FileDataset]) -> None:
    by_series: dict[str, list[FileDataset]] = defaultdict(list)
    for ds in datasets:
        by_series[ds.SeriesInstanceUID].append(ds)
    for members in by_series.values():
        numbers = sorted(int(ds.InstanceNumber) for ds in members)
        assert numbers == list(range(1, len(members) + 1))
        assert len({ds.FrameOfReferenceUID for ds in members}) == 1
        assert len({float(ds.SliceLocation) for ds in members}) == len(members)
        for ds in members:
            assert float(ds.ImagePositionPatient[2]) == float(ds.SliceLocation)


def test_phi_is_present_and_plausible(datasets: list[FileDataset]) -> None:
    for ds in datasets:
        assert re.fullmatch(r"[A-ZÀ-Ý' -]+\^[A-ZÀ-Ý]+(\^[A-Z]+)?", str(ds.PatientName))
        assert ds.PatientSex in ("M", "F")
        assert re.fullmatch(r"\d{3}[DMY]", ds.PatientAge)
        assert ds.PatientBirthDate <= ds.StudyDate
        assert "19950101" <= ds.StudyDate <= "20241231"
        assert ds.SeriesDate == ds.StudyDate == ds.AcquisitionDate == ds.ContentDate
        assert re.fullmatch(r"\d{6}", ds.StudyTime)
        assert ds.StudyTime <= ds.SeriesTime <= ds.ContentTime
        for keyword in ("AccessionNumber", "InstitutionName", "InstitutionAddress",
                        "ReferringPhysicianName", "PatientAddress",
                        "PatientTelephoneNumbers", "StudyDescription",
                        "SeriesDescription", "BodyPartExamined"):  # fmt: skip
            assert ds.get(keyword), keyword
    assert any("OtherPatientIDs" in ds for ds in datasets)
    assert any(
        str(ds.PatientName).split("^")[0].title() in ds.StudyDescription
        or str(ds.PatientName).split("^")[0] in ds.StudyDescription
        for ds in datasets
    )


def test_patient_level_values_are_consistent(datasets: list[FileDataset]) -> None:
    by_patient: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    by_study: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for ds in datasets:
        by_patient[ds.PatientID].add((str(ds.PatientName), ds.PatientBirthDate, ds.PatientSex))
        by_study[ds.StudyInstanceUID].add((ds.AccessionNumber, ds.StudyDate, ds.StudyTime, ds.PatientAge))
    assert all(len(v) == 1 for v in by_patient.values())
    assert all(len(v) == 1 for v in by_study.values())


def _has(ds: Dataset, *path: str) -> bool:
    """True if ``path`` (alternating sequence keywords, ending with any keyword)
    exists through the first item of each sequence."""
    for keyword in path[:-1]:
        if not ds.get(keyword):
            return False
        ds = ds[keyword][0]
    return path[-1] in ds


def test_nested_sequences_two_levels_deep(datasets: list[FileDataset]) -> None:
    paths = [
        ("RequestAttributesSequence", "ScheduledProtocolCodeSequence", "CodeMeaning"),
        ("RequestAttributesSequence", "RequestedProcedureID"),
        ("RequestAttributesSequence", "ScheduledProcedureStepID"),
        ("ProcedureCodeSequence", "CodingSchemeDesignator"),
        ("ReferencedImageSequence", "PurposeOfReferenceCodeSequence", "CodeValue"),
        ("PhysiciansReadingStudyIdentificationSequence", "PersonName"),
        ("PhysiciansReadingStudyIdentificationSequence",
         "PersonIdentificationCodeSequence", "CodeMeaning"),
    ]  # fmt: skip
    for path in paths:
        assert any(_has(ds, *path) for ds in datasets), path
    # structures vary: some items carry fields that others lack
    for path in [
        ("RequestAttributesSequence", "AccessionNumber"),
        ("ReferencedImageSequence", "PurposeOfReferenceCodeSequence"),
        ("PhysiciansReadingStudyIdentificationSequence", "InstitutionName"),
    ]:
        present = [_has(ds, *path) for ds in datasets if path[0] in ds]
        assert any(present) and not all(present), path
    assert not all("ProcedureCodeSequence" in ds for ds in datasets)


def test_referenced_images_exist_in_same_series(datasets: list[FileDataset]) -> None:
    series_of = {ds.SOPInstanceUID: ds.SeriesInstanceUID for ds in datasets}
    referencing = [ds for ds in datasets if "ReferencedImageSequence" in ds]
    assert referencing
    for ds in referencing:
        item = ds.ReferencedImageSequence[0]
        target = item.ReferencedSOPInstanceUID
        assert target != ds.SOPInstanceUID
        assert series_of[target] == ds.SeriesInstanceUID
        assert item.ReferencedSOPClassUID == ds.SOPClassUID


def test_private_block_and_private_sequence(datasets: list[FileDataset]) -> None:
    with_date = 0
    for ds in datasets:
        block = ds.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
        assert block[0x01].VR == "LO" and block[0x01].value == str(ds.PatientName)
        assert block[0x02].VR == "DS" and block[0x03].VR == "US"
        assert block[0x04].VR == "OB" and ds.PatientID.encode() in block[0x04].value
        assert block[0x05].VR == "SQ" and len(block[0x05].value) == 1
        item = block[0x05].value[0]
        item_block = item.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
        assert item_block[0x01].value == ds.PatientID
        with_date += item_block.get_tag(0x02) in item
        inner = item_block[0x03].value[0]
        inner_block = inner.private_block(PRIVATE_GROUP, PRIVATE_CREATOR)
        assert inner_block[0x01].value == ds.AccessionNumber
    assert 0 < with_date < len(datasets)  # the private item's structure varies too
