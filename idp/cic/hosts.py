"""The CIC servers of a switchover pair, as configured: ``host`` or ``host:port``.

Kept apart from the HTTP client so that the configuration can validate server names without
importing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from idp.addresses import is_ip

#: ICWS listens on 8019 for HTTPS and 8018 for plain HTTP.
DEFAULT_PORTS = {"https": 8019, "http": 8018}

_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?")


@dataclass(frozen=True)
class Server:
    """One ICWS server: a host name or IP address and a port."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def base_url(self, scheme: str) -> str:
        return f"{scheme}://{self}"

    def same_host(self, host: str) -> bool:
        return self.host.rstrip(".").casefold() == host.strip("[]").rstrip(".").casefold()


def parse_server(text: str, default_port: int) -> Server:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; `ValueError` says what is wrong."""
    text = text.strip()
    host, port_text = text, None
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r}: an IPv6 address is written [address] or [address]:port")
        port_text = rest[1:] if rest else None
        if not is_ip(host):
            raise ValueError(f"{text!r}: {host!r} is not an IPv6 address")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif text.count(":") > 1:
        if not is_ip(text):
            raise ValueError(f"{text!r}: write an IPv6 address in brackets, [address]:port")
        host = text
    if not host or not (is_ip(host) or _HOST_NAME.fullmatch(host)):
        raise ValueError(f"{text!r} is not a host name or IP address (with an optional :port)")
    port = default_port
    if port_text is not None:
        if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
            raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return Server(host, port)


