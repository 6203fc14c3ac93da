"""Ingest from zip and tar archives (given directly, found in a folder, one level nested), members
read as streams; the member URLs in dl_source read back (checked) by export."""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file
from typer.testing import CliRunner

import dicomlake
from dicomlake.cli import app
from dicomlake.errors import SourceChangedError, SourceError
from dicomlake.rematerialize.export import export
from dicomlake.sources.archives import archive_kind, split_member
from dicomlake.sources.files import Source, list_sources, read_checked

from . import helpers
from .helpers import assert_error

EXCEPT = "* EXCLUDE (dl_source, dl_ingested_at)"


def rows(lake: Path, store: str) -> pa.Table:
    return dicomlake.open(lake).sql(f'SELECT {EXCEPT} FROM "{store}" ORDER BY SOPInstanceUID').to_arrow_table()


def add_tree(folder: Path, write: object) -> None:
    assert callable(write)
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            write(p, p.relative_to(folder).as_posix())


def make_zip(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        add_tree(folder, lambda p, name: z.write(p, name))
    return dest


def make_tar(folder: Path, dest: Path, mode: str) -> Path:
    with tarfile.open(dest, mode) as t:
        add_tree(folder, lambda p, name: t.add(p, name))
    return dest


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A folder of sample files (in subfolders, with a DICOMDIR), the same as archives, and a lake
    of the folder."""
    from dicomlake.demo.sample import make_sample

    root = tmp_path_factory.mktemp("archives")
    files = root / "files"
    make_sample(files / "a", 14, seed=3)
    make_sample(files / "b" / "c", 10, seed=4)
    shutil.copy(get_testdata_file("DICOMDIR"), files / "DICOMDIR")  # type: ignore[arg-type]
    out = {"files": files, "zip": make_zip(files, root / "cohort.zip")}
    for suffix, mode in ((".tar", "w"), (".tar.gz", "w:gz"), (".tar.bz2", "w:bz2"), (".tar.xz", "w:xz")):
        out[suffix] = make_tar(files, root / f"cohort{suffix}", mode)
    dicomlake.ingest(root / "lake", files, "folder", progress=False)
    out["lake"] = root / "lake"
    return out


@pytest.mark.parametrize("kind", ["zip", ".tar", ".tar.gz", ".tar.bz2", ".tar.xz"])
def test_rows_from_an_archive_equal_rows_from_the_folder(cohort: dict[str, Path], kind: str, tmp_path: Path) -> None:
    archive = cohort[kind]
    s = dicomlake.ingest(tmp_path / "lake", archive, "a", progress=False, workers=2)
    want = rows(cohort["lake"], "folder")
    assert s.ingested == want.num_rows == 24
    assert rows(tmp_path / "lake", "a").equals(want)
    sources = [r[0] for r in dicomlake.open(tmp_path / "lake").sql('SELECT dl_source FROM "a"').fetchall()]
    scheme = "zip" if kind == "zip" else "tar"
    assert all(x.startswith(f"{scheme}://") and x.endswith(f"::{archive}") for x in sources)
    # the DICOMDIR member is recognised as in a folder: an info issue, not an instance
    assert s.skipped_reasons == {"DICOMDIR": 1}


def test_archives_found_in_a_folder_and_nested_one_level(cohort: dict[str, Path], tmp_path: Path) -> None:
    """A folder holding a tar.gz and a tar with a zip inside: every instance comes out once."""
    src = tmp_path / "src"
    (src / "deep").mkdir(parents=True)
    shutil.copy(cohort[".tar.gz"], src / "deep" / "x.tgz")
    inner = tmp_path / "inner"
    inner.mkdir()
    shutil.copy(cohort["zip"], inner / "inner.zip")
    make_tar(inner, src / "outer.tar", "w")
    items = list_sources(src)
    assert any(i.startswith("zip://") and "::tar://inner.zip::" in i for i in items)
    s = dicomlake.ingest(tmp_path / "lake", src, "n", progress=False)
    assert s.ingested == 24 and s.duplicates == 24  # the same 24 instances in both archives
    assert rows(tmp_path / "lake", "n").equals(rows(cohort["lake"], "folder"))


def test_export_from_an_archive_store_is_byte_identical_and_checked(cohort: dict[str, Path], tmp_path: Path) -> None:
    archive = shutil.copy(cohort["zip"], tmp_path / "c.zip")
    dicomlake.ingest(tmp_path / "lake", archive, "z", progress=False)
    lake = dicomlake.open(tmp_path / "lake")
    s = export(lake, "z", f"dicom:{tmp_path / 'out'}")
    assert s.written == 24 and not s.failures
    folder = dict(dicomlake.open(cohort["lake"]).sql('SELECT SOPInstanceUID, dl_source FROM "folder"').fetchall())
    out = list((tmp_path / "out").rglob("*.dcm"))
    assert len(out) == 24
    for p in out:
        assert p.read_bytes() == Path(folder[p.stem]).read_bytes()
    # one member changed, one gone: both listed, the rest exported
    with zipfile.ZipFile(cohort["zip"]) as z:
        names = sorted(n for n in z.namelist() if n != "DICOMDIR")
        with zipfile.ZipFile(archive, "w") as out:
            for n in names[1:]:
                data = z.read(n)
                out.writestr(n, data[:-1] + b"X" if n == names[1] else data)
    s = export(lake, "z", f"dicom:{tmp_path / 'out2'}")
    reasons = sorted(f["reason"].split(";")[0] for f in s.failures)
    assert reasons == [
        "source archive member changed since ingest (SHA-256 differs)",
        "source archive member vanished since ingest",
    ]
    assert s.written == 22
    Path(archive).unlink()
    s = export(lake, "z", f"dicom:{tmp_path / 'out3'}")
    assert len(s.failures) == 24 and all("vanished" in f["reason"] for f in s.failures)


def test_a_damaged_archive_is_an_issue_and_the_rest_goes_on(cohort: dict[str, Path], tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(cohort["files"] / "a", src)
    (src / "broken.zip").write_bytes(cohort["zip"].read_bytes()[:300])
    (src / "broken.tar.gz").write_bytes(cohort[".tar.gz"].read_bytes()[:300])
    (src / "truncated.tgz").write_bytes(cohort[".tar.gz"].read_bytes()[:-500])
    (src / "not-a.tar").write_bytes(b"plain text, named as a tar archive\n" * 30)
    inner, mid = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("deep.dcm", next((cohort["files"] / "a").rglob("*.dcm")).read_bytes())
    with zipfile.ZipFile(mid, "w") as z:
        z.writestr("inner.zip", inner.getvalue())
    with zipfile.ZipFile(src / "outer.zip", "w") as z:
        z.writestr("mid.zip", mid.getvalue())
    s = dicomlake.ingest(tmp_path / "lake", src, "d", progress=False)
    assert s.ingested == 14 and s.skipped == 5
    damaged = (
        "damaged archive: it cannot be opened as a {} archive (truncated, corrupt, or not the archive its name says)"
    )
    reasons = {Path(i["path"]).name: i["reason"] for i in s.issues}
    assert set(reasons) == {"broken.zip", "broken.tar.gz", "truncated.tgz", "not-a.tar", "outer.zip"}
    assert reasons["outer.zip"].startswith("archive nested too deep: an archive inside an archive inside an archive")
    assert reasons["broken.zip"].startswith(damaged.format("zip"))
    for name in ("broken.tar.gz", "truncated.tgz", "not-a.tar"):
        assert reasons[name].startswith(damaged.format("tar")), reasons[name]
    alone = helpers.cli("ingest", str(src / "truncated.tgz"), "--lake", str(tmp_path / "l2"), "--store", "d")
    assert_error(alone, "truncated.tgz: damaged archive")
    assert "gzip-compressed" not in alone.stderr and not (tmp_path / "l2").exists()


def test_member_urls_parse_and_read(cohort: dict[str, Path]) -> None:
    url = f"tar://a/{next((cohort['files'] / 'a').rglob('*.dcm')).relative_to(cohort['files'] / 'a')}"
    m = split_member(f"{url}::s3://bucket/x.tar.gz")
    assert m is not None and m.kind == "tar" and m.container == "s3://bucket/x.tar.gz"
    assert split_member("/data/a.dcm") is None and split_member("s3://b/k") is None
    assert archive_kind("X.TGZ") == "tar" and archive_kind("a.zip") == "zip" and archive_kind("zipMR.gz") is None
    member = next(i for i in list_sources(cohort[".tar.xz"]) if i.endswith(".dcm::" + str(cohort[".tar.xz"])))
    data = read_checked(Source(member))
    name = split_member(member).name  # type: ignore[union-attr]
    assert data == (cohort["files"] / name).read_bytes()
    with tarfile.open(cohort[".tar.gz"]) as t:
        assert io.BytesIO(t.extractfile(name).read()).read() == data  # type: ignore[union-attr]


def test_unknown_url_schemes_are_errors(cohort: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", "ftp://host/x", "--lake", str(tmp_path / "l"), "--store", "s"])
    assert r.exit_code == 1 and r.output.count("Error:") == 1 and "ftp://" in r.output
    assert not (tmp_path / "l").exists()
    for to in ("dicom:ftp://host/x", "parquet:hdfs://nn/x.parquet", "ndjson:webdav://h/x.ndjson"):
        r = runner.invoke(app, ["export", "--lake", str(cohort["lake"]), "--store", "folder", "--to", to])
        assert r.exit_code == 1 and "Error:" in r.output and "not handled" in r.output, r.output
        assert "write to a local path or an object store" in r.output and "zip://" not in r.output, r.output
    assert not Path("ftp:").exists() and not Path("hdfs:").exists()
    with pytest.raises(SourceError, match="not handled"):
        list_sources("sftp://host/x")


def test_spark_tasks_read_archive_members_themselves(cohort: dict[str, Path], tmp_path: Path) -> None:
    """The driver lists the members; the executors read them (one task per run of tar members)."""
    pytest.importorskip("pyspark")
    from dicomlake.engines.spark import session

    spark = session("local[2]")
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(cohort["zip"], src / "a.zip")
    shutil.copy(cohort[".tar.gz"], src / "b.tgz")
    s = dicomlake.ingest(tmp_path / "lake", src, "sp", spark=spark, progress=False)
    assert s.ingested == 24 and s.duplicates == 24
    assert rows(tmp_path / "lake", "sp").equals(rows(cohort["lake"], "folder"))


def test_export_from_a_tar_gz_store_reads_it_once_and_sees_it_change(cohort: dict[str, Path], tmp_path: Path) -> None:
    """Members read one by one come from one pass over the archive, kept while it is unchanged."""
    archive = Path(shutil.copy(cohort[".tar.gz"], tmp_path / "c.tgz"))
    dicomlake.ingest(tmp_path / "lake", archive, "t", progress=False)
    lake = dicomlake.open(tmp_path / "lake")
    s = export(lake, "t", f"dicom:{tmp_path / 'out'}")
    assert s.written == 24 and not s.failures
    folder = dict(dicomlake.open(cohort["lake"]).sql('SELECT SOPInstanceUID, dl_source FROM "folder"').fetchall())
    for p in (tmp_path / "out").rglob("*.dcm"):
        assert p.read_bytes() == Path(folder[p.stem]).read_bytes()
    with tarfile.open(cohort[".tar.gz"]) as src, tarfile.open(archive, "w:gz") as out:
        names = sorted(m.name for m in src.getmembers() if m.isfile() and m.name != "DICOMDIR")
        for m in src.getmembers():
            if m.isfile() and m.name != names[0]:
                data = src.extractfile(m).read()  # type: ignore[union-attr]
                data = data[:-1] + b"X" if m.name == names[1] else data
                m.size = len(data)
                out.addfile(m, io.BytesIO(data))
    s = export(lake, "t", f"dicom:{tmp_path / 'out2'}")
    assert sorted(f["reason"].split(";")[0] for f in s.failures) == [
        "source archive member changed since ingest (SHA-256 differs)",
        "source archive member vanished since ingest",
    ]


def _odd_tar(dest: Path, fmt: int) -> Path:
    """Members in every naming form tarfile writes: long paths (ustar prefix, GNU long names, pax
    paths), non-ASCII names, folders, links, an empty file."""
    with tarfile.open(dest, "w", format=fmt) as t:
        for name, data in (
            ("a" * 60 + "/" + "b" * 70 + "/x.dcm", b"x" * 700),
            ("c" * 120 if fmt != tarfile.USTAR_FORMAT else "c.dcm", b"abc"),
            ("é名/scan.dcm", b"12345"),
            ("empty.dcm", b""),
        ):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for kind, name in ((tarfile.DIRTYPE, "folder"), (tarfile.SYMTYPE, "link"), (tarfile.LNKTYPE, "hard")):
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname = kind, "q" * (150 if fmt != tarfile.USTAR_FORMAT else 5)
            t.addfile(ti)
    return dest


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_the_quick_tar_scan_finds_what_tarfile_finds(fmt: int, tmp_path: Path) -> None:
    from dicomlake.sources.tarscan import Scan

    path = _odd_tar(tmp_path / "odd.tar", fmt)
    with tarfile.open(path) as t:
        want = [(ti.name, ti.offset_data, ti.size) for ti in t if ti.isfile()]
    with open(path, "rb") as f:
        got = [tuple(e) for e in Scan(f, True, 0).files()]
    assert got == want and len(want) == 4
    for url in list_sources(path):
        name = split_member(url).name  # type: ignore[union-attr]
        with tarfile.open(path) as t:
            assert read_checked(Source(url)) == t.extractfile(name).read()  # type: ignore[union-attr]


def test_a_tar_the_quick_scan_leaves_to_tarfile_still_lists(tmp_path: Path) -> None:
    """A pax header the scan does not read (a name that is not UTF-8): tarfile lists the archive."""
    path = tmp_path / "binary.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape") as t:
        ti = tarfile.TarInfo("bad\udcffname.dcm")
        ti.size = 4
        t.addfile(ti, io.BytesIO(b"data"))
    assert b"hdrcharset" in path.read_bytes()
    from dicomlake.sources.archives import forget_listed, list_members, read_member, read_members

    urls = list_members(str(path), "tar")
    with tarfile.open(path, encoding="utf-8", errors="surrogateescape") as t:
        names = t.getnames()
    assert [split_member(u).name for u in urls] == names  # type: ignore[union-attr]
    assert dict(read_members(str(path), "tar", names)) == {names[0]: b"data"}
    forget_listed()  # a later reader (export) reads the archive whole, through tarfile too
    assert read_member(str(path), "tar", names[0]) == b"data"


@pytest.mark.parametrize("budget", [0, 1 << 30])
@pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".tar.bz2"])
def test_members_read_after_listing_come_from_it_while_the_archive_is_unchanged(
    cohort: dict[str, Path], tmp_path: Path, suffix: str, budget: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What listing kept (the bytes, or a plain tar's offsets) serves the reads after it, and a
    rewritten archive is read again, never from a stale listing."""
    from dicomlake.sources import archives

    monkeypatch.setattr(archives, "LISTED_BYTES", budget)
    path = Path(shutil.copy(cohort[suffix], tmp_path / f"c{suffix}"))
    try:
        urls = [u for u in archives.list_members(str(path), "tar") if not u.startswith("tar://DICOMDIR")]
        names = [split_member(u).name for u in urls]  # type: ignore[union-attr]
        got = dict(archives.read_members(str(path), "tar", names[::-1]))
        assert list(got) == names  # in archive order
        assert all(got[n] == (cohort["files"] / n).read_bytes() for n in names)
        assert archives.read_member(str(path), "tar", names[3]) == got[names[3]]
        mode = {".tar": "w", ".tar.gz": "w:gz", ".tar.bz2": "w:bz2"}[suffix]
        with tarfile.open(path, mode) as t:  # rewritten: the same names, other bytes
            for n in names:
                ti = tarfile.TarInfo(n)
                ti.size = 3
                t.addfile(ti, io.BytesIO(b"new"))
        assert set(dict(archives.read_members(str(path), "tar", names)).values()) == {b"new"}
        assert archives.read_member(str(path), "tar", names[0]) == b"new"
    finally:
        archives.forget_listed()


def test_a_zip_member_with_damaged_bytes_is_an_error_not_data(cohort: dict[str, Path], tmp_path: Path) -> None:
    from dicomlake.sources import archives

    path = tmp_path / "c.zip"
    with zipfile.ZipFile(cohort["zip"]) as z, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        name = sorted(n for n in z.namelist() if n.endswith(".dcm"))[0]
        out.writestr(name, z.read(name))
    raw = bytearray(path.read_bytes())
    raw[200] ^= 0xFF  # inside the stored member's data
    path.write_bytes(bytes(raw))
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        dict(archives.read_members(str(path), "zip", [name]))
    with pytest.raises(SourceChangedError, match="can no longer be read"):
        read_checked(Source(archives.member_url("zip", name, str(path))))


_SEGMENT = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(
    fmt=st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
    members=st.lists(
        st.tuples(st.lists(_SEGMENT, min_size=1, max_size=4).map("/".join), st.integers(0, 1500)),
        min_size=1,
        max_size=6,
        unique_by=lambda m: m[0],
    ),
)
def test_the_quick_tar_scan_agrees_with_tarfile_on_any_names(fmt: int, members: list[tuple[str, int]]) -> None:
    """Whatever names and sizes tarfile writes in a format, the scan finds the same members at the
    same offsets."""
    from dicomlake.sources.tarscan import Scan

    buf = io.BytesIO()
    try:
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
            for name, size in members:
                ti = tarfile.TarInfo(name)
                ti.size = size
                t.addfile(ti, io.BytesIO(bytes(range(256)) * (size // 256 + 1)))
    except ValueError:  # a name this format cannot hold (ustar): nothing to compare
        return
    buf.seek(0)
    with tarfile.open(fileobj=buf) as t:
        want = [(ti.name, ti.offset_data, ti.size) for ti in t if ti.isfile()]
    buf.seek(0)
    assert [tuple(e) for e in Scan(buf, True, 0).files()] == want
