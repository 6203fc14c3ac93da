"""The converter over real files: values, types, nesting, private, dropped, and bad input."""

from __future__ import annotations

import datetime as dt
import random
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian

from dicomlake.codec.reader import convert_bytes, convert_file
from dicomlake.codec.vr import BINARY as BINARY_VRS
from dicomlake.errors import DicomReadError

from .conftest import item, write_instance


def bundled(name: str) -> str:
    path = get_testdata_file(name, download=False)
    assert path is not None, f"{name} is not bundled with pydicom"
    return str(path)


def row_of(name: str) -> dict:
    return convert_file(bundled(name))[0].row


def test_ct_small_values_and_types() -> None:
    row = row_of("CT_small.dcm")
    assert row["PatientName"] == {"Alphabetic": {"FamilyName": "CompressedSamples", "GivenName": "CT1"}}
    assert row["StudyDate"] == dt.date(2004, 1, 19)
    assert row["StudyTime"] == dt.time(7, 27, 30)
    assert row["ImageType"] == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert row["PixelSpacing"] == ["0.661468", "0.661468"]  # DS stays text, as BigQuery keeps it
    assert row["Rows"] == 128 and isinstance(row["Rows"], int)
    assert row["TransferSyntaxUID"] == "1.2.840.10008.1.2.1"  # file meta is ordinary columns
    assert "PixelData" in row["DroppedTags"]
    assert "FileMetaInformationVersion" in row["DroppedTags"]
    tags = {e["Tag"] for e in row["OtherElements"]}
    assert "Tag_00430010" in tags  # private creator
    assert all(isinstance(d, str) for e in row["OtherElements"] for d in e["Data"])


@pytest.mark.parametrize(
    "name",
    ["MR_small_bigendian.dcm", "MR_small_implicit.dcm", "image_dfl.dcm", "ExplVR_BigEnd.dcm", "JPEG2000.dcm"],
)
def test_transfer_syntaxes_agree_with_pydicom(name: str) -> None:
    path = bundled(name)
    row = convert_file(path)[0].row
    ds = pydicom.dcmread(path)
    assert row["SOPInstanceUID"] == ds.SOPInstanceUID
    assert row["Rows"] == ds.Rows
    assert row["PatientName"]["Alphabetic"]["FamilyName"] == ds.PatientName.family_name
    assert "PixelData" in row["DroppedTags"]


def test_nested_sequences_two_levels(tmp_path: Path) -> None:
    code = item(CodeValue="113100", CodingSchemeDesignator="DCM", CodeMeaning="Basic")
    p = write_instance(
        tmp_path / "a.dcm",
        RequestAttributesSequence=Sequence(
            [item(RequestedProcedureID="RP1", ScheduledProtocolCodeSequence=Sequence([code]))]
        ),
    )
    row = convert_file(str(p))[0].row
    seq = row["RequestAttributesSequence"]
    assert seq[0]["RequestedProcedureID"] == "RP1"
    assert seq[0]["ScheduledProtocolCodeSequence"][0]["CodeValue"] == "113100"


def test_private_sequence_becomes_tag_column(tmp_path: Path) -> None:
    ds = pydicom.dcmread(write_instance(tmp_path / "a.dcm"))
    block = ds.private_block(0x0009, "DICOMLAKE TEST", create=True)
    block.add_new(0x01, "LO", "secret name")
    block.add_new(0x02, "SQ", Sequence([item(PatientID="X9")]))
    block.add_new(0x03, "OB", b"\x00\x01")
    ds.save_as(tmp_path / "b.dcm")
    row = convert_file(str(tmp_path / "b.dcm"))[0].row
    assert {"Tag": "Tag_00091001", "Data": ["secret name"]} in row["OtherElements"]
    assert row["Tag_00091002"] == [{"PatientID": "X9"}]
    assert "Tag_00091003" in row["DroppedTags"]


def test_overlay_repeating_group() -> None:
    row = row_of("examples_overlay.dcm")
    assert row["OverlayRows"][0]["Id"] == "6000"
    assert isinstance(row["OverlayRows"][0]["Value"], int)
    assert any(d.startswith("OverlayData") for d in row["DroppedTags"])


def test_un_encoded_sequence_is_read_as_implicit() -> None:
    row = row_of("UN_sequence.dcm")  # a private SQ stored as UN, undefined length
    series = row["Tag_4453100C"][0]["ReferencedSeriesSequence"][0]
    assert series["ReferencedSOPSequence"][0]["ReferencedSOPClassUID"] == "1.2.840.10008.5.1.4.1.1.2"


def test_empty_and_unparseable_values_are_kept(tmp_path: Path) -> None:
    p = write_instance(tmp_path / "a.dcm", StudyDate="2011", SeriesDate="", InstanceNumber="")
    c = convert_file(str(p))[0]
    assert c.row["StudyDate"] is None
    assert {"Path": "StudyDate", "VR": "DA", "Value": "2011"} in c.row["dl_raw"]
    assert "SeriesDate" in c.row["dl_empty"]
    assert c.row["InstanceNumber"] == ""  # IS is text: empty stays an empty string
    assert any(i[1] == "StudyDate" and "does not parse" in i[2] for i in c.issues)


def test_non_canonical_time_kept_raw(tmp_path: Path) -> None:
    c = convert_file(str(write_instance(tmp_path / "a.dcm", StudyTime="0759")))[0]
    assert c.row["StudyTime"] == dt.time(7, 59)
    assert {"Path": "StudyTime", "VR": "TM", "Value": "0759"} in c.row["dl_raw"]


def test_unknown_charset_is_a_warning(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = write_instance(tmp_path / "a.dcm", SpecificCharacterSet="ISO_IR 999")
    c = convert_file(str(p))[0]
    assert any("SpecificCharacterSet" in i[2] for i in c.issues)
    assert c.row["PatientName"]["Alphabetic"]["FamilyName"] == "Doe"


def test_utf8_names(tmp_path: Path) -> None:
    p = write_instance(tmp_path / "a.dcm", SpecificCharacterSet="ISO_IR 192", PatientName="Müller^Jürgen=山田^太郎")
    row = convert_file(str(p))[0].row
    assert row["PatientName"]["Alphabetic"]["FamilyName"] == "Müller"
    assert row["PatientName"]["Ideographic"]["FamilyName"] == "山田"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"hello world, not dicom" * 10, "not a DICOM file"),
        (b"\0" * 128 + b"DICM" + b"\xff" * 64, ""),
        (b"", "empty"),
    ],
)
def test_bad_input_raises_read_error(tmp_path: Path, data: bytes, reason: str) -> None:
    p = tmp_path / "bad"
    p.write_bytes(data)
    with pytest.raises(DicomReadError, match=reason):
        convert_file(str(p))


def test_truncated_header_and_truncated_pixels(tmp_path: Path) -> None:
    src = Path(bundled("CT_small.dcm")).read_bytes()
    with pytest.raises(DicomReadError, match="truncated"):
        convert_bytes(src[:900])
    for cut in (100, 2000):  # inside the trailing padding, inside PixelData: the header is whole
        c = convert_bytes(src[:-cut])
        assert c.row["SOPInstanceUID"]
        assert any("truncated" in i[2] for i in c.issues)


def test_dicomdir_recognised() -> None:
    with pytest.raises(DicomReadError, match="DICOMDIR"):
        convert_file(bundled("DICOMDIR"))


def test_deep_sequences_beyond_15_levels_dropped(tmp_path: Path) -> None:
    inner = item(CodeValue="deep")
    for _ in range(17):
        inner = item(ContentSequence=Sequence([inner]))
    p = write_instance(tmp_path / "a.dcm", ContentSequence=inner.ContentSequence)
    row = convert_file(str(p))[0].row
    depth, node = 0, row
    while "ContentSequence" in node:
        node = node["ContentSequence"][0]
        depth += 1
    assert depth == 15
    assert any(d.count("ContentSequence") == 16 for d in row["DroppedTags"])


def test_every_public_keyword_of_pydicom_test_files_is_a_column(testfiles_dir: Path) -> None:
    checked = 0
    for path in sorted(testfiles_dir.rglob("*")):
        if not path.is_file():
            continue
        try:
            row = convert_file(str(path))[0].row
        except DicomReadError:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True)
        wanted = {
            el.keyword
            for el in ds
            if not el.tag.is_private
            and el.keyword
            and el.tag.element
            and el.VR not in BINARY_VRS
            and el.keyword != "PixelData"
        }
        assert wanted <= set(row), (path.name, wanted - set(row))
        checked += 1
    assert checked > 100


def _outcome(data: bytes) -> str:
    try:
        c = convert_bytes(data)
    except DicomReadError as exc:
        return f"DicomReadError: {exc}"
    return repr((c.row, c.issues))


def _mutants(data: bytes, rng: random.Random) -> list[bytes]:
    """``data`` cut at seeded points, and with a few seeded bytes of its first 4 KB changed."""
    out = [data[: rng.randrange(len(data))] for _ in range(3)]
    for _ in range(6):
        b = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(min(len(b), 4096))] = rng.randrange(256)
        out.append(bytes(b))
    return out


def test_inline_reading_makes_the_rows_of_the_checked_path(testfiles_dir: Path, tmp_path: Path) -> None:
    """Little endian elements are read inline (``_Walker.inline``); every file,
    whole, cut or with changed bytes, converts exactly as with each element read by ``step``:
    the same rows (key order included), the same issues, the same errors."""
    from dicomlake.codec import reader
    from dicomlake.demo.sample import make_sample

    rng = random.Random(15)
    files = sorted(p for p in testfiles_dir.iterdir() if p.is_file() and p.stat().st_size < 300_000)
    sample = sorted(make_sample(tmp_path / "sample", 40, seed=3))
    files += sample
    for i, f in enumerate(sample[:10]):  # the same instances in implicit VR little endian
        ds = pydicom.dcmread(f)
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        files.append(tmp_path / f"implicit{i}.dcm")
        ds.save_as(files[-1], implicit_vr=True, little_endian=True, enforce_file_format=True)
    cases = [Path(f).read_bytes() for f in files]
    cases += [m for data in cases[:] for m in _mutants(data, rng)]
    inline = [_outcome(data) for data in cases]
    try:
        reader._Walker.fast = False
        checked = [_outcome(data) for data in cases]
    finally:
        reader._Walker.fast = True
    assert len(files) > 100
    differ = [
        f"case {i}: {a[:200]} != {b[:200]}" for i, (a, b) in enumerate(zip(inline, checked, strict=True)) if a != b
    ]
    assert not differ, differ[:3]
