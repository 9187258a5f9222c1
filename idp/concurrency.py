"""Running under gevent as well as on plain threads.

The STS runs in gevent workers (`idp.server.worker`): one greenlet per connection, all on one OS
thread, with `threading` patched so that its locks and locals are per greenlet.

- An argon2id hash holds the CPU for about 0.1 s (and 64 MiB); run on the loop, it would stall
  every other request of the worker for that long. `off_loop` runs such a call on a small pool
  of real threads instead (argon2-cffi releases the GIL), and simply calls it anywhere else (the
  CLI, tests, any threaded server). The pool is the worker's own, not gevent's shared one, which
  also resolves host names: a burst of logons must not hold up the connections to CIC or Redis.
  It has as many threads as the machine has cores, at most four: more would only queue on the
  CPU and multiply the memory. An exception the call raises (argon2's VerifyMismatchError for
  every wrong password) comes back to the caller as a value and is raised there: left to
  escape in the pool's thread, gevent would also print it, with its traceback, to the log.
- `os_thread_local` is storage per OS thread even there: a SQLite connection kept per greenlet
  would be opened anew for every client connection and multiplied by their number, where the
  worker's greenlets can share one (SQLite calls never yield, so they cannot interleave).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def _gevent_patched() -> bool:
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("threading"))


_POOL: Any = None  # gevent.threadpool.ThreadPool, made in the worker process at first use


def off_loop(func: Callable[..., T], *args: object) -> T:
    global _POOL
    if _gevent_patched():
        if _POOL is None:
            from gevent.threadpool import ThreadPool

            _POOL = ThreadPool(maxsize=min(4, os.cpu_count() or 1))
        outcome: tuple[bool, Any] = _POOL.apply(_outcome, (func, args))
        succeeded, value = outcome
        if not succeeded:
            raise value
        result: T = value
        return result
    return func(*args)


def _outcome(func: Callable[..., Any], args: tuple[object, ...]) -> tuple[bool, Any]:
    """(True, what `func` returned) or (False, what it raised), in the pool's thread."""
    try:
        return True, func(*args)
    except Exception as error:  # noqa: BLE001 (handed to the caller, who raises it)
        return False, error


def os_thread_local() -> threading.local:
    if _gevent_patched():
        from gevent import monkey

        original: threading.local = monkey.get_original("threading", "local")()
        return original
    return threading.local()
