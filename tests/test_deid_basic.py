"""BASIC on a store with PHI at top level, in nested sequences and in private blocks."""

from __future__ import annotations

import re
import shutil
import subprocess

import pydicom
import pytest

import dicomlake
from dicomlake.deid.config import load_config
from dicomlake.deid.run import deidentify
from dicomlake.deid.verify import verify

DCIODVFY = shutil.which("dciodvfy")


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory) -> tuple[dicomlake.Lake, dicomlake.Lake]:
    from dicomlake.demo.sample import make_sample

    root = tmp_path_factory.mktemp("basic")
    make_sample(root / "files", 40, seed=11)
    dicomlake.ingest(root / "lake", root / "files", "s", progress=False)
    deidentify(
        root / "lake",
        load_config({"dicomTagConfig": {}}),
        dest_lake=root / "dest",
        workers=2,
        crosswalk=str(root / "crosswalk.parquet"),
    )
    return dicomlake.open(root / "lake"), dicomlake.open(root / "dest")


def pairs(basic: tuple[dicomlake.Lake, dicomlake.Lake]) -> list[tuple[str, str]]:
    """(source file, output file) through the crosswalk of SOP Instance UIDs."""
    src, dest = basic
    walk = src.root.parent / "crosswalk.parquet"
    matched = src.sql(
        f"SELECT s.dl_source, d.dl_source FROM s JOIN read_parquet('{walk}') w ON w.original = s.SOPInstanceUID "
        f"JOIN read_parquet('{dest.store_info('s').files[0]}') d ON d.SOPInstanceUID = w.new"
    ).fetchall()
    assert len(matched) == 40, "every instance of the source has its output"
    return matched


def test_verify_finds_nothing_and_outputs_reread(basic: tuple[dicomlake.Lake, dicomlake.Lake]) -> None:
    src, dest = basic
    report = verify(dest.root, "s", src.root, "s")
    assert report.files == 40 and report.hits == []
    for (p,) in dest.sql("SELECT dl_source FROM s").fetchall():
        ds = pydicom.dcmread(p)
        assert ds.PatientIdentityRemoved == "YES" and ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert not [e for e in ds if e.tag.is_private]


def test_pixels_byte_identical(basic: tuple[dicomlake.Lake, dicomlake.Lake]) -> None:
    matched = pairs(basic)
    assert len(matched) == 40
    for a, b in matched:
        assert pydicom.dcmread(a).PixelData == pydicom.dcmread(b).PixelData


def _errors(path: str) -> set[str]:
    p = subprocess.run([DCIODVFY, path], capture_output=True, text=True, timeout=60)
    lines = (p.stdout + p.stderr).splitlines()
    return {
        re.sub(r"\s+", " ", ln.split("Element=")[1]) if "Element=" in ln else ln
        for ln in lines
        if ln.startswith("Error")
    }


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (Debian dicom3tools) is installed by ./dev.sh")
def test_dciodvfy_reports_no_new_error(basic: tuple[dicomlake.Lake, dicomlake.Lake]) -> None:
    for a, b in pairs(basic):
        assert _errors(b) <= _errors(a), (a, b)


def test_a_dummy_keeps_the_number_of_values(tmp_path_factory: pytest.TempPathFactory) -> None:
    """D on a list (Waveform Annotation Sequence X/D: every leaf beneath it) writes one dummy per
    source value, so a US of VM 2-2n (ReferencedWaveformChannels [1, 0]) stays valid: [0, 0]."""
    from pydicom.data import get_testdata_file

    root = tmp_path_factory.mktemp("vm")
    (root / "files").mkdir()
    shutil.copy(str(get_testdata_file("waveform_ecg.dcm")), root / "files")
    dicomlake.ingest(root / "lake", root / "files", "s", progress=False)
    deidentify(root / "lake", load_config({"dicomTagConfig": {}}), dest_lake=root / "dest", workers=1)
    ((out,),) = dicomlake.open(root / "dest").sql("SELECT dl_source FROM s").fetchall()
    source = pydicom.dcmread(get_testdata_file("waveform_ecg.dcm")).WaveformAnnotationSequence
    written = pydicom.dcmread(out).WaveformAnnotationSequence
    assert len(written) == len(source)
    for a, b in zip(source, written, strict=True):
        assert b.ReferencedWaveformChannels == [0] * len(a.ReferencedWaveformChannels)
