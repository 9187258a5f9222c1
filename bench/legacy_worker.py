"""BENCH ONLY: the worker cic-sts ran before idp.server (idp/worker.py at 0.1.0), unchanged.

Kept so that `make bench` can measure today's worker against it in the same run (see
bench/serving.py); nothing in `idp` imports it. Its request-head parsing is the weak one that
idp.server.head replaced, and it relies on private names idp.server.private does not list.

Original description follows.

The gunicorn worker cic-sts runs: gevent's HTTP server, one greenlet per connection.

Measured on the 2-core machine this was built on (trivial WSGI app, TLS keep-alive, `wrk -c32`),
gunicorn's threaded worker spends about 0.38 ms of CPU per request before the application runs,
gunicorn's gevent worker 0.14 ms, and gevent's own `pywsgi` server 0.09 ms. A signed Response
costs about 0.25 ms of RSA, so the server in front of it decides much of the rate.

On top of gunicorn's `gevent_pywsgi` worker this adds:
- deadlines: the TLS handshake, and the wait for a request plus the reading of its head, must
  each end within gunicorn's `keepalive` seconds (30 by default), and so must every later read or
  send. pywsgi alone would hold an idle connection, a silent one, or a head sent byte by byte
  forever, and a worker holds at most `worker_connections` of them. `keepalive = 0` turns
  keep-alive off (as in gunicorn) and the deadline falls back to 30 seconds;
- a bound on the request head (line and headers together, `MAX_HEAD`), where pywsgi would read up
  to 100 header lines of 64 KiB each. gunicorn's own `limit_request_*` settings do not apply to
  this worker, nor do `max_requests`, `access_log_format` or request hooks;
- an access log line made directly (client, method, path without the query string, status,
  bytes, milliseconds; control characters, quotes and backslashes escaped): gunicorn's generic
  formatter costs about 60 µs a request, and the query string of a SAML endpoint carries the
  SAMLRequest and RelayState, which do not belong in a log (pywsgi's own error lines lose theirs
  too);
- a clean stop, as gunicorn's threaded worker does it: once the worker stops accepting (SIGTERM,
  a restart), answers carry `Connection: close`; `STOP_LINGER` seconds later, connections in
  their TLS handshake, and connections where not one byte of a next request has arrived (not in
  the process's buffers, not in the kernel's), are closed. One that has begun a request is
  answered, so a proxy that keeps connections open (the generated nginx configuration does)
  moves to the other server without losing a request it sent. Left over: a request whose first
  TLS record is only partly in when the linger ends, and a client stalled halfway through a
  head, which holds the stop until gunicorn's graceful timeout;
- an unread request body ends the connection after the answer, where pywsgi would read and
  drop it, however large or slow. Reading a body has no deadline as a whole (each read has);
  the application reads at most what Flask's MAX_CONTENT_LENGTH allows;
- client errors (a reset, a bad request line, too many headers, a head cut short) close the
  connection or get a 400 without a traceback in the log;
- fairness: a yield between two requests of one connection, so that a client that sends its next
  request the moment an answer arrives cannot keep the worker to itself.

Work that would hold the CPU for long (argon2 password hashes) runs on real threads; see
`idp.concurrency`. Everything else that waits (ICWS, Redis) waits on gevent-patched sockets.
"""

from __future__ import annotations

import re
import socket
import time
from http.client import HTTPException
from io import BytesIO
from typing import Any

import gevent
from gevent.pywsgi import headers_factory
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler, PyWSGIServer

#: Request line and headers together, in bytes: what nginx's default header buffers allow.
MAX_HEAD = 32 * 1024
#: Seconds a stopping worker still waits for a request on an idle connection.
STOP_LINGER = 2.0
#: The deadline when gunicorn's keepalive is 0 (keep-alive off).
DEFAULT_DEADLINE = 30.0

_QUERY = re.compile(r"\?\S*")
_UNPRINTABLE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')


class HeadDeadline(OSError):
    """The request (or the handshake) did not arrive in time: pywsgi closes the connection."""


class StopWaiting(OSError):
    """The worker is stopping and this connection has been idle: pywsgi closes it."""


class IncompleteHead(OSError):
    """The client closed the connection in the middle of a request head."""


def _throw_into_waiter(watcher: Any, error: BaseException) -> None:
    """Throw `error` into the greenlet blocked on `watcher`, if one still is (from the hub)."""
    if watcher is not None and watcher.active and watcher.callback is not None:
        waiter = getattr(watcher.callback, "__self__", None)
        if waiter is not None:
            waiter.throw(error)


def deadline(cfg: Any) -> float:
    return float(cfg.keepalive) if cfg.keepalive > 0 else DEFAULT_DEADLINE


def _printable(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class _CloseInsteadOfDraining:
    def __init__(self, handler: Any, body: Any) -> None:
        self._handler, self._body = handler, body

    def _discard(self) -> None:
        body = self._body
        if body.chunked_input or body.position < (body.content_length or 0):
            self._handler.close_connection = True


class StsHandler(PyWSGIHandler):  # type: ignore[misc]
    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        super().__init__(sock, address, server, rfile)
        self._deadline = deadline(server.cfg)
        self._keep_alive = server.cfg.keepalive > 0
        sock.settimeout(self._deadline)  # every later read or send
        # (client, method, path, start) of the request being answered, once its head is read.
        self._request: tuple[str, str, str, float] | None = None
        self._head_timer: gevent.Timeout | None = None
        self._requests = 0

    def handle_one_request(self) -> Any:
        self._request = None
        if self.server.closed and self.server.idle_closed and self._requests:
            return None  # stopping, and past the linger: no more requests here
        # One deadline for the wait for the request and the reading of its head; once the head
        # is in (get_environ), the application's time is not bounded here.
        self._head_timer = gevent.Timeout.start_new(
            self._deadline, HeadDeadline("no complete request head in time"))
        try:
            result = super().handle_one_request()
        finally:
            self._head_timer.close()
        if result is True:
            gevent.sleep(0)  # let the worker's other connections have a turn (see above)
        return result

    def read_requestline(self) -> str:
        # Idle until the first byte of the next request is in: the one time a stop may close
        # the connection. peek returns at once when bytes are buffered already (pipelining).
        self.server.idle.add(self)
        try:
            self.rfile.peek(1)
        finally:
            self.server.idle.discard(self)
        line: str = super().read_requestline()
        return line

    def _handle_client_error(self, ex: Exception) -> Any:
        if isinstance(ex, OSError):  # a deadline, the stop, a client gone: close quietly
            return None
        return super()._handle_client_error(ex)

    def handle_error(self, t: Any, v: Any, tb: Any) -> None:
        # pywsgi's status says "socket error" when sending failed: the client went away or
        # stopped reading. Nothing is left to answer and nothing is worth a traceback.
        if isinstance(v, OSError) and str(self.status or "").startswith("socket error"):
            self.close_connection = True
            return
        super().handle_error(t, v, tb)

    def _check_http_version(self) -> bool:
        try:
            return bool(super()._check_http_version())
        except (IndexError, ValueError):  # "HTTP/1", "HTTP/x.y": a 400, not a traceback
            return False

    def MessageClass(self, fp: Any, *args: Any) -> Any:  # noqa: N802 (pywsgi's name)
        """The headers, read with a bound on their total size."""
        lines: list[bytes] = []
        size = len(getattr(self, "requestline", "") or "")
        while True:
            line = fp.readline(MAX_HEAD + 1 - size)
            size += len(line)
            if size > MAX_HEAD:
                message = headers_factory(BytesIO(b"\r\n"))
                message.status = f"request head larger than {MAX_HEAD} bytes"
                return message
            if not line:  # the client closed before the end of the head: nothing to answer
                raise IncompleteHead("the connection ended inside the request head")
            lines.append(line)
            if line in (b"\r\n", b"\n"):
                try:
                    return headers_factory(BytesIO(b"".join(lines)), *args)
                except HTTPException:  # more than 100 header lines
                    message = headers_factory(BytesIO(b"\r\n"))
                    message.status = "too many header lines"
                    return message

    def get_environ(self) -> dict[str, Any]:
        # Called once the request head is read: the time spent idle before the request is not
        # the request's.
        if self._head_timer is not None:
            self._head_timer.close()
        environ: dict[str, Any] = super().get_environ()
        self._requests += 1
        # pywsgi reads and drops whatever the application left of the body when the answer is
        # done, however large or slow; ending the connection instead costs the client only its
        # keep-alive. (pywsgi calls _discard on this attribute; the application reads the
        # body through environ["wsgi.input"], the same reader.)
        self.wsgi_input = _CloseInsteadOfDraining(self, self.wsgi_input)  # type: ignore[has-type]
        self._request = (environ.get("REMOTE_ADDR", "-"), environ.get("REQUEST_METHOD", "-"),
                         environ.get("PATH_INFO", "-"), time.monotonic())
        return environ

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Any:
        closing = self.server.closed or not self._keep_alive
        if closing and not any(k.lower() == "connection" for k, _ in headers):
            headers = [*headers, ("Connection", "close")]
        return super().start_response(status, headers, exc_info)

    def stop_if_idle(self) -> None:
        """Close this connection if, and only if, not one byte of a next request has arrived.
        Runs as a hub callback, so nothing moves between the checks and the throw."""
        if self not in self.server.idle:
            return
        try:  # bytes of a TLS record already in the kernel: a request is arriving
            if self.socket._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                return
        except OSError:
            pass
        _throw_into_waiter(self.socket._read_event, StopWaiting("the worker is stopping"))

    def log_error(self, msg: str, *args: Any) -> None:
        # pywsgi quotes the raw request line of a request it refuses; its query string (a
        # SAMLRequest, a RelayState) does not belong in a log.
        message = msg % args if args else msg
        super().log_error(_QUERY.sub("?...", message))

    def log_request(self) -> None:
        access_log = self.server.gunicorn_log.access_log
        if not access_log.handlers:
            return
        # A request pywsgi refused before reading its head (400, 414) has no method or path.
        peer = self.client_address[0] if isinstance(self.client_address, tuple) else "-"
        client, method, path, started = self._request or (peer, "-", "-", time.monotonic())
        status = self.status.decode() if isinstance(self.status, bytes) else self.status
        access_log.info('%s "%s %s" %s %s %sms', client, _printable(method), _printable(path),
                        (status or "-")[:3], self.response_length,
                        int((time.monotonic() - started) * 1000))


class StsServer(PyWSGIServer):  # type: ignore[misc]
    def __init__(self, *args: Any, log: Any, **kwargs: Any) -> None:
        super().__init__(*args, log=log, **kwargs)
        self.gunicorn_log = log
        self.cfg = log.cfg
        self.idle: set[StsHandler] = set()  # connections waiting for their next request
        self.handshaking: set[Any] = set()  # their greenlets, during the TLS handshake
        self.idle_closed = False

    def wrap_socket_and_handle(self, client_socket: Any, address: Any) -> Any:
        # The handshake happens before the handler exists: bound it here, as a whole.
        limit = deadline(self.cfg)
        client_socket.settimeout(limit)
        self.handshaking.add(gevent.getcurrent())
        try:
            with gevent.Timeout(limit, HeadDeadline("no TLS handshake in time")):
                wrapped = self.wrap_socket(client_socket, **self.ssl_args)
        except OSError:  # too slow, not TLS at all, or the stop: nothing to answer
            client_socket.close()
            return None
        finally:
            self.handshaking.discard(gevent.getcurrent())
        try:
            return self.handle(wrapped, address)
        finally:
            wrapped.close()

    def close(self) -> None:
        super().close()
        gevent.spawn_later(min(STOP_LINGER, deadline(self.cfg)), self._close_idle)

    def _close_idle(self) -> None:
        self.idle_closed = True
        for handler in list(self.idle):
            self.loop.run_callback(handler.stop_if_idle)
        for greenlet in list(self.handshaking):  # no request yet: nothing to lose
            self.loop.run_callback(self._end_handshake, greenlet)

    def _end_handshake(self, greenlet: Any) -> None:
        if greenlet in self.handshaking:
            greenlet.throw(StopWaiting("the worker is stopping"))


class StsWorker(GeventPyWSGIWorker):  # type: ignore[misc]
    server_class = StsServer
    wsgi_handler = StsHandler
