"""SQL pasted from BigQuery: every query of Google's DICOM export-to-BigQuery documentation runs
verbatim against a store of its table's name, through the CLI (in-process) and the Python API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dicomlake
from dicomlake.cli import app
from dicomlake.errors import QueryError
from dicomlake.query.bigquery import dialect_header, legacy_brackets, prepare

from .conftest import write_instance

# The queries of https://cloud.google.com/healthcare-api/docs/how-tos/dicom-export-bigquery, as
# written there (the filter-file query, then "search metadata", then "latest studies").
DOC_FILTER = (
    "SELECT CONCAT ('/studies/', StudyInstanceUID, '/series/', SeriesInstanceUID, '/instances/', SOPInstanceUID) "
    "FROM [PROJECT_ID:BIGQUERY_DATASET.BIGQUERY_TABLE]"
)
DOC_SEARCH = """#standardSQL
SELECT CONCAT('/dicomWeb/studies/', StudyInstanceUID, '/series/', SeriesInstanceUID, '/instances/', SOPInstanceUID) as DICOMwebPath
FROM `chc-nih-chest-xray.nih_chest_xray.nih_chest_xray`
WHERE PatientID = '19045';"""
DOC_LATEST = """#standardSQL
SELECT MIN(CONCAT(StudyDate, ' ', StudyTime)) as StudyDateTime, MIN(PatientID) as PatientID, StudyInstanceUID, COUNT(*) as InstanceCount
FROM `chc-tcia.lungct_diagnosis.lungct_diagnosis`
GROUP BY StudyInstanceUID
ORDER BY StudyDateTime DESC
LIMIT 20;"""
STORES = ("BIGQUERY_TABLE", "nih_chest_xray", "lungct_diagnosis")

runner = CliRunner()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lake with a store of each table name the documentation uses; one patient is 19045."""
    from dicomlake.demo.sample import make_sample

    root = tmp_path_factory.mktemp("bq")
    make_sample(root / "files", 12, seed=5)
    write_instance(root / "files" / "p19045.dcm", PatientID="19045")
    for name in STORES:
        dicomlake.ingest(root / "lake", root / "files", name, progress=False)
    return root / "lake"


def cli(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_the_search_query_runs_verbatim(lake: Path) -> None:
    code, out, err = cli("query", "-e", DOC_SEARCH, "--lake", str(lake), "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    uids = dicomlake.open(lake).sql(
        "SELECT StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID FROM nih_chest_xray WHERE PatientID = '19045'"
    )
    assert rows == [{"DICOMwebPath": f"/dicomWeb/studies/{a}/series/{b}/instances/{c}"} for a, b, c in uids.fetchall()]
    assert len(rows) == 1
    assert "note: read table `chc-nih-chest-xray.nih_chest_xray.nih_chest_xray` as store 'nih_chest_xray'" in err


def test_the_latest_studies_query_runs_verbatim(lake: Path, tmp_path: Path) -> None:
    sql = tmp_path / "latest.sql"
    sql.write_text(DOC_LATEST)
    code, out, err = cli("query", "--sql", str(sql), "--lake", str(lake), "--format", "json")
    assert code == 0, err
    the_lake = dicomlake.open(lake)
    expected = the_lake.query("latest_studies", store="lungct_diagnosis").to_arrow_table().to_pylist()
    assert json.loads(out) == json.loads(json.dumps(expected, default=str))
    assert json.loads(out)[0]["StudyDateTime"][:4].isdigit()  # '2017-11-03 10:44:22', as the doc's output
    assert "as store 'lungct_diagnosis'" in err


def test_the_filter_file_query_runs_verbatim(lake: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "cohort.txt"
    code, _, err = cli("filter", "-e", DOC_FILTER, "--lake", str(lake), "-o", str(out_file))
    assert code == 0, err
    lines = out_file.read_text().splitlines()
    assert len(lines) == 13 and all(p.startswith("/studies/") and "/instances/" in p for p in lines)
    assert "[PROJECT_ID:BIGQUERY_DATASET.BIGQUERY_TABLE]" in err and "as store 'BIGQUERY_TABLE'" in err


def test_the_api_runs_them_too_and_keeps_its_notes(lake: Path) -> None:
    the_lake = dicomlake.open(lake)
    assert len(the_lake.sql(DOC_FILTER).fetchall()) == 13
    assert the_lake.notes[-1] == "read table `PROJECT_ID.BIGQUERY_DATASET.BIGQUERY_TABLE` as store 'BIGQUERY_TABLE'"
    assert the_lake.sql(DOC_SEARCH).columns == ["DICOMwebPath"]
    studies = the_lake.sql("SELECT count(DISTINCT StudyInstanceUID) FROM lungct_diagnosis").fetchall()[0][0]
    assert len(the_lake.sql(DOC_LATEST).fetchall()) == studies > 1
    the_lake.sql("SELECT count(*) FROM nih_chest_xray")
    assert the_lake.notes == []


def test_bigquery_functions_keep_bigquerys_meaning(lake: Path) -> None:
    the_lake = dicomlake.open(lake)
    # BigQuery's CONCAT is NULL when an argument is (DuckDB's concat() would skip it)
    got = the_lake.sql("#standardSQL\nSELECT CONCAT('a', NULL) AS x, CONCAT('a', 'b') AS y").fetchall()
    assert got == [(None, "ab")]
    # a BigQuery @parameter is bound like --param
    code, out, err = cli(
        "query",
        "-e",
        "#standardSQL\nSELECT COUNT(*) AS n FROM `p.d.nih_chest_xray` WHERE PatientID = @pid",
        "--param",
        "pid=19045",
        "--lake",
        str(lake),
        "-f",
        "json",
    )
    assert code == 0, err
    assert json.loads(out) == [{"n": 1}]


@pytest.mark.parametrize(
    "table", ["`my-project.dataset.nih_chest_xray`", "`dataset.nih_chest_xray`", "proj.dataset.nih_chest_xray"]
)
def test_every_spelling_of_a_table_reads_the_store(lake: Path, table: str) -> None:
    code, out, err = cli("query", "-e", f"SELECT count(*) AS n FROM {table} t", "--lake", str(lake), "-f", "json")
    assert code == 0, err
    assert json.loads(out) == [{"n": 13}]
    assert "as store 'nih_chest_xray'" in err


def test_legacy_sql_is_refused_with_what_to_do(lake: Path) -> None:
    code, _, err = cli("query", "-e", "#legacySQL\nSELECT 1 FROM [p:d.nih_chest_xray]", "--lake", str(lake))
    assert code == 1
    assert err.startswith("Error: ") and "legacy SQL" in err and "rewrite it in standard SQL" in err


@pytest.mark.parametrize("sql", ["SELECT * FROM `p.d.ct`", "SELECT * FROM ct", "SELECT * FROM d.ct"])
def test_an_unknown_table_lists_the_stores(lake: Path, sql: str) -> None:
    code, _, err = cli("query", "-e", sql, "--lake", str(lake))
    assert code == 1 and err.startswith("Error: ")
    assert "stores: BIGQUERY_TABLE, lungct_diagnosis, nih_chest_xray" in err
    assert len(err.strip().splitlines()) == 1


# ---- the rules, as input → expected pairs ---------------------------------------------------
STORES_AND_TABLES = ["ct", "store", "dl_issues"]
QUALIFIERS = ["main", "memory", "temp", "system", "information_schema", "pg_catalog"]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM ct",
        "SELECT * FROM main.ct",
        "SELECT * FROM memory.main.ct",
        "FROM ct SELECT PatientID",
        "SELECT list_transform([1, 2], lambda x: x + 1), {'a': 1} FROM ct",
        "SELECT c.CodeValue FROM ct, UNNEST(ProcedureCodeSequence) AS r(c)",
        "WITH s AS (SELECT * FROM store) SELECT count(*) FROM s",
        "SELECT * FROM read_parquet('x.parquet')",
        "SELECT $name, 'a' || \"b\" FROM ct -- a comment",
        "SELECT * FROM nope",  # unknown, but for DuckDB to report (with the stores)
    ],
)
def test_duckdb_sql_is_never_rewritten(sql: str) -> None:
    assert prepare(sql, STORES_AND_TABLES, QUALIFIERS).sql == sql


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("#standardSQL\nSELECT 1", ("SELECT 1", True)),
        ("  #StandardSQL\n\nSELECT 1", ("\nSELECT 1", True)),
        ("-- name: q\n\n#standardSQL\nSELECT 1", ("-- name: q\n\nSELECT 1", True)),
        ("SELECT 1 #standardSQL", ("SELECT 1 #standardSQL", False)),
        ("-- x\nSELECT 1", ("-- x\nSELECT 1", False)),
    ],
)
def test_rule_dialect_header(sql: str, expected: tuple[str, bool]) -> None:
    assert dialect_header(sql) == expected


def test_rule_dialect_header_refuses_legacy_sql() -> None:
    with pytest.raises(QueryError, match="legacy SQL"):
        dialect_header("#legacySQL\nSELECT 1")


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT a FROM [p:d.t]", "SELECT a FROM `p.d.t`"),
        ("SELECT a FROM [my-p:d.t] JOIN [d.u] USING (x)", "SELECT a FROM `my-p.d.t` JOIN `d.u` USING (x)"),
        ("SELECT [1, 2] FROM t", "SELECT [1, 2] FROM t"),  # a list, not a table
        ("SELECT '[p:d.t]' FROM t", "SELECT '[p:d.t]' FROM t"),  # inside a string
    ],
)
def test_rule_legacy_brackets(sql: str, expected: str) -> None:
    assert legacy_brackets(sql)[0] == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM `p.d.ct`", 'SELECT * FROM "ct"'),
        ("SELECT * FROM `p.d.CT` AS x", 'SELECT * FROM "ct" AS x'),
        ("SELECT * FROM d.ct x JOIN main.ct y USING (a)", 'SELECT * FROM "ct" AS x JOIN main.ct AS y USING (a)'),
        ("#standardSQL\nSELECT CONCAT(a, 'b') FROM `p.d.ct`", "SELECT a || 'b' FROM \"ct\""),
    ],
)
def test_rule_store_tables(sql: str, expected: str) -> None:
    assert prepare(sql, STORES_AND_TABLES, QUALIFIERS).sql == expected


@pytest.mark.parametrize(
    ("bigquery", "duckdb"),
    [
        ("SELECT ARRAY_LENGTH(ImageType) AS n FROM `p.d.nih_chest_xray`", "SELECT len(ImageType) FROM nih_chest_xray"),
        (
            "SELECT c.CodeValue FROM `p.d.nih_chest_xray`, UNNEST(ProcedureCodeSequence) AS c",
            "SELECT unnest(ProcedureCodeSequence).CodeValue FROM nih_chest_xray",
        ),
        (
            "SELECT ImageType[OFFSET(0)], ImageType[SAFE_OFFSET(9)] FROM `p.d.nih_chest_xray`",
            "SELECT ImageType[1], NULL FROM nih_chest_xray",
        ),
        (
            "SELECT SAFE_CAST(SliceThickness AS FLOAT64), CAST(SeriesNumber AS INT64) FROM `p.d.nih_chest_xray`",
            "SELECT TRY_CAST(SliceThickness AS DOUBLE), CAST(SeriesNumber AS BIGINT) FROM nih_chest_xray",
        ),
        (
            "SELECT COUNTIF(Modality = 'MR'), FORMAT_DATE('%Y-%m', MIN(StudyDate)) FROM `p.d.nih_chest_xray`",
            "SELECT count(*) FILTER (WHERE Modality = 'MR'), strftime(min(StudyDate), '%Y-%m') FROM nih_chest_xray",
        ),
        (
            "SELECT COUNT(*) FROM `p.d.nih_chest_xray` WHERE 'ORIGINAL' IN UNNEST(ImageType)",
            "SELECT count(*) FROM nih_chest_xray WHERE list_contains(ImageType, 'ORIGINAL')",
        ),
    ],
)
def test_common_bigquery_functions_give_duckdbs_answers(lake: Path, bigquery: str, duckdb: str) -> None:
    the_lake = dicomlake.open(lake)
    got = sorted(map(str, the_lake.sql("#standardSQL\n" + bigquery).fetchall()))
    assert got == sorted(map(str, the_lake.sql(duckdb).fetchall()))
    assert got


def test_filter_sql_file_takes_the_search_query(lake: Path, tmp_path: Path) -> None:
    sql = tmp_path / "search.sql"
    sql.write_text(DOC_SEARCH)
    code, out, err = cli("filter", "--sql", str(sql), "--lake", str(lake))
    assert code == 0, err
    (line,) = out.splitlines()
    assert line.startswith("/studies/") and "/dicomWeb" not in line and "as store 'nih_chest_xray'" in err


def test_a_sql_file_with_a_header_and_bigquery_parameters(lake: Path, tmp_path: Path) -> None:
    sql = tmp_path / "by_patient.sql"
    sql.write_text(
        "-- name: by_patient\n-- description: instances of a patient\n-- param: pid VARCHAR: the PatientID\n"
        "-- column: n: instances\n#standardSQL\nSELECT COUNT(*) AS n FROM `p.d.nih_chest_xray` WHERE PatientID = @pid\n"
    )
    code, out, err = cli("query", "--sql", str(sql), "--param", "pid=19045", "--lake", str(lake), "-f", "csv")
    assert code == 0, err
    assert out == '"n"\n1\n'
    code, _, err = cli("query", "--sql", str(sql), "--lake", str(lake))
    assert code == 1 and "needs parameter pid" in err
