"""The ICWS session of a service account: opened once, shared by all threads, reopened when lost.

Lookups (an STS session answering a later AuthnRequest) and the sync read users without anyone's
password at hand; they use a CIC user configured for the purpose, which needs the right to read
user configurations in CIC.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from idp.cic.deadline import time_left
from idp.cic.icws import IcwsClient, IcwsSession, IcwsUnavailable, SessionLost
from idp.errors import AuthenticationFailed

log = logging.getLogger(__name__)

T = TypeVar("T")


class ServiceSession:
    def __init__(self, client: IcwsClient, user_id: str, password: str) -> None:
        self.client = client
        self.user_id = user_id
        self._password = password
        self._lock = threading.Lock()
        self._session: IcwsSession | None = None

    def run(self, action: Callable[[IcwsSession], T]) -> T:
        """`action` with the open session. If CIC forgot the session or its server stopped
        answering (a switchover), the session is reopened, across the pair, and `action` runs
        once more. `action` must be safe to repeat."""
        session = self._current()
        try:
            return action(session)
        except SessionLost as exc:
            log.info("ICWS service session of %r lost (%s); reconnecting", self.user_id, exc)
            self._forget(session)
        return action(self._current())

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def _current(self) -> IcwsSession:
        # One logon at a time, not one per waiting thread; a thread inside a `deadline` block
        # waits for another's logon only until its deadline.
        left = time_left()
        if not self._lock.acquire(timeout=-1 if left is None else max(0.0, left)):
            raise IcwsUnavailable(f"the ICWS session of the service account {self.user_id!r} "
                                  "did not open in time (another request is opening it)")
        try:
            if self._session is None:
                try:
                    self._session = self.client.connect_password(self.user_id, self._password)
                except AuthenticationFailed:
                    raise IcwsUnavailable(
                        f"CIC refused the logon of the service account {self.user_id!r} "
                        "(icws.service_user / icws.service_password)") from None
            return self._session
        finally:
            self._lock.release()

    def _forget(self, session: IcwsSession) -> None:
        with self._lock:
            if self._session is session:
                self._session = None
        session.closed = True  # its server no longer has it; do not try to log it off
