"""Shared fixtures: pydicom's bundled test files and small DICOM files written by the tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

# Under CI (the CI variable set) property tests are derandomized: the same examples on every
# run, so a red run is a real bug and a rerun reproduces it; the failing example is printed.
settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "default")

UID_RE = r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+"
"""A valid UID: at least two components of digits, none with a leading zero (64 characters at most)."""

_component = st.integers(0, 10**12).map(str)


@st.composite
def uids(draw: st.DrawFn) -> str:
    """Valid UIDs only: 2 to 6 components without leading zeros, at most 64 characters."""
    parts = draw(st.lists(_component, min_size=2, max_size=6))
    while len(".".join(parts)) > 64:
        parts.pop()
    return ".".join(parts)


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
