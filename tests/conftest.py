"""Shared fixtures: pydicom's bundled test files, small DICOM files written by the tests, and one
sample lake for the whole run (helpers to import are in ``tests/helpers.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file

from .helpers import build_sample_lake, copy_lake, item, tree_state, write_instance

__all__ = ["item", "write_instance"]  # imported from here by older test modules

# Under CI (the CI variable set) property tests are derandomized: the same examples on every
# run, so a red run is a real bug and a rerun reproduces it; the failing example is printed.
settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "default")

# The tests' Spark driver (a JVM) compiles with the client JIT only and collects with the serial
# collector: test jobs are short, and the full JIT and parallel GC threads cost them about a
# quarter of their CPU time (tests/test_spark.py alone: 98 → 75 CPU seconds on 2 cores).
os.environ.setdefault("SPARK_SUBMIT_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")

UID_RE = r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+"
"""A valid UID: at least two components of digits, none with a leading zero (64 characters at most)."""

_component = st.integers(0, 10**12).map(str)


@st.composite
def uids(draw: st.DrawFn) -> str:
    """Valid UIDs only: 2 to 6 components without leading zeros, at most 64 characters."""
    parts = draw(st.lists(_component, min_size=2, max_size=6))
    while len(".".join(parts)) > 64:
        parts.pop()
    return ".".join(parts)


#: The test files that take longest, run first: ``./dev.sh test`` shares whole files out to its
#: processes (``--dist loadfile``), and a long file started last would leave the others idle at
#: the end. The rest follow in collection order.
LONGEST_FIRST = (
    "test_crash.py",
    "test_spark.py",
    "test_cli_vocabulary.py",
    "test_dicomweb.py",
    "test_safety.py",
    "test_object_store.py",
    "test_export.py",
    "test_burned.py",
    "test_staging.py",
    "test_notebooks.py",
    "test_archives.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files keep their tests' order


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` as :data:`LONGEST_FIRST` orders it (not xdist's most-tests-first), and
    every test whose name says ``spark`` in the one process that starts a Spark session (a JVM
    each, otherwise)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LongestFirst(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "spark" if "spark" in nodeid.lower() else super()._split_scope(nodeid)

    config.option.loadscopereorder = False
    return LongestFirst(config, log)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="rewrite golden files from current output")


@pytest.fixture(scope="session")
def testfiles_dir() -> Path:
    """pydicom's bundled test files (odd ones included)."""
    return Path(os.path.dirname(str(get_testdata_file("CT_small.dcm", download=False))))


@pytest.fixture
def make_instance() -> Callable[..., Path]:
    return write_instance


@pytest.fixture(scope="session")
def read() -> Callable[[Path], pydicom.Dataset]:
    return lambda p: pydicom.dcmread(p, force=True)


@pytest.fixture(scope="session")
def sample_lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's sample lake (``helpers.SAMPLE_N`` instances in store ``sample``), built once.
    Read it only; to write, take ``sample_lake_copy``. At the end of the run it is checked unchanged."""
    lake = build_sample_lake(tmp_path_factory.mktemp("sample"))
    before = tree_state(lake.parent)  # the lake and its source files
    yield lake
    after = tree_state(lake.parent)
    assert after == before, "a test changed the shared sample lake or its files: use sample_lake_copy"


@pytest.fixture
def sample_lake_copy(sample_lake: Path, tmp_path: Path) -> Path:
    """A copy of the sample lake of this test's own (its rows name the shared, read-only source files)."""
    return copy_lake(sample_lake, tmp_path / "sample-lake")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One Spark session (``local[2]``) for the whole run; a command run in this process
    (``helpers.cli``) with ``--engine spark`` takes it too (whatever its ``--spark-master``)."""
    from dicomlake.engines.spark import session

    s = session("local[2]")
    yield s
    s.stop()
