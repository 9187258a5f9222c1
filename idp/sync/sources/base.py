"""What every source of CIC users gives the sync: a snapshot, complete or not.

A snapshot holds every CIC user the source could read, and the problems it met (a bad CSV row, a
row count that does not match). A snapshot with problems is incomplete: the users it lacks may
well still exist in CIC, so the sync deactivates nobody on its strength. A source that cannot be
read as a whole raises `SyncError` instead: a partial list is never a snapshot.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from idp.users import CicUser


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

    #: Whether the snapshot carries each user's workgroups (scoping by workgroup needs them).
    has_workgroups: bool = False

    @abstractmethod
    def snapshot(self) -> Snapshot:
        """All users now. Raises `SyncError` when the source cannot be read completely."""

    def close(self) -> None:  # noqa: B027  (optional: most sources hold nothing open)
        """Release what the source holds open (an ICWS session, say)."""
