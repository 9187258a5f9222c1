"""Pacing of requests to Genesys Cloud: a token bucket shared by every thread of one client.

Genesys Cloud allows 300 requests per minute per OAuth token (raisable) and answers 429 beyond.
The bucket is written as a reservation (the "generic cell rate algorithm" form of a token bucket):
each caller reserves the next start time under a lock and then sleeps outside it, so waiting
threads never hold the lock and start in the order they asked.

The default capacity is one token, so requests are evenly spaced and no 60-second window ever
holds more than the rate: a bigger burst would let a rolling window see ``capacity - 1`` requests
too many. The rate is also shaded by `margin` (1 %), so that network jitter, which can bunch
arrivals at the server, does not push one request too many into a server-side minute.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


class TokenBucket:
    def __init__(self, per_minute: float, capacity: int = 1, margin: float = 0.01,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_minute <= 0 or capacity < 1:
            raise ValueError("the rate and the capacity must be positive")
        self.interval = 60.0 / per_minute * (1.0 + margin)  # seconds per token
        self._burst = (capacity - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat = clock()  # "theoretical arrival time" of the next token
        self._paused_until = 0.0

    def reserve(self) -> float:
        """Take a token; return how many seconds the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            tat = max(self._tat, now)
            start = max(now, tat - self._burst)
            self._tat = tat + self.interval
        return start - now

    def acquire(self) -> None:
        """Block until the caller may send one request."""
        while True:
            wait = self.reserve()
            if wait > 0:
                self._sleep(wait)
            # A pause that began while this caller slept (another thread got a 429) also
            # holds back the slots reserved before it: reserve again, after the pause.
            if self._clock() >= self._paused_until:
                return

    def pause_until(self, moment: float) -> bool:
        """Send nothing before `moment` (a clock value), e.g. after a 429 with Retry-After.
        Whether this starts a new pause: not one that an earlier call began (threads that meet
        the same 429s), which ends within a second of `moment`."""
        with self._lock:
            now = self._clock()
            new = self._paused_until <= now or moment > self._paused_until + 1.0
            self._paused_until = max(self._paused_until, moment)
            self._tat = max(self._tat, moment + self._burst)
        return new


def retry_after(answer: httpx.Response) -> float | None:
    """Retry-After as seconds (it may also be an HTTP date); None when absent or unreadable."""
    value = answer.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def backoff(retry: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before retry number `retry` (1, 2, ...): exponential backoff with "equal jitter",
    half of the step fixed and half random, so that retries both back off and spread out. The
    one policy for every request to Genesys Cloud, API and token alike."""
    step = min(cap, base * 2.0 ** (retry - 1))
    return step / 2 + (rng or random).uniform(0.0, step / 2)
