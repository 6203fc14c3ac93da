"""Ingest benchmark: dicomlake ingest vs a bare pydicom header-reading loop, measured in one run.

    python bench/ingest.py [--n 5000] [--workers N] [--rows 1000000]

(a) baseline: ``pydicom.dcmread(path, stop_before_pixels=True)`` over every file, one process;
(b) ``dicomlake.sources.ingest`` of the same files (parse, convert every element including sequences,
    write Parquet, commit). Prints files/s for both and the ratio b/a (target on 2 cores: ≥ 1.0).
Then times ``latest_studies`` and a PatientID lookup on a store of ``--rows`` generated rows
(targets: ≤ 200 ms and ≤ 100 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pydicom

import dicomlake
from dicomlake.demo.sample import make_sample
from dicomlake.store.catalog import Catalog
from dicomlake.store.publish import publish_table


def baseline(paths: list[str]) -> float:
    t = time.perf_counter()
    for p in paths:
        pydicom.dcmread(p, stop_before_pixels=True)
    return time.perf_counter() - t


def timed_ingest(lake: Path, src: Path, workers: int | None) -> float:
    t = time.perf_counter()
    s = dicomlake.ingest(lake, src, "bench", workers=workers, progress=False, write_disposition="WRITE_TRUNCATE")
    elapsed = time.perf_counter() - t
    assert s.skipped == 0, s.skipped_reasons
    return elapsed


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


def _time(fn) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="instances in the synthetic store")
    ap.add_argument("--workers", type=int, default=None, help="ingest workers (default: all cores)")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the query benchmark store")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each timing; the median is printed")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicomlake-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        paths = [str(p) for p in make_sample(root / "files", args.n, seed=7)]
        print(f"built {len(paths)} files in {time.perf_counter() - t:.1f} s; cores: {os.cpu_count()}")
        base, ours = [], []
        for _ in range(args.repeat):
            base.append(baseline(paths))
            ours.append(timed_ingest(root / "lake", root / "files", args.workers))
        a, b = len(paths) / statistics.median(base), len(paths) / statistics.median(ours)
        print(f"(a) pydicom dcmread(stop_before_pixels) loop, 1 process: {a:,.0f} files/s")
        print(f"(b) dicomlake ingest ({args.workers or os.cpu_count()} workers): {b:,.0f} files/s")
        print(f"ratio b/a: {b / a:.2f} (target >= 1.0)")
        query_bench(root, args.rows)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
