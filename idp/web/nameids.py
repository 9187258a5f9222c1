"""Which persistent NameIDs were ever issued, so that a request with AllowCreate="false" gets one
only when it was established before (SAML Core 3.4.1.1).

The values themselves are computed (`idp.saml.nameid.persistent_value`), so both servers of a
pair issue the same one; this record is per server (`idp.nameid_database`, SQLite), so a request
with AllowCreate="false" for a user whose identifier only the other server issued is refused
once, until this server has issued it too (docs/integrators.md says so).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from idp.errors import ServerError

_SCHEMA = ("CREATE TABLE IF NOT EXISTS persistent_ids (sp TEXT NOT NULL, user_id TEXT NOT NULL, "
           "issued TEXT NOT NULL, PRIMARY KEY (sp, user_id)) WITHOUT ROWID")


class NameIdRecordUnavailable(ServerError):
    """The record of issued persistent NameIDs cannot be read or written."""


class IssuedNameIds:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        connection.execute(_SCHEMA)
        return connection

    def known(self, sp: str, user_id: str) -> bool:
        try:
            connection = self._connect()
            try:
                row = connection.execute(
                    "SELECT 1 FROM persistent_ids WHERE sp = ? AND user_id = ?",
                    (sp, user_id.casefold())).fetchone()
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise NameIdRecordUnavailable(f"{self.path}: {exc}") from None
        return row is not None

    def record(self, sp: str, user_id: str) -> None:
        try:
            connection = self._connect()
            try:
                connection.execute(
                    "INSERT OR IGNORE INTO persistent_ids (sp, user_id, issued) VALUES (?, ?, ?)",
                    (sp, user_id.casefold(), dt.datetime.now(dt.UTC).isoformat()))
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise NameIdRecordUnavailable(f"{self.path}: {exc}") from None
