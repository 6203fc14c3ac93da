"""DICOMweb against a real server: Debian's Orthanc with its DICOMweb plugin, started here on
loopback (no mocks). Harvest equals file ingest; filters, resume after a kill, STOW-RS of a
de-identified store to a second server, and the errors users meet."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file

import dicomlake
from dicomlake.codec.dictionary import keyword_entry
from dicomlake.demo.orthanc import Orthanc
from dicomlake.demo.sample import make_sample

from .helpers import CLI, assert_error, cli

PYDICOM_FILES = [
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "rtstruct.dcm",
    "examples_ybr_color.dcm",
    "JPEG2000.dcm",
    "ExplVR_BigEnd.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
]
# DICOM JSON carries no file meta group (Orthanc sends none), so these come only from files.
FILE_META = {
    "TransferSyntaxUID",
    "MediaStorageSOPClassUID",
    "MediaStorageSOPInstanceUID",
    "ImplementationClassUID",
    "ImplementationVersionName",
    "SourceApplicationEntityTitle",
    "FileMetaInformationVersion",
    "PrivateInformationCreatorUID",
}
SOURCE = {"dl_source", "dl_source_size", "dl_source_sha256", "dl_ingested_at"}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("web")
    paths = [str(p) for p in make_sample(root / "sample", 40, seed=5)]
    return paths + [str(get_testdata_file(n, download=False)) for n in PYDICOM_FILES]


@pytest.fixture(scope="module")
def server(files: list[str]) -> Iterator[Orthanc]:
    with Orthanc() as o:
        o.load(files)
        yield o


def _number(v: Any) -> Any:
    try:
        return float(v)
    except (TypeError, ValueError):
        return v


def _norm(value: Any, key: str | None = None) -> Any:
    """DS and IS compared as numbers: DICOM JSON sends them as numbers, not as their text."""
    if isinstance(value, dict):
        if "Tag" in value and "Data" in value:  # a private element: its values may be DS text
            return {"Tag": value["Tag"], "Data": [_number(v) for v in value["Data"] or []]}
        return {k: _norm(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key == "DroppedTags":
            return sorted(v for v in value if v not in FILE_META)
        return [_norm(v, key) for v in value]
    e = keyword_entry(key) if key else None
    if isinstance(value, str) and e is not None and e.vr in ("DS", "IS"):
        return _number(value)
    return value


def test_harvest_gives_the_rows_of_file_ingest(server: Orthanc, files: list[str], tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    r = cli("ingest", server.url, "--lake", str(lake), "--store", "web")
    assert r.returncode == 0, r.stderr
    dicomlake.ingest(lake, files, "file", progress=False)
    db = dicomlake.open(lake)
    a = {r["SOPInstanceUID"]: r for r in db.table("file").to_arrow_table().to_pylist()}
    b = {r["SOPInstanceUID"]: r for r in db.table("web").to_arrow_table().to_pylist()}
    assert set(a) == set(b) and len(b) == server.count()
    for uid, ra in a.items():
        rb = b[uid]
        assert rb["dl_source"].startswith(server.url + "/studies/") and rb["dl_source"].endswith(uid)
        for col in sorted((set(ra) | set(rb)) - SOURCE - FILE_META):
            assert _norm(ra.get(col), col) == _norm(rb.get(col), col), (uid, col)


def test_exact_harvest_gives_identical_rows(server: Orthanc, files: list[str], tmp_path: Path) -> None:
    """--exact reads each instance as a file: DS/IS text and file meta too, the very same bytes."""
    lake = tmp_path / "lake"
    r = cli("ingest", server.url, "--lake", str(lake), "--store", "web", "--exact")
    assert r.returncode == 0, r.stderr
    dicomlake.ingest(lake, files, "file", progress=False)
    db = dicomlake.open(lake)
    ta, tb = db.table("file").to_arrow_table(), db.table("web").to_arrow_table()
    assert ta.schema.equals(tb.schema)
    a = {r["SOPInstanceUID"]: r for r in ta.to_pylist()}
    b = {r["SOPInstanceUID"]: r for r in tb.to_pylist()}
    assert set(a) == set(b) and len(b) == server.count()
    for uid, ra in a.items():
        rb = b[uid]
        study, series = ra["StudyInstanceUID"], ra["SeriesInstanceUID"]
        assert rb["dl_source"] == f"{server.url}/studies/{study}/series/{series}/instances/{uid}"
        assert {k: v for k, v in ra.items() if k not in ("dl_source", "dl_ingested_at")} == {
            k: v for k, v in rb.items() if k not in ("dl_source", "dl_ingested_at")
        }, uid
    ds = [v for r in a.values() for v in [r.get("SliceThickness")] if v]
    assert "0.8000" in ds  # MR_small's text, which DICOM JSON would send as the number 0.8
    bad = cli("ingest", str(tmp_path), "--lake", str(lake), "--store", "x", "--exact")
    assert_error(bad, "--exact is for a DICOMweb source")


def test_filter_limits_the_harvest(server: Orthanc, files: list[str], tmp_path: Path) -> None:
    db = dicomlake.open(tmp_path / "all", create=True)
    dicomlake.ingest(tmp_path / "all", files, "f", progress=False)
    study, series = db.sql('SELECT StudyInstanceUID, SeriesInstanceUID FROM "f" ORDER BY 1, 2 LIMIT 1').fetchall()[0]
    other = db.sql('SELECT StudyInstanceUID FROM "f" WHERE StudyInstanceUID <> $s LIMIT 1', {"s": study}).fetchall()[0][
        0
    ]
    (tmp_path / "filter.txt").write_text(f"/studies/{study}/series/{series}\n/studies/{other}\n")
    r = cli(
        "ingest",
        server.url,
        "--lake",
        str(tmp_path / "lake"),
        "--store",
        "web",
        "--filter",
        str(tmp_path / "filter.txt"),
    )
    assert r.returncode == 0, r.stderr
    got = dicomlake.open(tmp_path / "lake").sql('SELECT StudyInstanceUID, SeriesInstanceUID FROM "web"').fetchall()
    want = db.sql(
        'SELECT StudyInstanceUID, SeriesInstanceUID FROM "f" WHERE (StudyInstanceUID = $s AND SeriesInstanceUID = $e) '
        "OR StudyInstanceUID = $o",
        {"s": study, "e": series, "o": other},
    ).fetchall()
    assert sorted(got) == sorted(want) and got
    (tmp_path / "empty.txt").write_text("")  # what a failed 'filter … > f.txt' leaves
    empty = cli(
        "ingest", server.url, "--lake", str(tmp_path / "e"), "--store", "web", "--filter", str(tmp_path / "empty.txt")
    )
    assert_error(empty)
    assert not (tmp_path / "e").exists()


def test_killed_harvest_rerun_completes_without_duplicates(server: Orthanc, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    cmd = [*CLI, "ingest", server.url, "--lake", str(lake), "--store", "web"]  # a real process: it is killed
    cmd += ["--batch-studies", "1", "--concurrency", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((lake / "stores" / "web").glob("*.parquet"))) < 2:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(list((lake / "stores" / "web").glob("*.parquet")))
    assert partial >= 1
    r = cli("ingest", server.url, "--lake", str(lake), "--store", "web")
    assert r.returncode == 0, r.stderr
    n, distinct = dicomlake.open(lake).sql('SELECT count(*), count(DISTINCT SOPInstanceUID) FROM "web"').fetchall()[0]
    assert n == distinct == server.count()


def test_rematerialize_and_stow_deidentified_store(server: Orthanc, files: list[str], tmp_path: Path) -> None:
    # The generated store's studies (pydicom's files name vendors as institutions, e.g. InstitutionName
    # TOSHIBA beside Manufacturer TOSHIBA_MEC, which verify rightly reports wherever it is kept).
    import pydicom

    studies = sorted({pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID for f in files[:40]})
    (tmp_path / "filter.txt").write_text("".join(f"/studies/{s}\n" for s in studies))
    lake = tmp_path / "lake"
    r = cli("ingest", server.url, "--lake", str(lake), "--store", "web", "--filter", str(tmp_path / "filter.txt"))
    assert r.returncode == 0, r.stderr
    n = dicomlake.open(lake).sql('SELECT count(*) FROM "web"').fetchall()[0][0]
    assert n == 40
    (tmp_path / "r.json").write_text('{"config": {"dicomTagConfig": {}}}')
    key = tmp_path / "key"
    key.write_text(cli("keygen").stdout)
    with Orthanc() as dest:
        r = cli(
            "deidentify", "--lake", str(lake), "--dest-lake", str(tmp_path / "deid"), "--config", str(tmp_path / "r.json"),
            "--key-file", str(key), "--dest-dicomweb", dest.url,
        )  # fmt: skip
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"sent {n} of {n} instances" in r.stdout
        assert dest.count() == n
        v = cli("verify", "--lake", str(tmp_path / "deid"), "--against", f"{lake}:web")
        assert v.returncode == 0, v.stdout + v.stderr
        # The server's copy of the de-identified instances: harvested back, same UIDs as the lake's.
        assert cli("ingest", dest.url, "--lake", str(tmp_path / "back"), "--store", "b").returncode == 0
        back = dicomlake.open(tmp_path / "back").sql('SELECT SOPInstanceUID FROM "b"').fetchall()
        mine = dicomlake.open(tmp_path / "deid").sql('SELECT SOPInstanceUID FROM "web"').fetchall()
        assert sorted(back) == sorted(mine)
    out = tmp_path / "files"
    e = cli("export", "--lake", str(lake), "--store", "web", "--to", f"dicom:{out}")
    assert e.returncode == 0, e.stderr
    assert len(list(out.rglob("*.dcm"))) == n


def test_export_stow_reports_refused_instances(server: Orthanc, files: list[str], tmp_path: Path) -> None:
    dicomlake.ingest(tmp_path / "lake", files[:5], "f", progress=False)
    with Orthanc() as dest:
        r = cli("export", "--lake", str(tmp_path / "lake"), "--store", "f", "--to", f"dicomweb:{dest.url}")
        assert r.returncode == 0, r.stderr
        assert "exported 5 of 5" in r.stdout and dest.count() == 5
    dead = "http://127.0.0.1:9/dicom-web"
    assert_error(
        cli("export", "--lake", str(tmp_path / "lake"), "--store", "f", "--to", f"dicomweb:{dead}"), "cannot connect"
    )


def test_auth_and_unreachable_give_one_error_line(tmp_path: Path) -> None:
    with Orthanc(users={"alice": "s3cret"}) as locked:
        r = cli("ingest", locked.url, "--lake", str(tmp_path / "a"), "--store", "s")
        assert_error(r, "refused the credentials (HTTP 401)", "DICOMLAKE_DICOMWEB_TOKEN")
        assert not (tmp_path / "a").exists()
        env = {"DICOMLAKE_DICOMWEB_USER": "alice", "DICOMLAKE_DICOMWEB_PASSWORD": "s3cret"}
        ok = cli("ingest", locked.url, "--lake", str(tmp_path / "b"), "--store", "s", env=env)
        # the credentials are taken; the server holds nothing, which is an error, not an empty lake
        assert_error(ok, "lists no study", "nothing to ingest")
        assert "s3cret" not in ok.stdout + ok.stderr
        assert not (tmp_path / "b").exists()
        assert_error(cli("ingest", locked.base, "--lake", str(tmp_path / "c"), "--store", "s"), "HTTP 401")
    assert_error(
        cli("ingest", "http://127.0.0.1:9/dicom-web", "--lake", str(tmp_path / "d"), "--store", "s"), "cannot connect"
    )


def test_not_a_dicomweb_root(server: Orthanc, tmp_path: Path) -> None:
    assert_error(cli("ingest", server.base, "--lake", str(tmp_path / "x"), "--store", "s"), "not a DICOMweb endpoint")


def test_vanished_study_is_reported_and_the_rest_goes_on(files: list[str], tmp_path: Path) -> None:
    from dicomlake.sources.dicomweb import Server
    from dicomlake.sources.harvest import harvest

    with Orthanc() as o:
        o.load(files[:10] + files[40:43])
        server = Server(o.url)
        studies = list(server.studies())

        class Vanishing(Server):
            def studies(self) -> Iterator[str]:  # listed, then deleted before its metadata is fetched
                o.delete_study(studies[0])
                yield from studies

        s = harvest(tmp_path / "lake", Vanishing(o.url), "web", progress=False)
        assert any("study vanished" in i["reason"] for i in s.issues)
        assert s.ingested == o.count() > 0


def test_rerun_resumes_and_truncate_starts_over(server: Orthanc, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    assert cli("ingest", server.url, "--lake", str(lake), "--store", "web").returncode == 0
    first = dicomlake.open(lake).sql('SELECT max(dl_ingested_at), count(*) FROM "web"').fetchall()[0]
    again = cli("ingest", server.url, "--lake", str(lake), "--store", "web")
    assert again.returncode == 0 and "harvest resumed" in again.stdout
    assert dicomlake.open(lake).sql('SELECT max(dl_ingested_at), count(*) FROM "web"').fetchall()[0] == first
    fresh = cli("ingest", server.url, "--lake", str(lake), "--store", "web", "--write-disposition", "WRITE_TRUNCATE")
    assert fresh.returncode == 0 and "resumed" not in fresh.stdout
    latest, n = dicomlake.open(lake).sql('SELECT min(dl_ingested_at), count(*) FROM "web"').fetchall()[0]
    assert latest > first[0] and n == first[1]


def test_python_api_harvests_a_url(server: Orthanc, tmp_path: Path) -> None:
    lake = dicomlake.open(tmp_path / "lake", create=True)
    summary = lake.ingest(server.url, "web", progress=False)
    assert summary.ingested == server.count() == lake.sql("SELECT count(*) FROM web").fetchall()[0][0]
