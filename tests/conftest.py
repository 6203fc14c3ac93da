"""Shared fixtures: pydicom's bundled test files and small DICOM files written by the tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from current output")


@pytest.fixture(scope="session")
def testfiles_dir() -> Path:
    """pydicom's bundled test files (odd ones included)."""
    return Path(os.path.dirname(str(get_testdata_file("CT_small.dcm", download=False))))


def write_instance(path: Path, **attrs: object) -> Path:
    """A small valid instance with ``attrs`` set (keywords; values as pydicom accepts them)."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = "P1"
    ds.PatientName = "Doe^Jane"
    ds.StudyDate = "20200102"
    ds.StudyTime = "101112"
    ds.Modality = "OT"
    for k, v in attrs.items():
        setattr(ds, k, v)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def make_instance() -> Callable[..., Path]:
    return write_instance


def item(**attrs: object) -> Dataset:
    ds = Dataset()
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


@pytest.fixture(scope="session")
def read() -> Callable[[Path], pydicom.Dataset]:
    return lambda p: pydicom.dcmread(p, force=True)
