"""Queries: named queries from sql/, the queries of Google's export documentation verbatim, nested UNNEST, errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydicom.sequence import Sequence

import dicomlake
from dicomlake.errors import QueryError, StoreNotChosenError
from dicomlake.query.named import named_queries, parse_sql_file, sql_dir

from .helpers import SAMPLE_N, item, write_instance


@pytest.fixture
def sample_lake(sample_lake: Path) -> dicomlake.Lake:
    """The session's sample lake (store ``sample``), read only."""
    return dicomlake.open(sample_lake)


def test_every_sql_file_has_a_complete_header() -> None:
    files = sorted(sql_dir().glob("*.sql"))
    assert {"latest_studies", "instances_by_patient", "series_summary", "modality_counts"} <= set(named_queries())
    for f in files:
        q = parse_sql_file(f)
        assert q.name == f.stem and q.description and q.columns, f


def test_every_named_query_runs_and_documents_its_columns(sample_lake: dicomlake.Lake) -> None:
    for q in named_queries().values():
        params = {p.name: "x" for p in q.params if p.default is None}
        rel = sample_lake.query(q.name, **params)
        assert [c for c, _ in q.columns] == rel.columns, q.name


def test_latest_studies_has_the_documented_shape(sample_lake: dicomlake.Lake) -> None:
    rows = sample_lake.query("latest_studies").to_arrow_table().to_pylist()
    assert 0 < len(rows) <= 20
    assert list(rows[0]) == ["StudyDateTime", "PatientID", "StudyInstanceUID", "InstanceCount"]
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?", r["StudyDateTime"]) for r in rows)
    assert [r["StudyDateTime"] for r in rows] == sorted((r["StudyDateTime"] for r in rows), reverse=True)
    assert len(sample_lake.query("latest_studies", limit=3).fetchall()) == 3


def test_instances_by_patient_paths(sample_lake: dicomlake.Lake) -> None:
    pid = sample_lake.sql("SELECT PatientID FROM sample LIMIT 1").fetchall()[0][0]
    paths = [r[0] for r in sample_lake.query("instances_by_patient", PatientID=pid).fetchall()]
    n = sample_lake.sql("SELECT count(*) FROM sample WHERE PatientID = $p", {"p": pid}).fetchall()[0][0]
    assert len(paths) == n > 0
    assert all(re.fullmatch(r"/dicomWeb/studies/[\d.]+/series/[\d.]+/instances/[\d.]+", p) for p in paths)


def test_export_documentation_queries_run_verbatim(sample_lake: dicomlake.Lake) -> None:
    documented_filter = (
        "SELECT CONCAT ('/studies/', StudyInstanceUID, '/series/', SeriesInstanceUID, "
        "'/instances/', SOPInstanceUID) FROM sample"
    )
    assert len(sample_lake.sql(documented_filter).fetchall()) == SAMPLE_N
    documented_patient = (
        "SELECT CONCAT('/dicomWeb/studies/', StudyInstanceUID, '/series/', SeriesInstanceUID, "
        "'/instances/', SOPInstanceUID) as DICOMwebPath FROM sample WHERE PatientID = '19045';"
    )
    assert sample_lake.sql(documented_patient).columns == ["DICOMwebPath"]
    documented_latest = (
        "SELECT MIN(CONCAT(StudyDate, ' ', StudyTime)) as StudyDateTime, MIN(PatientID) as PatientID, "
        "StudyInstanceUID, COUNT(*) as InstanceCount FROM sample GROUP BY StudyInstanceUID "
        "ORDER BY StudyDateTime DESC LIMIT 20;"
    )
    assert sample_lake.sql(documented_latest).fetchall() == sample_lake.query("latest_studies").fetchall()


def test_unnest_two_levels(tmp_path: Path) -> None:
    code = item(CodeValue="C1", CodingSchemeDesignator="DCM")
    write_instance(
        tmp_path / "f" / "a.dcm",
        RequestAttributesSequence=Sequence([item(ScheduledProtocolCodeSequence=Sequence([code]))]),
    )
    dicomlake.ingest(tmp_path / "lake", tmp_path / "f", "s", progress=False)
    got = (
        dicomlake.open(tmp_path / "lake")
        .sql(
            "SELECT c.CodeValue, c.CodingSchemeDesignator FROM s, UNNEST(RequestAttributesSequence) AS r(ra), "
            "UNNEST(ra.ScheduledProtocolCodeSequence) AS p(c)"
        )
        .fetchall()
    )
    assert got == [("C1", "DCM")]


def test_relations_convert_to_polars_arrow_pandas(sample_lake: dicomlake.Lake) -> None:
    rel = sample_lake.query("modality_counts")
    assert rel.pl().height == rel.to_arrow_table().num_rows == len(rel.df()) > 0


def test_query_errors(sample_lake: dicomlake.Lake, tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="no named query"):
        sample_lake.query("nope")
    with pytest.raises(QueryError, match="needs parameter PatientID"):
        sample_lake.query("instances_by_patient")
    with pytest.raises(QueryError, match="has no parameter"):
        sample_lake.query("latest_studies", bogus=1)
    bad = tmp_path / "bad.sql"
    bad.write_text("SELECT nope FROM sample")
    with pytest.raises(QueryError, match=r"bad\.sql"):
        sample_lake.query_file(bad)


def test_store_alias_needs_a_choice_with_two_stores(sample_lake: dicomlake.Lake, tmp_path: Path) -> None:
    lake = dicomlake.open(tmp_path / "two", create=True)
    lake.ingest(write_instance(tmp_path / "a.dcm"), "one", progress=False)
    lake.ingest(write_instance(tmp_path / "b.dcm"), "two", progress=False)
    with pytest.raises(StoreNotChosenError, match="pass store=NAME") as info:
        lake.query("modality_counts")
    assert isinstance(info.value, QueryError) and info.value.stores == ["one", "two"]
    assert lake.query("modality_counts", store="two").fetchall()[0][-1] == 1


def test_no_connection_prints_duckdbs_progress_bar(sample_lake: dicomlake.Lake) -> None:
    """DuckDB draws a progress bar on stdout when a query runs long; in a pipe it would land in
    the query's CSV or JSON. Every connection dicomlake opens has it off, and every one is opened
    through lake.new_connection."""
    setting = "SELECT current_setting('enable_progress_bar')"
    assert sample_lake.con.execute(setting).fetchone() == (False,)
    with sample_lake.catalog.connect(read_only=True) as con:
        assert con.execute(setting).fetchone() == (False,)
    package = Path(dicomlake.__file__).parent
    opened = [
        p
        for p in package.rglob("*.py")
        if "duckdb.connect(" in p.read_text() and p.relative_to(package).as_posix() != "store/catalog.py"
    ]
    assert opened == []
