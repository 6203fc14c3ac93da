"""Ingest into a lake: write dispositions, schema widening, replacement, bad files, crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from pydicom.sequence import Sequence

import dicomlake
from dicomlake.errors import LakeError, SourceError, StoreDamagedError, StoreError, StoreNotFoundError
from dicomlake.sources.ingest import ingest

from .conftest import item, write_instance


def rows(lake_dir: Path, sql: str) -> list[tuple]:
    return dicomlake.open(lake_dir).sql(sql).fetchall()


def test_pydicom_test_files_every_file_accounted_for(tmp_path: Path, testfiles_dir: Path) -> None:
    files = [p for p in testfiles_dir.rglob("*") if p.is_file() and not p.name.startswith(".")]
    s = ingest(tmp_path / "lake", testfiles_dir, "t", workers=2, progress=False)
    lake = dicomlake.open(tmp_path / "lake")
    in_store = {r[0] for r in lake.sql("SELECT dl_source FROM t").fetchall()}
    reported = {r[0] for r in lake.sql("SELECT path FROM dl_issues WHERE severity IN ('error', 'info')").fetchall()}
    assert {str(p.absolute()) for p in files} == in_store | reported
    assert s.ingested == len(in_store) > 100
    reasons = dict(lake.sql("SELECT path, reason FROM dl_issues WHERE severity = 'error'").fetchall())
    assert all(reasons.values())
    assert any(p.endswith("rtplan_truncated.dcm") and "truncated" in r for p, r in reasons.items())
    assert any(p.endswith("README.txt") and "not a DICOM file" in r for p, r in reasons.items())


def test_write_dispositions(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    a = write_instance(tmp_path / "src" / "a.dcm")
    b = write_instance(tmp_path / "src2" / "b.dcm")
    ingest(lake, a, "s", progress=False)
    with pytest.raises(StoreError, match="WRITE_EMPTY"):
        ingest(lake, b, "s", progress=False)
    assert ingest(lake, b, "s", write_disposition="WRITE_APPEND", progress=False).rows_in_store == 2
    assert ingest(lake, b, "s", write_disposition="WRITE_TRUNCATE", progress=False).rows_in_store == 1
    assert rows(lake, "SELECT dl_source FROM s") == [(str(b),)]


def test_write_empty_on_existing_empty_store_succeeds(tmp_path: Path) -> None:
    lake = dicomlake.open(tmp_path / "lake", create=True)
    lake.create_store("s")
    assert lake.ingest(write_instance(tmp_path / "a.dcm"), "s", progress=False).rows_in_store == 1


def test_append_widens_nested_fields_and_loses_nothing(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    a = write_instance(tmp_path / "a.dcm", ProcedureCodeSequence=Sequence([item(CodeValue="A1")]))
    b = write_instance(
        tmp_path / "b.dcm",
        ProcedureCodeSequence=Sequence(
            [
                item(
                    CodeValue="B1",
                    CodeMeaning="new field",
                    ConceptNameCodeSequence=Sequence([item(CodeValue="deeper")]),
                )
            ]
        ),
        BodyPartExamined="CHEST",
    )
    ingest(lake, a, "s", progress=False)
    ingest(lake, b, "s", write_disposition="WRITE_APPEND", progress=False)
    got = rows(
        lake,
        "SELECT p.CodeValue, p.CodeMeaning, p.ConceptNameCodeSequence[1].CodeValue, BodyPartExamined "
        "FROM s, UNNEST(ProcedureCodeSequence) AS t(p) ORDER BY 1",
    )
    assert got == [("A1", None, None, None), ("B1", "new field", "deeper", "CHEST")]
    files = dicomlake.open(lake).store_info("s").files
    assert len({str(pq.read_schema(f)) for f in files}) == 1  # every file has the store's schema


def test_reingest_replaces_same_instance(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    a = write_instance(tmp_path / "a.dcm", PatientID="OLD")
    ingest(lake, a, "s", progress=False)
    import pydicom

    ds = pydicom.dcmread(a)
    ds.PatientID = "NEW"
    ds.save_as(tmp_path / "a2.dcm")
    s = ingest(lake, tmp_path / "a2.dcm", "s", write_disposition="WRITE_APPEND", progress=False)
    assert s.replaced == 1
    assert rows(lake, "SELECT PatientID FROM s") == [("NEW",)]


def test_file_list_source(tmp_path: Path) -> None:
    a = write_instance(tmp_path / "x" / "a.dcm")
    b = write_instance(tmp_path / "x" / "b.dcm")
    lst = tmp_path / "list.txt"
    lst.write_text(f"x/a.dcm\n{b}\n")
    assert ingest(tmp_path / "lake", lst, "s", progress=False).ingested == 2
    assert a.exists()


def test_bad_sources_and_lakes(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        ingest(tmp_path / "lake", tmp_path / "missing", "s")
    (tmp_path / "notalake").mkdir()
    (tmp_path / "notalake" / "file.txt").write_text("x")
    with pytest.raises(LakeError, match="not a dicomlake lake"):
        ingest(tmp_path / "notalake", tmp_path, "s")
    with pytest.raises(StoreError, match="invalid store name"):
        ingest(tmp_path / "lake", tmp_path, "1bad name")
    with pytest.raises(LakeError, match="not a dicomlake lake"):
        dicomlake.open(tmp_path)


def test_unknown_store_error_says_how_to_create(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    ingest(lake, write_instance(tmp_path / "a.dcm"), "s", progress=False)
    with pytest.raises(StoreNotFoundError, match=r"lake\.ingest\(SOURCE, 'other'\) or lake\.create_store") as info:
        dicomlake.open(lake).table("other")
    assert isinstance(info.value, StoreError) and (info.value.store, info.value.stores) == ("other", ["s"])


KILLER = """
import sys
from dicomlake.sources.ingest import ingest
ingest(sys.argv[1], sys.argv[2], "s", write_disposition=sys.argv[3], workers=2, progress=False)
"""


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5, 2.5])
def test_killed_ingest_leaves_lake_as_before(tmp_path: Path, delay: float) -> None:
    lake = tmp_path / "lake"
    first = [write_instance(tmp_path / "one" / f"{i}.dcm") for i in range(3)]
    ingest(lake, tmp_path / "one", "s", progress=False)
    before = sorted(rows(lake, "SELECT SOPInstanceUID FROM s"))
    from dicomlake.demo.sample import make_sample

    make_sample(tmp_path / "many", 600, seed=1)
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLER, str(lake), str(tmp_path / "many"), "WRITE_TRUNCATE"], start_new_session=True
    )
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    after = sorted(rows(lake, "SELECT SOPInstanceUID FROM s"))
    # Either exactly as before, or (the commit had completed before the kill) the new version whole.
    assert after == before or (len(after) == 600 and not set(after) & set(before))
    assert len(first) == 3
    # the next write cleans what the killed one left behind, and works
    ingest(lake, write_instance(tmp_path / "two" / "x.dcm"), "s", write_disposition="WRITE_APPEND", progress=False)
    assert not (lake / "staging").exists()
    live = set(dicomlake.open(lake).store_info("s").files)
    assert {str(p) for p in (lake / "stores").rglob("*.parquet")} == live


def test_symlinked_folders_hidden_files_and_damaged_stores(tmp_path: Path) -> None:
    real = tmp_path / "real"
    write_instance(real / "a.dcm")
    write_instance(real / ".hidden.dcm")
    (tmp_path / "links").mkdir()
    (tmp_path / "links" / "to-real").symlink_to(real)
    (tmp_path / "links" / "loop").symlink_to(tmp_path / "links")
    s = ingest(tmp_path / "lake", tmp_path / "links", "s", progress=False)
    assert s.ingested == 2
    lake = dicomlake.open(tmp_path / "lake")
    ingest(tmp_path / "lake", write_instance(tmp_path / "b.dcm"), "other", progress=False)
    Path(lake.store_info("s").files[0]).unlink()
    lake = dicomlake.open(tmp_path / "lake")  # a damaged store does not take the lake down
    assert lake.sql("SELECT count(*) FROM other").fetchall() == [(1,)]
    with pytest.raises(StoreDamagedError, match=r"damaged.*drop_store\('s', confirm=True\)") as damaged:
        lake.table("s")
    assert isinstance(damaged.value, StoreError) and damaged.value.store == "s" and len(damaged.value.missing) == 1
    with pytest.raises(StoreError, match="pass confirm=True"):
        lake.drop_store("s")
    assert sorted(lake.stores) == ["other", "s"]
    lake.drop_store("s", confirm=True)
    assert lake.stores == ["other"]


def test_ingest_with_a_filter_file(tmp_path: Path) -> None:
    from dicomlake.store.filterfile import parse_filter

    a = write_instance(tmp_path / "src" / "a.dcm")
    write_instance(tmp_path / "src" / "b.dcm")
    import pydicom

    ds = pydicom.dcmread(a)
    spec = parse_filter([f"/studies/{ds.StudyInstanceUID}", "/studies/9.9.9"], "f.txt")
    s = ingest(tmp_path / "lake", tmp_path / "src", "s", filter_spec=spec, workers=2, progress=False)
    assert s.ingested == 1 and s.excluded_by_filter == 1
    assert s.unmatched == [(2, "/studies/9.9.9")]
    assert rows(tmp_path / "lake", "SELECT SOPInstanceUID FROM s") == [(ds.SOPInstanceUID,)]


def test_duplicate_instances_keep_the_whole_file(tmp_path: Path, testfiles_dir: Path) -> None:
    import shutil as sh

    (tmp_path / "src").mkdir()
    sh.copy(testfiles_dir / "MR_small.dcm", tmp_path / "src" / "a_whole.dcm")
    sh.copy(testfiles_dir / "MR_truncated.dcm", tmp_path / "src" / "b_truncated.dcm")
    s = ingest(tmp_path / "lake", tmp_path / "src", "s", progress=False)
    assert s.ingested == 1 and s.duplicates == 1
    assert rows(tmp_path / "lake", "SELECT dl_source FROM s")[0][0].endswith("a_whole.dcm")
