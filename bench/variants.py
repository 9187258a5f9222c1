"""BENCH ONLY: the ways of serving the STS that `make bench` compares (bench/serving_conf.py)."""

VARIANTS = {
    "idp.server": "the STS's worker (idp.server.worker)",
    "legacy": "the worker before idp.server (bench/legacy_worker.py)",
    "gevent": "gunicorn's gevent worker",
    "gevent+yield": "gunicorn's gevent worker, post_request yields (gevent.sleep(0))",
    "gthread": "gunicorn's gthread worker, 16 threads",
}
