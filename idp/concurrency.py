"""Running under gevent as well as on plain threads.

The STS runs in gevent workers (`idp.worker`): one greenlet per connection, all on one OS
thread, with `threading` patched so that its locks and locals are per greenlet.

- An argon2id hash holds the CPU for about 0.1 s; run on the loop, it would stall every other
  request of the worker for that long. `off_loop` runs such a call on gevent's pool of real
  threads instead (argon2-cffi releases the GIL), and simply calls it anywhere else (the CLI,
  tests, any threaded server).
- `os_thread_local` is storage per OS thread even there: a SQLite connection kept per greenlet
  would be opened anew for every client connection and multiplied by their number, where the
  worker's greenlets can share one (SQLite calls never yield, so they cannot interleave).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _gevent_patched() -> bool:
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("threading"))


def off_loop(func: Callable[..., T], *args: object) -> T:
    if _gevent_patched():
        import gevent

        result: T = gevent.get_hub().threadpool.apply(func, args)
        return result
    return func(*args)


def os_thread_local() -> threading.local:
    if _gevent_patched():
        from gevent import monkey

        original: threading.local = monkey.get_original("threading", "local")()
        return original
    return threading.local()
