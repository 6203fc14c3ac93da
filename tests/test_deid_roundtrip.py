"""Rematerialization is lossless, and de-identification is deterministic for a key."""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
import pytest

import dicomlake
from dicomlake.deid.config import load_config
from dicomlake.deid.run import deidentify

KEEP_ALL = {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE", "options": {"primaryIds": "KEEP"}}}


def compare(a: pydicom.Dataset, b: pydicom.Dataset, path: str, diffs: list[str]) -> None:
    """Every element of ``a`` is in ``b`` with an equal value (sequences item by item)."""
    for el in a:
        if el.tag.element == 0:
            continue
        here = f"{path}.{el.keyword or el.tag}"
        if el.tag not in b:
            diffs.append(f"missing {here}")
        elif el.VR == "SQ":
            other = b[el.tag].value
            if len(el.value) != len(other):
                diffs.append(f"items {here}")
            for i, (x, y) in enumerate(zip(el.value, other, strict=False)):
                compare(x, y, f"{here}[{i}]", diffs)
        elif el.value != b[el.tag].value:
            diffs.append(f"value {here}: {el.value!r:.60} != {b[el.tag].value!r:.60}")


@pytest.fixture(scope="module")
def keep_all(tmp_path_factory: pytest.TempPathFactory, testfiles_dir: Path) -> tuple[dicomlake.Lake, dicomlake.Lake]:
    root = tmp_path_factory.mktemp("roundtrip")
    dicomlake.ingest(root / "lake", testfiles_dir, "t", progress=False, workers=2)
    deidentify(root / "lake", load_config(KEEP_ALL), dest_lake=root / "dest", key_file=None, workers=2)
    return dicomlake.open(root / "lake"), dicomlake.open(root / "dest")


def test_keep_all_rematerializes_every_element(keep_all: tuple[dicomlake.Lake, dicomlake.Lake]) -> None:
    lake, dest = keep_all
    src = dict(lake.sql("SELECT SOPInstanceUID, dl_source FROM t WHERE SOPInstanceUID IS NOT NULL").fetchall())
    out = dict(dest.sql("SELECT SOPInstanceUID, dl_source FROM t").fetchall())
    assert set(out) == {
        u for u in src if lake.sql("SELECT SOPClassUID FROM t WHERE SOPInstanceUID = $u", {"u": u}).fetchall()[0][0]
    }
    assert len(out) > 100
    failures = {}
    for uid, path in out.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a, b = pydicom.dcmread(src[uid], force=True), pydicom.dcmread(path)
        diffs: list[str] = []
        compare(a, b, "", diffs)
        compare(b, a, "", [])  # nothing is added: KEEP_ALL with nothing changed adds no markers
        added = {e.keyword for e in b} - {e.keyword for e in a}
        if added:
            diffs.append(f"added {sorted(added)}")
        if (
            "TransferSyntaxUID" in getattr(a, "file_meta", {})
            and a.file_meta.TransferSyntaxUID != b.file_meta.TransferSyntaxUID
        ):
            diffs.append("transfer syntax")
        if diffs:
            failures[Path(src[uid]).name] = diffs[:3]
    assert failures == {}


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
    from dicomlake.sample import make_sample

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
