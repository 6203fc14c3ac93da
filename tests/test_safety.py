"""The mistakes users make, from the command line: changed sources, wrong destinations, secrets
overwritten, instances no store could hold, runs that did nothing. Each is refused with one
``Error:`` line (or listed as a failure) and leaves the lake as it was."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

import dicomlake
from dicomlake.codec.reader import STORABLE
from dicomlake.errors import StoreError

from .helpers import CLI, assert_error, cli, write_instance


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("safety")
    assert cli("sample", str(root / "files"), "--n", "8").returncode == 0
    return root / "files"


def _lake(files: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    """A copy of the sample files ingested into a fresh lake (the tests change the copies)."""
    src = tmp_path / "src"
    shutil.copytree(files, src)
    p = cli("ingest", str(src), "--lake", str(tmp_path / "lake"), "--store", "s")
    assert p.returncode == 0, p.stderr
    rows = dicomlake.open(tmp_path / "lake").sql("SELECT dl_source FROM s ORDER BY dl_source").fetchall()
    return tmp_path / "lake", [Path(r[0]) for r in rows]


def _config(tmp_path: Path, body: dict | None = None) -> str:
    p = tmp_path / "request.json"
    p.write_text(json.dumps(body or {"dicomTagConfig": {}}))
    return str(p)


def _state(lake: Path) -> tuple[dict[str, int], list[str]]:
    """What a user sees of a lake: row count per store and every file below it."""
    lk = dicomlake.open(lake)
    rows = {s: lk.table(s).count("*").fetchall()[0][0] for s in lk.stores}
    return rows, sorted(str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file() and "catalog" not in p.name)


def _changed(paths: list[Path]) -> dict[str, str]:
    """Replace one source with another patient's file, cut one short, delete one: their paths."""
    paths[0].write_bytes(paths[-1].read_bytes())
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) - 1000])
    paths[2].unlink()
    return {"replaced": str(paths[0]), "malformed": str(paths[1]), "vanished": str(paths[2])}


def test_deidentify_lists_changed_sources_and_writes_the_rest(files: Path, tmp_path: Path) -> None:
    lake, paths = _lake(files, tmp_path)
    changed = _changed(paths)
    dest = tmp_path / "dest"
    p = cli("deidentify", "--lake", str(lake), "--config", _config(tmp_path), "--dest-lake", str(dest))
    assert p.returncode == 1
    assert "success 5, failure 3" in p.stdout
    failed = [ln for ln in p.stderr.splitlines() if ln.startswith("failed: ")]
    assert len(failed) == 3
    for what in ("replaced", "malformed"):
        (line,) = [ln for ln in failed if changed[what] in ln]
        assert "source file changed since ingest" in line and "re-ingest it" in line
    (line,) = [ln for ln in failed if changed["vanished"] in ln]
    assert "vanished since ingest" in line
    assert not [ln for ln in failed if "Error:" in ln], failed  # no Python class name (SourceChangedError: ...)
    assert p.stderr.strip().splitlines()[-1].startswith("Error: 3 instances failed")
    out = dicomlake.open(dest)
    (store,) = out.stores
    assert out.table(store).count("*").fetchall()[0][0] == 5
    assert len(list((dest / "files").rglob("*.dcm"))) == 5
    issues = out.issues().filter("severity = 'error'").fetchall()
    assert len(issues) == 3
    # the de-identified lake names no source path (a folder is often named after the patient)
    assert out.sql("SELECT count(*) FROM dl_issues WHERE path IS NOT NULL").fetchall() == [(0,)]
    catalog = (dest / "catalog.duckdb").read_bytes()
    assert not any(str(Path(p).parent).encode() in catalog for p in paths)


def test_a_destination_issue_names_no_source_even_in_its_reason() -> None:
    from dicomlake.deid.run import _without_source

    got = _without_source(
        {"path": "zip://a.dcm::/data/DOE_JANE/x.zip", "reason": "cannot be read (/data/DOE_JANE/x.zip: bad)"}
    )
    assert got["path"] is None and "DOE_JANE" not in got["reason"]


def test_ocr_of_burned_in_text_checks_its_sources(files: Path, tmp_path: Path) -> None:
    lake, paths = _lake(files, tmp_path)
    changed = _changed(paths)
    cfg = _config(tmp_path, {"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}}}})
    p = cli("deidentify", "--lake", str(lake), "--config", cfg, "--dest-lake", str(tmp_path / "dest"))
    assert p.returncode == 1 and "success 5, failure 3" in p.stdout
    failed = [ln for ln in p.stderr.splitlines() if ln.startswith("failed: ")]
    (line,) = [ln for ln in failed if changed["replaced"] in ln]
    assert "burned-in text could not be checked (source file changed since ingest" in line
    assert len(list((tmp_path / "dest" / "files").rglob("*.dcm"))) == 5


def test_export_verify_and_preview_check_their_sources(files: Path, tmp_path: Path) -> None:
    lake, paths = _lake(files, tmp_path)
    dest = tmp_path / "dest"
    p = cli("deidentify", "--lake", str(lake), "--config", _config(tmp_path), "--dest-lake", str(dest))
    assert p.returncode == 0, p.stderr
    changed = _changed(paths)
    p = cli("export", "--lake", str(lake), "--store", "s", "--to", f"dicom:{tmp_path / 'out'}")
    assert p.returncode == 1 and "exported 5 of 8" in p.stdout
    assert sum("source file changed since ingest" in ln for ln in p.stderr.splitlines()) == 2
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == 5
    written = sorted((dest / "files").rglob("*.dcm"))
    written[0].write_bytes(written[0].read_bytes() + b"\0\0")  # a de-identified file changed afterwards
    p = cli("verify", "--lake", str(dest), "--against", f"{lake}:s")
    assert p.returncode == 1
    assert f"warning: {written[0]}: not read: source file changed since ingest" in p.stderr
    assert p.stderr.strip().splitlines()[-1].startswith("Error: 1 of 8 files")
    uid = dicomlake.open(lake).sql("SELECT SOPInstanceUID FROM s WHERE dl_source = $p", {"p": changed["replaced"]})
    args = ["--lake", str(lake), "--store", "s", "--instance", uid.fetchall()[0][0], "--out", str(tmp_path / "x.png")]
    assert_error(cli("redact-preview", *args), "source file changed since ingest", changed["replaced"])
    assert not (tmp_path / "x.png").exists()


def _dcmtk_worklists(folder: Path) -> list[Path]:
    """The worklist examples the Debian package dcmtk installs (as dcmdump text), written as
    DICOM files with its dump2dcm: found through the package's own file list."""
    listed = subprocess.run(["dpkg", "-L", "dcmtk"], capture_output=True, text=True, check=True).stdout.split()
    dumps = sorted(p for p in listed if "/wlist" in p and p.endswith(".dump"))
    assert dumps, "dcmtk's worklist examples (wlistdb, wlistqry) are not installed: run ./dev.sh setup"
    folder.mkdir(parents=True)
    out = []
    for d in dumps:
        target = folder / (Path(d).stem + ".wl")
        subprocess.run(["dump2dcm", "-q", d, str(target)], check=True)
        out.append(target)
    return out


def _unstorable(files: list[Path]) -> dict[str, list[str]]:
    """Files pydicom reads as a dataset lacking one of the UIDs a store needs: path → missing."""
    import warnings

    import pydicom

    out = {}
    for f in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception:
            continue
        if ds.file_meta.get("MediaStorageSOPClassUID") == "1.2.840.10008.1.3.10":  # DICOMDIR: an info row
            continue
        missing = [k for k in STORABLE if not ds.get(k)]
        if missing:
            out[str(f.absolute())] = missing
    return out


def test_instances_without_uids_are_error_rows_not_store_rows(tmp_path: Path, testfiles_dir: Path) -> None:
    worklists = _dcmtk_worklists(tmp_path / "worklists")
    src = tmp_path / "src.txt"  # one ingest of both folders: a text file of paths
    pydicom_files = sorted(p for p in testfiles_dir.rglob("*") if p.is_file() and not p.name.startswith("."))
    src.write_text("".join(f"{p}\n" for p in [*pydicom_files, *worklists]))
    unstorable = _unstorable([*pydicom_files, *worklists])
    assert {str(w) for w in worklists} <= set(unstorable)
    assert any("SOPInstanceUID" in m for p, m in unstorable.items() if p.startswith(str(testfiles_dir)))
    lake = tmp_path / "lake"
    p = cli("ingest", str(src), "--lake", str(lake), "--store", "t", "--workers", "2")
    assert p.returncode == 0, p.stderr
    lk = dicomlake.open(lake)
    in_store = {r[0] for r in lk.sql("SELECT dl_source FROM t").fetchall()}
    assert not in_store & set(unstorable)
    errors = dict(lk.sql("SELECT path, reason FROM dl_issues WHERE severity = 'error'").fetchall())
    for path, missing in unstorable.items():
        assert errors[path] == f"not a storable instance: no {', '.join(missing)}"
    assert lk.sql("SELECT count(*) FROM t WHERE SOPInstanceUID IS NULL OR StudyInstanceUID IS NULL").fetchall() == [
        (0,)
    ]
    count = len(in_store)
    for _ in range(2):
        p = cli("ingest", str(src), "--lake", str(lake), "--store", "t", "--write-disposition", "WRITE_APPEND")
        assert p.returncode == 0, p.stderr
        assert f"store 't' now has {count} rows" in p.stdout


def test_failure_lists_print_every_entry(tmp_path: Path) -> None:
    assert cli("sample", str(tmp_path / "files"), "--n", "24").returncode == 0
    p = cli("ingest", str(tmp_path / "files"), "--lake", str(tmp_path / "lake"), "--store", "s")
    assert p.returncode == 0, p.stderr
    sources = [r[0] for r in dicomlake.open(tmp_path / "lake").sql("SELECT dl_source FROM s").fetchall()]
    for path in sources[2:]:
        Path(path).unlink()
    p = cli("export", "--lake", str(tmp_path / "lake"), "--store", "s", "--to", f"dicom:{tmp_path / 'out'}")
    assert p.returncode == 1 and "exported 2 of 24" in p.stdout
    failed = [ln for ln in p.stderr.splitlines() if ln.startswith("failed: ")]
    assert len(failed) == 22 and all(any(s in ln for ln in failed) for s in sources[2:])
    assert p.stderr.strip().splitlines()[-1] == "Error: 22 of 24 instances could not be exported (listed above)"


def test_a_source_without_dicom_is_an_error_and_creates_no_lake(files: Path, tmp_path: Path) -> None:
    empty, junk = tmp_path / "empty", tmp_path / "junk"
    empty.mkdir()
    junk.mkdir()
    (junk / "notes.txt").write_text("not dicom")
    cohort = tmp_path / "cohort.zip"
    with zipfile.ZipFile(cohort, "w") as z:
        z.writestr("notes.txt", "not dicom")
    lake = tmp_path / "lake"
    cases = [
        (empty, ["holds no files"]),
        (junk, ["no DICOM instance found", "notes.txt: not a DICOM file"]),
        (cohort, ["no DICOM instance found", "notes.txt in cohort.zip: not a DICOM file"]),
    ]
    for source, words in cases:
        assert_error(cli("ingest", str(source), "--lake", str(lake), "--store", "s"), *words)
        assert not lake.exists()
    lake.mkdir()  # an empty folder given as the lake stays as it was
    assert_error(cli("ingest", str(junk), "--lake", str(lake), "--store", "s"), "no DICOM instance found")
    assert list(lake.iterdir()) == []
    lake.rmdir()
    existing, _ = _lake(files, tmp_path)
    before = _state(existing)
    for write_disposition in ("WRITE_APPEND", "WRITE_TRUNCATE"):
        p = cli("ingest", str(empty), "--lake", str(existing), "--store", "s", "--write-disposition", write_disposition)
        assert_error(p, "holds no files")
        assert _state(existing) == before


def test_compressed_files_found_in_a_folder_are_named_as_such(files: Path, tmp_path: Path) -> None:
    """A gzip-compressed file that is not a tar archive (archives are read: tests/test_archives.py)."""
    src = tmp_path / "src"
    shutil.copytree(files, src)
    one = next(p for p in files.rglob("*") if p.is_file())
    with gzip.open(src / "one.dcm.gz", "wb") as gz:
        gz.write(one.read_bytes())
    p = cli("ingest", str(src), "--lake", str(tmp_path / "lake"), "--store", "s")
    assert p.returncode == 0, p.stderr
    assert "ingested 8 instances" in p.stdout
    issues = dicomlake.open(tmp_path / "lake").sql("SELECT path, reason FROM dl_issues").fetchall()
    assert issues == [
        (
            str(src / "one.dcm.gz"),
            "a gzip-compressed file (.gz, .tgz), which ingest does not read: unpack it, "
            "or pack it as an archive (.zip, .tar, .tar.gz, .tgz, .tar.bz2, .tar.xz)",
        )
    ]


def test_a_filter_that_selects_nothing_is_an_error(files: Path, tmp_path: Path) -> None:
    lake, _ = _lake(files, tmp_path)
    assert cli("store", "create", "out", "--lake", str(lake)).returncode == 0
    before = _state(lake)
    empty, nothing = tmp_path / "empty.txt", tmp_path / "nothing.txt"
    empty.write_text("")
    nothing.write_text("/studies/1.2.3\n/studies/1.2.3/series/4\n")
    cfg = _config(tmp_path)
    for filt, words in ((empty, ["empty.txt is empty", "write it again"]), (nothing, ["selects nothing", "line 1"])):
        for to in (f"dicom:{tmp_path / 'out'}", f"lake:{tmp_path / 'l2'}/s", f"{tmp_path / 'o.parquet'}"):
            assert_error(cli("export", "--lake", str(lake), "--store", "s", "--to", to, "--filter", str(filt)), *words)
        args = ["--lake", str(lake), "--store", "s", "--dest-store", "out", "--filter", str(filt)]
        assert_error(cli("deidentify", "--config", cfg, *args), *words)
        assert _state(lake) == before
        assert not [p for p in tmp_path.iterdir() if p.name in ("out", "l2", "o.parquet")]


def test_destination_mistakes_are_refused_and_change_nothing(files: Path, tmp_path: Path) -> None:
    lake, _ = _lake(files, tmp_path)
    cfg = _config(tmp_path)
    before = _state(lake)
    same = ["--lake", str(lake), "--store", "s", "--dest-lake", str(lake), "--dest-store", "S"]
    assert_error(cli("deidentify", "--config", cfg, *same), "never its own destination")
    assert_error(cli("deidentify", "--config", cfg, "--lake", str(lake), "--store", "s", "--dest-store", "s"), "own")
    inside = lake / "stores" / "deid"
    assert_error(cli("deidentify", "--config", cfg, "--lake", str(lake), "--dest-lake", str(inside)), "inside")
    assert_error(cli("export", "--lake", str(lake), "--store", "s", "--to", f"lake:{lake}/s"), "never its own")
    assert _state(lake) == before and not inside.exists()


def test_an_existing_crosswalk_is_kept_unless_overwrite(files: Path, tmp_path: Path) -> None:
    lake, _ = _lake(files, tmp_path)
    cfg = _config(tmp_path)
    crosswalk = tmp_path / "crosswalk.parquet"
    crosswalk.write_bytes(b"the only way back from last year's release")
    args = ["deidentify", "--config", cfg, "--lake", str(lake), "--crosswalk", str(crosswalk), "--dest-lake"]
    assert_error(cli(*args, str(tmp_path / "d1")), "already exists", "--overwrite")
    assert crosswalk.read_bytes() == b"the only way back from last year's release"
    assert not (tmp_path / "d1").exists()
    p = cli(*args, str(tmp_path / "d2"), "--overwrite")
    assert p.returncode == 0, p.stderr
    lk = dicomlake.open(lake)
    mapped = {r[0] for r in lk.con.sql(f"SELECT original FROM '{crosswalk}' WHERE kind = 'UID'").fetchall()}
    assert {r[0] for r in lk.sql("SELECT SOPInstanceUID FROM s").fetchall()} <= mapped


def _on_terminal(args: list[str], answer: str) -> subprocess.CompletedProcess[str]:
    """The CLI with a terminal as its input (a pty), the user typing ``answer``: a real process,
    as only a process can have a terminal as its stdin."""
    import os
    import pty

    leader, follower = pty.openpty()
    os.write(leader, answer.encode())
    try:
        return subprocess.run([*CLI, *args], stdin=follower, capture_output=True, text=True, timeout=120)
    finally:
        os.close(leader)
        os.close(follower)


def test_store_drop_asks_on_a_terminal_and_needs_yes_otherwise(files: Path, tmp_path: Path) -> None:
    lake, paths = _lake(files, tmp_path)
    before = _state(lake)
    drop = ["store", "drop", "s", "--lake", str(lake)]
    assert_error(cli(*drop), "not dropped", "--yes")
    p = _on_terminal(drop, "n\n")
    assert "Drop store 's'" in p.stdout and "(8 rows)" in p.stdout
    assert_error(p, "not dropped", "you answered no")
    assert _state(lake) == before
    p = _on_terminal(drop, "y\n")
    assert p.returncode == 0, p.stderr
    assert dicomlake.open(lake).stores == [] and all(p.exists() for p in paths)
    assert cli("ingest", str(files), "--lake", str(lake), "--store", "t").returncode == 0
    with pytest.raises(StoreError, match="deletes its 8 rows and their files: pass confirm=True"):
        dicomlake.open(lake).drop_store("t")
    assert cli("store", "drop", "t", "--lake", str(lake), "--yes").returncode == 0
    assert dicomlake.open(lake).stores == []


def test_spark_tasks_and_stow_check_their_sources(files: Path, tmp_path: Path, spark: object) -> None:
    from dicomlake.demo.orthanc import Orthanc

    lake, paths = _lake(files, tmp_path)
    changed = _changed(paths)
    assert cli("store", "create", "out", "--lake", str(tmp_path / "dest")).returncode == 0
    args = ["--lake", str(lake), "--store", "s", "--dest-lake", str(tmp_path / "dest"), "--dest-store", "out"]
    p = cli("deidentify", "--config", _config(tmp_path), *args, "--engine", "spark", "--spark-master", "local[1]")
    assert p.returncode == 1 and "success 5, failure 3" in p.stdout
    failed = [ln for ln in p.stderr.splitlines() if ln.startswith("failed: ")]
    assert len(failed) == 3 and sum("source file changed since ingest" in ln for ln in failed) == 2
    assert any(changed["vanished"] in ln and "vanished since ingest" in ln for ln in failed)
    assert dicomlake.open(tmp_path / "dest").table("out").count("*").fetchall() == [(5,)]
    assert len(list((tmp_path / "dest" / "files").rglob("*.dcm"))) == 5
    with Orthanc() as dest:
        p = cli("export", "--lake", str(lake), "--store", "s", "--to", f"dicomweb:{dest.url}")
        assert p.returncode == 1 and "exported 5 of 8" in p.stdout
        assert sum("source file changed since ingest" in ln for ln in p.stderr.splitlines()) == 2
        assert dest.count() == 5


def test_harvest_records_an_instance_without_sop_class_as_an_error(tmp_path: Path) -> None:
    """Orthanc stores an instance without SOPClassUID; a DICOMweb harvest does not."""
    from pydicom import dcmread

    from dicomlake.demo.orthanc import Orthanc

    good = write_instance(tmp_path / "good.dcm")
    bad = write_instance(tmp_path / "bad.dcm")
    ds = dcmread(bad)
    del ds.SOPClassUID
    ds.save_as(bad)
    with Orthanc() as server:
        assert server.load([good, bad]) == 2
        for exact in ([], ["--exact"]):
            lake = tmp_path / f"lake{len(exact)}"
            p = cli("ingest", server.url, "--lake", str(lake), "--store", "web", *exact)
            assert p.returncode == 0, p.stderr
            lk = dicomlake.open(lake)
            assert lk.sql("SELECT SOPInstanceUID FROM web").fetchall() == [(dcmread(good).SOPInstanceUID,)]
            reasons = [r for (r,) in lk.sql("SELECT reason FROM dl_issues WHERE severity = 'error'").fetchall()]
            assert reasons == ["not a storable instance: no SOPClassUID"]
