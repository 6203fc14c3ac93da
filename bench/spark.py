"""Spark engine benchmark: ingest, de-identification and the named queries on DuckDB and on Spark
``local[2]``, one run.

    python bench/spark.py [--n 20000] [--master local[2]] [--repeat 2]

Builds the synthetic store of ``bench/ingest.py`` (``make_sample(root/"files", n, seed=7)``),
then, ``--repeat`` times each into fresh lakes:

(a) baseline: ``dicomlake ingest`` with the local engine (all cores);
(b) ``dicomlake ingest --engine spark``: the same converter as Spark tasks, the same commit
    (the session is started before timing; its start-up is printed apart).

Prints files/s for each (best run) and the ratio b / a (on 2 cores Spark is not expected to
win: the figure is its overhead; target: Spark's time under 2x the local engine's). Then the
same for de-identification of the ingested store (the BASIC profile, dataset level, end to end:
transform, rematerialized files, published store), (c) with the DuckDB engine and (d) with
Spark; and the time of each named query on both engines over the ingested store.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import dicomlake
from dicomlake.deid.config import load_config
from dicomlake.deid.run import deidentify
from dicomlake.demo.sample import make_sample
from dicomlake.engines.spark import session

REQUEST = {"dicomTagConfig": {}}  # the BASIC profile, as bench/deidentify.py


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
    deid_duck, deid_spark = [], []
    key = root / "key"
    key.write_text("c2FtZSBrZXkgZm9yIGJvdGggZW5naW5lcyBoZXJlIQ==")
    for i in range(args.repeat):
        for kind in ("local", "spark") if i % 2 == 0 else ("spark", "local"):
            dest = root / f"deid-{kind}{i}"
            t = time.perf_counter()
            summary = deidentify(
                root / "local0", load_config(REQUEST), dest_lake=dest, key_file=str(key),
                spark=spark if kind == "spark" else None,
            )  # fmt: skip
            rate = sum(r.success for r in summary.stores) / (time.perf_counter() - t)
            assert summary.failed == 0, [f for r in summary.stores for f in r.failures][:3]
            (deid_duck if kind == "local" else deid_spark).append(rate)
            if i > 0:
                shutil.rmtree(dest)
    c, d = max(deid_duck), max(deid_spark)
    print(f"(c) deidentify, DuckDB engine: {c:,.0f} files/s (runs: {', '.join(f'{x:,.0f}' for x in deid_duck)})")
    print(f"(d) deidentify, Spark {args.master}: {d:,.0f} files/s (runs: {', '.join(f'{x:,.0f}' for x in deid_spark)})")
    print(f"ratio d / c: {d / c:.2f} (Spark's time is {c / d:.2f}x the DuckDB engine's; target < 2)")
    same = _same_files(root / "deid-local0", root / "deid-spark0")
    print(f"the two engines wrote {'the same' if same else 'DIFFERENT'} files (byte for byte)")
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


def _same_files(a: Path, b: Path) -> bool:
    """Both destination lakes hold files with the same names and bytes."""
    fa = {p.name: p for p in (a / "files").rglob("*.dcm")}
    fb = {p.name: p for p in (b / "files").rglob("*.dcm")}
    return sorted(fa) == sorted(fb) and all(fa[n].read_bytes() == fb[n].read_bytes() for n in fa)


if __name__ == "__main__":
    main()
