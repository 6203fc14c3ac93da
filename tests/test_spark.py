"""The Spark engine (``local[2]``, one session for the whole run): ingest on Spark equals local
ingest, and every named query gives the same rows on Spark as on DuckDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pydicom.data import get_testdata_file

import dicomlake
from dicomlake.sample import make_sample

from .test_cli import run

PYDICOM_FILES = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtstruct.dcm", "JPEG2000.dcm", "nested_priv_SQ.dcm"]


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from dicomlake.spark import session

    s = session("local[2]")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Path:
    root = tmp_path_factory.mktemp("spark")
    files = [str(p) for p in make_sample(root / "files", 60, seed=2)]
    files += [str(get_testdata_file(n, download=False)) for n in PYDICOM_FILES]
    (root / "bad.dcm").write_bytes(b"not dicom at all")
    files.append(str(root / "bad.dcm"))
    dicomlake.ingest(root / "lake", files, "on_spark", spark=spark, progress=False)
    dicomlake.ingest(root / "lake", files, "local", progress=False)
    return root / "lake"


def _rows(lake: dicomlake.Lake, store: str) -> list[dict[str, Any]]:
    table = lake.table(store).to_arrow_table().drop_columns(["dl_ingested_at"])
    return sorted(table.to_pylist(), key=lambda r: (r["SOPInstanceUID"] or "", r["dl_source"] or ""))


def test_spark_ingest_equals_local_ingest(lake: Path) -> None:
    db = dicomlake.open(lake)
    a, b = db.table("on_spark").to_arrow_table(), db.table("local").to_arrow_table()
    assert a.schema.equals(b.schema)  # nested sequence structs and PN included
    assert any(pa.types.is_list(f.type) and pa.types.is_struct(f.type.value_type) for f in a.schema)
    assert _rows(db, "on_spark") == _rows(db, "local")
    issues = db.sql("SELECT store, path, severity FROM dl_issues WHERE path LIKE '%bad.dcm'").fetchall()
    assert {s for s, _, _ in issues} == {"on_spark", "local"}


@pytest.mark.parametrize("name", sorted(dicomlake.Lake.named_queries()))
def test_named_query_same_rows_on_both_engines(lake: Path, spark: Any, name: str) -> None:
    local, on_spark = dicomlake.open(lake), dicomlake.open(lake, spark=spark)
    params = {}
    if name == "instances_by_patient":
        params["PatientID"] = local.sql('SELECT PatientID FROM "local" ORDER BY 1 LIMIT 1').fetchall()[0][0]
    a = local.query(name, store="local", **params)
    b = on_spark.query(name, store="local", **params)
    assert a.columns == b.columns
    assert [str(t) for t in a.types] == [str(t) for t in b.types]
    if name == "ingest_issues":  # ordered by time, then path: compare as sets
        assert sorted(map(repr, a.fetchall())) == sorted(map(repr, b.fetchall()))
    else:
        assert a.fetchall() == b.fetchall()


def test_types_come_through(lake: Path, spark: Any) -> None:
    local = dicomlake.open(lake)
    schema = local.table("local").to_arrow_table().schema
    nested = next(f.name for f in schema if pa.types.is_list(f.type) and pa.types.is_struct(f.type.value_type))
    query = f'SELECT StudyDate, StudyTime, dl_ingested_at, "{nested}" FROM "local" ORDER BY SOPInstanceUID'
    a, b = local.sql(query), dicomlake.open(lake, spark=spark).sql(query)
    assert [str(t) for t in b.types][:3] == ["DATE", "TIME", "TIMESTAMP"]
    assert [str(t) for t in a.types] == [str(t) for t in b.types]  # the nested struct too
    assert a.fetchall() == b.fetchall()


def test_cli_query_on_spark(lake: Path) -> None:
    r = run("query", "modality_counts", "--lake", str(lake), "--store", "local", "--engine", "spark",
            "--spark-master", "local[1]", "-f", "csv")  # fmt: skip
    assert r.returncode == 0, r.stderr
    d = run("query", "modality_counts", "--lake", str(lake), "--store", "local", "-f", "csv")
    assert r.stdout == d.stdout
