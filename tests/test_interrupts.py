"""A Ctrl-C during a catalog commit takes effect after it, once the commit is recorded as
published: the 'Interrupted: …' message never says nothing was published after a commit."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from dicomlake import interrupts
from dicomlake.interrupts import Interrupts, held
from dicomlake.store import catalog
from dicomlake.store.catalog import Catalog


def _ctrl_c_now() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(200):  # the handler runs between these, in this (the main) thread
        time.sleep(0.001)


def test_a_ctrl_c_in_a_held_block_is_raised_at_its_end() -> None:
    done = []
    with Interrupts() as interrupt:
        with pytest.raises(KeyboardInterrupt), held():
            with held():  # nested: the outer block's end raises it
                _ctrl_c_now()
                done.append("inner")
            done.append("outer")
        assert interrupt.seen
    assert done == ["inner", "outer"] and interrupts._held == []
    with Interrupts(), pytest.raises(KeyboardInterrupt):
        _ctrl_c_now()  # outside a held block it is raised at once


def test_a_ctrl_c_during_a_commit_leaves_it_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cat = Catalog.create_or_open(tmp_path / "lake")
    commit = catalog.duckdb.DuckDBPyConnection.execute
    before = catalog.published()

    class Connection:  # the catalog's connection, with a Ctrl-C arriving while COMMIT runs
        def __init__(self, con: catalog.duckdb.DuckDBPyConnection) -> None:
            self.con = con

        def execute(self, sql: str, *args: object) -> object:
            if sql == "COMMIT":
                _ctrl_c_now()
            return commit(self.con, sql, *args)

        def __getattr__(self, name: str) -> object:
            return getattr(self.con, name)

    real = catalog.new_connection
    monkeypatch.setattr(catalog, "new_connection", lambda *a, **k: Connection(real(*a, **k)))
    with Interrupts(), pytest.raises(KeyboardInterrupt), cat.write_lock():
        cat.create_store("s")
    monkeypatch.undo()
    assert catalog.published() == [*before, "s"]
    assert "s" in Catalog.open(tmp_path / "lake").stores()
    assert interrupts.message().startswith("Interrupted: ") and "'s'" in interrupts.message()
