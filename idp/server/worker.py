"""The gunicorn worker cic-sts runs: gevent's HTTP server (pywsgi), one greenlet per connection.

Why a worker of its own rather than gunicorn's `gevent` worker is in docs/design.md ("Serving"),
with the measurements. On top of gunicorn's `gevent_pywsgi` worker this adds:
- deadlines: the TLS handshake, and the wait for a request plus the reading of its head, must
  each end within gunicorn's `keepalive` seconds (30 by default), and so must every later read or
  send, and the request body as a whole (`idp.server.body`). pywsgi alone would hold an idle
  connection, a silent one, or a head or body sent byte by byte forever. `keepalive = 0` turns
  keep-alive off (as in gunicorn) and the deadline falls back to 30 seconds;
- a strict request head (`idp.server.head`): a malformed line is a 400 for the whole request,
  never the end of the headers; the head (line and headers together) is bounded by `MAX_HEAD`.
  gunicorn's own `limit_request_*`, `max_requests`, `access_log_format` and request hooks do
  not apply to this worker;
- an access log line made directly (client, method, path without the query string, status,
  bytes, milliseconds; control characters, quotes and backslashes escaped): the query string of
  a SAML endpoint carries the SAMLRequest and RelayState, which do not belong in a log;
- a drain before the stop: for `StsServer.stop_drain` seconds after SIGTERM (a stop, a
  restart, the old workers of a reload) the worker still accepts and answers, but every answer
  carries `Connection: close` and the WSGI environ says `idp.stopping` (so /readyz answers 503):
  a proxy with health checks (HAProxy) takes the server out, and one that keeps idle
  connections (nginx) has dropped them, before the server refuses a connection or closes one;
- a clean stop: once the worker stops accepting, answers carry
  `Connection: close`; `STOP_LINGER` seconds later, connections in their TLS handshake, and
  connections where not one byte of a next request has arrived (not in the process's buffers,
  not in the kernel's), are closed. One that has begun a request is answered, so a proxy that
  keeps connections open (the generated nginx configuration does) moves to the other server
  without losing a request it sent. Left over: a request whose first TLS record is only partly
  in when the linger ends, and a client stalled halfway through a head (its deadline ends it);
- an unread request body ends the connection after the answer, where pywsgi would read and
  drop it, however large or slow;
- client errors (a reset, a malformed head, a head cut short) close the connection or get a 400
  without a traceback in the log;
- fairness: a yield between two requests of one connection, so that a client that sends its next
  request the moment an answer arrives cannot keep the worker to itself.

Every name of gevent or gunicorn this relies on beyond their documented API is listed in
`idp.server.private`, checked when this module is imported.
"""

from __future__ import annotations

import re
import time
from io import BytesIO
from typing import Any

import gevent
from gevent import monkey
from gevent.pywsgi import headers_factory
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler, PyWSGIServer

from idp.server import head, private
from idp.server.body import BodyWithDeadline

private.verify()

#: Request line and headers together, in bytes: what nginx's default header buffers allow.
MAX_HEAD = 32 * 1024
#: Header lines at most (pywsgi's limit too).
MAX_HEADER_LINES = 100
#: Seconds a stopping worker still waits for a request on an idle connection.
STOP_LINGER = 2.0
#: The WSGI environ key that says the worker is stopping (draining or no longer accepting).
STOPPING = "idp.stopping"
#: The deadline when gunicorn's keepalive is 0 (keep-alive off).
DEFAULT_DEADLINE = 30.0

_QUERY = re.compile(r"\?\S*")
_UNPRINTABLE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')
# The real poll(2), not gevent's cooperative one: asked with a timeout of 0, from the hub.
_poll = monkey.get_original("select", "poll")
_POLLIN = monkey.get_original("select", "POLLIN")


class HeadDeadline(OSError):
    """The request (or the handshake) did not arrive in time: the connection is closed."""


class StopWaiting(OSError):
    """The worker is stopping and this connection has been idle: it is closed."""


class IncompleteHead(OSError):
    """The client closed the connection in the middle of a request head."""


def deadline(cfg: Any) -> float:
    return float(cfg.keepalive) if cfg.keepalive > 0 else DEFAULT_DEADLINE


def printable(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def bytes_waiting(fd: int) -> bool:
    """Whether the kernel holds bytes (or an end) to read on `fd`, without waiting."""
    poller = _poll()
    poller.register(fd, _POLLIN)
    return bool(poller.poll(0))


class CloseInsteadOfDraining:
    """Stands in for pywsgi's body reader where pywsgi drains what the application left."""

    def __init__(self, handler: Any, body: Any) -> None:
        self._handler, self._body = handler, body

    def _discard(self) -> None:  # the name pywsgi calls (idp.server.private)
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
        self._greenlet: Any = None

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
        self._greenlet = gevent.getcurrent()
        self.server.idle.add(self)
        try:
            self.rfile.peek(1)
        finally:
            self.server.idle.discard(self)
        line: str = super().read_requestline()
        return line

    def read_request(self, raw_requestline: str) -> bool:
        # pywsgi splits the line on any whitespace and accepts HTTP/0.9; check it first.
        # (A line longer than pywsgi's limit never comes here: pywsgi answers it with 414.)
        if not raw_requestline.endswith("\n"):  # the client closed inside the line
            raise IncompleteHead("the connection ended inside the request line")
        head.request_line(raw_requestline)
        return bool(super().read_request(raw_requestline))

    def _handle_client_error(self, ex: Exception) -> Any:  # idp.server.private
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

    def MessageClass(self, fp: Any, *args: Any) -> Any:  # noqa: N802 (pywsgi's name)
        """The headers, read with a bound on their total size and checked line by line."""
        lines: list[str] = []
        size = len(getattr(self, "requestline", "") or "")
        while True:
            line = fp.readline(MAX_HEAD + 1 - size)
            size += len(line)
            if size > MAX_HEAD:
                return self._refused(f"request head larger than {MAX_HEAD} bytes")
            if not line:  # the client closed before the end of the head: nothing to answer
                raise IncompleteHead("the connection ended inside the request head")
            if line in (b"\r\n", b"\n"):
                break
            if len(lines) == MAX_HEADER_LINES:
                return self._refused("too many header lines")
            lines.append(line.decode("latin-1"))
        head.header_fields(lines, self.request_version)  # raises MalformedHead: a 400
        return headers_factory(BytesIO("".join(lines).encode("latin-1") + b"\r\n"), *args)

    @staticmethod
    def _refused(reason: str) -> Any:
        message = headers_factory(BytesIO(b"\r\n"))
        message.status = reason  # pywsgi answers 400 for a head with a status
        return message

    def get_environ(self) -> dict[str, Any]:
        # Called once the request head is read: the time spent idle before the request is not
        # the request's.
        if self._head_timer is not None:
            self._head_timer.close()
        environ: dict[str, Any] = super().get_environ()
        environ[STOPPING] = self.server.stopping
        self._requests += 1
        started = time.monotonic()
        environ["wsgi.input"] = BodyWithDeadline(environ["wsgi.input"], started + self._deadline)
        # pywsgi reads and drops whatever the application left of the body when the answer is
        # done, however large or slow; ending the connection instead costs the client only its
        # keep-alive. (pywsgi calls _discard on this attribute, the same reader the application
        # reads through environ["wsgi.input"].)
        self.wsgi_input = CloseInsteadOfDraining(self, self.wsgi_input)  # type: ignore[has-type]
        self._request = (environ.get("REMOTE_ADDR", "-"), environ.get("REQUEST_METHOD", "-"),
                         environ.get("PATH_INFO", "-"), started)
        return environ

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Any:
        closing = self.server.stopping or not self._keep_alive
        if closing and not any(k.lower() == "connection" for k, _ in headers):
            headers = [*headers, ("Connection", "close")]
        return super().start_response(status, headers, exc_info)

    def _write_with_headers(self, data: bytes) -> None:  # idp.server.private
        # pywsgi sends the head, then the body: two sends, two TLS records. A server stopped
        # between them (SIGSTOP, a crash) leaves the proxy a head without its body, which it
        # can neither pass on nor retry on the other server. Gathered into one send, an answer
        # of the usual size (under one 16 KB record) arrives whole or not at all.
        gathered = bytearray()
        self._sendall = gathered.extend  # what pywsgi sends through, for this answer's start
        try:
            super()._write_with_headers(data)
        finally:
            del self._sendall  # pywsgi's own again
        self._sendall(bytes(gathered))

    def stop_if_idle(self) -> None:
        """Close this connection if, and only if, not one byte of a next request has arrived.
        Runs as a hub callback, so nothing moves between the checks and the throw."""
        if self not in self.server.idle:
            return
        if bytes_waiting(self.socket.fileno()):  # a TLS record in the kernel: a request
            return
        # The greenlet is blocked in read_requestline's peek: the exception ends it there.
        self._greenlet.throw(StopWaiting("the worker is stopping"))

    def log_error(self, msg: str, *args: Any) -> None:
        # pywsgi quotes the raw request line of a request it refuses; its query string (a
        # SAMLRequest, a RelayState) does not belong in a log.
        message = msg % args if args else msg
        super().log_error(_QUERY.sub("?...", message))

    def log_request(self) -> None:
        access_log = self.server.gunicorn_log.access_log
        if not access_log.handlers:
            return
        # A request refused before its head was read (400, 414) has no method or path.
        peer = self.client_address[0] if isinstance(self.client_address, tuple) else "-"
        client, method, path, started = self._request or (peer, "-", "-", time.monotonic())
        status = self.status.decode() if isinstance(self.status, bytes) else self.status
        access_log.info('%s "%s %s" %s %s %sms', client, printable(method), printable(path),
                        (status or "-")[:3], self.response_length,
                        int((time.monotonic() - started) * 1000))


class StsServer(PyWSGIServer):  # type: ignore[misc]
    #: Seconds of the drain (see above); `idp.gunicorn_conf` sets it from `server.stop_drain`
    #: in each worker process before it serves.
    stop_drain = 3.0

    def __init__(self, *args: Any, log: Any, **kwargs: Any) -> None:
        super().__init__(*args, log=log, **kwargs)
        self.gunicorn_log = log
        self.cfg = log.cfg
        if self.cfg.workers > 1:
            # One connection per wake-up, as gunicorn's own gevent worker does: the workers
            # share the listening socket, and one that took a burst of new connections (a
            # proxy opening its pool) would serve them all while another sits idle.
            self.max_accept = 1
        self.idle: set[StsHandler] = set()  # connections waiting for their next request
        self.handshaking: set[Any] = set()  # their greenlets, during the TLS handshake
        self.idle_closed = False
        self.draining = False

    @property
    def stopping(self) -> bool:
        return self.draining or self.closed

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
        # gunicorn's worker calls this once it is told to stop (and again after its graceful
        # timeout); the drain happens once, within the graceful timeout gunicorn's arbiter
        # allows before it kills the worker.
        if self.closed:
            return
        if not self.draining:
            self.draining = True
            gevent.sleep(max(0.0, min(self.stop_drain, self.cfg.graceful_timeout / 3)))
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
