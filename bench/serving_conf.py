"""BENCH ONLY: gunicorn settings for each way of serving the STS that `make bench` compares.

    CIC_STS_BENCH_SERVING=<variant> gunicorn -c python:bench.serving_conf

Everything but the worker is the STS's own settings (idp.gunicorn_conf). For gunicorn's own
workers the access log gets a line like the one idp.server writes (client, method, path, status,
bytes, milliseconds), so that every variant pays for one access log line per request.
"""

from __future__ import annotations

import os
from typing import Any

from bench.variants import VARIANTS
from idp.gunicorn_conf import *  # noqa: F403

_variant = os.environ.get("CIC_STS_BENCH_SERVING", "idp.server")
if _variant not in VARIANTS:
    raise SystemExit(f"CIC_STS_BENCH_SERVING={_variant!r}: known: {', '.join(VARIANTS)}")

if _variant == "legacy":
    worker_class = "bench.legacy_worker.StsWorker"
elif _variant != "idp.server":
    worker_class = "gthread" if _variant == "gthread" else "gevent"
    threads = 16 if _variant == "gthread" else 1
    access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

if _variant == "gevent+yield":
    import gevent

    def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
        gevent.sleep(0)  # let the worker's other connections have a turn
