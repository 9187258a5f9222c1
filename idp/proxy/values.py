"""Single inputs of the proxy generator as nginx and HAProxy tokens: host names and addresses
(the shared grammar of `idp.hosts`), ports, the friendly path, file paths. Each is refused with
its source named unless it is safe to write into the configuration as is."""

from __future__ import annotations

import re
from typing import Any

from idp.errors import ProxyConfigError
from idp.hosts import describe, normal_host, split_host_port
from idp.proxy.model import STS_PORT, Upstream

_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
_PATH = re.compile(r"[A-Za-z0-9._~/+@=,:-]+")


def first_bad(text: str, allowed: re.Pattern[str]) -> str | None:
    """The first character of `text` that `allowed` does not match, if any."""
    return next((c for c in text if not allowed.fullmatch(c)), None)


def host(text: str, source: str) -> str:
    """A host name (lower-cased) or an IP address (IPv6 without brackets)."""
    try:
        return normal_host(text)
    except ValueError as exc:
        raise ProxyConfigError(f"{source}: {exc}") from None


def port(value: Any, source: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProxyConfigError(f"{source}: expected a port number, got {value!r}")
    if not 1 <= value <= 65535:
        raise ProxyConfigError(f"{source}: port {value} is out of range (1-65535)")
    return value


def upstream(text: str, source: str) -> Upstream:
    """``host``, ``host:port``, ``[IPv6]:port`` or a bare IPv6 address; port 8043 by default."""
    try:
        name, port_text = split_host_port(text)
    except ValueError as exc:
        raise ProxyConfigError(f"{source}: {exc}") from None
    if port_text is None:
        number = STS_PORT
    elif port_text.isdigit():
        number = port(int(port_text), f"{source} ({text})")
    else:
        raise ProxyConfigError(f"{source}: {text!r}: the port after ':' must be a number")
    return Upstream(host(name, source), number)


def friendly_path(text: str, source: str) -> str:
    """Segments of ``[A-Za-z0-9._~-]`` separated by '/'; one leading and trailing '/' dropped."""
    path = text.removeprefix("/").removesuffix("/")
    if not path:
        return ""
    if len(path) > 200:
        raise ProxyConfigError(f"{source}: longer than 200 characters")
    for segment in path.split("/"):
        if not segment:
            raise ProxyConfigError(f"{source}: {text!r} has an empty segment ('//')")
        if segment in (".", ".."):
            raise ProxyConfigError(f"{source}: {text!r}: '.' and '..' segments are not allowed")
        bad = first_bad(segment, _SEGMENT)
        if bad is not None:
            raise ProxyConfigError(f"{source}: {text!r}: only letters, digits and . _ ~ - are "
                                   f"allowed in the friendly path, not {describe(bad)}")
    return path


def safe_path(text: str, source: str) -> str:
    if not text:
        raise ProxyConfigError(f"{source}: empty path")
    bad = first_bad(text, _PATH)
    if bad is not None:
        raise ProxyConfigError(f"{source}: {text!r}: a path in the proxy configuration may only "
                               f"contain letters, digits and . _ ~ / + @ = , : -, "
                               f"not {describe(bad)}")
    if ".." in text.split("/"):
        raise ProxyConfigError(f"{source}: {text!r}: '..' is not allowed")
    return text
