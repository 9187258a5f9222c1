"""The presence sync (``sync.presence``): CIC agent statuses to Genesys Cloud presences, near
real time, one way.

Two threads: the listener (`idp.sync.presence.listener`) reads CIC's statuses into the tracker
(`idp.sync.presence.tracker`); the writer loop here takes what waits and writes it
(`idp.sync.presence.writer`). A change waits at most ``sync.presence_batch_delay_ms`` for others
to share its request (a whole batch is sent at once), and every request takes its slot from the
rate limit the user and object sync share (`idp.genesys.http`), so a shift start (thousands of
agents within a minute) goes out in batches of up to ``sync.presence_batch_size`` and repeated
changes of one agent are coalesced meanwhile. A write that fails because Genesys Cloud cannot be
reached leaves its changes waiting; they go when it answers again. A presence written is done;
its out-of-office flag follows on its own (`idp.sync.presence.outofoffice`).

Which CIC users: those the user sync links to an active Genesys Cloud user, read again from the
state database every `REFRESH` seconds (the listener replaces the links as a whole; a write
takes them once, so a user unlinked meanwhile is no surprise to it). What was written is kept
there too (`store`), so a restart writes only what changed. The health (``presence`` in the
state database) says when the last status event came and the last presence was written, and
what holds out-of-office flags back, for `sync status`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

from idp.cic.service import ServiceSession
from idp.config import Config
from idp.errors import GenesysError, StsError
from idp.genesys.http import GenesysApi
from idp.genesys.presence import PURECLOUD, PresenceClient
from idp.sync.objects.engine import links_of
from idp.sync.presence.listener import StatusListener
from idp.sync.presence.outofoffice import OutOfOffice
from idp.sync.presence.rules import Rules
from idp.sync.presence.store import PresenceStore
from idp.sync.presence.tracker import Tracker
from idp.sync.presence.writer import PresenceWriter, Write
from idp.sync.state import SyncState
from idp.timestamps import utc_now

log = logging.getLogger(__name__)

#: Seconds between two reads of the synced users; between two health records.
REFRESH = 30.0
HEALTH_EVERY = 5.0
#: Seconds the writer waits after Genesys Cloud could not be reached.
PAUSE_AFTER_FAILURE = 5.0


class PresenceSync:
    def __init__(self, config: Config, api: GenesysApi, state: SyncState,
                 service: ServiceSession, *, clock: Callable[[], float] = time.monotonic,
                 refresh: float = REFRESH,
                 after_requests: Callable[[], None] | None = None) -> None:
        settings = config.sync
        self._state = state
        self._store = PresenceStore(state)
        self._clock = clock
        self._batch = settings.presence_batch_size
        self._delay = settings.presence_batch_delay_ms / 1000
        self.rules = Rules.load(settings.presence_rules)
        if not settings.presence_out_of_office:
            self.rules = self.rules.without_out_of_office()
        self.tracker = Tracker(self.rules, clock)
        client = PresenceClient(api)
        self.writer = PresenceWriter(client, settings.presence_source)
        self.out_of_office = OutOfOffice(client, self._store,
                                         enabled=settings.presence_out_of_office, clock=clock)
        self._links: dict[str, str] = {}
        self.listener = StatusListener(
            service, self.tracker, self._users, interval=settings.presence_poll_ms / 1000,
            refresh=refresh, on_event=state.add_event, clock=clock,
            properties=config.icws.user_status_properties)
        self._health_at = 0.0
        self._after_requests = after_requests  # saves the request counters
        self.written = 0
        self.last_write: str | None = None
        self.error = ""

    def run(self, stop: threading.Event) -> None:
        """Until `stop`: the listener in a thread of its own, the writer in this one. Raises
        what makes it impossible to start (a presence the rules name that Genesys Cloud does
        not have, credentials refused) or to go on (CIC refused the subscription)."""
        self._links = links_of(self._state.users())
        self.writer.prepare(self.rules.presences())
        if self.writer.source_id != PURECLOUD:  # only cic-sts writes there: what it wrote stays
            self.tracker.written_before(self._store.load(self._links))
        self.out_of_office.load(self._links)  # the flags it set, in both modes
        listening = threading.Event()  # set: the listener stops
        listener = threading.Thread(target=self.listener.run, args=(listening,),
                                    name="presence-listener", daemon=True)
        listener.start()
        try:
            while not stop.is_set():
                if self.listener.fatal is not None:
                    self.error = str(self.listener.fatal)
                    raise self.listener.fatal
                self._write_some(stop)
                self.out_of_office.write(stop.is_set)
                self._health()
        finally:
            listening.set()
            listener.join(timeout=10)
            self._health(force=True)

    def _users(self) -> list[str]:
        """The CIC users to subscribe to (read again from the state database)."""
        users = self._state.users()
        self._links = links_of(users)
        self.tracker.forget(set(self._links))
        return [users[k].user_id for k in self._links]

    def _write_some(self, stop: threading.Event) -> None:
        if not self.tracker.wait(0.25):  # short: a stop is heard soon
            return
        since = self.tracker.oldest()
        while since is not None and self.tracker.pending() < self._batch and not stop.is_set():
            left = since + self._delay - self._clock()
            if left <= 0:
                break
            stop.wait(left)  # others may share the request meanwhile
        links = self._links  # once: the listener may replace them while this one writes
        changes = self.tracker.begin(self._batch)
        linked = [c for c in changes if c.user in links]
        self.tracker.done([c for c in changes if c.user not in links])
        if not linked:
            return
        try:
            refused = self.writer.write([Write(links[c.user], c.target) for c in linked])
        except GenesysError as exc:
            self.error = str(exc)
            log.warning("presence: %d changes wait: %s", len(linked), exc)
            self.tracker.failed(linked)
            stop.wait(PAUSE_AFTER_FAILURE)
            return
        self.error = ""
        gone = {w.genesys_id for w in refused}
        ok = [c for c in linked if links[c.user] not in gone]
        self.tracker.done(linked)  # a refused user is not tried again until it changes
        self._store.save([(c.user, links[c.user], c.target, c.status.status_id) for c in ok])
        for change in ok:
            self.out_of_office.follow(change.user, links[change.user],
                                      change.target.out_of_office)
        self.written += len(ok)
        self.last_write = utc_now()

    def _health(self, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._health_at < HEALTH_EVERY:
            return
        self._health_at = now
        if self._after_requests is not None:
            self._after_requests()
        last = self.listener.last_event
        ago = None if last is None else round(now - last, 1)
        try:
            self._state.set_health("presence", json.dumps({
                "subscribed": self.listener.subscribed, "pending": self.tracker.pending(),
                "written": self.written,
                "requests": self.writer.requests + self.out_of_office.requests,
                "dropped": self.writer.dropped, "last_write": self.last_write,
                "last_event_seconds_before": ago, "error": self.error,
                "source": self.writer.source_id,
                "out_of_office": {"enabled": self.out_of_office.enabled,
                                  "waiting": self.out_of_office.waiting,
                                  "error": self.out_of_office.error}}))
        except StsError as exc:
            log.error("presence: cannot record its health: %s", exc)

