"""`describe STORE`: the schema as a tree with type, VR, share and example, over a store of
pydicom's test files (nested sequences); `store list`: counts, files and bytes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file
from typer.testing import CliRunner

import dicomlake
from dicomlake.cli import app
from dicomlake.query.describe import Field

runner = CliRunner()
FILES = ("rtstruct.dcm", "rtplan.dcm", "CT_small.dcm")
DEEP = "ReferencedFrameOfReferenceSequence.RTReferencedStudySequence.RTReferencedSeriesSequence.SeriesInstanceUID"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("describe")
    for name in FILES:
        (root / "files").mkdir(exist_ok=True)
        shutil.copy(get_testdata_file(name), root / "files" / name)
    dicomlake.ingest(root / "lake", root / "files", "rt", progress=False)
    return root / "lake"


def by_path(fields: list[Field]) -> dict[str, Field]:
    return {f.path: f for f in fields}


def test_describe_walks_nested_sequences_to_any_depth(lake: Path, testfiles_dir: Path) -> None:
    fields = by_path(dicomlake.open(lake).describe("rt"))
    ds = pydicom.dcmread(testfiles_dir / "rtstruct.dcm", force=True)
    uid = ds.ReferencedFrameOfReferenceSequence[0].RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
    deep = fields[DEEP]
    assert (deep.depth, deep.type, deep.vr, deep.instances, deep.example) == (
        3,
        "VARCHAR",
        "UI",
        1,
        uid.SeriesInstanceUID,
    )
    assert deep.share == pytest.approx(1 / 3)
    seq = fields["ReferencedFrameOfReferenceSequence"]
    assert (seq.type, seq.vr, seq.example) == ("STRUCT[]", "SQ", None)
    contour = fields["ROIContourSequence.ContourSequence.ContourData"]
    assert contour.type == "VARCHAR[]" and contour.vr == "DS"
    assert (
        contour.example == [str(v) for v in ds.ROIContourSequence[0].ContourSequence[0].ContourData] or contour.example
    )


def test_share_counts_instances_that_have_a_value(lake: Path) -> None:
    the_lake = dicomlake.open(lake)
    fields = by_path(the_lake.describe("rt"))
    assert fields["SOPInstanceUID"].instances == 3 and fields["SOPInstanceUID"].share == 1.0
    for path in ("BeamSequence", "ROIContourSequence", "PatientName.Alphabetic.FamilyName"):
        column = path.split(".")[0]
        if path == column:  # a sequence: instances whose list is not empty
            sql = f"SELECT count(*) FROM rt WHERE len({column}) > 0"
        else:
            sql = f"SELECT count(*) FROM rt WHERE {column}.Alphabetic.FamilyName IS NOT NULL"
        assert fields[path].instances == the_lake.sql(sql).fetchall()[0][0], path
    assert fields["PatientName"].vr == "PN" and fields["PatientName.Alphabetic"].vr is None
    assert fields["dl_source"].vr is None and fields["dl_source"].instances == 3
    # every column is there, in the table's order, each followed by its own fields
    columns = [f.path for f in the_lake.describe("rt") if f.depth == 0]
    assert columns == the_lake.table("rt").columns


def test_describe_cli_draws_a_tree_that_fits(lake: Path) -> None:
    r = runner.invoke(app, ["describe", "rt", "--lake", str(lake)], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("store 'rt': 3 instances, ")
    assert max(len(line) for line in lines) <= 80
    i = next(n for n, line in enumerate(lines) if line.startswith("ReferencedFrameOfReferenceSequence "))
    assert lines[i + 1].startswith(("├─ ", "└─ "))
    assert any(line.startswith("│  │  └─ SeriesInstanceUID ") or "   └─ SeriesInstanceUID " in line for line in lines)
    assert "33.3%" in r.stdout and "100.0%" in r.stdout


def test_describe_json_is_whole(lake: Path) -> None:
    r = runner.invoke(app, ["describe", "rt", "--lake", str(lake), "--format", "json"], env={"COLUMNS": "40"})
    assert r.exit_code == 0, r.stderr
    rows = {f["path"]: f for f in json.loads(r.stdout)}
    assert set(rows) == {f.path for f in dicomlake.open(lake).describe("rt")}
    deep = rows[DEEP]
    assert deep["vr"] == "UI" and deep["depth"] == 3 and len(deep["example"]) > 40  # not cut
    assert set(deep) == {"path", "name", "depth", "type", "vr", "instances", "share", "example"}


def test_describe_errors(lake: Path) -> None:
    r = runner.invoke(app, ["describe", "nope", "--lake", str(lake)])
    assert r.exit_code == 1 and r.stderr.startswith("Error: no store 'nope'") and "stores: rt" in r.stderr
    r = runner.invoke(app, ["describe", "rt", "--lake", str(lake), "--format", "csv"])
    assert r.exit_code == 1 and "use one of table, json" in r.stderr


def test_store_list_counts_patients_to_bytes(lake: Path, tmp_path: Path) -> None:
    the_lake = dicomlake.open(lake)
    r = runner.invoke(app, ["store", "list", "--lake", str(lake), "--format", "json"])
    assert r.exit_code == 0, r.stderr
    (row,) = json.loads(r.stdout)
    info = the_lake.store_info("rt")
    patients, studies, series = the_lake.sql(
        "SELECT count(DISTINCT PatientID), count(DISTINCT StudyInstanceUID), count(DISTINCT SeriesInstanceUID) FROM rt"
    ).fetchall()[0]
    sources = sum(os.path.getsize(get_testdata_file(n)) for n in FILES)
    assert {k: v for k, v in row.items() if not k.endswith("_at")} == {
        "name": "rt",
        "patients": patients,
        "studies": studies,
        "series": series,
        "instances": 3,
        "parquet_files": len(info.files),
        "parquet_bytes": sum(os.path.getsize(f) for f in info.files),
        "source_bytes": sources,
    }
    assert patients == 3 and row["parquet_bytes"] > 0


def test_store_list_shows_an_empty_store(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    assert runner.invoke(app, ["store", "create", "empty", "--lake", str(lake)]).exit_code == 0
    r = runner.invoke(app, ["store", "list", "--lake", str(lake), "-f", "json"])
    assert r.exit_code == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert (row["instances"], row["patients"], row["parquet_files"], row["source_bytes"]) == (0, 0, 1, None)
    r = runner.invoke(app, ["store", "list", "--lake", str(lake)], env={"COLUMNS": "60"})
    assert r.exit_code == 0 and max(len(line) for line in r.stdout.splitlines()) <= 60
