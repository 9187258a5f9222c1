"""Password hashes for the local directory: an OWASP argon2id profile, and a bound on how many
are computed at once.

Why this profile: argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes) cost about 236 ms of CPU per
check on the 2-core machine this was measured on, so a server saturated near 8 logons a second,
where OWASP's recommended argon2id profiles (Password Storage Cheat Sheet) cost a fraction of
that while meeting the same guidance. The default is the one OWASP names first: 19 MiB, 2 passes,
1 lane (about 29 ms here). The configuration refuses anything weaker than OWASP's frontier
(`idp.config.checks.OWASP_MIN_WORK`).

Why a bound: each hash holds its memory for its whole run. A burst of logons (8:00 on a Monday)
would otherwise start one hash per request, and a worker's memory would follow the queue rather
than the machine. At most `HashLimit.at_once` hashes run per worker; a logon that cannot have
its turn within `HashLimit.wait` seconds is answered "too many logons at once, try again in a
moment" (`TooManyLogons`, a 503) instead of piling on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher, Type

from idp.concurrency import off_loop
from idp.config import DirectorySettings
from idp.errors import BackendUnavailable

T = TypeVar("T")


class TooManyLogons(BackendUnavailable):
    """Every hashing slot is taken and stayed so for `HashLimit.wait` seconds."""

    page_message = "too_many_logons"


@dataclass(frozen=True)
class HashLimit:
    at_once: int = 4  # directory.max_concurrent_hashes
    wait: float = 5.0  # directory.hash_queue_timeout, seconds


def hasher_for(settings: DirectorySettings) -> PasswordHasher:
    return PasswordHasher(time_cost=settings.argon2_time_cost,
                          memory_cost=settings.argon2_memory_kib,
                          parallelism=settings.argon2_parallelism, type=Type.ID)


def limit_for(settings: DirectorySettings) -> HashLimit:
    return HashLimit(settings.max_concurrent_hashes, float(settings.hash_queue_timeout))


class Slots:
    """At most `limit.at_once` calls of `run` at a time, in this process; the semaphore is made
    at first use, in the worker, after gevent has patched threading (greenlets then wait for a
    slot cooperatively)."""

    def __init__(self, limit: HashLimit) -> None:
        self.limit = limit
        self._semaphore: threading.BoundedSemaphore | None = None
        self._made = threading.Lock()

    def run(self, func: Callable[..., T], *args: object) -> T:
        semaphore = self._semaphore or self._make()
        if not semaphore.acquire(timeout=self.limit.wait):
            raise TooManyLogons("too many logons at once: no password could be checked within "
                                f"{self.limit.wait:g} s ({self.limit.at_once} at a time, "
                                "directory.max_concurrent_hashes)")
        try:
            return off_loop(func, *args)
        finally:
            semaphore.release()

    def _make(self) -> threading.BoundedSemaphore:
        with self._made:
            if self._semaphore is None:
                self._semaphore = threading.BoundedSemaphore(self.limit.at_once)
            return self._semaphore
