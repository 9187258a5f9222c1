"""Host names, IP addresses and ``host[:port]``: the one grammar that the configuration, the ICWS
client and the proxy generator share.

A host is a DNS name (labels of letters, digits and inner hyphens, at most 253 characters) or an
IP address literal; an IPv6 address may be written in brackets. ``host:port`` takes a bracketed
IPv6 address (``[fd00::3]:8043``); a bare IPv6 address has no port. Problems come back as one
sentence naming the text, so each caller can prefix the setting or option it came from.
"""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_HOST_CHARACTERS = re.compile(r"[A-Za-z0-9.:\[\]-]")
_NAMED = {" ": "a space", "\t": "a tab", "\n": "a line break", "\r": "a line break",
          '"': "a double quote", "'": "a single quote", "`": "a backquote",
          "{": "a brace", "}": "a brace", ";": "a semicolon", "$": "a dollar sign",
          "#": "a hash sign", "\\": "a backslash"}


def describe(char: str) -> str:
    """A character as a message names it: "a space", "a semicolon", "'%'"."""
    return _NAMED.get(char, repr(char))


def is_ip(value: str) -> bool:
    """Whether `value` is an IPv4 or IPv6 address literal (no brackets, no port)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_loopback(value: str) -> bool:
    """Whether `value` is a loopback address literal (127.0.0.0/8, ::1) or "localhost"."""
    if value == "localhost":
        return True
    try:
        return ipaddress.ip_address(value).is_loopback
    except ValueError:
        return False


def host_problem(text: str) -> str | None:
    """Why `text` is not a host name or IP address (IPv6 with or without brackets), or None."""
    if not text:
        return "empty host name"
    bad = next((c for c in text if not _HOST_CHARACTERS.fullmatch(c)), None)
    if bad is not None:
        return f"{text!r} is not a host name or IP address (it contains {describe(bad)})"
    if is_ip(_unbracketed(text)):
        return None
    labels = text.removesuffix(".").split(".")  # one final dot: a fully qualified name
    if all(label.isdigit() for label in labels if label) or ":" in text:
        return f"{text!r} is not a valid IP address"
    if len(text) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return (f"{text!r} is not a valid host name (labels of letters, digits and inner "
                "hyphens, separated by dots)")
    return None


def normal_host(text: str) -> str:
    """`text` as one spelling: an IP address compressed and without brackets, a name in lower
    case. `ValueError` (the `host_problem`) if it is neither."""
    problem = host_problem(text)
    if problem:
        raise ValueError(problem)
    inner = _unbracketed(text)
    return ipaddress.ip_address(inner).compressed if is_ip(inner) else text.lower()


def split_host_port(text: str) -> tuple[str, str | None]:
    """(host, the port's text or None) of ``host``, ``host:port``, ``[v6]``, ``[v6]:port`` or a
    bare IPv6 address; `ValueError` when brackets or colons say something else."""
    if text.startswith("["):
        inner, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r}: an IPv6 address is written [address] or "
                             "[address]:port")
        if not is_ip(inner) or ":" not in inner:
            raise ValueError(f"{text!r}: {inner!r} is not an IPv6 address")
        return inner, rest[1:] if rest else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, port
    if text.count(":") > 1 and not is_ip(text):
        raise ValueError(f"{text!r}: write an IPv6 address in brackets, [address]:port")
    return text, None


def parse_host_port(text: str, default_port: int) -> tuple[str, int]:
    """(host, port) of ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; `ValueError` says
    what is wrong."""
    text = text.strip()
    host, port_text = split_host_port(text)
    problem = host_problem(host)
    if problem:
        raise ValueError(f"{text!r}: {problem}" if host != text else problem)
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


def _unbracketed(text: str) -> str:
    return text[1:-1] if text.startswith("[") and text.endswith("]") else text
