"""gunicorn settings derived from the cic-sts configuration (TLS on port 8043, gevent workers).

`deploy/gunicorn.conf.py` re-exports this module; `cic-sts serve` uses it too. Values can be
overridden on the gunicorn command line as usual.
"""

from __future__ import annotations

import os

from idp.config import load_config
from idp.observe import multiproc

_config = load_config()
# Before any worker imports prometheus_client: all workers' metrics in one folder.
multiproc.prepare()

bind = [os.environ.get("CIC_STS_BIND") or f"{_config.server.bind}:{_config.server.port}"]
certfile = str(_config.server.tls_certificate)
keyfile = str(_config.server.tls_key)
workers = _config.server.workers
# gevent's HTTP server with keep-alive (a browser or the proxy pays one TLS handshake per
# connection, not per request); see idp/server/worker.py for why and what it adds.
worker_class = "idp.server.worker.StsWorker"
worker_connections = _config.server.connections
# Seconds an idle keep-alive connection, or any read or send, may take before it is closed.
keepalive = 30
timeout = 60
# A stop drains for server.stop_drain seconds (idp/server/worker.py), then waits for the answers
# in flight: long enough for a logon waiting on CIC (25 s with the default ICWS deadline).
# Only a stop with requests still in flight takes this long.
graceful_timeout = 30
loglevel = _config.server.log_level
accesslog = "-"
# The worker writes its own line: client "METHOD path" status bytes duration, never the query
# string (SAMLRequest, RelayState).
wsgi_app = "idp.wsgi:app"
# gunicorn's control socket lives at one fixed path per user; two STS instances on one machine
# (a switchover pair under test) would fight over it, and nothing here uses it.
control_socket_disable = True


def post_worker_init(worker: object) -> None:
    """In each worker process, before it serves: the length of its drain at the stop."""
    from idp.server.worker import StsServer

    StsServer.stop_drain = float(_config.server.stop_drain)


def on_exit(server: object) -> None:
    multiproc.cleanup()
