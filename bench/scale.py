"""Scale benchmark: throughput and peak memory of every step at archive scale, measured in one run.

    python bench/scale.py [--sizes 10000,100000] [--rows 1000000] [--workers N] [--keep DIR]

For each size N, ``make_sample`` writes N synthetic instances (seed 7, about 26 KB each) and N/10
more (seed 8) to append. Each step then runs in its own process (``bench/scale.py --step ...``)
while this one samples the memory of that process and of every worker it forks:

- baseline: ``pydicom.dcmread(path, stop_before_pixels=True)`` over the N files, one process;
- ingest: the N files into a new lake (``dicomlake.sources.ingest``);
- append: the N/10 files, ``WRITE_APPEND``;
- query: ``latest_studies``, ``instances_by_patient`` and a filter file selecting one study in ten
  (``check_filter`` and a count of what it selects);
- deidentify: dataset level, BASIC profile (``{"dicomTagConfig": {}}``), every instance
  rematerialized as a new file;
- export dicom / export parquet: ``--to dicom:DIR`` and ``--to parquet:FILE``.

Then a store of ``--rows`` rows without files of its own: the first size's ingested rows
replicated with new Study/Series/SOP UIDs and PatientIDs, staged part by part and published by
``publish_table`` (step "publish"), followed by append, query, the de-identification transform
(the SQL with its functions, batch by batch, no files) and export parquet.

Printed per step: items, seconds, items/s, the ratio to the baseline's files/s, and peak memory:
"tree RSS" is the largest sum of RSS over the step's processes (sampled every 50 ms; pages a
forked worker shares with its parent are counted in each), "tree PSS" the same with shared pages
divided among their processes, "one proc" the largest single process (the step's own peak RSS,
VmHWM, and ``ru_maxrss`` of its waited-for workers). Last, each step's tree RSS growth from the first size to the
last (target: every step under 2 GiB at 100,000 and growing sublinearly).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

MIB = 1024 * 1024
REQUEST = {"dicomTagConfig": {}}


# ---- steps (each runs in a child process: python bench/scale.py --step NAME --args JSON) -------


def step_baseline(a: dict[str, Any]) -> int:
    import pydicom

    paths = Path(a["list"]).read_text().splitlines()
    for p in paths:
        pydicom.dcmread(p, stop_before_pixels=True)
    return len(paths)


def step_ingest(a: dict[str, Any]) -> int:
    import dicomlake

    s = dicomlake.ingest(
        a["lake"], a["source"], a["store"], workers=a["workers"], progress=False, write_disposition=a["disposition"]
    )
    assert s.skipped == 0, s.skipped_reasons
    return s.ingested


def step_query(a: dict[str, Any]) -> int:
    import dicomlake
    from dicomlake.store.filterfile import format_path, read_filter

    lake = dicomlake.open(a["lake"])
    store = a["store"]
    n = lake.table(store).count("*").fetchall()[0][0]
    lake.query("latest_studies", store=store).fetchall()
    pid = lake.sql(f"SELECT min(PatientID) FROM {store}").fetchall()[0][0]
    assert lake.query("instances_by_patient", store=store, PatientID=pid).fetchall()
    studies = lake.sql(f"SELECT DISTINCT StudyInstanceUID FROM {store} ORDER BY 1").fetchall()
    path = Path(a["scratch"]) / "one-in-ten.txt"
    path.write_text("".join(format_path(s) + "\n" for (s,) in studies[::10]))
    spec = read_filter(path)
    check = lake.check_filter(spec, store)
    assert not check.unmatched and check.instances == lake.select(store, spec).count("*").fetchall()[0][0]
    return int(n)


def step_deidentify(a: dict[str, Any]) -> int:
    from dicomlake.deid.config import load_config
    from dicomlake.deid.run import deidentify

    summary = deidentify(a["lake"], load_config(REQUEST), dest_lake=a["dest"], workers=a["workers"])
    assert summary.failed == 0, [f for s in summary.stores for f in s.failures][:3]
    return sum(s.success for s in summary.stores)


def step_transform(a: dict[str, Any]) -> int:
    """The de-identification SQL and its functions over the whole store, batch by batch (no files)."""
    import dicomlake
    from dicomlake.deid.config import load_config
    from dicomlake.deid.plan import Planner
    from dicomlake.deid.run import transform_batches
    from dicomlake.deid.udfs import ValueMaps, text_rule

    cfg = load_config(REQUEST).config
    planner = Planner(cfg)
    maps = ValueMaps(b"k" * 32, planner, text_rule(cfg.text))
    _, _, batches = transform_batches(dicomlake.open(a["lake"]), a["store"], planner, maps, None)
    return sum(t.num_rows for t in batches)


def step_export(a: dict[str, Any]) -> int:
    import dicomlake
    from dicomlake.rematerialize.export import export

    s = export(dicomlake.open(a["lake"]), a["store"], a["to"])
    assert not s.failures, s.failures[:3]
    return s.written


def step_publish(a: dict[str, Any]) -> int:
    """A store of a["rows"] rows: the source store's rows replicated with new UIDs, one staged part
    per copy, published as one version (the path every writer of the lake ends in)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from dicomlake.store.catalog import Catalog
    from dicomlake.store.publish import part_of, publish_table, write_parquet

    src = Catalog.open(a["source_lake"]).store(a["source_store"])
    base = pa.concat_tables([pq.read_table(f) for f in src.files])
    cat = Catalog.create_or_open(a["lake"])
    parts, total, copy = [], 0, 0
    with cat.write_lock():
        stage = cat.staging()
        while total < a["rows"]:
            t = base.slice(0, a["rows"] - total)
            for col in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "PatientID"):
                i = t.schema.get_field_index(col)
                t = t.set_column(i, col, pc.binary_join_element_wise(t.column(col), str(copy), "."))
            path = stage / f"copy-{copy:06d}.parquet"
            write_parquet(t, path)
            parts.append(part_of(path, t))
            total, copy = total + t.num_rows, copy + 1
        publish_table(cat, a["store"], parts, "WRITE_TRUNCATE", stage)
    return total


STEPS: dict[str, Callable[[dict[str, Any]], int]] = {
    "baseline": step_baseline,
    "ingest": step_ingest,
    "query": step_query,
    "deidentify": step_deidentify,
    "transform": step_transform,
    "export": step_export,
    "publish": step_publish,
}


def run_step(name: str, args: dict[str, Any], out: str) -> None:
    t = time.perf_counter()
    items = STEPS[name](args)
    seconds = time.perf_counter() - t
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    Path(out).write_text(json.dumps({"items": items, "seconds": seconds, "max_kb": max(_own_peak_kb(), workers)}))


def _own_peak_kb() -> int:
    """This process's peak RSS since it started (VmHWM; ``ru_maxrss`` would also count the bench
    process it was forked from before its exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---- the parent: runs each step in a child and watches its memory -----------------------------


@dataclass
class Result:
    label: str
    items: int
    seconds: float
    tree_rss: int
    tree_pss: int
    one_proc: int

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


def _tree_memory(root: psutil.Process) -> tuple[int, int]:
    rss = pss = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    for p in procs:
        try:
            m = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        rss, pss = rss + m.rss, pss + getattr(m, "pss", m.rss)
    return rss, pss


def measure(label: str, step: str, args: dict[str, Any], scratch: Path) -> Result:
    """Run ``step`` in a child process; its time, items and the peak memory of its process tree."""
    out = scratch / f"result-{step}.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--step", step, "--args", json.dumps(args), "--out", str(out)]
    child = subprocess.Popen(cmd)
    root = psutil.Process(child.pid)
    peak_rss = peak_pss = 0
    while child.poll() is None:
        rss, pss = _tree_memory(root)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.05)
    if child.returncode != 0 or not out.exists():
        raise SystemExit(f"Error: step {label} failed (exit {child.returncode}); its traceback is above")
    r = json.loads(out.read_text())
    return Result(label, r["items"], r["seconds"], peak_rss, peak_pss, r["max_kb"] * 1024)


def print_table(title: str, results: list[Result], base: float) -> None:
    print(f"\n{title}")
    print(
        f"{'step':<22}{'items':>10}{'s':>8}{'items/s':>10}{'x base':>8}{'tree RSS':>10}{'tree PSS':>10}{'one proc':>10}"
    )
    for r in results:
        print(
            f"{r.label:<22}{r.items:>10,}{r.seconds:>8.1f}{r.rate:>10,.0f}{r.rate / base:>8.2f}"
            f"{r.tree_rss / MIB:>7,.0f}MiB{r.tree_pss / MIB:>7,.0f}MiB{r.one_proc / MIB:>7,.0f}MiB"
        )
    sys.stdout.flush()


def make_files(root: Path, name: str, n: int, seed: int) -> Path:
    """``n`` sample files under ``root/name`` and their list ``root/name.txt`` (kept ones reused)."""
    from dicomlake.demo.sample import make_sample

    folder, listing = root / name, root / f"{name}.txt"
    if not (listing.exists() and len(listing.read_text().splitlines()) == n):
        shutil.rmtree(folder, ignore_errors=True)
        t = time.perf_counter()
        paths = make_sample(folder, n, seed=seed)
        listing.write_text("".join(f"{p}\n" for p in paths))
        print(f"wrote {n:,} files to {folder} in {time.perf_counter() - t:.1f} s")
    return listing


def fresh(path: Path) -> str:
    shutil.rmtree(path, ignore_errors=True)
    path.unlink(missing_ok=True)
    return str(path)


def size_run(root: Path, n: int, workers: int | None) -> tuple[list[Result], float]:
    """Every step on a store of ``n`` instances (files); returns the results and the baseline files/s."""
    files = make_files(root, f"files-{n}", n, seed=7)
    more = make_files(root, f"more-{n}", max(1, n // 10), seed=8)
    lake, w = root / f"lake-{n}", workers
    run = lambda label, step, **a: measure(label, step, {"workers": w, "scratch": str(root), **a}, root)  # noqa: E731
    results = [
        run("baseline pydicom", "baseline", list=str(files)),
        run("ingest", "ingest", lake=fresh(lake), source=str(files), store="s", disposition="WRITE_EMPTY"),
        run("append", "ingest", lake=str(lake), source=str(more), store="s", disposition="WRITE_APPEND"),
        run("query (3 + filter)", "query", lake=str(lake), store="s"),
        run("deidentify BASIC", "deidentify", lake=str(lake), dest=fresh(root / f"deid-{n}")),
        run("export dicom:", "export", lake=str(lake), store="s", to=f"dicom:{fresh(root / f'out-{n}')}"),
        run("export parquet:", "export", lake=str(lake), store="s", to=f"parquet:{fresh(root / f'out-{n}.parquet')}"),
    ]
    for d in (f"deid-{n}", f"out-{n}", f"out-{n}.parquet"):
        fresh(root / d)
    return results, results[0].rate


def rows_run(root: Path, rows: int, source_n: int, workers: int | None) -> list[Result]:
    """The steps that need no files of their own, on a store of ``rows`` replicated rows."""
    lake, more = root / "lake-rows", root / f"more-{source_n}.txt"
    run = lambda label, step, **a: measure(label, step, {"workers": workers, "scratch": str(root), **a}, root)  # noqa: E731
    results = [
        run(
            "publish (copies)",
            "publish",
            lake=fresh(lake),
            store="r",
            rows=rows,
            source_lake=str(root / f"lake-{source_n}"),
            source_store="s",
        ),
        run("append (files)", "ingest", lake=str(lake), source=str(more), store="r", disposition="WRITE_APPEND"),
        run("query (3 + filter)", "query", lake=str(lake), store="r"),
        run("deid transform (SQL)", "transform", lake=str(lake), store="r"),
        run("export parquet:", "export", lake=str(lake), store="r", to=f"parquet:{fresh(root / 'out-rows.parquet')}"),
    ]
    fresh(root / "out-rows.parquet")
    return results


def print_growth(first: int, last: int, a: list[Result], b: list[Result]) -> None:
    print(f"\npeak tree RSS growth from {first:,} to {last:,} instances (x{last / first:g} instances):")
    for x, y in zip(a, b, strict=True):
        over = " OVER 2 GiB" if y.tree_rss > 2 * 1024 * MIB else ""
        print(
            f"  {x.label:<22} {x.tree_rss / MIB:>7,.0f} -> {y.tree_rss / MIB:>7,.0f} MiB  x{y.tree_rss / x.tree_rss:.2f}{over}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000", help="store sizes in instances (files), comma-separated")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the store without files (0: skip it)")
    ap.add_argument("--workers", type=int, default=None, help="workers of each step (default: all cores)")
    ap.add_argument("--keep", type=Path, default=None, help="work in DIR and keep it (its sample files are reused)")
    ap.add_argument("--step", help=argparse.SUPPRESS)
    ap.add_argument("--args", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        run_step(args.step, json.loads(args.args), args.out)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"cores: {os.cpu_count()}; workers: {args.workers or os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="dicomlake-scale-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        by_size = []
        for n in sizes:
            results, base = size_run(root, n, args.workers)
            print_table(f"{n:,} instances (x base: items/s over the baseline's {base:,.0f} files/s)", results, base)
            by_size.append(results)
        if len(sizes) > 1:
            print_growth(sizes[0], sizes[-1], by_size[0], by_size[-1])
        if args.rows:
            rows = rows_run(root, args.rows, sizes[0], args.workers)
            print_table(
                f"{args.rows:,} rows (no files; x base: over the {sizes[0]:,}-file baseline)", rows, by_size[0][0].rate
            )


if __name__ == "__main__":
    main()
