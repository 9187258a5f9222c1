"""The out-of-office flag, apart from presences (``sync.presence_out_of_office``).

Genesys Cloud has no "Out of the Office" presence: the guide's row becomes Away plus the user's
out-of-office flag (``PUT /api/v2/users/{id}/outofoffice``), which it shows as "Out of Office".
The flag is a request of its own, after the user's presence was written, so it never holds a
presence back: a presence written is done, whatever becomes of its flag.

- The flag is set when the user's presence asks for it, and cleared only if the sync set it.
  What the sync set is kept in the state database (``presences.out_of_office``) in both
  presence source modes, so a restarted sync still clears the flags it set before.
- A flag Genesys Cloud refused for one user (400, 404: the user is gone) is dropped for that
  user, with a log line. One refused for every user (403: the OAuth client lacks the right; 401;
  Genesys Cloud unreachable) pauses every flag write, and is tried again with one request after
  a growing pause (`PAUSES`), so a missing permission costs a request every few minutes, not
  one per vacationing agent. Either way `error` says it, for `sync status`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from idp.errors import GenesysError, PlatformError
from idp.genesys.presence import PresenceClient
from idp.sync.presence.store import PresenceStore

log = logging.getLogger(__name__)

#: Seconds before the first retry after a refusal of every flag write, and the longest pause.
PAUSES = (30.0, 600.0)


@dataclass
class _Wanted:
    user: str  # user key
    active: bool


class OutOfOffice:
    def __init__(self, client: PresenceClient, store: PresenceStore, *, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic,
                 pauses: tuple[float, float] = PAUSES) -> None:
        self._client = client
        self._store = store
        self.enabled = enabled
        self._clock = clock
        self.pauses = pauses  # (first, longest) pause after a refusal of every flag
        self._set: set[str] = set()  # Genesys ids whose flag the sync set
        self._wanted: dict[str, _Wanted] = {}  # Genesys id -> the flag to write
        self._paused_until = 0.0
        self._pause = 0.0
        self.error = ""  # why flags wait, for the health view
        self.requests = 0

    def load(self, links: dict[str, str]) -> None:
        """The flags the sync set before (`links`: user key -> Genesys id)."""
        self._set = self._store.out_of_office(links)

    def follow(self, user: str, genesys_id: str, active: bool) -> None:
        """The user's presence was written with this out-of-office wish."""
        if not self.enabled:
            return
        if active == (genesys_id in self._set):
            self._wanted.pop(genesys_id, None)  # as it is (or a newer wish undid it)
        else:
            self._wanted[genesys_id] = _Wanted(user, active)

    @property
    def waiting(self) -> int:
        return len(self._wanted)

    def write(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Write the flags that wait, unless a refusal of all of them pauses them."""
        if self._clock() < self._paused_until:
            return
        for genesys_id, wanted in list(self._wanted.items()):
            if stop():
                return
            try:
                self.requests += 1
                self._client.set_out_of_office(genesys_id, wanted.active)
            except GenesysError as exc:
                if isinstance(exc, PlatformError) and exc.genesys_status in (400, 404):
                    log.warning("out-of-office flag of Genesys Cloud user %s not written: %s",
                                genesys_id, exc)
                    self._wanted.pop(genesys_id, None)
                    continue
                self._paused(exc)
                return
            if self._wanted.get(genesys_id) is wanted:
                del self._wanted[genesys_id]
            (self._set.add if wanted.active else self._set.discard)(genesys_id)
            self._store.out_of_office_set(wanted.user, genesys_id, wanted.active)
            if self.error:
                log.warning("presence: out-of-office flags are written again")
            self.error, self._pause = "", 0.0

    def _paused(self, exc: GenesysError) -> None:
        first, cap = self.pauses
        self._pause = min(cap, self._pause * 2 if self._pause else first)
        self._paused_until = self._clock() + self._pause
        message = f"{len(self._wanted)} out-of-office flags wait: {exc}"
        if message != self.error:
            log.warning("presence: %s; trying again in %.0f s", message, self._pause)
        self.error = message
