"""The embedded local directory as the sync's source (``[directory] database``)."""

from __future__ import annotations

from pathlib import Path

from idp.auth.local import LocalDirectory
from idp.errors import DirectoryError, SyncError
from idp.sync.sources.base import Snapshot, UserSource


class DirectorySource(UserSource):
    def __init__(self, database: Path) -> None:
        self.description = f"local directory {database}"
        self._database = database

    def snapshot(self) -> Snapshot:
        if not self._database.exists():  # opening it would create an empty one
            raise SyncError(f"no {self.description} (create it with `cic-sts users add` or "
                            "`cic-sts users import`)")
        try:
            return Snapshot(LocalDirectory(self._database).list_users())
        except DirectoryError as exc:
            raise SyncError(f"cannot read the {self.description}: {exc}") from None
