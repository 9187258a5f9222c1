"""The files a proxy configuration names: PEM checks, and what a browser-facing certificate lacks
for the public host."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from pathlib import Path

from cryptography import x509

from idp.errors import ProxyConfigError
from idp.hosts import is_ip


def check_pem(path: Path, kind: str, source: str) -> None:
    try:
        data = path.read_bytes()[:1_000_000]
    except OSError as exc:
        raise ProxyConfigError(f"{source}: cannot read {path}: {exc.strerror}") from None
    if kind == "private key":
        if not re.search(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----", data):
            raise ProxyConfigError(f"{source}: {path} is not a PEM private key")
    elif b"-----BEGIN CERTIFICATE-----" not in data:
        raise ProxyConfigError(f"{source}: {path} is not a PEM certificate (nginx needs PEM; "
                               "convert DER with `openssl x509 -inform der -in FILE`)")


def certificate_warnings(path: Path, public_host: str, source: str) -> list[str]:
    """Warnings for a browser-facing certificate that will not satisfy browsers."""
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (ValueError, OSError) as exc:
        return [f"{source}: {path}: cannot read the certificate ({exc})"]
    warnings = []
    if certificate.not_valid_after_utc < dt.datetime.now(dt.UTC):
        warnings.append(f"{source}: {path} expired on {certificate.not_valid_after_utc:%Y-%m-%d}")
    try:
        names = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
        dns = [n.lower() for n in names.get_values_for_type(x509.DNSName)]
        ips = [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        dns, ips = [], []
    if is_ip(public_host):
        covered = ipaddress.ip_address(public_host).compressed in ips
    else:
        covered = any(_dns_match(pattern, public_host) for pattern in dns)
    if not covered:
        warnings.append(f"{source}: {path} does not name {public_host} (it names "
                        f"{', '.join(dns + ips) or 'nothing'}); browsers will refuse it")
    return warnings


def _dns_match(pattern: str, name: str) -> bool:
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name
