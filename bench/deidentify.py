"""De-identification benchmark: dicomlake deidentify vs dicognito, measured in one run.

    python bench/deidentify.py [--n 5000] [--workers N] [--rows 1000000] [--repeat 3] [--profile]

Builds the synthetic store of ``bench/ingest.py`` (``make_sample(root/"files", n, seed=7)``) and
ingests it into a lake (not timed). Then, over the same files:

(a) dicognito (the ``bench`` extra), its Python API as its README shows: ``pydicom.dcmread``,
    ``Anonymizer.anonymize(ds)``, ``ds.save_as(out/<new SOPInstanceUID>.dcm,
    enforce_file_format=True)`` (what its CLI's ``--output-directory`` does) for every file,
    in one process, and again with a pool of 2 processes (each worker its own ``Anonymizer``,
    all with the same seed so that identifiers stay consistent across workers);
(b) ``dicomlake.deid.run.deidentify`` of the lake into a new lake with the default request
    (``{"dicomTagConfig": {}}``: the Basic Profile), end to end: SQL transform, rematerialize
    every file, publish.

Prints files/s for each and the ratio b / best of (a) (target: ≥ 10×). With ``--profile``, a
cProfile of (b) on a smaller lake (one worker, so that the rematerialization is in-process) is
printed, top 15 by cumulative time.

Then times the transform step alone (``transform_store``, the SQL with its UDFs, no files) on a
store of ``--rows`` generated rows (the row generator of ``bench/ingest.py`` plus PatientName,
PatientBirthDate, AccessionNumber and a two-level RequestAttributesSequence) and prints rows/s.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pydicom

import dicomlake
from dicomlake.codec.schema import PN_COMPONENT_TYPE, PN_TYPE
from dicomlake.deid.config import load_config
from dicomlake.deid.plan import Planner
from dicomlake.deid.run import deidentify, transform_store
from dicomlake.deid.udfs import ValueMaps, text_rule
from dicomlake.demo.sample import make_sample
from dicomlake.store.catalog import Catalog
from dicomlake.store.publish import publish_table

SEED = "dicomlake-bench"
REQUEST = {"dicomTagConfig": {}}

# ---- (a) dicognito -------------------------------------------------------------------------

_ANON: list = []


def _anonymize_files(paths: list[str], out: str) -> int:
    from dicognito.anonymizer import Anonymizer

    if not _ANON:
        _ANON.append(Anonymizer(seed=SEED))
    anonymizer = _ANON[0]
    for p in paths:
        with pydicom.dcmread(p) as ds:
            anonymizer.anonymize(ds)
            ds.save_as(os.path.join(out, ds.SOPInstanceUID + ".dcm"), enforce_file_format=True)
    return len(paths)


def _pool_init() -> None:
    _ANON.clear()  # a fresh Anonymizer per worker


def dicognito_run(paths: list[str], out: Path, processes: int) -> float:
    """Seconds to anonymize every file into ``out`` with ``processes`` processes (pool start-up included)."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    t = time.perf_counter()
    if processes <= 1:
        _ANON.clear()
        done = _anonymize_files(paths, str(out))
    else:
        step = max(1, len(paths) // (processes * 8))
        chunks = [paths[a : a + step] for a in range(0, len(paths), step)]
        with ProcessPoolExecutor(processes, initializer=_pool_init) as pool:
            done = sum(pool.map(_anonymize_files, chunks, [str(out)] * len(chunks)))
    elapsed = time.perf_counter() - t
    written = sum(1 for _ in out.iterdir())
    assert done == len(paths) and written == len(paths), (done, written, len(paths))
    shutil.rmtree(out, ignore_errors=True)
    return elapsed


# ---- (b) dicomlake -------------------------------------------------------------------------


def dicomlake_run(lake: Path, dest: Path, workers: int | None) -> float:
    request = load_config(REQUEST)
    shutil.rmtree(dest, ignore_errors=True)
    t = time.perf_counter()
    summary = deidentify(lake, request, dest_lake=dest, workers=workers)
    elapsed = time.perf_counter() - t
    assert summary.failed == 0, [f for s in summary.stores for f in s.failures][:3]
    shutil.rmtree(dest, ignore_errors=True)
    return elapsed


def profile_run(root: Path, n: int) -> None:
    paths = make_sample(root / "pfiles", n, seed=7)
    dicomlake.ingest(root / "plake", root / "pfiles", "bench", progress=False)
    request = load_config(REQUEST)
    prof = cProfile.Profile()
    prof.enable()
    deidentify(root / "plake", request, dest_lake=root / "pdest", workers=1)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(15)
    print(f"\nprofile: dicomlake deidentify of {len(paths)} files, 1 worker (top 15 by cumulative time)")
    print(buf.getvalue().strip())
    for d in ("pfiles", "plake", "pdest"):
        shutil.rmtree(root / d, ignore_errors=True)


# ---- transform alone on a big generated store ----------------------------------------------

_FAMILY = np.array(["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MÜLLER", "DAVIS", "LOPEZ", "WALL"])
_GIVEN = np.array(["JOHN", "MARY", "RAJ", "ANA", "WEI", "OLGA", "JOSÉ", "FATIMA", "PETER", "LINA", "KOFI"])


def _pn(family: np.ndarray, given: np.ndarray) -> pa.StructArray:
    """PatientName in BigQuery's PN layout: Alphabetic{Family, Given, ...}, Ideographic and Phonetic null."""
    n = len(family)
    comps = [pa.array(family), pa.array(given)] + [pa.nulls(n, pa.string())] * 3
    alphabetic = pa.StructArray.from_arrays(comps, fields=list(PN_COMPONENT_TYPE))
    groups = [alphabetic, pa.nulls(n, PN_COMPONENT_TYPE), pa.nulls(n, PN_COMPONENT_TYPE)]
    return pa.StructArray.from_arrays(groups, fields=list(PN_TYPE))


def _request_attributes(study: np.ndarray, accession: pa.Array) -> pa.ListArray:
    """RequestAttributesSequence: one item per instance (none for every fourth), each holding the
    AccessionNumber, procedure IDs and a one-item ScheduledProtocolCodeSequence."""
    n = len(study)
    code = pa.StructArray.from_arrays(
        [
            pa.array(np.where(study % 2 == 0, "P-CT01", "P-MR01")),
            pa.array(["99DLK"] * n),
            pa.array(np.where(study % 2 == 0, "CT CHEST ROUTINE", "MR LSPINE ROUTINE")),
        ],
        names=["CodeValue", "CodingSchemeDesignator", "CodeMeaning"],
    )
    protocol = pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), code)
    item = pa.StructArray.from_arrays(
        [
            accession,
            pa.array([f"RP{x:07d}" for x in study]),
            protocol,
            pa.array([f"SPS{x:07d}" for x in study]),
        ],
        names=["AccessionNumber", "RequestedProcedureID", "ScheduledProtocolCodeSequence", "ScheduledProcedureStepID"],
    )
    mask = pa.array(np.arange(n) % 4 == 3)
    return pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), item, mask=mask)


def synthetic_rows(n: int) -> pa.Table:
    """``n`` instances: 10 per series, 3 series per study, 2 studies per patient (as bench/ingest.py),
    plus PatientName, PatientBirthDate, AccessionNumber and a nested sequence."""
    i = np.arange(n)
    series, study = i // 10, i // 30
    patient = study // 2
    day = (study * 7919) % 10_000
    dates = pa.array((np.datetime64("1995-01-01") + day).astype("datetime64[D]"))
    birth = pa.array((np.datetime64("1930-01-01") + (patient * 3571) % 32_000).astype("datetime64[D]"))
    secs = (study * 104729) % 86_400
    times = pa.array(secs.astype("int64") * 1_000_000, pa.time64("us"))
    uid = lambda prefix, a: pa.array([f"2.25.{prefix}{x}" for x in a])  # noqa: E731
    accession = pa.array([f"ACC{x:08d}" for x in study])
    cols = {
        "PatientName": _pn(_FAMILY[patient % len(_FAMILY)], _GIVEN[(patient // 7) % len(_GIVEN)]),
        "PatientID": pa.array([f"PID{x:07d}" for x in patient]),
        "PatientBirthDate": birth,
        "AccessionNumber": accession,
        "StudyDate": dates,
        "StudyTime": times,
        "Modality": pa.array(np.where(series % 3 == 0, "CT", "MR")),
        "StudyInstanceUID": uid(1, study),
        "SeriesInstanceUID": uid(2, series),
        "SOPInstanceUID": uid(3, i),
        "RequestAttributesSequence": _request_attributes(study, accession),
    }
    return pa.table(cols)


def transform_bench(root: Path, n_rows: int, repeat: int) -> None:
    t = time.perf_counter()
    table = synthetic_rows(n_rows)
    cat = Catalog.create_or_open(root / "tlake")
    with cat.write_lock():
        publish_table(cat, "big", table, "WRITE_TRUNCATE", cat.staging())
    del table
    print(f"\nbuilt a {n_rows:,}-row store (no files) in {time.perf_counter() - t:.1f} s")
    cfg = load_config(REQUEST).config
    key = b"k" * 32
    times, out_rows = [], 0
    try:
        for _ in range(repeat):
            # A fresh Lake each run, as deidentify() does: ValueMaps.register cannot create its UDFs
            # twice on one connection (duckdb: "A function by the name of 'dl_uid' is already created").
            lake = dicomlake.open(root / "tlake")
            planner = Planner(cfg)
            maps = ValueMaps(key, planner, text_rule(cfg.text))  # fresh caches each run
            t = time.perf_counter()
            _, _, out = transform_store(lake, "big", planner, maps, None)
            times.append(time.perf_counter() - t)
            out_rows = out.num_rows
            del out, lake
    except Exception:
        print("transform_store FAILED on the generated store:")
        traceback.print_exc(file=sys.stdout)
        return
    assert out_rows == n_rows, (out_rows, n_rows)
    med = statistics.median(times)
    runs = ", ".join(f"{x:.2f}" for x in times)
    print(f"transform_store on {n_rows:,} rows: {med:.2f} s (runs: {runs} s) = {n_rows / med:,.0f} rows/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="instances in the synthetic store")
    ap.add_argument("--workers", type=int, default=None, help="dicomlake workers (default: all cores)")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the transform-only store")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each timing; the median is printed")
    ap.add_argument("--profile", action="store_true", help="also cProfile dicomlake on a smaller run")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dicomlake-bench-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        paths = [str(p) for p in make_sample(root / "files", args.n, seed=7)]
        dicomlake.ingest(root / "lake", root / "files", "bench", progress=False)
        print(f"built and ingested {len(paths)} files in {time.perf_counter() - t:.1f} s; cores: {os.cpu_count()}")
        one, two, ours = [], [], []
        for _ in range(args.repeat):
            one.append(dicognito_run(paths, root / "dicognito-out", 1))
            two.append(dicognito_run(paths, root / "dicognito-out", 2))
            ours.append(dicomlake_run(root / "lake", root / "deid", args.workers))
        rate = lambda ts: len(paths) / statistics.median(ts)  # noqa: E731
        a1, a2, b = rate(one), rate(two), rate(ours)
        best = max(a1, a2)
        print(f"(a1) dicognito read+anonymize+write, 1 process: {a1:,.0f} files/s")
        print(f"(a2) dicognito read+anonymize+write, 2 processes: {a2:,.0f} files/s")
        print(
            f"(b) dicomlake deidentify, BASIC profile, end to end ({args.workers or os.cpu_count()} workers): {b:,.0f} files/s"
        )
        print(f"ratio b / best dicognito: {b / best:.2f} (target >= 10); b / a1: {b / a1:.2f}")
        if args.profile:
            profile_run(root, min(args.n, 1000))
        transform_bench(root, args.rows, args.repeat)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
