"""The command line as a user runs it: one Error line and exit 1 on handled errors (in this
process, see ``helpers.cli``; one test runs real processes for their exit codes and streams)."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import SAMPLE_N, assert_error, cli, cli_process, write_instance


def test_sample_and_ingest_commands(tmp_path: Path) -> None:
    p = cli("sample", str(tmp_path / "files"), "--n", "5")
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"wrote 5 DICOM files under {tmp_path / 'files'}\n"
    p = cli("ingest", str(tmp_path / "files"), "--lake", str(tmp_path / "lake"), "--store", "sample")
    assert p.returncode == 0, p.stderr
    assert "ingested 5 instances from 5 files into store 'sample'" in p.stdout
    assert "store 'sample' now has 5 rows" in p.stdout and p.stderr == ""


def test_a_real_process_exits_with_the_codes_and_streams_of_the_command(sample_lake: Path, tmp_path: Path) -> None:
    """A real process (the exit code and the two streams of the interpreter itself): 0 with the
    rows on stdout, 1 with one Error line on stderr, 2 for a usage error."""
    p = cli_process("query", "-e", "SELECT count(*) AS n FROM sample", "--lake", str(sample_lake), "--format", "csv")
    assert (p.returncode, p.stdout.splitlines(), p.stderr) == (0, ['"n"', str(SAMPLE_N)], "")
    p = cli_process("query", "-e", "SELECT 1", "--lake", str(tmp_path))
    assert_error(p, "not a dicomlake lake")
    assert p.stdout == ""
    p = cli_process("query", "--no-such-option")
    assert p.returncode == 2 and "No such option" in p.stderr and "Traceback" not in p.stderr


def test_query_formats(sample_lake: Path, tmp_path: Path) -> None:
    lake = sample_lake
    p = cli("query", "latest_studies", "--lake", str(lake), "--format", "json", "--param", "limit=2")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    assert len(rows) == 2 and set(rows[0]) == {"StudyDateTime", "PatientID", "StudyInstanceUID", "InstanceCount"}
    p = cli("query", "-e", "SELECT count(*) AS n FROM sample", "--lake", str(lake), "--format", "csv")
    assert p.stdout.splitlines() == ['"n"', str(SAMPLE_N)]
    out = tmp_path / "x.parquet"
    assert cli("query", "modality_counts", "--lake", str(lake), "-f", "parquet", "-o", str(out)).returncode == 0
    assert out.stat().st_size > 0
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT PatientID FROM store WHERE PatientID = $pid")
    assert cli("query", "--sql", str(sql), "--lake", str(lake), "-p", "pid=none", "-f", "ndjson").stdout == ""
    assert "latest_studies" in cli("query", "--list").stdout


def test_handled_errors(sample_lake_copy: Path, tmp_path: Path) -> None:
    lake = sample_lake_copy
    assert_error(cli("query", "nope", "--lake", str(lake)), "no named query", "--list")
    assert_error(cli("query", "instances_by_patient", "--lake", str(lake)), "--param PatientID=VALUE")
    assert_error(cli("query", "-e", "SELECT * FROM missing", "--lake", str(lake)), "missing")
    assert_error(cli("query", "-e", "SELECT 1", "--lake", str(tmp_path)), "not a dicomlake lake")
    assert_error(cli("ingest", str(tmp_path / "none"), "--lake", str(lake), "--store", "sample"), "does not exist")
    src = write_instance(tmp_path / "a.dcm")
    assert_error(cli("ingest", str(src), "--lake", str(lake), "--store", "sample"), "WRITE_APPEND", "WRITE_TRUNCATE")
    assert_error(
        cli("ingest", str(src), "--lake", str(lake), "--store", "s", "--write-disposition", "X"), "WRITE_EMPTY"
    )


def test_strict_publishes_nothing_on_issues(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    write_instance(tmp_path / "src" / "ok.dcm")
    (tmp_path / "src" / "junk.txt").write_text("not dicom")
    p = cli("ingest", str(tmp_path / "src"), "--lake", str(tmp_path / "lake"), "--store", "s", "--strict")
    assert p.returncode == 1
    assert "junk.txt: not a DICOM file" in p.stderr and p.stderr.strip().splitlines()[-1].startswith("Error: --strict")
    assert "nothing was written" in p.stderr
    assert_error(cli("query", "-e", "SELECT * FROM s", "--lake", str(tmp_path / "lake")), "s")
    p = cli("ingest", str(tmp_path / "src"), "--lake", str(tmp_path / "lake"), "--store", "s")
    assert "not a DICOM file 1" in p.stdout
    p = cli("query", "ingest_issues", "--lake", str(tmp_path / "lake"), "-f", "json")
    assert json.loads(p.stdout)[0]["path"].endswith("junk.txt")


def test_help_screens(tmp_path: Path) -> None:
    for args in (
        [],
        ["--help"],
        ["filter", "--help"],
        ["export", "--help"],
        ["deidentify", "--help"],
        ["ingest", "--help"],
        ["query", "--help"],
        ["store", "--help"],
    ):
        p = cli(*args)
        assert "Usage" in p.stdout + p.stderr and "Traceback" not in p.stderr, (args, p.stderr)


def test_bad_output_paths_are_errors(sample_lake: Path, tmp_path: Path) -> None:
    lake = sample_lake
    assert_error(
        cli("query", "modality_counts", "--lake", str(lake), "-o", str(tmp_path / "no" / "x.json")), "check the path"
    )
    (tmp_path / "afile").write_text("x")
    assert_error(cli("ingest", str(tmp_path), "--lake", str(tmp_path / "afile" / "sub"), "--store", "s"))
    out = tmp_path / "o.csv"
    assert (
        cli(
            "query", "-e", "SELECT ImageType, PatientName FROM sample LIMIT 2", "--lake", str(lake), "-o", str(out)
        ).returncode
        == 0
    )
    assert out.read_text().splitlines()[0] == '"ImageType","PatientName"'  # format from the suffix, JSON cells


def test_store_names_ignore_case(sample_lake_copy: Path, tmp_path: Path) -> None:
    lake = sample_lake_copy
    src = write_instance(tmp_path / "a.dcm")
    assert_error(cli("ingest", str(src), "--lake", str(lake), "--store", "Sample"), "clashes", "'sample'")
    assert_error(cli("ingest", str(src), "--lake", str(lake), "--store", "select"), "reserved SQL word")


def test_store_commands(tmp_path: Path) -> None:
    lake = str(tmp_path / "lake")
    assert cli("store", "create", "dest", "--lake", lake).returncode == 0
    assert_error(cli("store", "create", "dest", "--lake", lake), "already exists")
    assert "dest" in cli("store", "list", "--lake", lake).stdout
    assert cli("store", "drop", "dest", "--lake", lake, "--yes").returncode == 0
    assert_error(cli("store", "drop", "dest", "--lake", lake, "--yes"), "no store")
