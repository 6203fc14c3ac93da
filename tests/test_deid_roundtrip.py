"""Rematerialization keeps what the source had, byte for byte but for listed differences; de-identification
is deterministic for a key."""

from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

import dicomlake
from dicomlake.codec.writer import meta_elements
from dicomlake.deid.config import load_config
from dicomlake.deid.run import deidentify
from dicomlake.sources.files import list_sources

KEEP_ALL = {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "options": {"primaryIds": "KEEP"}}}
DCIODVFY = shutil.which("dciodvfy")
README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def compare(a: Dataset, b: Dataset, path: str, diffs: list[str]) -> None:
    """Every element of ``a`` is in ``b`` as ``a`` wrote it: the same VR and value bytes (sequences item by item)."""
    for tag in _tags(a):
        if tag.element == 0:
            continue
        here = f"{path}({tag.group:04X},{tag.element:04X})"
        if tag not in b:
            diffs.append(f"missing {here}")
            continue
        x, y = a.get_item(tag), b.get_item(tag)
        if not (x.is_raw and y.is_raw) or _is_sequence(x) or _is_sequence(y):  # compare as decoded
            x, y = a[tag], b[tag]
        if x.VR != y.VR:
            diffs.append(f"VR {here}: {x.VR} != {y.VR}")
        elif x.VR == "SQ":
            if len(x.value) != len(y.value):
                diffs.append(f"items {here}: {len(x.value)} != {len(y.value)}")
            for i, (p, q) in enumerate(zip(x.value, y.value, strict=False)):
                compare(p, q, f"{here}[{i}].", diffs)
        elif x.value != y.value:
            diffs.append(f"value {here}: {x.value!r:.50} != {y.value!r:.50}")


def _is_sequence(el: pydicom.DataElement | pydicom.dataelem.RawDataElement) -> bool:
    """A sequence, also where implicit VR leaves it to the dictionary."""
    if el.VR is None and dictionary_has_tag(el.tag):
        return bool(dictionary_VR(el.tag) == "SQ")
    return el.VR == "SQ"


def _sequences(ds: Dataset, other: Dataset) -> Iterator[tuple[pydicom.DataElement, pydicom.DataElement]]:
    """Pairs of sequence elements at the same place in ``ds`` and ``other``, nested ones too."""
    for tag in _tags(ds):
        if tag in other and _is_sequence(ds.get_item(tag)) and _is_sequence(other.get_item(tag)):
            x, y = ds[tag], other[tag]
            yield x, y
            for p, q in zip(x.value, y.value, strict=False):
                yield from _sequences(p, q)


def _preamble(src: Dataset, out: Dataset) -> bool:
    changed = bool((src.preamble or b"").strip(b"\0"))
    src.preamble = b"\0" * 128
    return changed


def _tags(ds: Dataset) -> list[pydicom.tag.BaseTag]:
    """The tags of ``ds`` (iterating a Dataset would decode its raw elements)."""
    return list(ds.keys())


def _group_lengths(src: Dataset, out: Dataset) -> bool:
    found = False
    for ds in [src, *(item for x, _ in _sequences(src, out) for item in x.value)]:
        for tag in [t for t in _tags(ds) if t.element == 0]:
            del ds[tag]
            found = True
    return found


def _sequence_lengths(src: Dataset, out: Dataset) -> bool:
    changed = False
    for x, y in _sequences(src, out):
        changed |= x.is_undefined_length != y.is_undefined_length
        x.is_undefined_length = y.is_undefined_length
        for p, q in zip(x.value, y.value, strict=False):
            flag = q.get("is_undefined_length_sequence_item", False)
            changed |= p.get("is_undefined_length_sequence_item", False) != flag
            p.is_undefined_length_sequence_item = flag
    return changed


def _media_storage_uids(src: Dataset, out: Dataset) -> bool:
    meta = src.get("file_meta") or FileMetaDataset()
    wanted = {"MediaStorageSOPClassUID": src.SOPClassUID, "MediaStorageSOPInstanceUID": src.SOPInstanceUID}
    changed = "TransferSyntaxUID" in meta and any(meta.get(k) != v for k, v in wanted.items())
    if changed:
        for k, v in wanted.items():
            setattr(meta, k, v)
    return changed


def _no_file_meta(src: Dataset, out: Dataset) -> bool:
    if "TransferSyntaxUID" in (src.get("file_meta") or {}):
        return False
    implicit, little = src.original_encoding
    meta = FileMetaDataset()
    meta.FileMetaInformationGroupLength = 0
    meta.FileMetaInformationVersion = b"\0\1"
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = src.SOPClassUID, src.SOPInstanceUID
    meta.TransferSyntaxUID = (
        ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    )
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = f"PYDICOM {pydicom.__version__}"
    src.file_meta = meta
    return True


#: What rematerialization may change in a KEEP_ALL round trip, each as a rule that makes the
#: source what the writer is documented to give (the README lists them by these names).
#: Repeated elements in a source are read once, so they are written once.
ALLOWED: tuple[tuple[str, Callable[[Dataset, Dataset], bool]], ...] = (
    ("preamble", _preamble),
    ("group lengths", _group_lengths),
    ("sequence lengths", _sequence_lengths),
    ("media storage UIDs", _media_storage_uids),
    ("no file meta", _no_file_meta),
)


def _read(data: bytes) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(io.BytesIO(data), force=True)


def _written(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(buf, enforce_file_format=False)
    return buf.getvalue()


@pytest.fixture(scope="module")
def keep_all(tmp_path_factory: pytest.TempPathFactory, testfiles_dir: Path) -> tuple[dicomlake.Lake, dicomlake.Lake]:
    """pydicom's test files, character set files and palettes; de-identified with KEEP_ALL."""
    root = tmp_path_factory.mktemp("roundtrip")
    sources = [p for d in ("test_files", "charset_files", "palettes") for p in list_sources(testfiles_dir.parent / d)]
    dicomlake.ingest(root / "lake", sources, "t", progress=False, workers=2)
    deidentify(root / "lake", load_config(KEEP_ALL), dest_lake=root / "dest", key_file=None, workers=2)
    return dicomlake.open(root / "lake"), dicomlake.open(root / "dest")


@pytest.fixture(scope="module")
def round_trips(keep_all: tuple[dicomlake.Lake, dicomlake.Lake], testfiles_dir: Path) -> dict[str, tuple[bytes, bytes]]:
    """Source file name → (source bytes, rematerialized bytes), for every instance of the source store."""
    lake, dest = keep_all
    src = dict(lake.sql("SELECT SOPInstanceUID, dl_source FROM t WHERE SOPClassUID IS NOT NULL").fetchall())
    out = dict(dest.sql("SELECT SOPInstanceUID, dl_source FROM t").fetchall())
    assert set(out) == {u for u in src if u is not None}
    return {
        str(Path(src[u]).relative_to(testfiles_dir.parent)): (Path(src[u]).read_bytes(), Path(p).read_bytes())
        for u, p in out.items()
    }


def test_keep_all_round_trip_is_byte_identical_but_for_listed_differences(
    round_trips: dict[str, tuple[bytes, bytes]],
) -> None:
    assert len(round_trips) > 120
    failures: dict[str, list[str]] = {}
    used: dict[str, list[str]] = {name: [] for name, _ in ALLOWED}
    identical = 0
    for name, (data, written) in sorted(round_trips.items()):
        identical += data == written
        src, out = _read(data), _read(written)
        diffs: list[str] = []
        meta_end = meta_elements(written)[1]
        if struct.unpack_from("<I", written, 140)[0] != meta_end - 144:
            diffs.append("(0002,0000) is not the length of the file meta group")
        for rule, fix in ALLOWED:
            if fix(src, out):
                used[rule].append(name)
        compare(src.file_meta, out.file_meta, "meta", diffs)
        compare(out.file_meta, src.file_meta, "meta (added)", diffs)
        compare(src, out, "", diffs)
        compare(out, src, "(added)", diffs)
        if _written(src) != _written(out):
            diffs.append("the bytes differ")
        if diffs:
            failures[name] = diffs[:4]
    assert failures == {}
    assert identical > 90, "most files come back byte for byte"
    assert all(used.values()), f"an allowed difference no file needs: {[k for k, v in used.items() if not v]}"


def test_allowed_differences_are_the_readme_list() -> None:
    section = README.split("<!-- roundtrip:start -->")[1].split("<!-- roundtrip:end -->")[0]
    assert re.findall(r"^\s*- \*\*(.+?)\*\*", section, re.M) == [name for name, _ in ALLOWED]


def test_seen_losses_are_gone(round_trips: dict[str, tuple[bytes, bytes]]) -> None:
    """A foreign implementation's UID without our version name, UN kept UN, a PN's empty group, the VR family."""
    src, out = (_read(b) for b in round_trips["test_files/rtplan.dcm"])
    assert out.file_meta.ImplementationClassUID == src.file_meta.ImplementationClassUID
    assert "ImplementationVersionName" not in src.file_meta and "ImplementationVersionName" not in out.file_meta
    src, out = (_read(b) for b in round_trips["test_files/J2K_pixelrep_mismatch.dcm"])
    assert src.get_item(0x00090011).VR == out.get_item(0x00090011).VR == "UN"
    src, out = (_read(b) for b in round_trips["charset_files/chrX2.dcm"])
    assert out.get_item(0x00100010).value == src.get_item(0x00100010).value
    assert out.get_item(0x00100010).value.endswith(b"=")
    src, out = (_read(b) for b in round_trips["test_files/ExplVR_LitEndNoMeta.dcm"])
    assert out.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian and not out.original_encoding[0]


@pytest.mark.parametrize(
    ("charset", "name"),
    [("ISO_IR 192", "Wang^XiaoDong=王^小东="), ("GB18030", "Wang^XiaoDong=王^小东=")],
    ids=["fast writer", "pydicom writer"],
)
def test_private_file_meta_and_foreign_implementation_come_back_byte_for_byte(
    tmp_path: Path, charset: str, name: str
) -> None:
    from .conftest import write_instance

    ds = pydicom.dcmread(write_instance(tmp_path / "files" / "a.dcm", SpecificCharacterSet=charset))
    ds.PatientName = name
    ds.file_meta.PrivateInformationCreatorUID = "1.2.3.4"
    ds.file_meta.PrivateInformation = b"ACME\0\1"
    ds.file_meta.ImplementationClassUID = "1.2.3.4.5"
    del ds.file_meta.ImplementationVersionName
    ds.add_new(0x00090010, "UN", b"ACME 1.0")  # a private creator written as UN
    ds.add_new(0x00091001, "UN", b"kept ")
    ds.save_as(tmp_path / "files" / "a.dcm", enforce_file_format=False)  # no version name added
    source = (tmp_path / "files" / "a.dcm").read_bytes()
    dicomlake.ingest(tmp_path / "lake", tmp_path / "files", "s", progress=False, workers=1)
    deidentify(tmp_path / "lake", load_config(KEEP_ALL), dest_lake=tmp_path / "dest", key_file=None, workers=1)
    ((written,),) = dicomlake.open(tmp_path / "dest").sql("SELECT dl_source FROM s").fetchall()
    assert b"PYDICOM" not in source and Path(written).read_bytes() == source


def test_instances_without_uids_are_reported_not_dropped(keep_all: tuple[dicomlake.Lake, dicomlake.Lake]) -> None:
    """They are ingest errors of the source lake, never rows, so de-identification meets none."""
    lake, dest = keep_all
    reasons = [r[0] for r in lake.sql("SELECT reason FROM dl_issues WHERE severity = 'error'").fetchall()]
    assert any(r.startswith("not a storable instance: no SOPClassUID, SOPInstanceUID") for r in reasons)
    missing = "SOPClassUID IS NULL OR SOPInstanceUID IS NULL OR StudyInstanceUID IS NULL OR SeriesInstanceUID IS NULL"
    assert lake.sql(f"SELECT count(*) FROM t WHERE {missing}").fetchall() == [(0,)]
    assert dest.sql("SELECT reason FROM dl_issues WHERE severity = 'error'").fetchall() == []


def _run(root: Path, name: str, key: Path) -> dicomlake.Lake:
    deidentify(root / "lake", load_config({"dicomTagConfig": {}}), dest_lake=root / name, key_file=str(key), workers=2)
    return dicomlake.open(root / name)


def test_same_key_same_output_other_key_other_uids(tmp_path: Path) -> None:
    from dicomlake.demo.sample import make_sample

    make_sample(tmp_path / "files", 30, seed=4)
    dicomlake.ingest(tmp_path / "lake", tmp_path / "files", "s", progress=False)
    k1, k2 = tmp_path / "k1", tmp_path / "k2"
    k1.write_text("c2VjcmV0LWtleS1vbmUtMDEyMzQ1Njc4OWFiY2RlZg==")
    k2.write_text("YW5vdGhlci1rZXktMDEyMzQ1Njc4OWFiY2RlZmdoaWo=")
    a, b, c = _run(tmp_path, "a", k1), _run(tmp_path, "b", k1), _run(tmp_path, "c", k2)

    def files(lk: dicomlake.Lake) -> dict[tuple[str, ...], bytes]:
        out = lk.sql("SELECT dl_source FROM s").fetchall()
        return {Path(p).relative_to(lk.root / "files" / "s").parts[1:]: Path(p).read_bytes() for (p,) in out}

    fa, fb = files(a), files(b)
    assert fa == fb  # identical files, byte for byte
    ua = {r[0] for r in a.sql("SELECT SOPInstanceUID FROM s").fetchall()}
    uc = {r[0] for r in c.sql("SELECT SOPInstanceUID FROM s").fetchall()}
    assert len(ua) == 30 and not ua & uc
    # references still resolve inside the output
    dangling = a.sql(
        "SELECT count(*) FROM s, UNNEST(ReferencedImageSequence) AS t(r) "
        "WHERE r.ReferencedSOPInstanceUID NOT IN (SELECT SOPInstanceUID FROM s)"
    ).fetchall()[0][0]
    refs = a.sql("SELECT count(*) FROM s, UNNEST(ReferencedImageSequence) AS t(r)").fetchall()[0][0]
    assert refs > 0 and dangling == 0
    series_in_one_study = a.sql(
        "SELECT count(*) FROM (SELECT SeriesInstanceUID FROM s GROUP BY 1 HAVING count(DISTINCT StudyInstanceUID) > 1)"
    ).fetchall()[0][0]
    assert series_in_one_study == 0
    src_studies = dicomlake.open(tmp_path / "lake").sql("SELECT count(DISTINCT StudyInstanceUID) FROM s").fetchall()
    assert a.sql("SELECT count(DISTINCT StudyInstanceUID) FROM s").fetchall() == src_studies


def test_dataset_level_deidentifies_every_store(tmp_path: Path) -> None:
    from .conftest import write_instance

    lake = dicomlake.open(tmp_path / "lake", create=True)
    lake.ingest(write_instance(tmp_path / "a.dcm", PatientName="Doe^Ann"), "one", progress=False)
    lake.ingest(write_instance(tmp_path / "b.dcm", PatientName="Roe^Bob"), "two", progress=False)
    deidentify(tmp_path / "lake", load_config({"dicomTagConfig": {}}), dest_lake=tmp_path / "dest", workers=1)
    dest = dicomlake.open(tmp_path / "dest")
    assert dest.stores == ["one", "two"]
    for store in ("one", "two"):
        (name,) = dest.sql(f"SELECT PatientName.Alphabetic.FamilyName FROM {store}").fetchall()[0]
        assert name is None


def test_python_api_and_clean_image_without_pixels(tmp_path: Path) -> None:
    from .conftest import write_instance

    lake = dicomlake.open(tmp_path / "lake", create=True)
    lake.ingest(write_instance(tmp_path / "a.dcm"), "s", progress=False)
    plan = lake.explain_deidentify({"dicomTagConfig": {}}).plan["s"]
    assert {st.path: st.action for st in plan}["PatientName"] == "remove"
    summary = lake.deidentify(
        {"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}}}},
        dest_lake=tmp_path / "dest",
        workers=1,
    )
    assert summary.stores[0].inspected == 0 and summary.stores[0].success == 1  # no pixel data: nothing to read
    assert dicomlake.open(tmp_path / "dest").stores == ["s"]


def _dciodvfy(path: Path) -> set[str]:
    """dciodvfy's errors and warnings, without what names the file."""
    p = subprocess.run(
        [DCIODVFY or "dciodvfy", str(path)], capture_output=True, text=True, errors="replace", timeout=60
    )
    return {ln.strip() for ln in (p.stdout + p.stderr).splitlines() if ln.startswith(("Error", "Warning"))}


@pytest.mark.skipif(DCIODVFY is None, reason="dciodvfy (Debian dicom3tools) is installed by ./dev.sh")
def test_dciodvfy_finds_nothing_new_in_rewritten_files(
    round_trips: dict[str, tuple[bytes, bytes]], tmp_path: Path
) -> None:
    rewritten = {name: pair for name, pair in round_trips.items() if pair[0] != pair[1]}
    assert 0 < len(rewritten) < 40
    new = {}
    for name, (data, written) in rewritten.items():
        (tmp_path / "a").write_bytes(data)
        (tmp_path / "b").write_bytes(written)
        if added := _dciodvfy(tmp_path / "b") - _dciodvfy(tmp_path / "a"):
            new[name] = sorted(added)
    assert new == {}
