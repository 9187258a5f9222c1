"""The object sync's memory, in the sync's state database: one row per object, one per user.

``objects`` (kind, key): the Genesys Cloud object a CIC object is linked to, whether the sync
created it (``owned``: only those are renamed or deleted; an object found with the name it
needs is used and never removed), its status (synced, error, creating, retired) and, for a
queue, the members and wrap-up codes last set. A create is marked (``creating``) before its
request leaves, so a sync killed meanwhile looks the object up before creating it again; a
create Genesys Cloud refused leaves an ``error`` row that is not ``owned`` (nothing of that name
is the sync's), one whose outcome stayed unknown an ``owned`` one. A skill renamed in CIC gets a
new Genesys Cloud skill (skills have no rename); the old one becomes a ``retired`` row (in the
same transaction that marks the new one's create), used in its place until the new one exists,
and deleted once it does and its users have lost it.

``user_routing``: per Genesys Cloud user, the skills and languages the sync last assigned
(Genesys Cloud ids -> stars). Only those are ever removed from the user.

The tables are added to the state database when first used (``CREATE TABLE IF NOT EXISTS``):
older versions of cic-sts ignore them.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from idp.sync.state import SyncState
from idp.timestamps import utc_now

SYNCED, ERROR, CREATING, RETIRED, CONFLICT = "synced", "error", "creating", "retired", "conflict"

_SCHEMA = ("""
CREATE TABLE IF NOT EXISTS objects (
    kind        TEXT NOT NULL,            -- queue, skill, language, wrapup
    key         TEXT NOT NULL,            -- the CIC id, casefolded (retired: id#genesys id)
    cic_id      TEXT NOT NULL,
    name        TEXT NOT NULL,            -- the name in Genesys Cloud
    status      TEXT NOT NULL,
    message     TEXT NOT NULL DEFAULT '',
    genesys_id  TEXT,
    owned       INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT '{}',  -- queue: {"members": [...], "codes": [...]}
    last_synced TEXT,
    updated     TEXT NOT NULL,
    PRIMARY KEY (kind, key)
)""", """
CREATE TABLE IF NOT EXISTS user_routing (
    genesys_id TEXT NOT NULL PRIMARY KEY,
    skills     TEXT NOT NULL DEFAULT '{}',   -- Genesys skill id -> stars
    languages  TEXT NOT NULL DEFAULT '{}',   -- Genesys language id -> stars
    updated    TEXT NOT NULL
)""")


@dataclass(frozen=True)
class ObjectRow:
    kind: str
    key: str
    cic_id: str
    name: str
    status: str
    message: str = ""
    genesys_id: str | None = None
    owned: bool = False
    detail: dict[str, Any] = field(default_factory=dict)
    last_synced: str | None = None
    updated: str = ""

    @property
    def cic_key(self) -> str:
        """The key of the CIC object (a retired row's key also names its Genesys object)."""
        return self.key.rsplit("#", 1)[0] if self.status == RETIRED else self.key

    def listed(self, name: str) -> set[str]:
        return set(self.detail.get(name, []))


class ObjectStore:
    def __init__(self, state: SyncState) -> None:
        self.state = state
        with state.writing() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    def rows(self, kind: str | None = None) -> list[ObjectRow]:
        with self.state.reading() as conn:
            if kind is None:
                found = conn.execute("SELECT * FROM objects ORDER BY kind, key").fetchall()
            else:
                found = conn.execute("SELECT * FROM objects WHERE kind = ? ORDER BY key",
                                     (kind,)).fetchall()
        return [ObjectRow(r["kind"], r["key"], r["cic_id"], r["name"], r["status"],
                          r["message"], r["genesys_id"], bool(r["owned"]),
                          json.loads(r["detail"]), r["last_synced"], r["updated"])
                for r in found]

    def row(self, kind: str, key: str) -> ObjectRow | None:
        return next((r for r in self.rows(kind) if r.key == key), None)

    def save(self, row: ObjectRow) -> None:
        with self.state.writing() as conn:
            _upsert(conn, row)

    def retire(self, row: ObjectRow, why: str, then: ObjectRow) -> None:
        """In one transaction: `row` becomes a retired row (kept with its Genesys Cloud id,
        until what replaces it exists), and `then` (the replacement's row, of the same CIC
        object) is saved. A sync killed at any point leaves either both or neither."""
        with self.state.writing() as conn:
            conn.execute("DELETE FROM objects WHERE kind = ? AND key = ?", (row.kind, row.key))
            if row.genesys_id:
                _upsert(conn, ObjectRow(row.kind, f"{row.key}#{row.genesys_id}", row.cic_id,
                                        row.name, RETIRED, why, row.genesys_id, row.owned))
            _upsert(conn, then)

    def forget(self, kind: str, key: str) -> None:
        with self.state.writing() as conn:
            conn.execute("DELETE FROM objects WHERE kind = ? AND key = ?", (kind, key))

    # -- users ---------------------------------------------------------------------------------

    def assignments(self) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
        """Genesys Cloud user id -> (skills, languages) the sync last assigned."""
        with self.state.reading() as conn:
            found = conn.execute("SELECT * FROM user_routing").fetchall()
        return {r["genesys_id"]: (json.loads(r["skills"]), json.loads(r["languages"]))
                for r in found}

    def assigned(self, genesys_id: str, skills: dict[str, int],
                 languages: dict[str, int]) -> None:
        with self.state.writing() as conn:
            if not skills and not languages:
                conn.execute("DELETE FROM user_routing WHERE genesys_id = ?", (genesys_id,))
                return
            conn.execute(
                "INSERT INTO user_routing (genesys_id, skills, languages, updated) VALUES "
                "(?, ?, ?, ?) ON CONFLICT (genesys_id) DO UPDATE SET skills = excluded.skills, "
                "languages = excluded.languages, updated = excluded.updated",
                (genesys_id, json.dumps(skills, sort_keys=True),
                 json.dumps(languages, sort_keys=True), utc_now()))


def _upsert(conn: sqlite3.Connection, row: ObjectRow) -> None:
    stamp = utc_now()
    synced = stamp if row.status == SYNCED else row.last_synced
    conn.execute(
        "INSERT INTO objects (kind, key, cic_id, name, status, message, genesys_id, "
        "owned, detail, last_synced, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, key) DO UPDATE SET cic_id = excluded.cic_id, "
        "name = excluded.name, status = excluded.status, message = excluded.message, "
        "genesys_id = excluded.genesys_id, owned = excluded.owned, "
        "detail = excluded.detail, last_synced = excluded.last_synced, "
        "updated = excluded.updated",
        (row.kind, row.key, row.cic_id, row.name, row.status, row.message,
         row.genesys_id, int(row.owned), json.dumps(row.detail, sort_keys=True), synced,
         stamp))
