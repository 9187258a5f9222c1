"""`sync run`'s presence thread: a presence sync that fails is started again, one that cannot
work with its configuration stops, and the passes never hear of either."""

from __future__ import annotations

import threading
from collections.abc import Callable

from idp.errors import ConfigError
from idp.sync.presence.runner import PresenceRunner


class Listener:
    def __init__(self) -> None:
        self.refreshed = 0

    def refresh_now(self) -> None:
        self.refreshed += 1


class Presence:
    """Runs `then` (raising what it raises), or waits for the stop."""

    def __init__(self, then: Callable[[], None] | None = None) -> None:
        self.listener = Listener()
        self._then = then
        self.started = threading.Event()

    def run(self, stop: threading.Event) -> None:
        self.started.set()
        if self._then is not None:
            self._then()
        stop.wait()


def fail(error: Exception) -> Callable[[], None]:
    def raises() -> None:
        raise error
    return raises


def test_a_presence_sync_that_fails_is_started_again_after_a_growing_pause() -> None:
    stop, events = threading.Event(), []
    made = [Presence(fail(RuntimeError("a bug"))), Presence(fail(KeyError("agent7"))),
            Presence()]
    runner = PresenceRunner(made[0], lambda: made[runner.restarts + 1], stop,
                            lambda kind, message: events.append((kind, message)),
                            pauses=(0.01, 0.02), steady=60)
    thread = runner.start()
    assert made[2].started.wait(5)
    assert runner.current is made[2] and runner.restarts == 2 and thread.is_alive()
    assert [kind for kind, _ in events] == ["presence_restarted", "presence_restarted"]
    assert "a bug" in events[0][1] and "0 s" in events[0][1]
    runner.refresh_now()  # a pass ended: the one running now hears of it
    assert made[2].listener.refreshed == 1
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_a_configuration_it_cannot_work_with_stops_it_for_good() -> None:
    stop, events = threading.Event(), []
    refused = ConfigError("CIC refused the subscription (icws.user_status_properties)")
    runner = PresenceRunner(Presence(fail(refused)), lambda: Presence(), stop,
                            lambda kind, message: events.append((kind, message)),
                            pauses=(0.01, 0.02))
    thread = runner.start()
    thread.join(5)
    assert not thread.is_alive() and runner.restarts == 0 and runner.stopped is refused
    assert events == [("presence_stopped", f"presence sync stopped: {refused}")]
