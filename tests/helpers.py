"""What the tests share: the ``dicomlake`` command run in this process or as a real process,
small DICOM instances, and sample lakes.

``cli`` runs the command in this process (typer's CliRunner): no second Python start-up (1–1.5 s
of imports per command). It gives what a process run gives: exit code, stdout and stderr apart,
Python warnings and log records printed on stderr as a fresh interpreter prints them, a crash
as a traceback on stderr with exit code 1, and no state kept from one run to the next: ``env``
is set for the run only, the command's own Ctrl-C handling puts the signal handlers back, the
warning filters and log handlers are put back, the process's list of published commits starts
empty, a Spark session the command started is stopped, and the garbage the command left is
collected (left to a later garbage collection, it once crashed a forked ingest worker that ran
it: a segmentation fault). Two things it cannot give: output written straight to file descriptor
1 or 2 (by forked workers, the JVM behind Spark, C code), and a terminal or a pipe as stdin or
stdout. Tests about those, about exit codes of a real process, signals (Ctrl-C, kill) and the
installed console script use ``cli_process`` and say why.
"""

from __future__ import annotations

import gc
import logging
import shutil
import subprocess
import sys
import traceback
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from typer.testing import CliRunner

CLI = [sys.executable, "-c", "from dicomlake.cli import main; main()"]
"""The command as a real process (``python -c``: this interpreter, the package under test)."""


@dataclass
class Ran:
    """A command's result, with the attributes of ``subprocess.CompletedProcess``."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def _print_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int, *_: object) -> None:
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno))


def cli(*args: str, env: Mapping[str, str] | None = None) -> Ran:
    """``dicomlake ARGS`` in this process, as a fresh process would run it (see the module doc)."""
    from dicomlake.cli import app
    from dicomlake.store import catalog

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    published = catalog._PUBLISHED[:]
    spark = _spark_session()  # one the test made is taken by the command (whatever --spark-master says)
    try:
        # A fresh interpreter: its default warning filters, warnings printed on stderr; no log
        # handler (pytest's are taken off), so records of WARNING and above reach stderr.
        with warnings.catch_warnings():
            warnings.resetwarnings()
            for action, category, module in reversed(_DEFAULT_FILTERS):
                warnings.filterwarnings(action, category=category, module=module)
            warnings.showwarning = _print_warning
            root.handlers, root.level = [], logging.WARNING
            catalog._PUBLISHED.clear()
            result = CliRunner().invoke(app, list(args), env=env, prog_name="dicomlake")
    finally:
        root.handlers, root.level = handlers, level
        catalog._PUBLISHED[:] = published
        if spark is None and (started := _spark_session()) is not None:
            started.stop()  # a Spark session the command started ends with it, as with its process
        gc.collect()  # what the command left is freed here, as at a process's end, not in a forked worker later
    stderr = result.stderr
    if result.exc_info is not None and result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))  # as Python prints an uncaught one
    return Ran(list(args), result.exit_code, result.stdout, stderr)


def _spark_session() -> Any:
    """The active Spark session of this process, if pyspark is loaded and one is."""
    module = sys.modules.get("pyspark.sql")
    return module.SparkSession.getActiveSession() if module is not None else None


_DEFAULT_FILTERS: list[tuple[str, type[Warning], str]] = [
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
]
"""Python's own warning filters (``python -W`` unset, not a debug build), first match first."""


def cli_process(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``dicomlake ARGS`` as a real process (for what ``cli`` cannot give: see the module doc)."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=timeout)


def assert_error(p: Ran | subprocess.CompletedProcess[str], *words: str) -> None:
    """A handled error: exit code 1 and one ``Error: …`` line on stderr holding ``words``."""
    assert p.returncode == 1, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), p.stderr
    assert "Traceback" not in p.stderr
    for w in words:
        assert w in lines[0]


# --- instances ---------------------------------------------------------------------------


def write_instance(path: Path, **attrs: object) -> Path:
    """A small valid instance with ``attrs`` set (keywords; values as pydicom accepts them)."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = "P1"
    ds.PatientName = "Doe^Jane"
    ds.StudyDate = "20200102"
    ds.StudyTime = "101112"
    ds.Modality = "OT"
    for k, v in attrs.items():
        setattr(ds, k, v)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def item(**attrs: object) -> Dataset:
    """A sequence item with ``attrs`` set."""
    ds = Dataset()
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


# --- sample lakes ------------------------------------------------------------------------

SAMPLE_N = 120
"""Instances in the session's sample store (``dicomlake sample``'s generator, seed ``SAMPLE_SEED``)."""
SAMPLE_SEED = 3
SAMPLE_STORE = "sample"


def build_sample_lake(root: Path, n: int = SAMPLE_N, seed: int = SAMPLE_SEED, store: str = SAMPLE_STORE) -> Path:
    """``n`` sample instances written under ``root/files`` and ingested into ``root/lake``, store ``store``."""
    import dicomlake
    from dicomlake.demo.sample import make_sample

    make_sample(root / "files", n, seed=seed)
    summary = dicomlake.ingest(root / "lake", root / "files", store, progress=False)
    assert summary.ingested == n
    return root / "lake"


def copy_lake(lake: Path, dest: Path) -> Path:
    """A copy of ``lake`` at ``dest`` to write to (its rows still name the same source files)."""
    shutil.copytree(lake, dest)
    return dest


def tree_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file below ``root``: size and modification time (to show that nothing changed it)."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}
