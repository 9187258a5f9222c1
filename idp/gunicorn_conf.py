"""gunicorn settings derived from the cic-sts configuration (TLS on port 8043, gthread workers).

`deploy/gunicorn.conf.py` re-exports this module; `cic-sts serve` uses it too. Values can be
overridden on the gunicorn command line as usual.
"""

from __future__ import annotations

import os

from idp.config import load_config

_config = load_config()

bind = [os.environ.get("CIC_STS_BIND") or f"{_config.server.bind}:{_config.server.port}"]
certfile = str(_config.server.tls_certificate)
keyfile = str(_config.server.tls_key)
workers = _config.server.workers
# gthread workers keep connections alive, so a browser (or the proxy) does not pay a TLS
# handshake per request, which sync workers would force.
worker_class = "gthread"
threads = _config.server.threads
keepalive = 30
timeout = 60
graceful_timeout = 10
loglevel = _config.server.log_level
accesslog = "-"
# The access log must not carry SAMLRequest/RelayState query strings: log the path only.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
wsgi_app = "idp.wsgi:app"
# gunicorn's control socket lives at one fixed path per user; two STS instances on one machine
# (a switchover pair under test) would fight over it, and nothing here uses it.
control_socket_disable = True
