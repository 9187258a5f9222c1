"""The certificates an operator must renew in time: SAML signing (current and next) and TLS."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from idp.config import Config
from idp.errors import KeyMaterialError
from idp.keys import read_pem


@dataclass(frozen=True)
class CertificateInfo:
    name: str  # saml_signing, saml_signing_next, tls
    label: str  # for people
    path: Path
    not_after: dt.datetime
    sha256: str  # colon-separated upper-case hex, as browsers and Genesys Cloud show it

    def seconds_left(self, now: dt.datetime) -> float:
        return (self.not_after - now).total_seconds()

    def as_json(self, now: dt.datetime) -> dict[str, object]:
        return {"file": str(self.path), "not_after": self.not_after.isoformat(),
                "days_left": int(self.seconds_left(now) // 86400), "sha256": self.sha256}


def describe(path: Path, name: str, label: str) -> CertificateInfo:
    try:
        cert = x509.load_pem_x509_certificate(read_pem(path, label))
    except ValueError:
        raise KeyMaterialError(f"the {label} {path} is not a certificate") from None
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return CertificateInfo(name, label, path, cert.not_valid_after_utc,
                           ":".join(digest[i:i + 2] for i in range(0, len(digest), 2)))


def certificates(config: Config) -> list[CertificateInfo]:
    found = [describe(config.idp.signing_certificate, "saml_signing",
                      "SAML signing certificate")]
    if config.next_signing_certificate is not None:
        found.append(describe(config.next_signing_certificate, "saml_signing_next",
                              "next SAML signing certificate"))
    found.append(describe(config.server.tls_certificate, "tls", "TLS certificate"))
    return found


def expiry_warnings(config: Config, found: list[CertificateInfo],
                    now: dt.datetime | None = None) -> list[str]:
    """One sentence per certificate within monitoring.certificate_warning_days of expiry."""
    now = now or dt.datetime.now(dt.UTC)
    days = config.monitoring.certificate_warning_days
    warnings = []
    for info in found:
        left = info.seconds_left(now)
        if left <= 0:
            warnings.append(f"the {info.label} {info.path} expired on "
                            f"{info.not_after:%Y-%m-%d %H:%M} UTC")
        elif left <= days * 86400:
            warnings.append(f"the {info.label} {info.path} expires in {left / 86400:.1f} days "
                            f"({info.not_after:%Y-%m-%d %H:%M} UTC; warning from "
                            f"monitoring.certificate_warning_days = {days})")
    return warnings
