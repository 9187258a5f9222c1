"""The presences last written, in the sync's state database (table ``presences``), so that a
restarted presence sync does not write everyone again: after any gap it compares the statuses
CIC sends anew with these, and writes only what differs. ``out_of_office`` is the flag as the
sync last set it (`idp.sync.presence.outofoffice`), written apart from the presence, read in
every presence source mode. Added when first used (``CREATE TABLE IF NOT EXISTS``); older
versions of cic-sts ignore it."""

from __future__ import annotations

from idp.sync.presence.rules import Target
from idp.sync.state import SyncState
from idp.timestamps import utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS presences (
    key           TEXT NOT NULL PRIMARY KEY,  -- the CIC user ID, casefolded
    genesys_id    TEXT NOT NULL,
    presence      TEXT NOT NULL,              -- as the rules name it
    out_of_office INTEGER NOT NULL DEFAULT 0,  -- the flag as the sync last set it
    status_id     TEXT NOT NULL DEFAULT '',   -- the CIC status it came from
    written       TEXT NOT NULL
)"""


class PresenceStore:
    def __init__(self, state: SyncState) -> None:
        self._state = state
        with state.writing() as conn:
            conn.execute(_SCHEMA)

    def load(self, links: dict[str, str]) -> dict[str, Target]:
        """user key -> what was written, for users still linked to the same Genesys user."""
        with self._state.reading() as conn:
            rows = conn.execute("SELECT * FROM presences").fetchall()
        return {row["key"]: Target(row["presence"], bool(row["out_of_office"]))
                for row in rows if links.get(row["key"]) == row["genesys_id"]
                and row["presence"]}

    def out_of_office(self, links: dict[str, str]) -> set[str]:
        """The Genesys ids of the linked users whose out-of-office flag the sync set."""
        with self._state.reading() as conn:
            rows = conn.execute("SELECT key, genesys_id FROM presences "
                                "WHERE out_of_office = 1").fetchall()
        return {row["genesys_id"] for row in rows if links.get(row["key"]) == row["genesys_id"]}

    def save(self, written: list[tuple[str, str, Target, str]]) -> None:
        """(user key, Genesys user id, target, CIC status id) of each presence written (the
        flag stays as it was set, unless the user is linked to another Genesys user now)."""
        stamp = utc_now()
        with self._state.writing() as conn:
            conn.executemany(
                "INSERT INTO presences (key, genesys_id, presence, status_id, written) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "out_of_office = CASE WHEN genesys_id = excluded.genesys_id "
                "THEN out_of_office ELSE 0 END, genesys_id = excluded.genesys_id, "
                "presence = excluded.presence, status_id = excluded.status_id, "
                "written = excluded.written",
                [(k, g, t.presence, s, stamp) for k, g, t, s in written])

    def out_of_office_set(self, user: str, genesys_id: str, active: bool) -> None:
        with self._state.writing() as conn:
            conn.execute(
                "INSERT INTO presences (key, genesys_id, presence, out_of_office, written) "
                "VALUES (?, ?, '', ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "genesys_id = excluded.genesys_id, out_of_office = excluded.out_of_office",
                (user, genesys_id, int(active), utc_now()))
