"""What the proxy generator works with: each raw input and where it came from (`Given`), and the
validated inputs the templates render (`ProxyInputs`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from idp.saml.metadata import SSO_PATH

Stickiness = Literal["ip_hash", "sticky-cookie", "none"]
STS_PORT = 8043
DEFAULT_FRIENDLY_PATH = "PureConnect"
MAX_SERVERS = 8

#: Input name -> the command-line option that sets it.
OPTIONS: dict[str, str] = {
    "servers": "--server",
    "public_host": "--public-host",
    "public_port": "--public-port",
    "friendly_path": "--friendly-path",
    "listen_address": "--listen-address",
    "tls_certificate": "--tls-cert",
    "tls_key": "--tls-key",
    "certificates_on_target": "--cert-on-target",
    "stickiness": "--stickiness",
    "upstream_ca": "--upstream-ca",
    "upstream_name": "--upstream-name",
    "verify_upstream": "--no-verify-upstream",
    "redirect_http": "--redirect-http",
    "log_dir": "--log-dir",
    "outer_proxies": "--outer-proxy",
}


@dataclass(frozen=True)
class Given:
    """A raw value and where it came from: an option (``--server``) or a key
    (``proxy.servers``). Relative file paths are relative to `base`."""

    value: Any
    source: str
    base: Path


@dataclass(frozen=True)
class Upstream:
    host: str  # a host name, or an IP address without brackets
    port: int

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ProxyInputs:
    """Validated inputs; every string is safe to write into an Nginx configuration as is."""

    servers: tuple[Upstream, ...]
    public_host: str
    tls_certificate: str
    tls_key: str
    public_port: int = 443
    friendly_path: str = DEFAULT_FRIENDLY_PATH  # "" publishes the STS at /
    listen_address: str | None = None
    certificates_on_target: bool = False
    stickiness: Stickiness = "ip_hash"
    upstream_ca: str | None = None
    upstream_name: str | None = None
    redirect_http: bool = False
    log_dir: str = "/var/log/nginx"
    #: Not an option (browsers type plain-HTTP addresses without a port); `check` moves it.
    redirect_port: int = 80
    #: Networks of an outer proxy whose ININ-REMAP-BASE-URL is passed on (CIDR, normalized).
    outer_proxies: tuple[str, ...] = ()

    @property
    def server_name(self) -> str:
        """The public host as nginx's server_name matches it: an IPv6 address in brackets, as
        browsers send it in the Host header (nginx never matches a bare ``::1``)."""
        return f"[{self.public_host}]" if ":" in self.public_host else self.public_host

    @property
    def listen_hosts(self) -> tuple[str | None, ...]:
        """Where nginx listens: the listen address; else every IPv4 address (None) and, when
        browsers reach the proxy by an IPv6 address, every IPv6 address (``::``) as well."""
        if self.listen_address is not None:
            return (self.listen_address,)
        return (None, "::") if ":" in self.public_host else (None,)

    @property
    def public_origin(self) -> str:
        host = f"[{self.public_host}]" if ":" in self.public_host else self.public_host
        return f"https://{host}" if self.public_port == 443 else f"https://{host}:{self.public_port}"

    @property
    def public_base_url(self) -> str:
        return self.public_origin + (f"/{self.friendly_path}" if self.friendly_path else "")

    @property
    def target_url(self) -> str:
        """Genesys Cloud's "Target URL"."""
        return self.public_base_url + SSO_PATH

    @property
    def issuer(self) -> str:
        """Genesys Cloud's "Provider's Issuer URI": the seed's choice, https://<public host>."""
        host = f"[{self.public_host}]" if ":" in self.public_host else self.public_host
        return f"https://{host}"


@dataclass(frozen=True)
class Validated:
    inputs: ProxyInputs
    warnings: list[str]
