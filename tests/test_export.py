"""Export: filter → DICOM files, the writeDisposition/force matrix per cell, NDJSON round trip."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from pydicom.sequence import Sequence

import dicomlake
from dicomlake.errors import FilterFileError, StoreError
from dicomlake.rematerialize.export import export
from dicomlake.store.filterfile import parse_filter

from .helpers import SAMPLE_N, assert_error, cli, item, write_instance

DOCUMENTED_FILTER = (
    "SELECT CONCAT ('/studies/', StudyInstanceUID, '/series/', SeriesInstanceUID, '/instances/', SOPInstanceUID) "
    "FROM sample"
)


@pytest.fixture
def lake(sample_lake: Path) -> dicomlake.Lake:
    """The session's sample lake (store ``sample``), read only."""
    return dicomlake.open(sample_lake)


def test_documented_filter_mixing_levels_exports_exactly_those_instances(lake: dicomlake.Lake, tmp_path: Path) -> None:
    instance_paths = lake.filter_paths(lake.sql(DOCUMENTED_FILTER + " ORDER BY SOPInstanceUID LIMIT 3"))
    study, series = lake.sql(
        "SELECT StudyInstanceUID, SeriesInstanceUID FROM sample ORDER BY StudyInstanceUID DESC LIMIT 1"
    ).fetchall()[0]
    other_study = lake.sql(
        "SELECT StudyInstanceUID FROM sample WHERE StudyInstanceUID <> $s ORDER BY 1 LIMIT 1", {"s": study}
    ).fetchall()[0][0]
    lines = [*instance_paths, f"/studies/{study}/series/{series}", f"/studies/{other_study}"]
    want = {
        r[0]
        for r in lake.sql(
            "SELECT SOPInstanceUID FROM sample WHERE StudyInstanceUID = $o OR SeriesInstanceUID = $se "
            "OR SOPInstanceUID IN (SELECT unnest($i))",
            {"o": other_study, "se": series, "i": [p.rsplit("/", 1)[1] for p in instance_paths]},
        ).fetchall()
    }
    s = export(lake, "sample", f"dicom:{tmp_path / 'out'}", spec=parse_filter(lines, "mixed.txt"))
    got = {p.stem for p in (tmp_path / "out").rglob("*.dcm")}
    assert got == want and s.written == len(want) and not s.failures
    src = dict(lake.sql("SELECT SOPInstanceUID, dl_source FROM sample").fetchall())
    for p in (tmp_path / "out").rglob("*.dcm"):
        assert p.read_bytes() == Path(src[p.stem]).read_bytes()  # byte-identical
        assert p.parent.parent.parent == tmp_path / "out"  # study/series/instance.dcm


def test_missing_resources_are_reported(lake: dicomlake.Lake, tmp_path: Path) -> None:
    spec = parse_filter(["/studies/1.2.3", "/studies/1.2.3/series/4", "/studies/1/series/2/instances/3"], "f.txt")
    with pytest.raises(FilterFileError, match=r"f\.txt selects nothing in store 'sample'.*line 1: /studies/1\.2\.3"):
        export(lake, "sample", f"dicom:{tmp_path / 'o'}", spec=spec)
    assert not (tmp_path / "o").exists()
    check = lake.check_filter(spec, "sample")
    assert [n for n, _ in check.unmatched] == [1, 2, 3]
    assert "3 lines match nothing" in check.summary()


def test_dicom_export_reports_vanished_and_changed_sources(tmp_path: Path) -> None:
    a = write_instance(tmp_path / "src" / "a.dcm")
    b = write_instance(tmp_path / "src" / "b.dcm")
    c = write_instance(tmp_path / "src" / "c.dcm")
    lk = dicomlake.open(tmp_path / "lake", create=True)
    lk.ingest(tmp_path / "src", "s", progress=False)
    a.unlink()
    b.write_bytes(b.read_bytes()[:-1] + b"\1")  # same size, other bytes
    s = export(lk, "s", f"dicom:{tmp_path / 'out'}")
    reasons = sorted(f["reason"].split(";")[0] for f in s.failures)
    assert reasons == ["source file changed since ingest (SHA-256 differs)", "source file vanished since ingest"]
    assert s.written == 1 and (tmp_path / "out").rglob(f"*{c.name}") is not None
    p = cli("export", "--lake", str(tmp_path / "lake"), "--store", "s", "--to", f"dicom:{tmp_path / 'out2'}")
    assert p.returncode == 1 and "2 of 3 instances could not be exported" in p.stderr


# ---- the writeDisposition / force matrix, one test per cell ---------------------------------
STATES = ("missing", "empty", "rows")
MODES = {
    "unset": (None, None),
    "force": (None, True),
    "no-force": (None, False),
    "WRITE_EMPTY": ("WRITE_EMPTY", None),
    "WRITE_TRUNCATE": ("WRITE_TRUNCATE", None),
    "WRITE_APPEND": ("WRITE_APPEND", None),
}
# expected rows in the destination afterwards (source has 1 new instance, destination 1 old), or the error
EXPECT = {
    ("missing", "unset"): 1,
    ("missing", "force"): 1,
    ("missing", "no-force"): 1,
    ("missing", "WRITE_EMPTY"): 1,
    ("missing", "WRITE_TRUNCATE"): 1,
    ("missing", "WRITE_APPEND"): 1,
    ("empty", "unset"): 1,
    ("empty", "force"): 1,
    ("empty", "no-force"): "pass force=True",
    ("empty", "WRITE_EMPTY"): 1,
    ("empty", "WRITE_TRUNCATE"): 1,
    ("empty", "WRITE_APPEND"): 1,
    ("rows", "unset"): "WRITE_EMPTY",
    ("rows", "force"): 1,
    ("rows", "no-force"): "pass force=True",
    ("rows", "WRITE_EMPTY"): "WRITE_EMPTY",
    ("rows", "WRITE_TRUNCATE"): 1,
    ("rows", "WRITE_APPEND"): 2,
}


def _source(tmp_path: Path) -> dicomlake.Lake:
    lk = dicomlake.open(tmp_path / "src-lake", create=True)
    lk.ingest(write_instance(tmp_path / "new.dcm"), "s", progress=False)
    return lk


def _prepare(kind: str, state: str, tmp_path: Path) -> str:
    if kind == "lake":
        dest = dicomlake.open(tmp_path / "dest-lake", create=True)
        if state == "empty":
            dest.create_store("d")
        elif state == "rows":
            dest.ingest(write_instance(tmp_path / "old.dcm"), "d", progress=False)
        return f"lake:{tmp_path / 'dest-lake'}/d"
    path = tmp_path / f"dest.{kind}"
    if state == "empty":
        path.write_text("")
        if kind == "parquet":
            import pyarrow.parquet as pq

            from dicomlake.codec.schema import base_schema

            pq.write_table(base_schema().empty_table(), path)
    elif state == "rows":
        old = dicomlake.open(tmp_path / "old-lake", create=True)
        old.ingest(write_instance(tmp_path / "old.dcm"), "o", progress=False)
        export(old, "o", f"{kind}:{path}")
    return f"{kind}:{path}"


def _rows_in(to: str) -> int:
    kind, _, path = to.partition(":")
    if kind == "lake":
        lake_dir, store = path.rsplit("/", 1)
        return dicomlake.open(lake_dir).store_info(store).row_count
    reader = {"parquet": "read_parquet", "ndjson": "read_json_auto", "csv": "read_csv_auto"}[kind]
    return duckdb.sql(f"SELECT count(*) FROM {reader}('{path}')").fetchall()[0][0]


@pytest.mark.parametrize(("state", "mode"), list(EXPECT))
def test_matrix_lake_destination(tmp_path: Path, state: str, mode: str) -> None:
    _check_cell("lake", state, mode, tmp_path)


@pytest.mark.parametrize("kind", ["parquet", "ndjson", "csv"])
@pytest.mark.parametrize(
    ("state", "mode"),
    [
        ("rows", "unset"),
        ("rows", "WRITE_APPEND"),
        ("rows", "force"),
        ("missing", "no-force"),
        ("rows", "WRITE_TRUNCATE"),
    ],
)
def test_matrix_file_destinations(tmp_path: Path, kind: str, state: str, mode: str) -> None:
    _check_cell(kind, state, mode, tmp_path)


def _check_cell(kind: str, state: str, mode: str, tmp_path: Path) -> None:
    src = _source(tmp_path)
    to = _prepare(kind, state, tmp_path)
    disp, force = MODES[mode]
    want = EXPECT[(state, mode)]
    if isinstance(want, str):
        before = _rows_in(to)
        with pytest.raises(StoreError, match=want):
            export(src, "s", to, write_disposition=disp, force=force)
        assert _rows_in(to) == before  # nothing written
    else:
        export(src, "s", to, write_disposition=disp, force=force)
        assert _rows_in(to) == want


def test_force_with_write_disposition_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot be used together"):
        export(_source(tmp_path), "s", f"lake:{tmp_path}/l/d", write_disposition="WRITE_APPEND", force=True)


def test_ndjson_round_trips_nested_values_through_duckdb(tmp_path: Path) -> None:
    code = item(CodeValue="C1", CodingSchemeDesignator="DCM", CodeMeaning="Meaning")
    write_instance(
        tmp_path / "f" / "a.dcm",
        StudyTime="075911",
        RequestAttributesSequence=Sequence(
            [item(RequestedProcedureID="R1", ScheduledProtocolCodeSequence=Sequence([code]))]
        ),
    )
    lk = dicomlake.open(tmp_path / "lake", create=True)
    lk.ingest(tmp_path / "f", "s", progress=False)
    export(lk, "s", f"ndjson:{tmp_path / 'out.ndjson'}")
    back = duckdb.sql(f"SELECT * FROM read_json('{tmp_path / 'out.ndjson'}', format='newline_delimited')")  # noqa: F841 (read by name below)
    nested = "RequestAttributesSequence[1].ScheduledProtocolCodeSequence[1]"
    got = duckdb.sql(
        f"SELECT {nested}.CodeValue, {nested}.CodeMeaning, PatientName.Alphabetic.FamilyName, "
        f"StudyDate::VARCHAR, StudyTime::VARCHAR FROM back"
    ).fetchall()
    want = lk.sql(
        f"SELECT {nested}.CodeValue, {nested}.CodeMeaning, PatientName.Alphabetic.FamilyName, "
        f"StudyDate::VARCHAR, StudyTime::VARCHAR FROM s"
    ).fetchall()
    assert got == want == [("C1", "Meaning", "Doe", "2020-01-02", "07:59:11")]
    # every column, as JSON text, is the same value after the round trip
    for col in lk.table("s").columns:
        a = lk.sql(f'SELECT to_json("{col}")::VARCHAR FROM s').fetchall()
        b = duckdb.sql(f'SELECT to_json("{col}")::VARCHAR FROM back').fetchall()
        assert a == b, col


def test_hostile_uids_never_become_paths(tmp_path: Path) -> None:
    write_instance(tmp_path / "src" / "a.dcm", StudyInstanceUID="1.2.3/../..", SOPInstanceUID="../../../escape")
    lk = dicomlake.open(tmp_path / "lake", create=True)
    lk.ingest(tmp_path / "src", "s", progress=False)
    s = export(lk, "s", f"dicom:{tmp_path / 'out' / 'x'}")
    assert s.written == 0 and "not a valid UID" in s.failures[0]["reason"]
    assert not list(tmp_path.rglob("escape*"))


def test_parquet_folder_keeps_other_files_and_lakes_are_protected(lake: dicomlake.Lake, tmp_path: Path) -> None:
    folder = tmp_path / "mydir"
    folder.mkdir()
    (folder / "notes.txt").write_text("important")
    export(lake, "sample", f"parquet:{folder}", force=True)
    export(lake, "sample", f"parquet:{folder}", write_disposition="WRITE_TRUNCATE")
    assert (folder / "notes.txt").read_text() == "important"
    assert [p.name for p in folder.glob("*.parquet")] == ["part-0.parquet"]
    with pytest.raises(StoreError, match="inside the lake"):
        export(lake, "sample", f"parquet:{lake.root / 'stores' / 'sample'}", force=True)


def test_a_file_at_the_parquet_destination_that_is_not_parquet_is_one_error(
    lake: dicomlake.Lake, tmp_path: Path
) -> None:
    """Never a traceback, and the user's file stays as it was, whatever the disposition."""
    mine = tmp_path / "out.parquet"
    mine.write_text("not parquet")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "old.parquet").write_text("not parquet either")
    for dest in (mine, folder):
        for kwargs in ({}, {"write_disposition": "WRITE_TRUNCATE"}, {"write_disposition": "WRITE_APPEND"}):
            with pytest.raises(StoreError, match="exists and is not a Parquet file"):
                export(lake, "sample", f"parquet:{dest}", **kwargs)
    p = cli("export", "--lake", str(lake.root), "--store", "sample", "--to", f"parquet:{mine}")
    assert_error(p, "not a Parquet file", "nothing was exported", "--to")
    assert mine.read_text() == "not parquet" and (folder / "old.parquet").read_text() == "not parquet either"
    assert sorted(p.name for p in folder.iterdir()) == ["old.parquet"]


def test_parquet_export_is_written_batch_by_batch(
    lake: dicomlake.Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    from dicomlake.rematerialize import export as export_module

    monkeypatch.setattr(export_module, "BATCH_ROWS", 20)
    path = tmp_path / "out.parquet"
    export(lake, "sample", f"parquet:{path}")
    s = export(lake, "sample", f"parquet:{path}", write_disposition="WRITE_APPEND")
    assert s.written == s.selected == SAMPLE_N and pq.ParquetFile(path).metadata.num_row_groups >= 2 * SAMPLE_N // 20
    got = lake.sql(f"SELECT * FROM read_parquet('{path}')")
    want = lake.sql("SELECT * FROM sample UNION ALL SELECT * FROM sample")
    assert got.count("*").fetchall() == [(2 * SAMPLE_N,)]
    assert got.except_(want).fetchall() == [] and want.except_(got).fetchall() == []


def test_dicom_export_never_overwrites_another_file(tmp_path: Path) -> None:
    """Exporting again into the same folder rewrites nothing that differs (e.g. a de-identified
    store with kept UIDs exported onto the originals): that file is a failure, left as it was."""
    write_instance(tmp_path / "src" / "a.dcm")
    write_instance(tmp_path / "src" / "b.dcm")
    lk = dicomlake.open(tmp_path / "lake", create=True)
    lk.ingest(tmp_path / "src", "s", progress=False)
    assert export(lk, "s", f"dicom:{tmp_path / 'out'}").written == 2
    assert export(lk, "s", f"dicom:{tmp_path / 'out'}").written == 2  # the same bytes: a rerun is fine
    other = sorted((tmp_path / "out").rglob("*.dcm"))[0]
    other.write_bytes(b"another file")
    s = export(lk, "s", f"dicom:{tmp_path / 'out'}")
    assert s.written == 1 and [f["reason"].split(":")[0] for f in s.failures] == [
        f"{other} already exists with other content"
    ]
    assert other.read_bytes() == b"another file"
