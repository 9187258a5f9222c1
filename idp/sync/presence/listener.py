"""The CIC side of the presence sync: subscriptions on an ICWS session, and the short poll.

On every new session (the first, and after a switchover or a lost session: the service
session reconnects across the pair, `idp.cic.service`), the listener subscribes to the status
message list and to the statuses of the synced users; CIC's first answer to each is the whole
picture, so every user's current status is judged again after any gap and whatever changed
meanwhile is written (nothing else is: the tracker compares with what was written). Then it
reads the message queue every `interval` seconds. The list of synced users is read again every
`refresh` seconds, and the subscription replaced when it changed.

While CIC cannot be reached the listener retries with a growing pause (up to `MAX_PAUSE`),
saying so once per outage; the presences written stay as they are meanwhile. A subscription CIC
refuses is no outage: the listener stops with a `ConfigError` (`fatal`) that names the setting
(``icws.user_status_properties`` for the user statuses, the service account's rights
otherwise), which stops the presence sync.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from idp.cic.errors import IcwsUnavailable
from idp.cic.icws import IcwsSession
from idp.cic.messaging import (
    USER_STATUS_PROPERTIES,
    StatusMessages,
    SubscriptionRefused,
    UserStatuses,
    poll,
    status_messages,
    subscribe_status_messages,
    subscribe_user_statuses,
)
from idp.cic.service import ServiceSession
from idp.errors import ConfigError
from idp.sync.presence.tracker import Tracker

log = logging.getLogger(__name__)

#: The longest pause between two attempts to reach CIC.
MAX_PAUSE = 30.0

Users = Callable[[], list[str]]  # the CIC user IDs to subscribe to
Event = Callable[[str, str], None]  # (kind, message), for the health view


class StatusListener:
    def __init__(self, service: ServiceSession, tracker: Tracker, users: Users, *,
                 interval: float = 0.5, refresh: float = 30.0, on_event: Event | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 properties: list[str] | None = None) -> None:
        self._service = service
        self._tracker = tracker
        self._users = users
        self._interval = interval
        self._refresh = refresh
        self._on_event = on_event
        self._clock = clock
        self._session: IcwsSession | None = None
        self._subscribed: list[str] = []
        self._refreshed = 0.0
        self.sessions = 0  # sessions subscribed on (more than 1: resubscribed)
        self.last_event: float | None = None  # clock of the last status message received
        self.properties = list(USER_STATUS_PROPERTIES if properties is None else properties)
        self.fatal: ConfigError | None = None  # why it stopped for good

    def run(self, stop: threading.Event) -> None:
        pause = self._interval
        lost = False
        while not stop.is_set():
            try:
                self._service.run(self._cycle)
            except SubscriptionRefused as exc:
                self.fatal = self._refused(exc)
                log.error("presence: %s", self.fatal)
                self._event("presence_stopped", f"presence sync stopped: {self.fatal}")
                return
            except IcwsUnavailable as exc:
                if not lost:
                    log.warning("presence: cannot reach CIC (%s); trying again", exc)
                    self._event("presence_lost", f"CIC messaging lost: {exc}")
                lost = True
                self._session = None
                pause = min(MAX_PAUSE, max(1.0, pause * 2))
            else:
                if lost:
                    log.warning("presence: CIC messaging restored")
                    self._event("presence_restored", "CIC messaging restored")
                lost = False
                pause = self._interval
            stop.wait(pause)

    def _cycle(self, session: IcwsSession) -> None:
        """One round on `session`: subscribe if it is new or the users changed, then read."""
        now = self._clock()
        if session is not self._session or now - self._refreshed >= self._refresh:
            users = sorted(self._users())
            self._refreshed = now
            if session is not self._session:
                # The status messages first, so that no status is judged without its own.
                self._tracker.status_messages(tuple(status_messages(session)), (), True)
                subscribe_status_messages(session)
                subscribe_user_statuses(session, users, self.properties)
                self._session, self._subscribed = session, users
                self.sessions += 1
                if self.sessions > 1:
                    log.info("presence: subscribed again on %s (%d users): every status is "
                             "read again", session.server, len(users))
            elif users != self._subscribed:
                subscribe_user_statuses(session, users, self.properties)
                self._subscribed = users
        for message in poll(session):
            if isinstance(message, UserStatuses):
                if message.statuses:
                    self.last_event = self._clock()
                self._tracker.statuses(message.statuses, message.full)
            elif isinstance(message, StatusMessages):
                self._tracker.status_messages(message.changed, message.removed, message.full)

    def _refused(self, exc: SubscriptionRefused) -> ConfigError:
        if "user-statuses" in str(exc) and exc.status == 400:
            return ConfigError(
                f"{exc}. The user status properties asked for, {self.properties} "
                "(icws.user_status_properties), may not be names this CIC knows: set it to "
                "those it takes, e.g. [\"statusId\"] (without statusChanged late events cannot "
                "be told apart, without loggedIn logged-off agents are not seen)")
        return ConfigError(f"{exc}. The service account (icws.service_user) may need the "
                           "right to watch user statuses and status messages in CIC")

    def refresh_now(self) -> None:
        """Read the synced users again at the next round (a user pass just ended)."""
        self._refreshed = float("-inf")

    @property
    def subscribed(self) -> int:
        return len(self._subscribed)

    def _event(self, kind: str, message: str) -> None:
        if self._on_event is not None:
            self._on_event(kind, message)
