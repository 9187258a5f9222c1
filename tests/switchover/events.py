"""The events of issue 15's table, done to the pair while the traffic runs, and what each cost.

Each event is done to the server that serves (with round robin both do: then the first,
127.0.0.2; with ip_hash and every client on one address, the one they hash to) and returns the
moments that matter, on the same monotonic clock as the traffic. Its cost is read
from the requests under way between its start and a second after its end: how many failed, and
the longest any request took (the worst stall). Restarts follow docs/operating.md: the server is
stopped as systemd stops it (SIGTERM to every process), started, and the next step waits until
its /readyz answers 200 (`cic-sts proxy wait-ready`).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.switchover.pair import Pair, Sts
from tests.switchover.traffic import Outcome, Recorder

#: Seconds of traffic after an event that still count as its cost.
SETTLE = 1.0
#: A request slower than this (seconds) counts as stalled in the bench's table.
SLOW = 1.0


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    marks: dict[str, float] = field(default_factory=dict)  # e.g. when the kill came


def restart(server: Sts) -> None:
    server.graceful_stop()
    server.start()  # returns once /readyz answers 200


def graceful_stop_then_start(pair: Pair) -> Window:
    server = pair.serving()
    start = time.monotonic()
    restart(server)
    return Window(start, time.monotonic())


def sigkill_then_start(pair: Pair) -> Window:
    server = pair.serving()
    start = time.monotonic()
    server.kill()
    killed = time.monotonic()
    pair.kills.append((start, killed))
    server.start()
    return Window(start, time.monotonic(), {"kill": start, "dead": killed})


def hang(seconds: float, during: Callable[[], None] | None = None
         ) -> Callable[[Pair], Window]:
    """The serving server stopped (SIGSTOP) for `seconds`; `during`, if given, runs meanwhile
    (it must end before the server resumes)."""
    def event(pair: Pair) -> Window:
        server = pair.serving()
        start = time.monotonic()
        server.signal(signal.SIGSTOP)
        if during is not None:
            during()
        time.sleep(max(0.0, start + seconds - time.monotonic()))
        ended = time.monotonic()
        server.signal(signal.SIGCONT)
        return Window(start, time.monotonic(), {"resumed": ended})
    event.__name__ = f"hang {seconds:g} s"
    return event


def rolling_restart(pause: float = 0.0) -> Callable[[Pair], Window]:
    """The serving server restarted; the other as soon as the first answers /readyz (or
    `pause` seconds later)."""
    def event(pair: Pair) -> Window:
        first = pair.serving()
        start = time.monotonic()
        restart(first)
        time.sleep(pause)
        second = time.monotonic()
        restart(pair.other(first))
        return Window(start, time.monotonic(), {"second": second})
    return event


def stop_after_the_other_restarted(pair: Pair) -> Window:
    """The other server restarted, so that the proxy has marked it failed (nginx keeps the
    mark for 10 s); two seconds after it is back, the serving one is stopped (then started)."""
    server = pair.serving()
    restart(pair.other(server))
    time.sleep(2.0)
    start = time.monotonic()
    restart(server)
    return Window(start, time.monotonic())


@dataclass(frozen=True)
class Cost:
    proxy: str
    requests: int
    failed: list[Outcome]
    worst: float  # seconds: the longest request under way during the event
    worst_get: float
    worst_post: float
    slow: int  # requests that took longer than SLOW seconds

    def failure_kinds(self) -> str:
        kinds: dict[str, int] = {}
        for outcome in self.failed:
            key = f"{outcome.kind}: {outcome.detail.split(':')[0]}"
            kinds[key] = kinds.get(key, 0) + 1
        return ", ".join(f"{n} x {key}" for key, n in sorted(kinds.items())) or "none"


def cost(recorder: Recorder, window: Window, proxy: str) -> Cost:
    outcomes = [o for o in recorder.between(window.start, window.end + SETTLE)
                if o.proxy == proxy]
    gets = [o.duration for o in outcomes if o.method == "GET"]
    posts = [o.duration for o in outcomes if o.method == "POST"]
    return Cost(proxy, len(outcomes), [o for o in outcomes if not o.ok],
                max(gets + posts, default=0.0), max(gets, default=0.0), max(posts, default=0.0),
                sum(o.duration > SLOW for o in outcomes))
