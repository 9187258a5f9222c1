"""ININ-REMAP-BASE-URL: the public base the proxy published us under.

Honoured only from a trusted proxy address and only when it is a clean absolute http(s) URL
(ASCII, no control characters, no '..' even percent-encoded), and one of the allowed bases:
`server.public_base_url` and `server.remap_allowed_bases` (`init` writes the STS's own). Only
when neither is configured is any clean value accepted (a warning at start says so). It changes
the URLs shown to the browser, never the issuer and never where a Response is sent: that comes
from the SP registry.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from idp.config import Config, base_url_problem

HEADER = "ININ-REMAP-BASE-URL"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Remap:
    base_url: str
    refused: str | None = None  # why a header present on the request was not honoured


class RemapPolicy:
    def __init__(self, config: Config) -> None:
        self.default_base = config.public_base_url
        self.trusted = [ipaddress.ip_network(c, strict=False)
                        for c in config.server.trusted_proxies]
        # An older generated proxy built the base from the Host header the browser sent, and
        # passed on one a client set itself: only configured bases are believed.
        allowed = [*config.server.remap_allowed_bases,
                   *([config.server.public_base_url] if config.server.public_base_url else [])]
        self.allowed = {u.rstrip("/") for u in allowed}
        if not self.allowed:
            log.warning("server.remap_allowed_bases and server.public_base_url are empty: any "
                        "%s a trusted proxy sends is believed; set one of them", HEADER)

    def resolve(self, header: str | None, remote_addr: str | None) -> Remap:
        if header is None:
            return Remap(self.default_base)
        if not self._trusted(remote_addr):
            log.warning("ignored %s from untrusted address %s", HEADER, remote_addr)
            return Remap(self.default_base, refused=f"{HEADER} sent by an address that is not "
                         "a trusted proxy (server.trusted_proxies)")
        value = header.strip(" \t").rstrip("/")  # str.strip() would also eat NEL (U+0085)
        problem = base_url_problem(value)
        if problem is None and self.allowed and value not in self.allowed:
            problem = "is not in server.remap_allowed_bases"
        if problem is not None:
            log.warning("ignored %s %r from %s: %s", HEADER, header[:200], remote_addr, problem)
            return Remap(self.default_base, refused=f"{HEADER} {problem}")
        return Remap(value)

    def client_address(self, remote_addr: str | None, forwarded_for: str | None) -> str:
        """The browser's address: the peer, or what a trusted proxy says it saw (the last
        X-Forwarded-For entry, the one that proxy added itself)."""
        if forwarded_for and self._trusted(remote_addr):
            last = forwarded_for.rsplit(",", 1)[-1].strip()
            try:
                return str(ipaddress.ip_address(last))
            except ValueError:
                pass
        return remote_addr or "unknown"

    def _trusted(self, remote_addr: str | None) -> bool:
        if not remote_addr:
            return False
        try:
            address = ipaddress.ip_address(remote_addr)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)
