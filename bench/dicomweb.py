"""DICOMweb harvest benchmark: metadata harvest from a local Orthanc vs file ingest, in one run.

    python bench/dicomweb.py [--n 2000] [--concurrency 4] [--repeat 3]

Writes the synthetic store of ``bench/ingest.py`` (``make_sample``, ``--n`` instances), starts
Debian's Orthanc with its DICOMweb plugin on loopback (``dicomlake.demo.orthanc.Orthanc``) and
loads the files into it (not timed). Then, ``--repeat`` times each, into fresh lakes, in
alternating order (a run slows the one after it while its writes reach the disk):

(a) baseline: ``dicomlake ingest`` of the same files from disk (all cores);
(b) ``dicomlake ingest http://127.0.0.1:PORT/dicom-web``: QIDO-RS study list, one WADO-RS
    metadata request per study (``--concurrency`` in flight), conversion, commit. Orthanc
    runs on the same 2 cores.

Prints instances/s of each (best run) and the ratio b / a. Target for (b): >= 300 instances/s.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import dicomlake
from dicomlake.demo.orthanc import Orthanc
from dicomlake.demo.sample import make_sample
from dicomlake.sources.dicomweb import Server
from dicomlake.sources.harvest import harvest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="dicomlake-bench-dicomweb-"))
    paths = [str(p) for p in make_sample(root / "files", args.n, seed=7)]
    with Orthanc() as orthanc:
        t = time.perf_counter()
        orthanc.load(paths)
        studies = len(list(Server(orthanc.url).studies()))
        print(
            f"{orthanc.count()} instances in {studies} studies loaded into Orthanc in {time.perf_counter() - t:.1f} s"
        )
        files, web = [], []
        for i in range(args.repeat):  # the order alternates: each kind runs first half of the time
            for kind in ("files", "web") if i % 2 == 0 else ("web", "files"):
                t = time.perf_counter()
                if kind == "files":
                    s = dicomlake.ingest(root / f"lake-f{i}", paths, "s", progress=False)
                    files.append(s.ingested / (time.perf_counter() - t))
                else:
                    server = Server(orthanc.url, concurrency=args.concurrency)
                    w = harvest(root / f"lake-w{i}", server, "s", progress=False)
                    web.append(w.ingested / (time.perf_counter() - t))
            assert w.ingested == s.ingested == len(paths), (w.ingested, s.ingested)
    a, b = max(files), max(web)
    print(f"(a) file ingest: {a:,.0f} instances/s (runs: {', '.join(f'{x:,.0f}' for x in files)})")
    print(f"(b) DICOMweb harvest: {b:,.0f} instances/s (runs: {', '.join(f'{x:,.0f}' for x in web)}; target >= 300)")
    print(f"ratio b / a: {b / a:.2f}")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
