"""The presence sync beside `sync run`'s passes: a thread that keeps it running.

What no retry can mend stops it for good (a `ConfigError`: a presence the rules name that
Genesys Cloud does not have, a subscription CIC refuses as asked): logged, recorded as an event
for `sync status`, and the passes go on. Anything else that ends it (Genesys Cloud or CIC not
reachable as it starts, credentials refused, a bug) starts a new one after a pause, logged with
what happened: `pauses` grow from the first to the last, and start again from the first after a
run of `steady` seconds. A new one reads what the last one wrote from the state database, and
CIC's whole picture after it subscribes, so nothing is lost in between.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from idp.errors import ConfigError

log = logging.getLogger(__name__)

#: Seconds before the first restart, and the longest pause between two.
PAUSES = (5.0, 300.0)
#: A run this long (seconds) counts as a success: the next pause is the first again.
STEADY = 600.0

Event = Callable[[str, str], None]  # (kind, message)


class Listener(Protocol):
    def refresh_now(self) -> None: ...


class Presence(Protocol):
    @property
    def listener(self) -> Listener: ...

    def run(self, stop: threading.Event) -> None: ...


class PresenceRunner:
    def __init__(self, first: Presence, make: Callable[[], Presence], stop: threading.Event,
                 on_event: Event, *, pauses: tuple[float, float] = PAUSES,
                 steady: float = STEADY, clock: Callable[[], float] = time.monotonic) -> None:
        self.current = first
        self._make = make
        self._stop = stop
        self._on_event = on_event
        self._pauses = pauses
        self._steady = steady
        self._clock = clock
        self.restarts = 0
        self.stopped: ConfigError | None = None  # what stopped it for good

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="presence", daemon=True)
        thread.start()
        return thread

    def refresh_now(self) -> None:
        """The current presence sync reads the synced users again (a user pass ended)."""
        self.current.listener.refresh_now()

    def run(self) -> None:
        first, cap = self._pauses
        pause = first
        while not self._stop.is_set():
            started = self._clock()
            try:
                self.current.run(self._stop)
                return  # asked to stop
            except ConfigError as exc:
                self.stopped = exc
                log.error("presence sync stopped: %s", exc)
                self._event("presence_stopped", f"presence sync stopped: {exc}")
                return
            except Exception as exc:  # noqa: BLE001 - whatever it was, presences must go on
                if self._clock() - started >= self._steady:
                    pause = first
                log.error("presence sync failed (%s: %s); starting it again in %.0f s",
                          type(exc).__name__, exc, pause, exc_info=True)
                self._event("presence_restarted", f"presence sync failed ({exc}); started "
                            f"again after {pause:.0f} s")
            if self._stop.wait(pause):
                return
            pause = min(cap, pause * 2)
            try:
                self.current = self._make()
            except ConfigError as exc:  # the configuration cannot have changed: not likely
                self.stopped = exc
                log.error("presence sync stopped: %s", exc)
                return
            self.restarts += 1

    def _event(self, kind: str, message: str) -> None:
        try:
            self._on_event(kind, message)
        except Exception as exc:  # noqa: BLE001 - the state database may be what failed
            log.error("presence: cannot record the event: %s", exc)
