"""Spark engine benchmark: ingest and the named queries on DuckDB and on Spark ``local[2]``, one run.

    python bench/spark.py [--n 20000] [--master local[2]] [--repeat 2]

Builds the synthetic store of ``bench/ingest.py`` (``make_sample(root/"files", n, seed=7)``),
then, ``--repeat`` times each into fresh lakes:

(a) baseline: ``dicomlake ingest`` with the local engine (all cores);
(b) ``dicomlake ingest --engine spark``: the same converter as Spark tasks, the same commit
    (the session is started before timing; its start-up is printed apart).

Prints files/s for each (best run) and the ratio b / a (on 2 cores Spark is not expected to
win: the figure is its overhead; target: Spark's time under 2x the local engine's). Then the
time of each named query on both engines over the ingested store.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import dicomlake
from dicomlake.sample import make_sample
from dicomlake.spark import session


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dicomlake-bench-spark-"))
    t = time.perf_counter()
    paths = [str(p) for p in make_sample(root / "files", args.n, seed=7)]
    print(f"built {len(paths)} files in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    spark = session(args.master)
    print(f"Spark session ({args.master}) started in {time.perf_counter() - t:.1f} s")
    local, on_spark = [], []
    for i in range(args.repeat):
        for kind in ("local", "spark") if i % 2 == 0 else ("spark", "local"):
            t = time.perf_counter()
            s = dicomlake.ingest(
                root / f"{kind}{i}", paths, "s", progress=False, spark=spark if kind == "spark" else None
            )
            rate = s.ingested / (time.perf_counter() - t)
            (local if kind == "local" else on_spark).append(rate)
    a, b = max(local), max(on_spark)
    print(f"(a) ingest, local engine: {a:,.0f} files/s (runs: {', '.join(f'{x:,.0f}' for x in local)})")
    print(f"(b) ingest, Spark {args.master}: {b:,.0f} files/s (runs: {', '.join(f'{x:,.0f}' for x in on_spark)})")
    print(f"ratio b / a: {b / a:.2f} (Spark's time is {a / b:.2f}x the local engine's; target < 2)")
    duck, sp = dicomlake.open(root / "local0"), dicomlake.open(root / "local0", spark=spark)
    pid = duck.sql('SELECT PatientID FROM "s" LIMIT 1').fetchall()[0][0]
    for name in sorted(dicomlake.Lake.named_queries()):
        params = {"PatientID": pid} if name == "instances_by_patient" else {}
        times = []
        for lake in (duck, sp):
            t = time.perf_counter()
            lake.query(name, store="s", **params).fetchall()
            times.append(time.perf_counter() - t)
        print(f"query {name}: DuckDB {times[0] * 1000:.0f} ms, Spark {times[1] * 1000:.0f} ms")
    spark.stop()
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
