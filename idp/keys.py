"""Key material: generate the SAML signing and TLS keys for `cic-sts init`, and load them."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from idp.errors import KeyMaterialError

PRIVATE = 0o600


@dataclass(frozen=True)
class KeyFile:
    path: Path
    created: bool  # False when an existing file was kept


def write_private(path: Path, data: bytes, force: bool) -> KeyFile:
    """Write a secret file readable only by its owner; keep an existing one unless `force`."""
    if path.exists() and not force:
        return KeyFile(path, created=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, PRIVATE)  # in case the file already existed with wider bits
    os.replace(tmp, path)
    return KeyFile(path, created=True)


def write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _self_signed(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, common_name: str,
                 names: list[str], days: int, server_auth: bool) -> x509.Certificate:
    # Each certificate's subject is its own (serialNumber): the pair's two self-signed
    # certificates, concatenated into one trust file for nginx, share their common name, and
    # OpenSSL looks a trust anchor up by subject, so two alike would hide one of them.
    serial = x509.random_serial_number()
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cic-sts"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, f"{serial:x}"[:64]),
    ])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if server_auth:
        alt: list[x509.GeneralName] = []
        for name in names:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alt.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(key, hashes.SHA256())


def _pem_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def generate_signing_pair(key_path: Path, cert_path: Path, entity_id: str,
                          force: bool) -> KeyFile:
    """RSA-2048 key and a 10-year self-signed certificate: Genesys Cloud pins the certificate
    itself, so its lifetime is a rollover schedule, not a trust decision."""
    if key_path.exists() and not force:
        return KeyFile(key_path, created=False)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _self_signed(key, entity_id, [], days=3650, server_auth=False)
    written = write_private(key_path, _pem_key(key), force=True)
    write_public(cert_path, _pem_cert(cert))
    return written


def generate_tls_pair(key_path: Path, cert_path: Path, names: list[str], force: bool,
                      days: int = 825) -> KeyFile:
    """ECDSA P-256 key (cheap handshakes) and a self-signed server certificate for `names`."""
    if key_path.exists() and not force:
        return KeyFile(key_path, created=False)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed(key, names[0], names, days=days, server_auth=True)
    written = write_private(key_path, _pem_key(key), force=True)
    write_public(cert_path, _pem_cert(cert))
    return written


def generate_secret(path: Path, force: bool) -> KeyFile:
    return write_private(path, secrets.token_hex(32).encode() + b"\n", force)


def read_pem(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyMaterialError(f"cannot read the {what} {path}: {exc.strerror}") from None
    if b"-----BEGIN" not in data:
        raise KeyMaterialError(f"the {what} {path} is not PEM")
    return data


def certificate_body(pem: bytes) -> str:
    """The base64 body of a PEM certificate, as metadata's <ds:X509Certificate> wants it."""
    cert = x509.load_pem_x509_certificate(pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode()
