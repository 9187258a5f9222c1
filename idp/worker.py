"""The gunicorn worker cic-sts runs: gevent's HTTP server, one greenlet per connection.

Measured on the 2-core machine this was built on (trivial WSGI app, TLS keep-alive, `wrk -c32`),
gunicorn's threaded worker spends about 0.38 ms of CPU per request before the application runs,
gunicorn's gevent worker 0.14 ms, and gevent's own `pywsgi` server 0.09 ms. A signed Response
costs about 0.25 ms of RSA, so the server in front of it decides much of the rate.

On top of gunicorn's `gevent_pywsgi` worker this adds:
- a deadline on every socket operation (gunicorn's `keepalive` seconds): pywsgi alone would keep
  an idle keep-alive connection, or a client that sends its request head byte by byte, forever,
  and a worker holds at most `worker_connections` of them;
- an access log line made directly (client, method, path without the query string, status,
  bytes, milliseconds): gunicorn's generic formatter costs about 60 µs a request, and the query
  string of a SAML endpoint carries the SAMLRequest and RelayState, which do not belong in a log;
- a quick, clean stop: once the worker stops accepting (SIGTERM, restart), answers carry
  `Connection: close` and idle keep-alive connections are closed at once. Otherwise a proxy that
  keeps connections open (the generated nginx configuration does) would hold the worker for the
  whole graceful timeout and go on sending it requests until it is killed.

Work that would hold the CPU for long (argon2 password hashes) runs on a real thread; see
`idp.concurrency`. Everything else that waits (ICWS, Redis) waits on gevent-patched sockets.
"""

from __future__ import annotations

import time
from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler, PyWSGIServer


class StsHandler(PyWSGIHandler):  # type: ignore[misc]
    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        super().__init__(sock, address, server, rfile)
        limit = server.cfg.keepalive or None
        # A socket timeout ends pywsgi's read of the next request (socket.error: connection
        # closed) and any send to a client that stopped reading.
        sock.settimeout(limit)
        # (client, method, path, start) of the request being answered, once its head is read.
        self._request: tuple[str, str, str, float] | None = None

    def handle(self) -> None:
        self._greenlet = gevent.getcurrent()
        super().handle()

    def handle_one_request(self) -> Any:
        self._request = None
        if self.server.closed:
            return None  # stopping: close the connection rather than wait for another request
        self.server.idle.add(self)
        try:
            result = super().handle_one_request()
        finally:
            self.server.idle.discard(self)
        if result is True:
            # Let the worker's other connections have a turn before this one's next request: a
            # client that sends it the moment an answer arrives (a busy proxy, a load tester)
            # would otherwise find it already read and keep the worker to itself.
            gevent.sleep(0)
        return result

    def get_environ(self) -> dict[str, Any]:
        # Called once the request head is read: the time spent idle before it is not the
        # request's.
        self.server.idle.discard(self)  # a request to answer now, not an idle connection
        environ: dict[str, Any] = super().get_environ()
        self._request = (environ.get("REMOTE_ADDR", "-"), environ.get("REQUEST_METHOD", "-"),
                         environ.get("PATH_INFO", "-"), time.monotonic())
        return environ

    def start_response(self, status: str, headers: list[tuple[str, str]],
                       exc_info: Any = None) -> Any:
        if self.server.closed and not any(k.lower() == "connection" for k, _ in headers):
            headers = [*headers, ("Connection", "close")]
        return super().start_response(status, headers, exc_info)

    def stop_waiting(self) -> None:
        """End this connection while it waits for its next request."""
        self._greenlet.kill(block=False)

    def log_request(self) -> None:
        access_log = self.server.gunicorn_log.access_log
        if not access_log.handlers:
            return
        # A request pywsgi refused before reading its head (400, 414) has no method or path.
        client, method, path, started = self._request or ("-", "-", "-", time.monotonic())
        status = self.status.decode() if isinstance(self.status, bytes) else self.status
        access_log.info('%s "%s %s" %s %s %sms', client, method, path,
                        (status or "-")[:3], self.response_length,
                        int((time.monotonic() - started) * 1000))


class StsServer(PyWSGIServer):  # type: ignore[misc]
    def __init__(self, *args: Any, log: Any, **kwargs: Any) -> None:
        super().__init__(*args, log=log, **kwargs)
        self.gunicorn_log = log
        self.cfg = log.cfg
        self.idle: set[StsHandler] = set()  # connections waiting for their next request

    def close(self) -> None:
        super().close()
        for handler in list(self.idle):
            handler.stop_waiting()


class StsWorker(GeventPyWSGIWorker):  # type: ignore[misc]
    server_class = StsServer
    wsgi_handler = StsHandler
