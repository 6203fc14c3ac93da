"""Forked workers never destroy what they inherit: a process that holds DuckDB garbage (a
connection in a reference cycle, as a notebook or a long test session leaves) forks workers
that collect their own garbage without crashing (a broken pool, a segfault in the child)."""

from __future__ import annotations

import gc
from typing import Any

import duckdb

from dicomlake.engines.local import fork_pool


class _Cycle:
    me: Any
    con: Any
    rel: Any


def _collect(i: int) -> int:
    gc.collect()  # as the child's own allocations would, sooner or later
    return i


def test_workers_do_not_collect_inherited_duckdb_garbage() -> None:
    gc.disable()  # keep the garbage uncollected in this process until the workers are forked
    try:
        for _ in range(20):
            c = _Cycle()
            c.me, c.con = c, duckdb.connect()
            c.rel = c.con.sql("SELECT range FROM range(1000)")
            del c
        pool = fork_pool(2, 4)
        assert pool is not None
        with pool:
            assert list(pool.map(_collect, range(8))) == list(range(8))
    finally:
        gc.enable()
        gc.collect()
