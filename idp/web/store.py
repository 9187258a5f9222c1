"""Small shared state: logon throttling counters and replay caches.

`MemoryStore` keeps them per process (the default: nothing to run, but each worker counts on its
own); `RedisStore` shares them between every worker of every server.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from idp.errors import StateUnavailable
from idp.observe.metrics import REDIS_ERRORS

log = logging.getLogger(__name__)


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
    """Counters and replay entries of one process, bounded to `max_keys`.

    When full (after dropping what has expired), room is made by dropping the oldest entry that
    holds nothing: a counter below `protect_from` (the lowest count at which a lock starts, the
    failed-logon limit). A lock, and an entry of `add_once` (a replay record), is never dropped
    before it expires, so flooding the store cannot release one. A store full of those refuses
    what it cannot record: `hit` answers as if over every limit and `add_once` as for a replay,
    until entries expire (logged, at most once a minute).
    """

    MAX_KEYS = 100_000  # bounds memory under a flood of distinct user IDs or addresses
    FULL = 1 << 30  # what `hit` answers when it cannot count: more than any limit

    def __init__(self, max_keys: int = MAX_KEYS, protect_from: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, int]] = {}  # key -> (expires, count)
        self._evictable: dict[str, None] = {}  # counters below protect_from, oldest first
        self._max_keys = max_keys
        self._protect_from = max(1, protect_from)
        self._swept = 0.0
        self._warned = 0.0

    def _live(self, key: str, now: float) -> tuple[float, int] | None:
        entry = self._entries.get(key)
        if entry is not None and entry[0] <= now:
            self._drop(key)
            return None
        return entry

    def _drop(self, key: str) -> None:
        self._entries.pop(key, None)
        self._evictable.pop(key, None)

    def _make_room(self, now: float) -> bool:
        """Whether there is room for one more key."""
        if len(self._entries) < self._max_keys:
            return True
        if now - self._swept > 1.0:  # a full sweep at most once a second
            self._swept = now
            for key in [k for k, (expires, _) in self._entries.items() if expires <= now]:
                self._drop(key)
        if len(self._entries) < self._max_keys:
            return True
        if self._evictable:
            self._drop(next(iter(self._evictable)))
            return True
        if now - self._warned > 60:
            self._warned = now
            log.warning("the in-memory throttle store is full of locks and replay records "
                        "(%d); refusing what it cannot record until they expire", len(self))
        return False

    def _set(self, key: str, expires: float, count: int, evictable: bool) -> None:
        self._entries[key] = (expires, count)
        self._evictable.pop(key, None)
        if evictable and count < self._protect_from:
            self._evictable[key] = None

    def __len__(self) -> int:
        return len(self._entries)

    def add_once(self, key: str, ttl: int) -> bool:
        now = self._clock()
        with self._lock:
            if self._live(key, now) is not None or not self._make_room(now):
                return False
            self._set(key, now + ttl, 1, evictable=False)
            return True

    def hit(self, key: str, window: int) -> int:
        now = self._clock()
        with self._lock:
            entry = self._live(key, now)
            if entry is None:
                if not self._make_room(now):
                    return self.FULL
                entry = (now + window, 0)
            self._set(key, entry[0], entry[1] + 1, evictable=True)
            return entry[1] + 1

    def unhit(self, key: str) -> None:
        with self._lock:
            entry = self._live(key, self._clock())
            if entry is not None and entry[1] > 0:
                self._set(key, entry[0], entry[1] - 1, evictable=True)  # counters only

    def count(self, key: str) -> int:
        with self._lock:
            entry = self._live(key, self._clock())
            return entry[1] if entry else 0

    def clear(self, key: str) -> None:
        with self._lock:
            self._drop(key)


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
