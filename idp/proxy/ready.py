"""`cic-sts proxy wait-ready`: the step between the two restarts of a rolling restart.

It asks every STS server of the pair for /readyz (port 8043, straight, not through the proxy)
until each answers 200, or the time is up. The proxy needs no more: nginx falls back to a server
it still counts as failed (the backup servers of the generated configuration), HAProxy's health
checks take a restarted server back within a second, and the other server, when it is then
restarted, keeps answering for `server.stop_drain` seconds before it refuses connections.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from idp.proxy.model import Upstream

POLL = 0.25


@dataclass(frozen=True)
class Readiness:
    server: Upstream
    ready: bool
    detail: str  # "ready", or what kept it from being ready

    def __str__(self) -> str:
        return f"{self.server.address}: {self.detail}"


def tls_context(ca_file: Path | None, insecure: bool) -> ssl.SSLContext:
    if insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def probe(client: httpx.Client, server: Upstream, name: str | None) -> Readiness:
    """One /readyz of `server`; `name` is the host name its certificate carries, if not its
    address."""
    host = f"[{server.host}]" if ":" in server.host else server.host
    extensions = {"sni_hostname": name} if name else {}
    try:
        answer = client.get(f"https://{host}:{server.port}/readyz", extensions=extensions)
    except httpx.HTTPError as exc:
        return Readiness(server, False, f"no answer ({exc.__class__.__name__}: {exc})")
    if answer.status_code == 200:
        return Readiness(server, True, "ready")
    try:
        checks = answer.json().get("checks", {})
        failing = ", ".join(check for check, ok in checks.items() if not ok)
    except ValueError:
        failing = ""
    return Readiness(server, False, f"answers {answer.status_code}"
                     + (f" ({failing} not ready)" if failing else ""))


def wait_ready(servers: Sequence[Upstream], *, timeout: float, context: ssl.SSLContext,
               name: str | None = None, clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> list[Readiness]:
    """Poll every server until all are ready or `timeout` seconds have passed; the last state
    of each (all ready, or not)."""
    deadline = clock() + timeout
    with httpx.Client(verify=context, timeout=min(5.0, max(timeout, 0.5))) as client:
        while True:
            states = [probe(client, server, name) for server in servers]
            if all(state.ready for state in states) or clock() >= deadline:
                return states
            sleep(POLL)
