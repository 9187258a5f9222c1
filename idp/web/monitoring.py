"""The web side of `idp.observe`: /metrics, request timing, and the audit events of a request
(client address, base URL and the like taken from the request being answered)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import time
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, abort, g, request
from prometheus_client.core import Metric
from werkzeug.wrappers import Response

from idp.config import Config
from idp.observe import audit, metrics
from idp.observe.certificates import CertificateInfo
from idp.web.context import sts
from idp.web.remap import HEADER

bp = Blueprint("monitoring", __name__)
METRICS_PATH = "/metrics"
_RESPONSE_ID = re.compile(rb' ID="([^"]+)"')


def install(app: Flask, config: Config, found: list[CertificateInfo]) -> None:
    """Time every request by view, and say in the audit log that this worker started."""
    allowed = [ipaddress.ip_network(cidr, strict=False)
               for cidr in config.monitoring.metrics_allowed]
    app.extensions["cic_sts_metrics_allowed"] = allowed

    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.teardown_request
    def observe_duration(_: BaseException | None) -> None:
        started = g.get("started")
        if started is not None:
            endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
            metrics.REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - started)

    audit.configure(config)
    audit.event("configuration_loaded", file=str(config.path), entity_id=config.entity_id,
                service_providers=len(config.service_providers) + (config.genesys is not None),
                backend=config.directory.backend, state=config.state.backend,
                certificates={info.name: {"sha256": info.sha256,
                                          "not_after": info.not_after.isoformat()}
                              for info in found})


@bp.route(METRICS_PATH)
def scrape() -> Response:
    from flask import current_app

    allowed = current_app.extensions["cic_sts_metrics_allowed"]
    if (not allowed or "X-Forwarded-For" in request.headers or HEADER in request.headers
            or not _allowed(request.remote_addr, allowed)):
        abort(404)  # as if there were no such page: nothing to learn from outside
    body = metrics.exposition(metrics.GaugesAtScrape(_certificate_gauges))
    return Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8")


def _allowed(address: str | None, allowed: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in allowed)


def _certificate_gauges() -> Iterable[Metric]:
    now = dt.datetime.now(dt.UTC)
    expiry = metrics.gauge("cic_sts_certificate_expiry_seconds",
                           "Seconds until the certificate expires (negative: expired).",
                           ["certificate"])
    info = metrics.gauge("cic_sts_certificate_info", "The certificate in use (value 1).",
                         ["certificate", "sha256", "not_after"])
    for cert in sts().certificates:
        expiry.add_metric([cert.name], cert.seconds_left(now))
        info.add_metric([cert.name, cert.sha256, cert.not_after.isoformat()], 1)
    return [expiry, info]


def _where() -> dict[str, Any]:
    remap = g.get("remap")
    return {"client": g.get("client_address"), "base_url": remap.base_url if remap else None}


def logon_failed(outcome: str, typed: str) -> None:
    metrics.LOGONS.labels(sts().config.directory.backend, outcome).inc()
    name = "logon_throttled" if outcome == "throttled" else "logon_failed"
    audit.event(name, reason=outcome, **audit.typed_user_id(typed), **_where())


def logon_succeeded(user_id: str) -> None:
    metrics.LOGONS.labels(sts().config.directory.backend, "success").inc()
    audit.event("logon", user_id=user_id, **_where())


def assertion_issued(sp: str, user_id: str, name_id: str, session_index: str, acs: str,
                     binding: str, xml: bytes, request_id: str | None) -> None:
    metrics.ASSERTIONS.labels(sp).inc()
    found = _RESPONSE_ID.search(xml[:2048])  # the Response's own ID comes first
    audit.event("assertion_issued", sp=sp, user_id=user_id, name_id=name_id,
                session_index=session_index, response_id=found.group(1).decode() if found
                else None, in_response_to=request_id, acs=acs, binding=binding, **_where())


def launched(target: str, user_id: str, proof: str) -> None:
    metrics.LAUNCHES.labels(target).inc()
    audit.event("launch", target=target, user_id=user_id, proof=proof, **_where())


def logged_out(user_id: str | None, sp: str) -> None:
    metrics.LOGOUTS.labels(sp).inc()
    audit.event("logout", user_id=user_id, sp=sp or None, **_where())


def refused(error: BaseException, reference: str, status: int) -> None:
    reason = type(error).__name__
    metrics.REFUSED.labels(reason).inc()
    audit.event("request_refused", reason=reason, status=status, reference=reference,
                method=request.method, path=request.path, **_where())
