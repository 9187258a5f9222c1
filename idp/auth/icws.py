"""The ``icws`` backend: CIC itself checks user IDs and passwords, over ICWS.

A logon opens an ICWS session with the user's credentials on whichever server of the pair accepts
it, reads the user's record, and closes the session. Where the record is read with:

- a **service account** (``icws.service_user``), when one is configured: one long-lived ICWS
  session shared by the worker's threads. It also answers `lookup`, which an STS session needs on
  every later AuthnRequest, when no password is at hand. This is the recommended setup; the
  account needs the right to read user configurations, and the sync uses it too.
- otherwise the user's own new session, which needs that the user may read their own record.
  `lookup` can then only return what this worker remembers from the user's own logon, for
  ``icws.cache_ttl``; after that an STS session asks for the password again.

Successful lookups and logons leave the user's record (never the password) in a small cache for
``icws.cache_ttl`` seconds.

A logon, a lookup and a readiness check each end within ``IcwsClient.logon_timeout`` seconds
(failover_timeout + 2 x timeout), however slowly CIC answers: below the reverse proxy's read
timeout, so the browser gets the STS's own "CIC unavailable" page rather than the proxy's 504.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from idp.auth.base import AuthBackend
from idp.cic.deadline import deadline
from idp.cic.icws import IcwsClient, IcwsSession, SessionLost
from idp.cic.service import ServiceSession
from idp.config import IcwsSettings
from idp.errors import BackendUnavailable
from idp.users import CicUser

#: How long `ready` trusts its last answer: load balancers probe often.
READY_TTL = 10.0


class UserCache:
    """User records by case-folded user ID, each kept for `ttl` seconds; at most `size` of them."""

    def __init__(self, ttl: float, size: int = 10000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self._clock = ttl, size, clock
        self._entries: OrderedDict[str, tuple[float, CicUser]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, user_id: str) -> CicUser | None:
        key = user_id.casefold()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, user: CicUser, *aliases: str) -> None:
        if self.ttl <= 0:
            return
        expires = self._clock() + self.ttl
        with self._lock:
            for user_id in {user.user_id, *aliases}:
                self._entries[user_id.casefold()] = (expires, user)
                self._entries.move_to_end(user_id.casefold())
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class IcwsBackend(AuthBackend):
    def __init__(self, client: IcwsClient, service: ServiceSession | None = None,
                 cache_ttl: float = 300, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.service = service
        self.cache = UserCache(cache_ttl, clock=clock)
        self._clock = clock
        self._ready: tuple[float, bool] | None = None

    @classmethod
    def from_settings(cls, settings: IcwsSettings) -> IcwsBackend:
        client = IcwsClient.from_settings(settings)
        service = None
        if settings.service_user and settings.service_password is not None:
            # Read now, so that a missing secret stops `cic-sts serve` before it starts.
            service = ServiceSession(client, settings.service_user,
                                     settings.service_password.reveal())
        return cls(client, service, settings.cache_ttl)

    def authenticate(self, user_id: str, password: str) -> CicUser:
        user = self.client.authenticate(user_id, password, reader=self._reader())
        self.cache.put(user, user_id)
        return user

    def authenticate_token(self, token: str) -> CicUser:
        """The user a single-use ICWS auth token belongs to (see `IcwsClient.logon_with_token`)."""
        user = self.client.logon_with_token(token, reader=self._reader())
        self.cache.put(user)
        return user

    def lookup(self, user_id: str) -> CicUser | None:
        cached = self.cache.get(user_id)
        if cached is not None or self.service is None:
            return cached
        with deadline(self.client.logon_timeout, self.client.clock):
            user = self.service.run(lambda session: session.get_user(user_id))
        if user is not None:
            self.cache.put(user, user_id)
        return user

    def ready(self) -> bool:
        """With a service account: whether its session is open (or can be reopened). Without
        one nothing can be checked without a password, so the answer is yes."""
        if self.service is None:
            return True
        now = self._clock()
        if self._ready is not None and now - self._ready[0] < READY_TTL:
            return self._ready[1]
        try:
            with deadline(self.client.logon_timeout, self.client.clock):
                ok = self.service.run(_check_or_lose)
        except BackendUnavailable:
            ok = False
        self._ready = (now, ok)
        return ok

    def close(self) -> None:
        if self.service is not None:
            self.service.close()
        self.client.close()

    def _reader(self) -> Callable[[str], CicUser | None] | None:
        service = self.service
        if service is None:
            return None
        return lambda user_id: service.run(lambda session: session.get_user(user_id))


def _check_or_lose(session: IcwsSession) -> bool:
    if not session.check():  # reopened, once, by ServiceSession.run
        raise SessionLost(f"CIC ({session.server}) no longer knows the service session")
    return True
