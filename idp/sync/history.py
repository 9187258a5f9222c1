"""Per-user history: what each pass (or an administrator's command) did to each user.

One row per user and pass in which something happened to it (unchanged users leave none): the
action planned, its outcome, the message, and the fields changed with their old and new values.
`sync status USER_ID --history` shows it. Rows older than ``sync.history_days`` are dropped at
the end of each pass. The history lives in the state database, which is readable by its owner
only: it holds e-mails and phone numbers, as the users table does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from idp.sync.state import SyncState, user_key
from idp.timestamps import utc_now, utc_text


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Entry:
    user_id: str
    action: str  # what was planned: create, update, deactivate, link, ...
    result: str  # what came of it: created, error, conflict, held, ...
    message: str = ""
    changes: tuple[Change, ...] = ()
    time: str = ""  # when it happened; empty: when recorded
    pass_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "pass": self.pass_id, "action": self.action,
                "result": self.result, "message": self.message,
                "changes": [{"field": c.field, "old": c.old, "new": c.new}
                            for c in self.changes]}


class History:
    def __init__(self, state: SyncState) -> None:
        self._state = state

    def record(self, pass_id: str, entries: list[Entry]) -> None:
        """Add `entries`, all of one pass, in one transaction. An entry that only repeats the
        user's latest one (the same conflict or hold, pass after pass) is not added again: it
        would bury what changed under what did not."""
        stamp = utc_now()
        latest = self._latest({user_key(e.user_id) for e in entries if not e.changes})
        rows = [(user_key(e.user_id), e.user_id, e.time or stamp, pass_id, e.action, e.result,
                 e.message, json.dumps([[c.field, c.old, c.new] for c in e.changes]))
                for e in entries
                if e.changes or latest.get(user_key(e.user_id)) != (e.action, e.result,
                                                                    e.message)]
        if not rows:
            return
        with self._state.writing() as conn:
            conn.executemany("INSERT INTO history (key, user_id, time, pass, action, result, "
                             "message, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def _latest(self, keys: set[str]) -> dict[str, tuple[str, str, str]]:
        """(action, result, message) of each key's newest entry, if that one changed no field."""
        found: dict[str, tuple[str, str, str]] = {}
        ordered = sorted(keys)
        with self._state.reading() as conn:
            for i in range(0, len(ordered), 500):  # under SQLite's limit of variables
                chunk = ordered[i:i + 500]
                marks = ", ".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, action, result, message, changes FROM history WHERE id IN "
                    f"(SELECT max(id) FROM history WHERE key IN ({marks}) GROUP BY key)",
                    chunk).fetchall()
                found.update({row["key"]: (row["action"], row["result"], row["message"])
                              for row in rows if row["changes"] == "[]"})
        return found

    def of(self, user_id: str, limit: int = 100) -> list[Entry]:
        """The user's latest entries, newest first."""
        with self._state.reading() as conn:
            rows = conn.execute("SELECT * FROM history WHERE key = ? ORDER BY id DESC LIMIT ?",
                                (user_key(user_id), limit)).fetchall()
        return [Entry(row["user_id"], row["action"], row["result"], row["message"],
                      tuple(Change(*c) for c in json.loads(row["changes"])), row["time"],
                      row["pass"]) for row in rows]

    def prune(self, days: int, now: datetime | None = None) -> int:
        """Drop entries older than `days`; how many went."""
        cutoff = utc_text((now or datetime.now(UTC)) - timedelta(days=days))
        with self._state.writing() as conn:
            return conn.execute("DELETE FROM history WHERE time < ?", (cutoff,)).rowcount
