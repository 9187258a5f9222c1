"""A deadline on reading a request body as a whole.

Each read of the socket already has its own time limit (the worker's deadline), but a client
that sends one byte just inside it, again and again, would hold the connection for as long as
it likes. The body as a whole must therefore be in by a deadline fixed when its head was read
(the same number of seconds the head had). A read after that, or one still waiting at that
moment, ends with 408 Request Timeout, and the worker then closes the connection (the rest of
the body is never read; see `CloseInsteadOfDraining` in `idp.server.worker`).

The clock is injectable so that the rule can be tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
from werkzeug.exceptions import RequestTimeout


class BodyTooSlow(RequestTimeout):
    description = "The request body did not arrive in time."


class BodyWithDeadline:
    """`environ["wsgi.input"]` with every read bounded by one deadline."""

    def __init__(self, body: Any, deadline: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._body, self._deadline, self._clock = body, deadline, clock

    def _call(self, read: Callable[..., Any], *args: Any) -> Any:
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            raise BodyTooSlow()
        with gevent.Timeout(remaining, BodyTooSlow()):
            return read(*args)

    def read(self, size: int | None = None) -> bytes:
        data: bytes = self._call(self._body.read, size)
        return data

    def readline(self, size: int | None = None) -> bytes:
        data: bytes = self._call(self._body.readline, size)
        return data

    def readlines(self, hint: int | None = None) -> list[bytes]:
        lines: list[bytes] = self._call(self._body.readlines, hint)
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line
