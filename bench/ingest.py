"""Ingest benchmark: dicomlake ingest vs a bare pydicom header-reading loop, measured in one run.

    python bench/ingest.py [--n 5000] [--workers N] [--repeat 5] [--rows 1000000]

Each repetition times, one after the other on the same files (the order alternating between
repetitions, so that a change of load favours neither):

(a) baseline: ``pydicom.dcmread(path, stop_before_pixels=True)`` over every file, one process
    (pydicom reads the values lazily: they stay bytes until accessed);
(b) ``dicomlake.ingest`` of the same files with 1 worker (parse, convert every element including
    sequences, write Parquet, commit), in this process;
(c) the same ingest with ``--workers`` (default: all cores).

Printed, from the medians over the repetitions: files/s of each, the per-core ratio b/a (wall
clock, and per CPU second of this process, which the machine's other load disturbs less), and
the all-core ratio c/a. Targets: per core b/a >= 1.0; all cores c/a >= 1.0 on 2 cores.
The load average is printed before and after: compare ratios within one run, not across runs.
Then times ``latest_studies`` and a PatientID lookup on a store of ``--rows`` generated rows
(targets: <= 200 ms and <= 100 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pydicom

import dicomlake
from dicomlake.demo.sample import make_sample
from dicomlake.store.catalog import Catalog
from dicomlake.store.publish import publish_table


def baseline(paths: list[str]) -> None:
    for p in paths:
        pydicom.dcmread(p, stop_before_pixels=True)


def ingest(lake: Path, src: Path, workers: int | None) -> None:
    s = dicomlake.ingest(lake, src, "bench", workers=workers, progress=False, write_disposition="WRITE_TRUNCATE")
    assert s.skipped == 0, s.skipped_reasons


def timed(fn: Callable[[], None]) -> tuple[float, float]:
    """(wall clock, CPU time of this process) of one call, in seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def compare(root: Path, paths: list[str], workers: int, repeat: int) -> None:
    """Time (a) the pydicom loop, (b) ingest with 1 worker, (c) ingest with ``workers``, interleaved."""
    runs: dict[str, Callable[[], None]] = {
        "a": lambda: baseline(paths),
        "b": lambda: ingest(root / "lake1", root / "files", 1),
        "c": lambda: ingest(root / "lakeN", root / "files", workers),
    }
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
    for i in range(repeat):
        for k in list(runs)[:: 1 if i % 2 == 0 else -1]:
            times[k].append(timed(runs[k]))
    n = len(paths)
    wall = {k: n / statistics.median(t[0] for t in v) for k, v in times.items()}
    cpu = {k: n / statistics.median(t[1] for t in v) for k, v in times.items()}
    print(f"median of {repeat} interleaved runs over {n} files:")
    print(
        f"(a) pydicom dcmread(stop_before_pixels) loop, 1 process: {wall['a']:,.0f} files/s, {cpu['a']:,.0f} files per CPU s"
    )
    print(f"(b) dicomlake ingest, 1 worker: {wall['b']:,.0f} files/s, {cpu['b']:,.0f} files per CPU s")
    print(f"(c) dicomlake ingest, {workers} workers: {wall['c']:,.0f} files/s")
    print(
        f"per core b/a: {wall['b'] / wall['a']:.2f} wall clock, {cpu['b'] / cpu['a']:.2f} per CPU second (target >= 1.0)"
    )
    print(f"all cores c/a: {wall['c'] / wall['a']:.2f} ({workers} workers against 1 pydicom process; target >= 1.0)")


def synthetic_rows(n: int) -> pa.Table:
    """``n`` instances: 10 per series, 3 series per study, 2 studies per patient."""
    import numpy as np

    i = np.arange(n)
    series, study = i // 10, i // 30
    patient = study // 2
    day = (study * 7919) % 10_000
    dates = pa.array((np.datetime64("1995-01-01") + day).astype("datetime64[D]"))
    secs = (study * 104729) % 86_400
    times = pa.array(secs.astype("int64") * 1_000_000, pa.time64("us"))
    uid = lambda prefix, a: pa.array([f"2.25.{prefix}{x}" for x in a])  # noqa: E731
    cols = {
        "PatientID": pa.array([f"PID{x:07d}" for x in patient]),
        "StudyDate": dates,
        "StudyTime": times,
        "Modality": pa.array(np.where(series % 3 == 0, "CT", "MR")),
        "StudyInstanceUID": uid(1, study),
        "SeriesInstanceUID": uid(2, series),
        "SOPInstanceUID": uid(3, i),
    }
    return pa.table(cols)


def query_bench(root: Path, n_rows: int) -> None:
    table = synthetic_rows(n_rows)
    cat = Catalog.create_or_open(root / "qlake")
    with cat.write_lock():
        publish_table(cat, "big", table, "WRITE_TRUNCATE", cat.staging())
    lake = dicomlake.open(root / "qlake")
    pid = "PID0012345"

    def best(fn, k: int = 7) -> float:
        fn()  # warm
        return min(_time(fn) for _ in range(k))

    t1 = best(lambda: lake.query("latest_studies").fetchall())
    t2 = best(lambda: lake.query("instances_by_patient", PatientID=pid).fetchall())
    print(f"latest_studies on {n_rows:,} rows: {t1 * 1000:.0f} ms (target <= 200 ms)")
    print(f"PatientID lookup on {n_rows:,} rows: {t2 * 1000:.0f} ms (target <= 100 ms)")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _time(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="instances in the synthetic store")
    ap.add_argument("--workers", type=int, default=None, help="ingest workers (default: all cores)")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the query benchmark store")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each timing; the median is printed")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicomlake-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        paths = [str(p) for p in make_sample(root / "files", args.n, seed=7)]
        print(f"built {len(paths)} files in {time.perf_counter() - t:.1f} s; cores: {os.cpu_count()}")
        print(f"load average before: {_load()}")
        compare(root, paths, args.workers or os.cpu_count() or 1, args.repeat)
        print(f"load average after: {_load()}")
        query_bench(root, args.rows)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
