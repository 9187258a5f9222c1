"""Small shared state: logon throttling counters and replay caches.

`MemoryStore` keeps them per process (the default: nothing to run, but each worker counts on its
own); `RedisStore` shares them between every worker of every server.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from idp.errors import StateUnavailable
from idp.observe.metrics import REDIS_ERRORS


def throttle_key(user_id: str) -> str:
    """The key of the failed-logon counter of a user ID, as typed (case does not matter)."""
    return f"logon-attempts:user:{user_id.casefold()[:128]}"


class Store(ABC):
    @abstractmethod
    def add_once(self, key: str, ttl: int) -> bool:
        """Remember `key` for `ttl` seconds; False if it was already there (a replay)."""

    @abstractmethod
    def hit(self, key: str, window: int) -> int:
        """Count one event for `key`; return the count within the current window."""

    @abstractmethod
    def unhit(self, key: str) -> None:
        """Take back one event counted by `hit` (one that turned out not to count)."""

    @abstractmethod
    def count(self, key: str) -> int:
        """Events counted for `key` in its current window."""

    @abstractmethod
    def clear(self, key: str) -> None: ...

    def ready(self) -> bool:
        return True


class MemoryStore(Store):
    MAX_KEYS = 100_000  # bounds memory under a flood of distinct user IDs or addresses

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, int]] = {}  # key -> (expires, count)
        self._swept = 0.0

    def _live(self, key: str, now: float) -> tuple[float, int] | None:
        entry = self._entries.get(key)
        if entry is not None and entry[0] <= now:
            del self._entries[key]
            return None
        return entry

    def _make_room(self, now: float) -> None:
        if len(self._entries) < self.MAX_KEYS:
            return
        if now - self._swept > 1.0:  # a full sweep at most once a second
            self._swept = now
            for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
                del self._entries[key]
        if len(self._entries) >= self.MAX_KEYS:  # still full: drop the oldest entry
            del self._entries[next(iter(self._entries))]

    def add_once(self, key: str, ttl: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if self._live(key, now) is not None:
                return False
            self._make_room(now)
            self._entries[key] = (now + ttl, 1)
            return True

    def hit(self, key: str, window: int) -> int:
        now = time.monotonic()
        with self._lock:
            entry = self._live(key, now)
            if entry is None:
                self._make_room(now)
                entry = (now + window, 0)
            self._entries[key] = (entry[0], entry[1] + 1)
            return entry[1] + 1

    def unhit(self, key: str) -> None:
        with self._lock:
            entry = self._live(key, time.monotonic())
            if entry is not None and entry[1] > 0:
                self._entries[key] = (entry[0], entry[1] - 1)

    def count(self, key: str) -> int:
        with self._lock:
            entry = self._live(key, time.monotonic())
            return entry[1] if entry else 0

    def clear(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)


class RedisStore(Store):
    def __init__(self, client: Any, prefix: str = "cic-sts:") -> None:
        self._redis = client
        self._prefix = prefix

    @contextmanager
    def _guard(self) -> Iterator[None]:
        from redis.exceptions import RedisError

        try:
            yield
        except RedisError as exc:
            REDIS_ERRORS.inc()
            raise StateUnavailable(f"the shared state store (Redis) is unavailable: "
                                   f"{type(exc).__name__}") from None

    def add_once(self, key: str, ttl: int) -> bool:
        with self._guard():
            return bool(self._redis.set(self._prefix + key, 1, nx=True, ex=ttl))

    def hit(self, key: str, window: int) -> int:
        name = self._prefix + key
        with self._guard(), self._redis.pipeline() as pipe:
            pipe.incr(name)
            pipe.expire(name, window, nx=True)  # the window starts at the first event
            count, _ = pipe.execute()
        return int(count)

    def unhit(self, key: str) -> None:
        with self._guard():
            if int(self._redis.decr(self._prefix + key)) < 0:  # the key had expired meanwhile
                self._redis.delete(self._prefix + key)

    def count(self, key: str) -> int:
        with self._guard():
            value = self._redis.get(self._prefix + key)
        return int(value) if value is not None else 0

    def clear(self, key: str) -> None:
        with self._guard():
            self._redis.delete(self._prefix + key)

    def ready(self) -> bool:
        try:
            with self._guard():
                return bool(self._redis.ping())
        except StateUnavailable:
            return False
