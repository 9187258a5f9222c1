"""The CIC servers of a switchover pair, as configured: ``host`` or ``host:port``.

The grammar is `idp.hosts`'s, which the configuration validates the servers with.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp.hosts import parse_host_port

#: ICWS listens on 8019 for HTTPS and 8018 for plain HTTP.
DEFAULT_PORTS = {"https": 8019, "http": 8018}


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
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` (`idp.hosts`); `ValueError` says what
    is wrong."""
    return Server(*parse_host_port(text, default_port))
