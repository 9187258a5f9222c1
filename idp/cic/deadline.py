"""Deadlines for ICWS requests, and the HTTP transport that keeps them.

httpx's ``timeout`` applies to each read, so a server that sends one byte a second would hold a
request for ever. Within a `deadline` block every ICWS request of the calling thread (or
greenlet: the deadline is a `ContextVar`) ends by the block's end at the latest: the connections
of `DeadlineTransport` check it before every connect, read and write, and one that would run
past it fails as a timeout.

`DeadlineTransport` is an httpx transport built on httpcore's public API only: its own
`httpcore.ConnectionPool` on a network backend whose streams cap each operation's timeout, and
the mapping of requests, responses and errors between the two libraries (httpx has no public
way to give its own transport a network backend).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

Clock = Callable[[], float]

#: The deadline of the enclosing block: when it ends, and the clock it is read on.
_DEADLINE: ContextVar[tuple[float, Clock] | None] = ContextVar("icws_deadline", default=None)


@contextmanager
def deadline(seconds: float, clock: Clock = time.monotonic) -> Iterator[None]:
    """Every ICWS request this thread makes within the block is over `seconds` from now, or at
    the deadline of an enclosing block if that is earlier. `clock` is read only by the
    outermost block (tests give a fake one); nested blocks keep its clock."""
    outer = _DEADLINE.get()
    if outer is None:
        value = (clock() + seconds, clock)
    else:
        end, outer_clock = outer
        value = (min(outer_clock() + seconds, end), outer_clock)
    token = _DEADLINE.set(value)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def time_left() -> float | None:
    """Seconds to the deadline of the enclosing `deadline` block (negative: passed), or None."""
    current = _DEADLINE.get()
    if current is None:
        return None
    end, clock = current
    return end - clock()


def _capped(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    """`timeout`, shortened to the time left before the thread's deadline; `error` if none is."""
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise error("the deadline of the ICWS request passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the calling thread's deadline. A read is one
    ``recv`` (on a TLS socket: one record, which CPython bounds as a whole), so no read runs
    past the deadline however slowly the server sends."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _capped(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _capped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        # CPython bounds the whole handshake by the socket timeout, not each read of it.
        return _DeadlineStream(self._stream.start_tls(
            ssl_context, server_hostname, _capped(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_tcp(
            host, port, _capped(timeout, httpcore.ConnectTimeout), local_address,
            socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None,
                            ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_unix_socket(
            path, _capped(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


#: httpcore's errors as httpx's, most specific first (httpx's own transport maps them alike).
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


_THEIRS = tuple(theirs for theirs, _ in _ERRORS)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except _THEIRS as exc:
        raise next(ours for theirs, ours in _ERRORS if isinstance(exc, theirs))(str(exc)) \
            from exc


class _Body(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        closing = getattr(self._stream, "close", None)
        if closing is not None:
            closing()


class DeadlineTransport(httpx.BaseTransport):
    """An httpx transport whose connections honour the calling thread's `deadline`; with
    httpx's default pool limits."""

    def __init__(self, ssl_context: ssl.SSLContext | None) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=100, max_keepalive_connections=20,
            keepalive_expiry=5.0, network_backend=_DeadlineBackend())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port,
                             target=url.raw_path),
            headers=request.headers.raw, content=request.stream,
            extensions=request.extensions)
        with _as_httpx_errors():
            answer = self._pool.handle_request(core)
        assert isinstance(answer.stream, Iterable)
        return httpx.Response(status_code=answer.status, headers=answer.headers,
                              stream=_Body(answer.stream), extensions=answer.extensions)

    def close(self) -> None:
        self._pool.close()
