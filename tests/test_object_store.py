"""Ingest from and export to an object store: a real S3 server (moto's standalone server) on
loopback, started here, holding nested prefixes and a zip and a tar.gz among plain files."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import dicomlake
from dicomlake.cli import app
from dicomlake.errors import SourceError
from dicomlake.rematerialize.export import Destination
from dicomlake.sources import objects

pytest.importorskip("s3fs")
pytest.importorskip("moto.server")

BUCKET = "cohort"
EXCEPT = "* EXCLUDE (dl_source, dl_source_version, dl_ingested_at)"  # where and when each row came from
CLI = [sys.executable, "-c", "from dicomlake.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def s3() -> Iterator[str]:
    """moto's S3 server on a free loopback port; the environment points s3:// at it."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": url,
    }
    saved = {k: os.environ.get(k) for k in [*env, "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"]}
    os.environ.update(env)
    os.environ.pop("AWS_ENDPOINT_URL_S3", None)
    os.environ.pop("AWS_PROFILE", None)
    fs, _ = objects.filesystem(f"s3://{BUCKET}")
    fs.mkdir(BUCKET)
    try:
        yield url
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(autouse=True)
def no_endpoint_option() -> Iterator[None]:
    """``--endpoint-url`` given in-process sets the endpoint for the process: reset it after each test."""
    yield
    objects.configure(None)


def upload(folder: Path, prefix: str) -> None:
    fs, _ = objects.filesystem(prefix)
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            fs.put_file(str(p), f"{prefix[5:].rstrip('/')}/{p.relative_to(folder).as_posix()}")


@pytest.fixture(scope="session")
def cohort(s3: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A folder with nested plain files, a zip and a tar.gz; the same under s3://cohort/src/; a
    lake of the folder."""
    from dicomlake.demo.sample import make_sample

    root = tmp_path_factory.mktemp("objects")
    files = root / "files"
    make_sample(files / "plain", 16, seed=11)
    make_sample(root / "z", 8, seed=12)
    make_sample(root / "t", 8, seed=13)
    (files / "archives" / "deeper").mkdir(parents=True)
    with zipfile.ZipFile(files / "archives" / "z.zip", "w") as z:
        for p in sorted((root / "z").rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(root / "z").as_posix())
    with tarfile.open(files / "archives" / "deeper" / "t.tar.gz", "w:gz") as t:
        for p in sorted((root / "t").rglob("*")):
            if p.is_file():
                t.add(p, p.relative_to(root / "t").as_posix())
    upload(files, f"s3://{BUCKET}/src")
    dicomlake.ingest(root / "lake", files, "folder", progress=False)
    return {"files": files, "lake": root / "lake", "root": root, "n": 32}


def rows(lake: Path, store: str) -> Any:
    return dicomlake.open(lake).sql(f'SELECT {EXCEPT} FROM "{store}" ORDER BY SOPInstanceUID').to_arrow_table()


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_rows_from_s3_equal_rows_from_the_folder(cohort: dict[str, Any], tmp_path: Path) -> None:
    r = cli("ingest", f"s3://{BUCKET}/src", "--lake", tmp_path / "lake", "--store", "s3", "--workers", "2")
    assert r.exit_code == 0, r.output
    assert f"ingested {cohort['n']} instances" in r.output
    assert rows(tmp_path / "lake", "s3").equals(rows(cohort["lake"], "folder"))
    sources = [x for (x,) in dicomlake.open(tmp_path / "lake").sql('SELECT dl_source FROM "s3"').fetchall()]
    assert sum(x.startswith(f"s3://{BUCKET}/src/plain/") for x in sources) == 16
    assert sum(x.startswith("zip://") and x.endswith(f"::s3://{BUCKET}/src/archives/z.zip") for x in sources) == 8
    assert sum(x.endswith(f"::s3://{BUCKET}/src/archives/deeper/t.tar.gz") for x in sources) == 8


def test_a_filter_file_selects_from_s3(cohort: dict[str, Any], tmp_path: Path) -> None:
    lake = dicomlake.open(cohort["lake"])
    (study,) = lake.sql('SELECT min(StudyInstanceUID) FROM "folder"').fetchall()[0]
    (tmp_path / "f.txt").write_text(f"/studies/{study}\n")
    r = cli("ingest", f"s3://{BUCKET}/src", "--lake", tmp_path / "lake", "--store", "f", "--filter", tmp_path / "f.txt")
    assert r.exit_code == 0, r.output
    got = dicomlake.open(tmp_path / "lake").sql('SELECT DISTINCT StudyInstanceUID FROM "f"').fetchall()
    assert got == [(study,)]


def test_export_to_s3_is_byte_identical_and_tables_read_back(cohort: dict[str, Any], tmp_path: Path) -> None:
    lake = cohort["lake"]
    r = cli("export", "--lake", lake, "--store", "folder", "--to", f"dicom:s3://{BUCKET}/out/dicom/")
    assert r.exit_code == 0, r.output
    assert not Path("s3:").exists()
    fs, _ = objects.filesystem(f"s3://{BUCKET}")
    src = dict(dicomlake.open(lake).sql('SELECT SOPInstanceUID, dl_source FROM "folder"').fetchall())
    written = fs.find(f"{BUCKET}/out/dicom")
    assert len(written) == len(src) == cohort["n"]
    for key in written:
        assert fs.cat_file(key) == dicomlake.sources.files.read_source(src[key.rsplit("/", 1)[1][:-4]])
    again = cli("export", "--lake", lake, "--store", "folder", "--to", f"dicom:s3://{BUCKET}/out/dicom")
    assert again.exit_code == 0, again.output  # the same bytes again: nothing to refuse
    want = dicomlake.open(lake).sql('SELECT * FROM "folder" ORDER BY SOPInstanceUID').to_arrow_table()
    for to in (f"parquet:s3://{BUCKET}/out/t.parquet", f"parquet:s3://{BUCKET}/out/pq"):
        r = cli("export", "--lake", lake, "--store", "folder", "--to", to)
        assert r.exit_code == 0, r.output
        key = to[11:] + ("" if to.endswith(".parquet") else "/part-0.parquet")
        fs.get_file(key, str(tmp_path / "t.parquet"))
        got = pq.read_table(tmp_path / "t.parquet").sort_by("SOPInstanceUID")
        assert got.equals(want)
        refused = cli("export", "--lake", lake, "--store", "folder", "--to", to)
        assert refused.exit_code == 1 and "WRITE_EMPTY" in refused.output
        assert refused.output.startswith(f"Error: Parquet destination {to[8:]} already has"), refused.output
    r = cli("export", "--lake", lake, "--store", "folder", "--to", f"ndjson:s3://{BUCKET}/out/t.ndjson")
    assert r.exit_code == 0, r.output
    lines = fs.cat_file(f"{BUCKET}/out/t.ndjson").decode().splitlines()
    assert sorted(json.loads(x)["SOPInstanceUID"] for x in lines) == sorted(src)
    r = cli("export", "--lake", lake, "--store", "folder", "--to", f"ndjson:s3://{BUCKET}/out/t.ndjson",
            "--write-disposition", "WRITE_APPEND")  # fmt: skip
    assert r.exit_code == 0 and len(fs.cat_file(f"{BUCKET}/out/t.ndjson").decode().splitlines()) == 2 * len(src)
    for to in ("parquet:s3://no-such-bucket/t.parquet", "dicom:s3://no-such-bucket/out/"):
        r = cli("export", "--lake", lake, "--store", "folder", "--to", to)
        assert r.exit_code == 1 and r.output.count("\n") == 1, r.output
        assert r.output.startswith("Error: cannot write s3://no-such-bucket/") and "create the bucket" in r.output


def test_changed_and_vanished_objects_are_listed_failures(cohort: dict[str, Any], tmp_path: Path) -> None:
    prefix = f"s3://{BUCKET}/mutable"
    upload(cohort["files"], prefix)
    lake = tmp_path / "lake"
    assert cli("ingest", prefix, "--lake", lake, "--store", "m").exit_code == 0
    fs, _ = objects.filesystem(prefix)
    plain = sorted(fs.find(f"{BUCKET}/mutable/plain"))
    fs.pipe_file(plain[0], fs.cat_file(plain[0])[:-1] + b"X")  # changed
    fs.rm_file(plain[1])  # vanished
    fs.rm_file(f"{BUCKET}/mutable/archives/z.zip")  # an archive gone: its 8 members vanished
    r = cli("export", "--lake", lake, "--store", "m", "--to", f"dicom:{tmp_path / 'out'}")
    assert r.exit_code == 1
    failed = [ln for ln in r.output.splitlines() if ln.startswith("failed: ")]
    assert len(failed) == 10
    assert sum("source object changed since ingest (its version is now" in ln for ln in failed) == 1
    assert sum("source object vanished since ingest" in ln for ln in failed) == 1
    assert sum("source archive member vanished since ingest" in ln for ln in failed) == 8
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == cohort["n"] - 10
    (tmp_path / "request.json").write_text(json.dumps({"dicomTagConfig": {}}))
    d = cli("deidentify", "--lake", lake, "--config", tmp_path / "request.json", "--dest-lake", tmp_path / "dest")
    assert d.exit_code == 1 and f"success {cohort['n'] - 10}, failure 10" in d.output, d.output
    # the de-identified files of the run, exported to the object store the same way
    (store,) = dicomlake.open(tmp_path / "dest").stores
    e = cli("export", "--lake", tmp_path / "dest", "--store", store, "--to", f"dicom:s3://{BUCKET}/deid")
    assert e.exit_code == 0, e.output
    assert len(fs.find(f"{BUCKET}/deid")) == cohort["n"] - 10


def _exported(lake: Path, store: str, out: Path) -> tuple[list[str], list[str]]:
    """Export a store to ``out``: (its failure lines, the object URLs whose bytes were read)."""
    read: list[str] = []
    real = objects.read_object

    def spy(url: str, version: str | None = None) -> bytes:
        data = real(url, version)
        read.append(url)
        return data

    objects.read_object = spy  # type: ignore[assignment]
    try:
        r = cli("export", "--lake", lake, "--store", store, "--to", f"dicom:{out}")
    finally:
        objects.read_object = real  # type: ignore[assignment]
    return [ln for ln in r.output.splitlines() if ln.startswith("failed: ")], read


def test_an_object_with_another_version_is_changed_without_reading_it(cohort: dict[str, Any], tmp_path: Path) -> None:
    """Ingest records each object's ETag from the listing; a reader that finds another one lists
    the object as changed and never downloads it. Unchanged objects are still hashed."""
    prefix = f"s3://{BUCKET}/versioned"
    upload(cohort["files"] / "plain", prefix)
    upload(cohort["files"] / "archives", f"{prefix}/archives")
    lake = tmp_path / "lake"
    assert cli("ingest", prefix, "--lake", lake, "--store", "v", "--workers", "2").exit_code == 0
    fs, _ = objects.filesystem(prefix)
    got = dict(dicomlake.open(lake).sql('SELECT dl_source, dl_source_version FROM "v"').fetchall())
    plain = sorted(u for u in got if u.startswith(f"{prefix}/"))
    assert len(plain) == 16 and all(got[u] == fs.info(u[5:])["ETag"] for u in plain)
    assert sorted(u for u in got if got[u] is not None) == plain  # archive members have no version of their own
    data = fs.cat_file(plain[0][5:])
    fs.pipe_file(plain[0][5:], data[:-1] + bytes([data[-1] ^ 1]))  # the same size, another ETag
    failed, read = _exported(lake, "v", tmp_path / "out")
    assert len(failed) == 1 and "source object changed since ingest (its version is now" in failed[0]
    assert plain[0] not in read and sorted(read) == plain[1:]
    assert len(list((tmp_path / "out").rglob("*.dcm"))) == cohort["n"] - 1


def test_a_store_ingested_before_the_version_column_is_checked_by_sha256(
    cohort: dict[str, Any], tmp_path: Path
) -> None:
    """A store whose files lack dl_source_version (written before it existed) exports, verifies
    and de-identifies as before: a changed object is found by its SHA-256."""
    prefix = f"s3://{BUCKET}/older"
    upload(cohort["files"] / "plain", prefix)
    lake = tmp_path / "lake"
    assert cli("ingest", prefix, "--lake", lake, "--store", "o").exit_code == 0
    for f in (lake / "stores" / "o").glob("*.parquet"):
        t = pq.read_table(f)
        pq.write_table(t.drop_columns(["dl_source_version"]), f)
    assert "dl_source_version" not in dicomlake.open(lake).sql('SELECT * FROM "o"').columns
    fs, _ = objects.filesystem(prefix)
    first = sorted(fs.find(f"{BUCKET}/older"))[0]
    data = fs.cat_file(first)
    fs.pipe_file(first, data[:-1] + bytes([data[-1] ^ 1]))
    failed, read = _exported(lake, "o", tmp_path / "out")
    assert len(failed) == 1 and "source object changed since ingest (SHA-256 differs)" in failed[0]
    assert f"s3://{first}" in read and len(read) == 16
    (tmp_path / "request.json").write_text(json.dumps({"dicomTagConfig": {}}))
    d = cli("deidentify", "--lake", lake, "--config", tmp_path / "request.json", "--dest-lake", tmp_path / "dest")
    assert d.exit_code == 1 and "success 15, failure 1" in d.output, d.output


def test_access_denied_and_unreachable_endpoint_are_one_error_line(cohort: dict[str, Any], tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}  # moto with authentication: keys are checked
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        for endpoint, words in (
            (f"http://127.0.0.1:{port}", "access denied"),
            (f"http://127.0.0.1:{free_port()}", "cannot reach"),
        ):
            r = cli(
                "ingest", f"s3://{BUCKET}/src", "--lake", tmp_path / "l", "--store", "x", "--endpoint-url", endpoint
            )
            assert r.exit_code == 1, r.output
            assert r.output.count("\n") == 1 and r.output.startswith("Error: ") and words in r.output, r.output
            assert "testing" not in r.output  # no credentials printed
            assert not (tmp_path / "l").exists()
            r = cli("export", "--lake", cohort["lake"], "--store", "folder", "--to", f"dicom:s3://{BUCKET}/x",
                    "--endpoint-url", endpoint)  # fmt: skip
            assert r.exit_code == 1 and r.output.startswith("Error: ") and words in r.output, r.output
    finally:
        server.kill()
        server.wait()


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("moto server did not start")


def test_killed_ingest_rerun_completes_without_duplicates(cohort: dict[str, Any], tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    cmd = [*CLI, "ingest", f"s3://{BUCKET}/src", "--lake", str(lake), "--store", "k"]
    proc = subprocess.Popen(
        [*cmd, "--batch-files", "2", "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((lake / "stores" / "k").glob("*.parquet"))) < 2:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(list((lake / "stores" / "k").glob("*.parquet")))
    assert before >= 2, "the ingest was not killed midway"
    r = cli("ingest", f"s3://{BUCKET}/src", "--lake", lake, "--store", "k")
    assert r.exit_code == 0, r.output
    assert "already in the store: ingest resumed" in r.output
    lk = dicomlake.open(lake)
    n, distinct = lk.sql('SELECT count(*), count(DISTINCT SOPInstanceUID) FROM "k"').fetchall()[0]
    assert n == distinct == cohort["n"]
    assert rows(lake, "k").equals(rows(cohort["lake"], "folder"))
    again = cli("ingest", f"s3://{BUCKET}/src", "--lake", lake, "--store", "k")
    assert again.exit_code == 0 and f"now has {cohort['n']} rows" in again.output, again.output


def test_gcs_and_azure_urls_share_the_code() -> None:
    assert objects.scheme_of("gs://b/k") == "gs" and objects.is_object_url("gs://b/k")
    assert objects.is_object_url("az://container/blob") and objects.is_object_url("abfss://c/b")
    assert not objects.is_object_url("/data/x") and not objects.is_object_url("https://h/dicom-web")
    for url, extra in (("gs://bucket/p", "gcs"), ("az://container/p", "azure")):
        d = Destination.parse(f"parquet:{url}/t.parquet")
        assert d.remote == f"{url}/t.parquet" and d.kind == "parquet"
        assert Destination.parse(f"dicom:{url}").remote == url
        pkg = objects.SCHEMES[url.split(":")[0]][1]
        try:
            __import__(pkg)
        except ImportError:  # without the extra: one clear error naming it
            with pytest.raises(SourceError, match=f"dicomlake\\[{extra}\\]"):
                objects.filesystem(url)
    # an object's version as each library's listing gives it (s3fs, gcsfs, adlfs)
    assert objects.version_of({"name": "b/k", "size": 3, "ETag": '"0cc1"', "type": "file"}) == '"0cc1"'
    assert objects.version_of({"name": "b/k", "etag": "CJC=", "generation": "1712"}) == "1712"
    assert objects.version_of({"name": "c/b", "etag": "0x8DC", "last_modified": "x"}) == "0x8DC"
    assert objects.version_of({"name": "b/k", "size": 3}) is None
    from dicomlake.sources.s3get import quoted, same_version

    assert (
        same_version('"0cc1"', "0cc1") and same_version('W/"0cc1"', '"0cc1"') and not same_version('"0cc1"', '"0cc2"')
    )
    assert quoted("0cc1") == quoted('"0cc1"') == '"0cc1"'
    with pytest.raises(Exception, match="a lake is a local folder"):
        Destination.parse("lake:s3://bucket/lake/store")
    for url in ("s3://", "s3:///x", "s3:////"):
        with pytest.raises(SourceError, match="names no bucket"):
            objects.list_objects(url)


def test_member_of_an_object_reads_back(cohort: dict[str, Any]) -> None:
    from dicomlake.sources.files import list_sources, read_source

    items = list_sources(f"s3://{BUCKET}/src/archives")
    assert len(items) == 16 and all("::s3://" in i for i in items)
    member = next(i for i in items if i.startswith("tar://"))
    name = member.split("::")[0][6:]
    with tarfile.open(cohort["files"] / "archives" / "deeper" / "t.tar.gz") as t:
        assert read_source(member) == t.extractfile(name).read()  # type: ignore[union-attr]


def test_no_credentials_is_one_error_line(tmp_path: Path) -> None:
    """Without any credentials (no keys, no profile, no instance role) ingest and export say how to
    give them, in one line; a real process, so no client of another test is reused."""
    from .helpers import assert_error, cli_process

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    lake = str(tmp_path / "lake")
    r = cli_process("ingest", "s3://no-bucket/x/", "--lake", lake, "--store", "s", env=env)
    assert_error(r, "no credentials for s3://no-bucket/x", "AWS_ACCESS_KEY_ID")


def test_the_fast_path_lists_and_reads_as_s3fs_does(cohort: dict[str, Any], s3: str) -> None:
    """obstore (the fast path) and s3fs find the same objects with the same versions, and read the
    same bytes, and a read on condition of a version refuses another one; a listing made for a
    process runs in a child, so its own forks can use obstore. In a fresh process, as a command
    runs."""
    import pickle

    fs, _ = objects.filesystem(f"s3://{BUCKET}")
    for name in ("a b.dcm", "pct%20x.dcm", "plus+x&y=z.dcm", "ünï/cödé.dcm", "伪#?.dcm", "back\\slash"):
        fs.pipe_file(f"{BUCKET}/named/{name}", name.encode())  # keys S3 takes, that need encoding in a URL
    slow = {f"s3://{p}": objects.version_of(i) for p, i in fs.find(f"{BUCKET}/named", detail=True).items()}
    urls = [*sorted(slow)[:5], f"s3://{BUCKET}/named/no-such-object"]
    code = (
        "import sys, pickle; from dicomlake.sources import s3get; "
        f"listed = s3get.list_prefix({BUCKET!r}, 'named', sys.argv[1]); "
        "in_child = s3get._state['runtime_pid'] is None; "
        "read = s3get.get_many(sys.argv[2:], sys.argv[1]); "
        f"checked = s3get.get_many(sys.argv[2:4], sys.argv[1], [{slow[urls[0]]!r}, '\"0000\"']); "
        "sys.stdout.buffer.write(pickle.dumps((listed, in_child, read, checked)))"
    )
    out = subprocess.run([sys.executable, "-c", code, s3, *urls], capture_output=True, check=True, timeout=60).stdout
    listed, in_child, read, checked = pickle.loads(out)
    assert listed is not None and {f"s3://{BUCKET}/{k}": v for k, (v, _) in listed.items()} == slow
    assert len(slow) == 6 and all(v.startswith('"') for v in slow.values())
    assert in_child
    assert read[:5] == [fs.cat_file(u[5:]) for u in urls[:5]]
    assert isinstance(read[5], FileNotFoundError)
    # asked for with If-Match: the recorded version is read, another one is refused unread
    assert checked[0] == read[0] and type(checked[1]).__name__ == "VersionChanged"


def test_keys_the_fast_path_refuses_are_read_by_s3fs(cohort: dict[str, Any], tmp_path: Path) -> None:
    """object_store refuses keys such as ``a//b``, ``a/./b`` and control characters, which S3
    allows: listing and reading such objects falls back to s3fs, and every object is ingested."""
    fs, _ = objects.filesystem(f"s3://{BUCKET}")
    plain = sorted(p for p in (cohort["files"] / "plain").rglob("*") if p.is_file())[:5]
    keys = ["odd/a//b.dcm", "odd/a/./c.dcm", "odd/ok/d.dcm", "odd/ok/e.dcm", "odd/x\x01.dcm"]
    for key, p in zip(keys, plain, strict=True):
        fs.put_file(str(p), f"{BUCKET}/{key}")
    r = cli("ingest", f"s3://{BUCKET}/odd", "--lake", tmp_path / "lake", "--store", "odd", "--workers", "2")
    assert r.exit_code == 0 and "ingested 5 instances" in r.output, r.output
    got = dicomlake.open(tmp_path / "lake").sql('SELECT dl_source FROM "odd" ORDER BY 1').fetchall()
    assert [x for (x,) in got] == sorted(f"s3://{BUCKET}/{k}" for k in keys)


def test_folder_markers_are_not_sources(cohort: dict[str, Any], tmp_path: Path) -> None:
    """A bucket's folder markers (empty objects named ``prefix/``, as consoles create them) are
    not listed as sources; an empty object is, and is an issue like an empty file."""
    fs, _ = objects.filesystem(f"s3://{BUCKET}")
    plain = sorted(p for p in (cohort["files"] / "plain").rglob("*") if p.is_file())[:3]
    for i, p in enumerate(plain):
        fs.put_file(str(p), f"{BUCKET}/marked/s{i}/x.dcm")
    for key in ("marked/", "marked/s0/", "marked/none/"):
        fs.pipe_file(f"{BUCKET}/{key}", b"")
    fs.pipe_file(f"{BUCKET}/marked/empty.dcm", b"")
    s = dicomlake.ingest(tmp_path / "lake", f"s3://{BUCKET}/marked", "m", workers=2, progress=False)
    assert s.ingested == 3
    assert [(i["path"], i["reason"]) for i in s.issues] == [(f"s3://{BUCKET}/marked/empty.dcm", "empty file")]


def test_a_process_that_used_the_fast_path_still_forks_workers_that_read(
    cohort: dict[str, Any], tmp_path: Path
) -> None:
    """obstore's runtime does not survive fork: once this process has read through it, the workers
    it forks read through s3fs (and would hang on obstore)."""
    code = (
        "import sys, dicomlake; from dicomlake.sources import objects, s3get; "
        "objects.read_object(sys.argv[1]); assert s3get._state['runtime_pid'] is not None; "
        "s = dicomlake.ingest(sys.argv[2], sys.argv[3], 'w', workers=2, progress=False); print(s.ingested)"
    )
    first = next(u for u in objects.list_objects(f"s3://{BUCKET}/src/plain"))
    r = subprocess.run(
        [sys.executable, "-c", code, first, str(tmp_path / "lake"), f"s3://{BUCKET}/src/plain"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 0 and r.stdout.strip() == "16", r.stderr


def test_spark_tasks_fetch_objects_themselves(s3: str, tmp_path: Path) -> None:
    """On Spark the driver lists and the executors fetch: each task carries the endpoint given
    to the driver and its own objects' versions; credentials are the executor's own (given here
    as ``spark.executorEnv``, as on a cluster)."""
    pytest.importorskip("pyspark")
    from dicomlake.engines.spark import session

    spark = session("local[2]")
    env = spark.sparkContext.environment
    saved = dict(env)
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"})
    from dicomlake.demo.sample import make_sample

    make_sample(tmp_path / "files", 8, seed=14)
    src = f"s3://{BUCKET}/spark"
    upload(tmp_path / "files", src)
    try:
        s = dicomlake.ingest(tmp_path / "lake", src, "sp", spark=spark, progress=False, endpoint_url=s3)
    finally:
        env.clear()
        env.update(saved)
    assert s.ingested == 8 and not s.issues, s.issues
    dicomlake.ingest(tmp_path / "lake", src, "local", progress=False)
    assert rows(tmp_path / "lake", "sp").equals(rows(tmp_path / "lake", "local"))
    fs, _ = objects.filesystem(src)
    listed = {f"s3://{p}": objects.version_of(i) for p, i in fs.find(src[5:], detail=True).items()}
    got = dicomlake.open(tmp_path / "lake").sql('SELECT dl_source, dl_source_version FROM "sp"').fetchall()
    assert dict(got) == listed


def test_a_rerun_reads_again_what_changed_and_nothing_else(cohort: dict[str, Any], tmp_path: Path) -> None:
    """Run again over the same prefix, ingest reads only what it has not read: a finished ingest
    changes nothing (its duplicates and non-DICOM objects are not read again), and an object
    changed since (another ETag) is read again and replaces its rows, as the error that lists it
    as changed advises."""
    prefix = f"s3://{BUCKET}/rerun"
    upload(cohort["files"] / "plain", prefix)
    fs, _ = objects.filesystem(prefix)
    first = sorted(fs.find(f"{BUCKET}/rerun"))[0]
    fs.pipe_file(f"{BUCKET}/rerun/zz-copy.dcm", fs.cat_file(first))  # the same instance twice
    fs.pipe_file(f"{BUCKET}/rerun/notes.txt", b"not DICOM")
    lake = tmp_path / "lake"
    args = ["ingest", prefix, "--lake", lake, "--store", "r", "--workers", "2"]
    r = cli(*args)
    assert r.exit_code == 0 and "ingested 16 instances from 18 files" in r.output and "duplicates 1" in r.output, (
        r.output
    )
    lk = dicomlake.open(lake)
    before = (
        sorted(lk.sql('SELECT dl_source, dl_source_version FROM "r"').fetchall()),
        lk.sql("SELECT count(*) FROM dl_issues WHERE store = 'r'").fetchall(),
    )
    again = cli(*args)
    assert again.exit_code == 0, again.output
    assert "already in the store: ingest resumed 16" in again.output, again.output
    assert "already in dl_issues: ingest resumed 2" in again.output, again.output
    lk = dicomlake.open(lake)
    after = (
        sorted(lk.sql('SELECT dl_source, dl_source_version FROM "r"').fetchall()),
        lk.sql("SELECT count(*) FROM dl_issues WHERE store = 'r'").fetchall(),
    )
    assert after == before
    second = sorted(fs.find(f"{BUCKET}/rerun"))[1]
    data = fs.cat_file(second)
    fs.pipe_file(second, data[:-1] + bytes([data[-1] ^ 1]))  # the same size, another ETag
    changed = cli(*args)
    assert changed.exit_code == 0 and "ingested 1 instances" in changed.output, changed.output
    assert "replaced 1" in changed.output and "already in the store: ingest resumed 15" in changed.output
    got = dict(dicomlake.open(lake).sql('SELECT dl_source, dl_source_version FROM "r"').fetchall())
    assert len(got) == 16 and got[f"s3://{second}"] == fs.info(second)["ETag"]
    e = cli("export", "--lake", lake, "--store", "r", "--to", f"dicom:{tmp_path / 'out'}")
    assert e.exit_code == 0, e.output


def test_an_invalid_bucket_name_is_one_error_line(s3: str, tmp_path: Path) -> None:
    for url in ("s3://Bad_Bucket!/x", "s3://bad bucket/x"):
        r = cli("ingest", url, "--lake", tmp_path / "l", "--store", "x")
        assert r.exit_code == 1 and r.output.count("\n") == 1, r.output
        assert r.output.startswith(f"Error: cannot use {url}: Invalid bucket name"), r.output
        assert not (tmp_path / "l").exists()


def test_an_unreachable_store_is_not_asked_again_for_every_object(s3: str) -> None:
    """Once an endpoint is found unreachable, the next objects a command reads fail at once with
    the same error (an export of a large store does not pay the connection retries per object):
    a server listening there by then is never asked."""
    port = free_port()
    objects.configure(f"http://127.0.0.1:{port}")
    with pytest.raises(SourceError, match="cannot reach the object store"):
        objects.read_object(f"s3://{BUCKET}/far/a.dcm")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        listener.settimeout(0.5)
        with pytest.raises(SourceError, match=f"cannot reach the object store for s3://{BUCKET}/far/b.dcm"):
            objects.read_object(f"s3://{BUCKET}/far/b.dcm")
        with pytest.raises(TimeoutError):
            listener.accept()
