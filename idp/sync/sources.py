"""Where the sync reads CIC users from.

A source returns a snapshot: every CIC user it could read, and the problems it met (a bad CSV
row, say). A snapshot with problems is incomplete: the users it lacks may well still exist in
CIC, so the sync deactivates nobody on its strength. The ICWS source (reading
``/icws/{session}/configuration/users``) implements the same `UserSource` interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from idp.auth.base import CicUser
from idp.auth.csvfile import read_users_csv
from idp.auth.local import LocalDirectory
from idp.demo.identity import is_demo_user
from idp.errors import DirectoryError, SyncError


@dataclass(frozen=True)
class Snapshot:
    users: list[CicUser]
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems


class UserSource(ABC):
    """Reads every CIC user at once (CIC installations have thousands, not millions)."""

    #: Says where the users come from, for messages ("local directory /etc/cic-sts/users.db").
    description: str

    @abstractmethod
    def snapshot(self) -> Snapshot:
        """All users now. Raises `SyncError` when the source cannot be read at all."""

    def close(self) -> None:  # noqa: B027  (optional: most sources hold nothing open)
        """Release what the source holds open (an ICWS session, say)."""


class DirectorySource(UserSource):
    """The embedded local directory (``[directory] database``)."""

    def __init__(self, database: Path) -> None:
        self.description = f"local directory {database}"
        self._database = database

    def snapshot(self) -> Snapshot:
        if not self._database.exists():  # opening it would create an empty one
            raise SyncError(f"no {self.description} (create it with `cic-sts users add` or "
                            "`cic-sts users import`)")
        try:
            users = LocalDirectory(self._database).list_users()
        except DirectoryError as exc:
            raise SyncError(f"cannot read the {self.description}: {exc}") from None
        # The demo's user (README password) is never provisioned: see idp.demo.identity.
        return Snapshot([user for user in users if not is_demo_user(user)])


class CsvSource(UserSource):
    """A CSV export of CIC users, with the columns `cic-sts users import` documents (a password
    column is ignored)."""

    def __init__(self, path: Path) -> None:
        self.description = f"CSV file {path}"
        self._path = path

    def snapshot(self) -> Snapshot:
        try:
            result = read_users_csv(self._path)
        except DirectoryError as exc:
            raise SyncError(str(exc)) from None
        return Snapshot([user for _, user, _ in result.rows],
                        [f"{self._path.name}: {error}" for error in result.errors])
