"""CPU-heavy calls under gevent.

The STS runs in gevent workers (`idp.worker`): one greenlet per connection, all on one OS
thread. An argon2id hash holds the CPU for about 0.1 s; run there, it would stall every other
request of the worker for that long. `off_loop` runs such a call on gevent's pool of real
threads instead (argon2-cffi releases the GIL), and simply calls it anywhere else (the CLI,
tests, any threaded server).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def off_loop(func: Callable[..., T], *args: object) -> T:
    if "gevent" in sys.modules:
        from gevent import monkey

        if monkey.is_module_patched("threading"):
            import gevent

            result: T = gevent.get_hub().threadpool.apply(func, args)
            return result
    return func(*args)
