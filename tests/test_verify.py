"""dicomlake verify: the source's identifying values searched for in de-identified files (real files)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pydicom
import pytest

import dicomlake
from dicomlake.deid.config import load_config
from dicomlake.deid.run import deidentify
from dicomlake.deid.verify import Matcher, SourceValues, VerifyReport, collect_values, scan_file, verify
from dicomlake.demo.sample import make_sample

from .helpers import cli

STORE = "sample"
N = 60


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample store, its BASIC profile de-identification and a KEEP_ALL one (primary IDs kept)."""
    root = tmp_path_factory.mktemp("verify")
    make_sample(root / "files", N, seed=5)
    dicomlake.ingest(root / "src", root / "files", STORE, progress=False)
    deidentify(root / "src", load_config({"dicomTagConfig": {}}), dest_lake=root / "basic", workers=2)
    keep = {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "options": {"primaryIds": "KEEP"}}}
    deidentify(root / "src", load_config(keep), dest_lake=root / "keep", workers=2)
    return {"root": root, "src": root / "src", "basic": root / "basic", "keep": root / "keep"}


@pytest.fixture(scope="module")
def self_report(lakes: dict[str, Path]) -> VerifyReport:
    return verify(lakes["src"], STORE, lakes["src"], STORE)


def paths_of(report: VerifyReport, kind: str) -> set[str]:
    return {h.path for h in report.hits if h.kind == kind}


def test_source_against_itself_finds_every_kind(self_report: VerifyReport, lakes: dict[str, Path]) -> None:
    r = self_report
    assert r.files == N and r.instances == N and r.patients >= 1 and not r.problems
    kinds = {h.kind for h in r.hits}
    assert {"PERSON_NAME", "PATIENT_ID", "ACCESSION_NUMBER", "DATE", "UID", "ADDRESS", "PHONE"} <= kinds
    assert {"PatientName", "ReferringPhysicianName", "OperatorsName"} <= paths_of(r, "PERSON_NAME")
    assert {"PatientID", "OtherPatientIDs"} <= paths_of(r, "PATIENT_ID")
    assert {"PatientBirthDate", "StudyDate"} <= paths_of(r, "DATE")
    assert {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "MediaStorageSOPInstanceUID"} <= paths_of(
        r, "UID"
    )
    # every hit is real: the text is in the file, under that element
    one = next(h for h in r.hits if h.path == "PatientName")
    ds = pydicom.dcmread(one.file)
    assert one.text == str(ds.PatientName) and one.instance == ds.SOPInstanceUID


def test_finds_values_in_nested_sequences(self_report: VerifyReport) -> None:
    nested = {h.path for h in self_report.hits if "[" in h.path and not h.path.startswith("Tag_")}
    assert "OtherPatientIDsSequence[0].PatientID" in nested
    assert "ReferencedImageSequence[0].ReferencedSOPInstanceUID" in nested
    assert any(p.startswith("PhysiciansReadingStudyIdentificationSequence[0].PersonName") for p in nested)


def test_finds_values_in_the_private_block(self_report: VerifyReport) -> None:
    """Group 0009 of creator DICOMLAKE SAMPLE (block 0x10 or 0x11): LO name, OB blob, nested SQs."""
    private = {(h.kind, re.sub(r"Tag_0009(10|11)", "Tag_0009xx", h.path)) for h in self_report.hits}
    assert ("PERSON_NAME", "Tag_0009xx01") in private  # LO patient name
    assert ("PATIENT_ID", "Tag_0009xx04") in private  # inside the OB blob, read as Latin-1
    assert ("PATIENT_ID", "Tag_0009xx05[0].Tag_0009xx01") in private  # private SQ > LO
    assert ("ACCESSION_NUMBER", "Tag_0009xx05[0].Tag_0009xx03[0].Tag_0009xx01") in private


def test_basic_profile_leaves_no_identifying_value(lakes: dict[str, Path]) -> None:
    r = verify(lakes["basic"], STORE, lakes["src"], STORE, workers=2)
    assert r.files == N and not r.problems
    assert r.hits == [], sorted({(h.path, h.kind) for h in r.hits})


def test_keep_all_with_primary_ids_kept_is_caught(lakes: dict[str, Path]) -> None:
    r = verify(lakes["keep"], STORE, lakes["src"], STORE)
    assert r.instances == N
    found = {(h.kind, h.path) for h in r.hits}
    for expected in [
        ("PERSON_NAME", "PatientName"),
        ("PATIENT_ID", "PatientID"),
        ("DATE", "PatientBirthDate"),
        ("UID", "StudyInstanceUID"),
        ("UID", "SOPInstanceUID"),
        ("ADDRESS", "PatientAddress"),
    ]:
        assert expected in found


def test_parallel_scan_gives_the_same_hits(lakes: dict[str, Path], self_report: VerifyReport) -> None:
    r = verify(lakes["src"], STORE, lakes["src"], STORE, workers=3)
    assert r.hits == self_report.hits


def test_values_outside_the_elements(lakes: dict[str, Path], tmp_path: Path) -> None:
    """A name in the preamble, an ID after the end of the dataset, a name in a new private OB blob."""
    src = dicomlake.open(lakes["src"])
    name, pid, accession = src.sql(f"SELECT PatientName, PatientID, AccessionNumber FROM {STORE} LIMIT 1").fetchall()[0]
    name = f"{name['Alphabetic']['FamilyName']}^{name['Alphabetic']['GivenName']}"
    out = Path(dicomlake.open(lakes["basic"]).sql(f"SELECT dl_source FROM {STORE} LIMIT 1").fetchall()[0][0])
    ds = pydicom.dcmread(out)
    ds.preamble = name.encode("latin-1").ljust(128, b"\0")
    block = ds.private_block(0x0011, "SOMEVENDOR", create=True)
    block.add_new(0x01, "OB", b"\x01\x02" + accession.encode() + b"\xff" * 3 + b"\0" * (len(accession) % 2))
    path = tmp_path / "doctored.dcm"
    ds.save_as(path, enforce_file_format=True)
    with open(path, "ab") as fh:
        fh.write(b"\0\0\0\0" + pid.encode() + b"\0" * 7)
    matcher = Matcher(collect_values(src, STORE))
    scan = scan_file(str(path), "x", matcher)
    where = {(h.kind, h.path.split(" @")[0], h.text) for h in scan.hits}
    assert ("PERSON_NAME", "(preamble)", name) in where
    assert ("ACCESSION_NUMBER", "Tag_00111001", accession) in where
    assert any(k == "PATIENT_ID" and t == pid for k, _, t in where)  # after the dataset, however parsed
    assert scan.read
    # the untouched file is clean
    assert scan_file(str(out), "x", matcher).hits == []


def values(**by_kind: str) -> SourceValues:
    v = SourceValues()
    for kind, text in by_kind.items():
        v.add("P1", kind, text)
    return v


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ANN JOHNSON", "ANN JOHNSON"),
        ("Report for Johnson, Ann.", "Johnson, Ann"),
        ("a. johnson", "a. johnson"),
        ("JOHNSONVILLE", None),  # whole words only
        ("Born 08/12/1988", "08/12/1988"),
        ("1988-08-12", "1988-08-12"),
        ("19880812093000", "19880812"),  # a DT of that day
        ("119880812", None),
        ("ID MRN-0012345 x", "MRN-0012345"),
        ("mrn0012345", "mrn0012345"),
        ("tel (217) 555-0123", "(217) 555-0123"),
        ("2175550123", "2175550123"),
        ("uid 2.25.1234567890123", "2.25.1234567890123"),
        ("2.25.12345678901234", None),  # a longer UID
        ("CT HEAD", None),  # a vocabulary word alone is no name
        ("PLACEHOLDER", None),
    ],
)
def test_written_forms(text: str, found: str | None) -> None:
    m = Matcher(
        values(
            PERSON_NAME="JOHNSON^ANN",
            DATE="19880812",
            PATIENT_ID="MRN-0012345",
            PHONE="+1 217 555 0123",
            UID="2.25.1234567890123",
        )
    )
    m2 = Matcher(values(PERSON_NAME="HEAD^JO", INSTITUTION="PLACEHOLDER"))
    hits = [text[f.start : f.end] for f in m.find(text) + m2.find(text)]
    assert hits == ([found] if found else [])


def test_utf8_names_in_raw_bytes() -> None:
    m = Matcher(values(PERSON_NAME="MÜLLER^JOSÉ"))
    raw = ("xx" + "MÜLLER^JOSÉ" + "yy").encode("utf-8").decode("latin-1")
    assert [f.value.kind for f in m.find(raw, ("digits", "loose"))] == ["PERSON_NAME"]
    assert [f.value.key for f in m.find("Jose Muller")] == ["jose muller"]  # ASCII-folded


# --- the command ---------------------------------------------------------------------


def test_cli_clean_store(lakes: dict[str, Path]) -> None:
    src, basic = lakes["src"], lakes["basic"]
    p = cli("verify", "--lake", str(basic), "--store", STORE, "--against", f"{src}:{STORE}")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [f"no identifying values of {src}:{STORE} found in {N} files of {basic}:{STORE}"]
    p = cli("verify", "--lake", str(basic), "--against", str(src), "--format", "json")  # the only stores
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == [] and "no identifying values" in p.stderr


def test_cli_leaks(lakes: dict[str, Path]) -> None:
    src, keep = lakes["src"], lakes["keep"]
    p = cli("verify", "--lake", str(keep), "--store", STORE, "--against", f"{src}:{STORE}", "--format", "json")
    assert p.returncode == 1
    rows = json.loads(p.stdout)
    assert set(rows[0]) == {"instance", "file", "path", "kind", "text"}
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in p.stderr
    assert re.fullmatch(rf"Error: {len(rows)} identifying values found in {N} instances; see above", lines[0])
    p = cli("verify", "--lake", str(keep), "--store", STORE, "--against", f"{src}:{STORE}")
    assert p.returncode == 1 and "PatientName" in p.stdout and p.stderr.startswith("Error: ")
    p = cli("verify", "--lake", str(keep), "--store", STORE, "--against", f"{src}:{STORE}", "-f", "csv")
    assert p.returncode == 1 and p.stdout.startswith('"instance","file","path","kind","text"')


def test_cli_errors(lakes: dict[str, Path], tmp_path: Path) -> None:
    src, basic = lakes["src"], lakes["basic"]
    for args, words in [
        (["--against", f"{src}:nope"], ["nope"]),
        (["--against", f"{tmp_path}:{STORE}"], ["not a dicomlake lake"]),
        (["--against", f"{src}:"], ["LAKE:STORE"]),
        (["--against", str(src), "--format", "parquet"], ["table, json, csv"]),
    ]:
        p = cli("verify", "--lake", str(basic), "--store", STORE, *args)
        lines = p.stderr.strip().splitlines()
        assert p.returncode == 1 and len(lines) == 1 and lines[0].startswith("Error: "), p.stderr
        assert all(w in lines[0] for w in words), lines[0]


def test_cli_unreadable_file(lakes: dict[str, Path], tmp_path: Path) -> None:
    """A file of the store that is gone: a warning line, and the store is not called clean."""
    gone = Path(dicomlake.open(lakes["basic"]).sql(f"SELECT dl_source FROM {STORE} LIMIT 1").fetchall()[0][0])
    moved = tmp_path / "moved.dcm"
    shutil.move(gone, moved)
    try:
        p = cli("verify", "--lake", str(lakes["basic"]), "--against", f"{lakes['src']}:{STORE}")
    finally:
        shutil.move(moved, gone)
    assert p.returncode == 1
    assert f"warning: {gone}: not read" in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith(f"Error: 1 of {N} files of ")


def test_a_vendor_name_is_no_institution(tmp_path: Path) -> None:
    """A manufacturer kept by the profile (``Philips``) is not reported because some site's
    InstitutionName (``Philips Healthcare``) or the scanner's own (``TOSHIBA`` of ``TOSHIBA_MEC``) holds it; the
    institution itself still is."""
    from pydicom.data import get_testdata_file
    from pydicom.uid import generate_uid

    (tmp_path / "files").mkdir()
    for i, (institution, manufacturer) in enumerate(
        [("Philips Healthcare", "GE"), ("", "Philips"), ("TOSHIBA", "TOSHIBA_MEC")]
    ):
        ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
        ds.PatientID, ds.InstitutionName, ds.Manufacturer = f"PAT{i}", institution, manufacturer
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid(), generate_uid()
        ds.save_as(tmp_path / "files" / f"{i}.dcm")
    dicomlake.ingest(tmp_path / "src", tmp_path / "files", "s", progress=False)
    deidentify(tmp_path / "src", load_config({"dicomTagConfig": {}}), dest_lake=tmp_path / "basic", workers=1)
    assert verify(tmp_path / "basic", "s", tmp_path / "src", "s").hits == []
    keep = {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}}
    deidentify(tmp_path / "src", load_config(keep), dest_lake=tmp_path / "keep", workers=1)
    hits = verify(tmp_path / "keep", "s", tmp_path / "src", "s").hits
    assert {(h.path, h.text) for h in hits if h.kind == "INSTITUTION"} == {("InstitutionName", "Philips Healthcare")}
