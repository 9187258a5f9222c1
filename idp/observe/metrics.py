"""The STS's Prometheus metrics (names and labels are listed in docs/operating.md).

Counters and histograms only: they add up correctly across gunicorn's workers in
prometheus_client's multiprocess mode (see `multiproc`), and across worker restarts. Labels
take values from small fixed sets (outcomes, error kinds, registered SPs, view names), never
from what a client sends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from idp.observe.multiproc import ENV

if os.environ.get(ENV):  # named, perhaps not made yet (a process before gunicorn's master)
    os.makedirs(os.environ[ENV], exist_ok=True)

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest  # noqa: E402
from prometheus_client.core import GaugeMetricFamily, Metric  # noqa: E402
from prometheus_client.registry import REGISTRY, Collector  # noqa: E402

LOGONS = Counter("cic_sts_logons", "Logons on the logon page, by backend and outcome "
                 "(success, wrong_password, throttled, busy, cic_unavailable, no_email).",
                 ["backend", "outcome"])
ASSERTIONS = Counter("cic_sts_assertions", "Signed Responses with an assertion, by SP.", ["sp"])
LOGOUTS = Counter("cic_sts_logouts", "STS sessions ended, by SP (\"\" for the user's own "
                  "Log Off page).", ["sp"])
REFUSED = Counter("cic_sts_refused_requests", "Requests refused with an error page, by reason "
                  "(the kind of error).", ["reason"])
LAUNCHES = Counter("cic_sts_launches", "IdP-initiated launches, by target.", ["target"])
REQUEST_SECONDS = Histogram("cic_sts_request_duration_seconds",
                            "Time to answer a request, by view.", ["endpoint"])
SIGNING_SECONDS = Histogram("cic_sts_signing_duration_seconds",
                            "Time to sign one SAML message or query.",
                            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1))
ICWS_SECONDS = Histogram("cic_sts_icws_request_duration_seconds",
                         "Time of one ICWS request to CIC (errors included).")
ICWS_FAILOVERS = Counter("cic_sts_icws_failovers",
                         "ICWS connections opened on another server than the first tried.")
REDIS_ERRORS = Counter("cic_sts_redis_errors", "Failed calls to Redis (state.backend = redis).")


def timed(histogram: Histogram) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: observe each call's duration in `histogram`."""
    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - started)
        return call
    return wrap


class GaugesAtScrape(Collector):
    """Gauges computed when /metrics is read (certificate expiry): nothing per process."""

    def __init__(self, gauges: Callable[[], Iterable[Metric]]) -> None:
        self._gauges = gauges

    def collect(self) -> Iterable[Metric]:
        return self._gauges()


def exposition(extra: Collector | None = None) -> bytes:
    """The text format of every metric: all workers' under gunicorn, this process's otherwise."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Default())
    if extra is not None:
        registry.register(extra)
    return generate_latest(registry)


class _Default(Collector):
    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)
