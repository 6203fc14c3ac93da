"""The Spark engine (``local[2]``, one session for the whole run): ingest on Spark equals local
ingest, every named query gives the same rows on Spark as on DuckDB, and de-identification on
Spark writes the same files and rows as on DuckDB for the same key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pydicom.data import get_testdata_file

import dicomlake
from dicomlake.demo.sample import make_sample

from .helpers import cli

PYDICOM_FILES = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtstruct.dcm", "JPEG2000.dcm", "nested_priv_SQ.dcm"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> Path:
    root = tmp_path_factory.mktemp("spark")
    files = [str(p) for p in make_sample(root / "files", 24, seed=2)]
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
    r = cli("query", "modality_counts", "--lake", str(lake), "--store", "local", "--engine", "spark",
            "--spark-master", "local[1]", "-f", "csv")  # fmt: skip
    assert r.returncode == 0, r.stderr
    d = cli("query", "modality_counts", "--lake", str(lake), "--store", "local", "-f", "csv")
    assert r.stdout == d.stdout


def test_bigquery_sql_and_read_only_on_spark(lake: Path, spark: Any) -> None:
    """The export documentation's latest-studies query, pasted, gives the same rows on Spark; a
    statement that writes is refused before Spark sees it."""
    from dicomlake.errors import QueryError

    from .test_query_bigquery import DOC_LATEST

    pasted = DOC_LATEST.replace("chc-tcia.lungct_diagnosis.lungct_diagnosis", "my-project.dataset.local")
    local, on_spark = dicomlake.open(lake), dicomlake.open(lake, spark=spark)
    rows = local.sql(pasted).fetchall()
    spark_rows = on_spark.sql(pasted).fetchall()
    assert [r[0] for r in spark_rows] == [r[0] for r in rows] and len(rows) > 1  # the ORDER BY key (ties differ)
    assert set(spark_rows) - set(rows) <= {r for r in spark_rows if r[0] == rows[-1][0]}
    # BigQuery's CONCAT is NULL where StudyDate or StudyTime is (DuckDB's concat() would skip it)
    assert any(r[0] is None for r in rows)
    assert on_spark.notes == ["read table `my-project.dataset.local` as store 'local'"]
    with pytest.raises(QueryError, match="read-only"):
        on_spark.sql("DROP VIEW local")


DEID_CONFIGS = {
    "basic_descriptors_dateshift": {
        "dicomTagConfig": {
            "profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE",
            "options": {"cleanDescriptors": {}},
        },
        "text": {"additionalTransformations": [{"infoTypes": [], "dateShiftConfig": {}}]},
    },
    "tag_contents_dateshift": {  # dates shifted and text cleaned inside sequences too
        "dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"},
        "text": {"additionalTransformations": [{"infoTypes": [], "dateShiftConfig": {}}]},
    },
    "keep_all_actions": {
        "dicomTagConfig": {
            "profileType": "KEEP_ALL_PROFILE",
            "actions": [
                {"queries": ["PatientName", "StudyDescription", "StudyDate"], "cleanTextTag": {}},
                {"queries": ["StudyInstanceUID", "SOPInstanceUID", "ReferencedSOPInstanceUID"], "regenUidTag": {}},
                {"queries": ["PatientID"], "resetTag": {}},
                {"queries": ["ReferringPhysicianName", "StudyTime"], "removeTag": {}},
            ],
        },
        "text": {"additionalTransformations": [{"infoTypes": ["PERSON_NAME"], "characterMaskConfig": {}}]},
    },
}


def _datasets(lake: Path) -> dict[str, Any]:
    import pydicom

    return {p.name: pydicom.dcmread(p) for p in (lake / "files").rglob("*.dcm")}


def assert_same_output(a: Path, b: Path, store: str) -> None:
    """Two destination lakes hold the same files, element by element, and the same rows."""
    fa, fb = _datasets(a), _datasets(b)
    assert fa and sorted(fa) == sorted(fb)
    for name, x in fa.items():
        y = fb[name]
        assert x.file_meta == y.file_meta, name
        assert x == y, name
    ta, tb = dicomlake.open(a).table(store).to_arrow_table(), dicomlake.open(b).table(store).to_arrow_table()
    assert ta.schema.equals(tb.schema)
    drop = ["dl_source", "dl_ingested_at"]  # where the files are, and when
    key = lambda r: r["SOPInstanceUID"]  # noqa: E731
    assert sorted(ta.drop_columns(drop).to_pylist(), key=key) == sorted(tb.drop_columns(drop).to_pylist(), key=key)


@pytest.mark.parametrize("name", sorted(DEID_CONFIGS))
def test_deidentify_on_spark_equals_duckdb(lake: Path, spark: Any, tmp_path: Path, name: str) -> None:
    key = tmp_path / "key"
    key.write_text(cli("keygen").stdout)
    config = {"config": DEID_CONFIGS[name]}
    kwargs: dict[str, Any] = {"store": "local", "key_file": str(key)}
    for dest in ("duck", "spark"):
        dicomlake.open(tmp_path / dest, create=True).create_store("out")
    on_duck = dicomlake.open(lake).deidentify(config, dest_lake=tmp_path / "duck", dest_store="out", **kwargs)
    on_spark = dicomlake.open(lake, spark=spark).deidentify(
        config, dest_lake=tmp_path / "spark", dest_store="out", **kwargs
    )
    (a,), (b,) = on_duck.stores, on_spark.stores
    assert (a.selected, a.success) == (b.selected, b.success) and a.success >= 24
    assert sorted(f["path"] for f in a.failures) == sorted(f["path"] for f in b.failures)
    assert_same_output(tmp_path / "duck", tmp_path / "spark", "out")


def test_cli_deidentify_engine_spark(tmp_path: Path) -> None:
    """The CLI on Spark: burned-in text redacted by the tasks, a filter, and the same crosswalk."""
    from dicomlake.demo.burned import make_burned_in

    make_burned_in(tmp_path / "files", 3)
    src = tmp_path / "lake"
    assert cli("ingest", str(tmp_path / "files"), "--lake", str(src), "--store", "s").returncode == 0
    uids = dicomlake.open(src).sql("SELECT DISTINCT StudyInstanceUID FROM s ORDER BY 1").fetchall()
    (tmp_path / "filter.txt").write_text("".join(f"/studies/{u}\n" for (u,) in uids[:2]))
    (tmp_path / "key").write_text(cli("keygen").stdout)
    (tmp_path / "config.json").write_text(
        json.dumps({"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_SENSITIVE_TEXT"}}}})
    )
    common = ["--store", "s", "--config", str(tmp_path / "config.json"), "--key-file", str(tmp_path / "key"),
              "--filter", str(tmp_path / "filter.txt"), "--dest-store", "out"]  # fmt: skip
    for engine in ("duckdb", "spark"):
        dest = tmp_path / engine
        assert cli("store", "create", "out", "--lake", str(dest)).returncode == 0
        r = cli("deidentify", "--lake", str(src), "--dest-lake", str(dest), *common, "--engine", engine,
                "--spark-master", "local[2]", "--crosswalk", str(tmp_path / f"{engine}.parquet"))  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert "burned-in text: 2 images read by OCR, text redacted in 2" in r.stdout
    assert_same_output(tmp_path / "duckdb", tmp_path / "spark", "out")
    a, b = (pq.read_table(tmp_path / f"{e}.parquet").to_pylist() for e in ("duckdb", "spark"))
    key = lambda r: (r["kind"], r["original"])  # noqa: E731
    assert len(a) > 4 and sorted(a, key=key) == sorted(b, key=key)


def test_cli_deidentify_explain_shows_spark_sql(lake: Path, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"config": DEID_CONFIGS["basic_descriptors_dateshift"]}))
    r = cli("deidentify", "--lake", str(lake), "--store", "local", "--config", str(tmp_path / "config.json"),
            "--explain", "--engine", "spark")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "TRY_ELEMENT_AT(dl_m_uid" in r.stdout and "list_transform" not in r.stdout
    bad = cli("deidentify", "--lake", str(lake), "--store", "local", "--config", str(tmp_path / "config.json"),
              "--explain", "--engine", "sparkle")  # fmt: skip
    assert bad.returncode == 1 and "use duckdb or spark" in bad.stderr
