"""The HTTP details of talking to ICWS: the TLS context, one line for a failed request, and
cookies kept per session (never in the shared client: see `idp.cic.icws`)."""

from __future__ import annotations

import http.cookiejar
import ssl
from pathlib import Path

import httpx

from idp.cic.errors import snippet
from idp.errors import ConfigError


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verify CIC's certificate and host name against `ca_file`, or the system's CAs."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"icws.ca_file: cannot load CA certificates from {ca_file}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None


def describe(exc: httpx.TransportError, timeout: float) -> str:
    """One line for a failed request, without the URL (which the caller names)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {round(timeout, 1):g} s ({type(exc).__name__})"
    reason = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason:
        return f"TLS certificate not trusted (check icws.ca_file): {snippet(reason)}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {snippet(reason)}"
    return f"{type(exc).__name__}: {snippet(reason)}"


def refusing_jar() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing (see the module documentation)."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def cookie_header(response: httpx.Response) -> str:
    pairs = []
    for line in response.headers.get_list("set-cookie"):
        name, equals, value = line.split(";", 1)[0].partition("=")
        if equals and name.strip():
            pairs.append(f"{name.strip()}={value.strip()}")
    return "; ".join(pairs)
