"""The state database on its own: keys, the creating mark, the migration of older files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from idp.sync.history import Entry, History
from idp.sync.state import (
    CONFLICT,
    CREATING,
    DEACTIVATED,
    NOT_SYNCED,
    SCHEMA_VERSION,
    SYNCED,
    SyncState,
)

# The users table of schema version 1, whose key folded ASCII letters only (COLLATE NOCASE).
V1_USERS = """
CREATE TABLE users (
    user_id     TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,
    status      TEXT NOT NULL,
    message     TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    genesys_id  TEXT,
    version     TEXT,
    record      TEXT,
    fingerprint TEXT,
    last_synced TEXT,
    updated     TEXT NOT NULL
)"""


def test_user_ids_are_one_key_whatever_their_case(tmp_path: Path) -> None:
    state = SyncState(tmp_path / "sync.db")
    state.synced("Émile", "emile@example.com", "g1", "v1", {"id": "g1"}, "fp")
    found = state.user("émile")
    assert found is not None and found.genesys_id == "g1"
    state.synced("émile", "emile@example.com", "g1", "v2", {"id": "g1"}, "fp")
    assert list(state.users()) == ["émile"]
    row = state.user("ÉMILE")
    assert row is not None and row.version == "v2" and row.user_id == "émile"
    state.deactivated("ÉMILE", "no longer in CIC", None, None, still_in_cic=False,
                      email="emile@example.com")
    assert [u.status for u in state.users().values()] == [DEACTIVATED]
    state.forget("Émile")
    assert state.users() == {}


def test_marking_a_create_forgets_the_previous_genesys_user(tmp_path: Path) -> None:
    state = SyncState(tmp_path / "sync.db")
    state.synced("dan", "dan@example.com", "old", "v1", {"id": "old"}, "fp")
    state.creating("dan", "dan@example.com")
    row = state.user("dan")
    assert row is not None and row.status == CREATING
    assert (row.genesys_id, row.version, row.record, row.fingerprint) == (None, None, None, None)
    assert row.message  # `sync status` says what is going on


def test_a_version_1_database_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "sync.db"
    with sqlite3.connect(path) as conn:
        conn.execute(V1_USERS)
        rows = [("Émile", SYNCED, "g1", "2024-01-02T00:00:00Z"),
                ("émile", CREATING, None, "2024-01-03T00:00:00Z"),  # NOCASE let both in
                ("Bob", SYNCED, "g2", "2024-01-01T00:00:00Z")]
        for user_id, status, genesys_id, updated in rows:
            conn.execute("INSERT INTO users (user_id, status, genesys_id, updated) "
                         "VALUES (?, ?, ?, ?)", (user_id, status, genesys_id, updated))
        conn.execute("PRAGMA user_version = 1")
    conn.close()
    state = SyncState(path)
    users = state.users()
    assert sorted(users) == ["bob", "émile"]
    assert users["émile"].genesys_id == "g1"  # the linked row wins over the bare mark
    assert users["bob"].user_id == "Bob"
    bob = state.user("BOB")
    assert bob is not None and bob.genesys_id == "g2"
    state.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    conn.close()
    SyncState(path).close()  # opening it again changes nothing


# Schema version 2 as it shipped: users keyed by the casefolded ID, no history table.
V2_SCHEMA = ("""
CREATE TABLE users (
    key TEXT NOT NULL PRIMARY KEY, user_id TEXT NOT NULL, status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '', email TEXT NOT NULL DEFAULT '', genesys_id TEXT,
    version TEXT, record TEXT, fingerprint TEXT, last_synced TEXT, updated TEXT NOT NULL)""",
             "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
             "CREATE TABLE health (name TEXT PRIMARY KEY, value TEXT NOT NULL, "
             "time TEXT NOT NULL)",
             "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, "
             "kind TEXT NOT NULL, message TEXT NOT NULL)")


def test_a_version_2_database_gets_conflicts_and_a_history(tmp_path: Path) -> None:
    path = tmp_path / "sync.db"
    with sqlite3.connect(path) as conn:
        for statement in V2_SCHEMA:
            conn.execute(statement)
        conn.executemany(
            "INSERT INTO users (key, user_id, status, message, email, updated) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [("carol", "carol", "not_synced",
              "conflict: e-mail c@example.com belongs to Genesys Cloud user g9",
              "c@example.com", "2025-01-01T00:00:00Z"),
             ("dave", "dave", "not_synced", "no business e-mail", "", "2025-01-01T00:00:00Z")])
        conn.execute("INSERT INTO counters VALUES ('successful', 7)")
        conn.execute("PRAGMA user_version = 2")
    conn.close()
    state = SyncState(path)
    carol, dave = state.user("carol"), state.user("dave")
    assert carol is not None and dave is not None
    assert carol.status == CONFLICT and carol.label == "Conflict"
    assert carol.message == "e-mail c@example.com belongs to Genesys Cloud user g9"
    assert dave.status == NOT_SYNCED and dave.message == "no business e-mail"
    assert [u.user_id for u in state.by_status(CONFLICT)] == ["carol"]
    assert state.counters() == {"successful": 7}
    History(state).record("p1", [Entry("carol", "create", "conflict", "held")])
    assert [e.result for e in History(state).of("CAROL")] == ["conflict"]
    state.close()
