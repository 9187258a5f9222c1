"""What goes wrong when talking to CIC over ICWS: all `BackendUnavailable`, so the STS answers
"CIC cannot check your credentials right now" and the sync stops before it trusts a partial
answer."""

from __future__ import annotations

from collections.abc import Sequence

from idp.cic.hosts import Server
from idp.errors import BackendUnavailable


class IcwsUnavailable(BackendUnavailable):
    """CIC could not be asked, or answered something other than yes or no.

    `tried` lists the servers a logon tried, in order (empty for requests within a session)."""

    def __init__(self, message: str, tried: Sequence[Server] = ()) -> None:
        super().__init__(message)
        self.tried = list(tried)


class SessionLost(IcwsUnavailable):
    """The session's server forgot the session (401) or stopped answering: connect again."""


class IncompleteList(IcwsUnavailable):
    """A list could not be read completely; whatever was read is not the list."""


class ListChanged(IncompleteList):
    """Items were added or removed while a list was read page by page: read it again."""
