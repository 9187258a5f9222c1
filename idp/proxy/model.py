"""What the proxy generator works with: each raw input and where it came from (`Given`), and the
validated inputs the templates render (`ProxyInputs`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from idp.saml.metadata import SSO_PATH

Stickiness = Literal["ip_hash", "sticky-cookie", "none"]
#: The proxies there is a renderer for: the templates and the check command differ, nothing else.
Proxy = Literal["nginx", "haproxy"]
STS_PORT = 8043
DEFAULT_FRIENDLY_PATH = "PureConnect"
MAX_SERVERS = 8

# Switchover timing (docs/proxy.md explains each and what it was measured to do).
#: Seconds to wait for a GET's answer before asking the other server (`quick_timeout`).
QUICK_TIMEOUT = 3
#: Seconds to wait for the answer to a POST, which may wait on CIC (`logon_timeout`): above the
#: STS's own ICWS deadline, icws.failover_timeout + 2 x icws.timeout = 25 s by default.
LOGON_TIMEOUT = 30
#: Seconds for the TCP connection and the TLS handshake with an STS server.
CONNECT_TIMEOUT = 1
#: Seconds an idle connection to an STS server is kept: below the STS's drain at a stop
#: (server.stop_drain, 3 s by default), so that none is left when it stops accepting.
IDLE_TIMEOUT = 2
#: nginx: seconds a server that failed a request is left out before one request tries it again.
FAIL_TIMEOUT = 10
#: HAProxy: milliseconds between health checks of /readyz (and once one failed, until the
#: server's state is decided), and the checks that change it: one success, two failures.
CHECK_INTERVAL_MS = 500
CHECK_FAST_MS = 250
CHECK_RISE = 1
CHECK_FALL = 2
#: Where Debian's nginx.service and haproxy.service expect each proxy's pid file.
PID_FILES: dict[str, str] = {"nginx": "/run/nginx.pid", "haproxy": "/run/haproxy.pid"}

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
    "pid_file": "--pid-file",
    "quick_timeout": "--quick-timeout",
    "logon_timeout": "--logon-timeout",
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
    """Validated inputs; every string is safe to write into an nginx or HAProxy configuration
    as is."""

    servers: tuple[Upstream, ...]
    public_host: str
    tls_certificate: str
    tls_key: str
    public_port: int = 443
    friendly_path: str = DEFAULT_FRIENDLY_PATH  # "" publishes the STS at /
    listen_address: str | None = None
    certificates_on_target: bool = False
    stickiness: Stickiness = "none"
    upstream_ca: str | None = None
    upstream_name: str | None = None
    redirect_http: bool = False
    log_dir: str = "/var/log/nginx"
    pid_file: str | None = None  # None: where the proxy's Debian unit expects it (PID_FILES)
    quick_timeout: int = QUICK_TIMEOUT
    logon_timeout: int = LOGON_TIMEOUT
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
        """Genesys Cloud's "Provider's Issuer URI": the vendor guide's, https://<public host>."""
        host = f"[{self.public_host}]" if ":" in self.public_host else self.public_host
        return f"https://{host}"


@dataclass(frozen=True)
class Validated:
    inputs: ProxyInputs
    warnings: list[str]
