"""The migration and transaction helper both SQLite stores use (idp.sqlite)."""

from __future__ import annotations

import sqlite3

import pytest

from idp.sqlite import migrate, transaction


def test_steps_run_in_order_from_the_version_found() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    ran: list[str] = []
    steps = {2: lambda c: ran.append("2"), 3: lambda c: ran.append("3")}
    assert migrate(conn, latest=3, create=lambda c: ran.append("create"), upgrades=steps,
                   newer=ValueError) == 0
    assert ran == ["create"]  # an empty file is made the latest at once
    conn.execute("PRAGMA user_version = 1")
    ran.clear()
    migrate(conn, latest=3, create=lambda c: ran.append("create"), upgrades=steps,
            newer=ValueError)
    assert ran == ["2", "3"]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    with pytest.raises(ValueError, match="4"):
        conn.execute("PRAGMA user_version = 4")
        migrate(conn, latest=3, create=lambda c: None, upgrades=steps,
                newer=lambda v: ValueError(f"version {v}"))


def test_a_failed_transaction_leaves_nothing() -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(RuntimeError), transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        raise RuntimeError("half-way")
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    with transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1
