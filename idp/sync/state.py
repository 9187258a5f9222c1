"""The sync's memory: one SQLite row per CIC user, committed as soon as that user is done.

Per user: the Genesys Cloud user ID it is linked to, the version and the fields of that Genesys
user as last seen (so an unchanged user costs no request, and a changed one one PATCH with
If-Match), the fingerprint of what was last written, the status shown by `sync status`
(Synced, Error, Not synced, Deactivated) with its message, and the Last Synchronized time.
Also the Successful / Failed / Retried request counters, the health items and the
connection-lost/restored events.

Each change is its own transaction, so a sync killed at any moment loses at most the user it
was writing; what that user's request did in Genesys Cloud is then found by the next pass,
which looks unlinked users up before it creates them. WAL mode with ``synchronous = NORMAL``:
a commit survives the process being killed; only a power cut may lose the last few, which the
same look-up repairs.

Rows are keyed by the casefolded CIC user ID (`user_key`), the fold the planner uses, so that
``Émile`` and ``émile`` are one user (SQLite's ``COLLATE NOCASE``, used by schema version 1,
folds ASCII letters only); the ID as last spelled is kept beside it for display. Opening an
older database migrates it (``PRAGMA user_version``): version 2 keyed users by the casefolded
ID, version 3 gave conflicts a status of their own and added the per-user history
(`idp.sync.history`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idp.errors import SyncError
from idp.sqlite import migrate, transaction
from idp.timestamps import utc_now

SCHEMA_VERSION = 3

# Statuses. CIC shows Synced / Error / Not synced; Conflict, Deactivated and Creating are ours.
SYNCED = "synced"
ERROR = "error"
CONFLICT = "conflict"  # not synced: another Genesys Cloud user holds the e-mail
NOT_SYNCED = "not_synced"
DEACTIVATED = "deactivated"
CREATING = "creating"  # a create was sent; if the sync dies now, the next pass looks first

STATUS_LABELS = {SYNCED: "Synced", ERROR: "Error", CONFLICT: "Conflict",
                 NOT_SYNCED: "Not synced", DEACTIVATED: "Deactivated", CREATING: "Not synced"}

_USERS = """
CREATE TABLE IF NOT EXISTS {name} (
    key         TEXT NOT NULL PRIMARY KEY,  -- the CIC user ID, casefolded (user_key)
    user_id     TEXT NOT NULL,              -- the CIC user ID as last spelled
    status      TEXT NOT NULL,
    message     TEXT NOT NULL DEFAULT '',  -- error, reason not synced, or warnings
    email       TEXT NOT NULL DEFAULT '',  -- business e-mail as last seen
    genesys_id  TEXT,                      -- the linked Genesys Cloud user
    version     TEXT,                      -- its version (ETag) as last seen
    record      TEXT,                      -- its fields as last seen (JSON)
    fingerprint TEXT,                      -- of the desired user last written
    last_synced TEXT,                      -- ISO 8601 UTC of the last success
    updated     TEXT NOT NULL
)"""

_COLUMNS = ("user_id", "status", "message", "email", "genesys_id", "version", "record",
            "fingerprint", "last_synced", "updated")

_HISTORY = ("""
CREATE TABLE IF NOT EXISTS history (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    key     TEXT NOT NULL,              -- user_key of the CIC user
    user_id TEXT NOT NULL,
    time    TEXT NOT NULL,              -- ISO 8601 UTC
    pass    TEXT NOT NULL,              -- the pass (or command) it happened in
    action  TEXT NOT NULL,              -- planned action: create, update, deactivate, ...
    result  TEXT NOT NULL,              -- outcome: created, error, conflict, held, ...
    message TEXT NOT NULL DEFAULT '',
    changes TEXT NOT NULL DEFAULT '[]'  -- JSON [{field, old, new}]
)""", "CREATE INDEX IF NOT EXISTS history_by_user ON history (key, id)")

_SCHEMA = (_USERS.format(name="users"), *_HISTORY, """
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)""", """
CREATE TABLE IF NOT EXISTS health (
    name TEXT PRIMARY KEY, value TEXT NOT NULL, time TEXT NOT NULL)""", """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, kind TEXT NOT NULL,
    message TEXT NOT NULL)""")

#: Events kept; older ones are dropped.
MAX_EVENTS = 1000


def user_key(user_id: str) -> str:
    """The key of a CIC user ID: CIC compares user IDs without letter case."""
    return user_id.casefold()


@dataclass(frozen=True)
class UserState:
    user_id: str
    status: str
    message: str
    email: str
    genesys_id: str | None
    version: str | None
    record: dict[str, Any] | None
    fingerprint: str | None
    last_synced: str | None
    updated: str

    @property
    def label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def genesys_active(self) -> bool:
        """Whether the linked Genesys Cloud user was active when last seen."""
        return self.genesys_id is not None and (self.record or {}).get("active") is not False


class SyncState:
    """The state database; one connection shared by the sync's threads behind a lock."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = path
        if not create and not path.exists():
            raise SyncError(f"no sync state yet ({path}): run `cic-sts sync apply` first")
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                                         check_same_thread=False)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            with transaction(self._conn):
                self._migrate()
        except sqlite3.Error as exc:
            raise SyncError(f"cannot open the sync state database {path}: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- users -------------------------------------------------------------------------------

    def users(self) -> dict[str, UserState]:
        """Every user, keyed by the casefolded CIC user ID (`user_key`)."""
        with self.reading() as conn:
            rows = conn.execute("SELECT * FROM users").fetchall()
        return {row["key"]: _user(row) for row in rows}

    def user(self, user_id: str) -> UserState | None:
        with self.reading() as conn:
            row = conn.execute("SELECT * FROM users WHERE key = ?",
                               (user_key(user_id),)).fetchone()
        return None if row is None else _user(row)

    def creating(self, user_id: str, email: str) -> None:
        """Mark a create as sent, before it is: a crash leaves the trace for the next pass,
        which looks the user up by what was sent (this spelling of the ID, this e-mail).

        Whatever Genesys Cloud user the row named before is forgotten: the create is sent
        because that one is gone, and a restarted pass must not take it for the new one."""
        self._upsert(user_id, status=CREATING, email=email,
                     message="a create was sent and not confirmed yet; the next pass looks it "
                             "up in Genesys Cloud before anything else",
                     genesys_id=None, version=None, record=None, fingerprint=None)

    def synced(self, user_id: str, email: str, genesys_id: str, version: str | None,
               record: dict[str, Any] | None, fingerprint: str, warnings: str = "") -> None:
        stamp = utc_now()
        self._upsert(user_id, status=SYNCED, message=warnings, email=email, genesys_id=genesys_id,
                     version=version, record=_dump(record), fingerprint=fingerprint,
                     last_synced=stamp)

    def failed(self, user_id: str, message: str, *, email: str | None = None,
               unlink: bool = False) -> None:
        changes: dict[str, Any] = {"status": ERROR, "message": message}
        if email is not None:
            changes["email"] = email
        if unlink:
            changes.update(genesys_id=None, version=None, record=None, fingerprint=None)
        self._upsert(user_id, **changes)

    def not_synced(self, user_id: str, reason: str, email: str) -> None:
        self._upsert(user_id, status=NOT_SYNCED, message=reason, email=email, fingerprint=None)

    def conflict(self, user_id: str, reason: str, email: str) -> None:
        self._upsert(user_id, status=CONFLICT, message=reason, email=email, fingerprint=None)

    def by_status(self, status: str) -> list[UserState]:
        """The users with `status` (creating counts as not synced), by user ID."""
        wanted = (NOT_SYNCED, CREATING) if status == NOT_SYNCED else (status,)
        marks = ", ".join("?" * len(wanted))
        with self.reading() as conn:
            rows = conn.execute(f"SELECT * FROM users WHERE status IN ({marks}) ORDER BY key",
                                wanted).fetchall()
        return [_user(row) for row in rows]

    def deactivated(self, user_id: str, message: str, version: str | None,
                    record: dict[str, Any] | None, *, still_in_cic: bool, email: str,
                    genesys_id: str | None = None) -> None:
        """The Genesys Cloud user was deactivated (record None: deleted, or already gone).
        `genesys_id`: the user deactivated, when the row did not link it yet (an interrupted
        create found by its link)."""
        status = NOT_SYNCED if still_in_cic else DEACTIVATED
        if record is None:
            self._upsert(user_id, status=status, message=message, email=email, genesys_id=None,
                         version=None, record=None, fingerprint=None)
        else:
            changes: dict[str, Any] = {"genesys_id": genesys_id} if genesys_id else {}
            self._upsert(user_id, status=status, message=message, email=email, version=version,
                         record=_dump(record), fingerprint=None, **changes)

    def linked(self, user_id: str, email: str, genesys_id: str, version: str | None,
               record: dict[str, Any], message: str) -> None:
        """An administrator linked the user (`sync link`): the next pass writes its fields."""
        self._upsert(user_id, status=NOT_SYNCED, message=message, email=email,
                     genesys_id=genesys_id, version=version, record=_dump(record),
                     fingerprint=None)

    def unlinked(self, user_id: str, message: str) -> None:
        """The user no longer has a Genesys Cloud user (`sync unlink`, or its link moved)."""
        self._upsert(user_id, status=NOT_SYNCED, message=message, genesys_id=None,
                     version=None, record=None, fingerprint=None)

    def moved_aside(self, user_id: str, genesys_id: str, message: str) -> None:
        """The Genesys Cloud user of `user_id` was given a temporary userName to free its
        e-mail for another user: whatever the row says, the next pass must look at it again."""
        with self.writing() as conn:
            conn.execute("UPDATE users SET status = ?, fingerprint = NULL, message = ?, "
                         "updated = ? WHERE key = ? AND genesys_id = ?",
                         (NOT_SYNCED, message, utc_now(), user_key(user_id), genesys_id))

    def forget(self, user_id: str) -> None:
        """Drop a user's row: it is gone from CIC and has no Genesys Cloud user."""
        with self.writing() as conn:
            conn.execute("DELETE FROM users WHERE key = ?", (user_key(user_id),))

    def _upsert(self, user_id: str, **changes: Any) -> None:
        changes["user_id"] = user_id  # the latest spelling
        changes["updated"] = utc_now()
        columns = ", ".join(changes)
        marks = ", ".join("?" * len(changes))
        updates = ", ".join(f"{c} = excluded.{c}" for c in changes)
        with self.writing() as conn:
            conn.execute(f"INSERT INTO users (key, {columns}) VALUES (?, {marks}) "
                         f"ON CONFLICT (key) DO UPDATE SET {updates}",
                         (user_key(user_id), *changes.values()))

    # -- counters, health, events --------------------------------------------------------------

    def add_counts(self, counts: dict[str, int]) -> None:
        with self.writing() as conn:
            for name, value in counts.items():
                if value:
                    conn.execute("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT "
                                 "(name) DO UPDATE SET value = value + excluded.value",
                                 (name, value))

    def counters(self) -> dict[str, int]:
        with self.reading() as conn:
            rows = conn.execute("SELECT name, value FROM counters").fetchall()
        return {row["name"]: row["value"] for row in rows}

    def set_health(self, name: str, value: str, time: str | None = None) -> None:
        with self.writing() as conn:
            conn.execute("INSERT INTO health (name, value, time) VALUES (?, ?, ?) ON CONFLICT "
                         "(name) DO UPDATE SET value = excluded.value, time = excluded.time",
                         (name, value, time or utc_now()))

    def health(self) -> dict[str, tuple[str, str]]:
        with self.reading() as conn:
            rows = conn.execute("SELECT name, value, time FROM health").fetchall()
        return {row["name"]: (row["value"], row["time"]) for row in rows}

    def clear_health(self, name: str) -> None:
        with self.writing() as conn:
            conn.execute("DELETE FROM health WHERE name = ?", (name,))

    def last_event(self, kinds: tuple[str, ...]) -> str | None:
        """The kind of the newest event among `kinds`, if any."""
        marks = ", ".join("?" * len(kinds))
        with self.reading() as conn:
            row = conn.execute(f"SELECT kind FROM events WHERE kind IN ({marks}) ORDER BY id "
                               "DESC LIMIT 1", kinds).fetchone()
        return None if row is None else str(row["kind"])

    def add_event(self, kind: str, message: str) -> None:
        with self.writing() as conn:
            conn.execute("INSERT INTO events (time, kind, message) VALUES (?, ?, ?)",
                         (utc_now(), kind, message))
            conn.execute("DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?",
                         (MAX_EVENTS,))

    def events(self, limit: int = 20) -> list[tuple[str, str, str]]:
        """The latest events, newest first: (time, kind, message)."""
        with self.reading() as conn:
            rows = conn.execute("SELECT time, kind, message FROM events ORDER BY id DESC "
                                "LIMIT ?", (limit,)).fetchall()
        return [(row["time"], row["kind"], row["message"]) for row in rows]

    # -- database ----------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise SyncError(f"sync state database {self.path}: {exc}") from None

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                with transaction(self._conn):
                    yield self._conn
            except sqlite3.Error as exc:
                raise SyncError(f"sync state database {self.path}: {exc}") from None

    def _migrate(self) -> None:
        migrate(self._conn, latest=SCHEMA_VERSION, create=self._create,
                upgrades={2: _rekey_users, 3: _add_history},
                newer=lambda version: SyncError(
                    f"sync state database {self.path} has schema version {version}, newer than "
                    f"this cic-sts understands ({SCHEMA_VERSION})"))

    def _create(self, conn: sqlite3.Connection) -> None:
        for statement in _SCHEMA:
            conn.execute(statement)
        if self.path.exists():
            os.chmod(self.path, 0o600)  # it names every user and their e-mail


def _rekey_users(conn: sqlite3.Connection) -> None:
    """Version 1 to 2: key the users by the casefolded ID. Rows that only the new key makes one
    (``Émile`` and ``émile``) are merged: the row with a Genesys Cloud user wins, then the one
    changed last."""
    columns = ", ".join(_COLUMNS)
    rows = conn.execute(f"SELECT {columns} FROM users").fetchall()
    kept: dict[str, sqlite3.Row] = {}
    for row in sorted(rows, key=lambda r: (r["genesys_id"] is not None, r["updated"])):
        kept[user_key(row["user_id"])] = row  # the last one sorted wins
    conn.execute(_USERS.format(name="users_v2"))
    marks = ", ".join("?" * (len(_COLUMNS) + 1))
    conn.executemany(f"INSERT INTO users_v2 (key, {columns}) VALUES ({marks})",
                     [(key, *row) for key, row in kept.items()])
    conn.execute("DROP TABLE users")
    conn.execute("ALTER TABLE users_v2 RENAME TO users")


def _add_history(conn: sqlite3.Connection) -> None:
    """Version 2 to 3: the per-user history, and conflicts as a status of their own (they were
    Not synced rows whose message began "conflict: ")."""
    for statement in _HISTORY:
        conn.execute(statement)
    conn.execute("UPDATE users SET status = ?, message = substr(message, 11) "
                 "WHERE status = ? AND message LIKE 'conflict: %'", (CONFLICT, NOT_SYNCED))


def _dump(record: dict[str, Any] | None) -> str | None:
    return None if record is None else json.dumps(record, separators=(",", ":"))


def _user(row: sqlite3.Row) -> UserState:
    record = json.loads(row["record"]) if row["record"] else None
    return UserState(row["user_id"], row["status"], row["message"], row["email"],
                     row["genesys_id"], row["version"], record, row["fingerprint"],
                     row["last_synced"], row["updated"])
