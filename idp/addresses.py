"""Small checks on network addresses shared by the configuration, the ICWS client and the proxy."""

from __future__ import annotations

import ipaddress


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
