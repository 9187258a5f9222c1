"""Signatures of the HTTP-Redirect binding, which sign the query string rather than the XML.

A signed request is checked against the certificates in the SP's metadata; one whose signature
does not verify is refused. The signed octets are the parameters exactly as they arrived
(still URL-encoded), so the raw query string is used, not the decoded values; a protocol
parameter given twice is refused, so that the values the application reads are the ones signed.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from idp.errors import SamlRequestError
from idp.saml.algorithms import MIN_RSA_BITS, QUERY_SIGNATURE_HASHES, refusal

PROTOCOL_PARAMETERS = frozenset({"SAMLRequest", "SAMLResponse", "RelayState", "SigAlg",
                                 "Signature"})


def raw_parameters(raw_query: str) -> dict[str, str]:
    """Decoded name -> value as it arrived (still URL-encoded). A protocol parameter given twice
    (or once more as ``SAML%52equest``, which the web framework decodes to the same name) is
    refused: what is verified and what the application reads could differ."""
    raw: dict[str, str] = {}
    for part in raw_query.split("&"):
        name, _, value = part.partition("=")
        name = unquote_plus(name)
        if name in PROTOCOL_PARAMETERS and name in raw:
            raise SamlRequestError(f"the request carries {name} more than once")
        raw.setdefault(name, value)
    return raw


def check_query_signature(raw_query: str, message: str, certificates: tuple[str, ...],
                          raw: dict[str, str] | None = None) -> bool:
    """Whether the Redirect-binding message in `raw_query` was signed (True) or not (False).

    `message` is ``SAMLRequest`` or ``SAMLResponse``; `certificates` are base64 DER from the
    SP's metadata. Raises `SamlRequestError` when it is signed but the signature cannot be
    verified with them, or uses an algorithm other than RSA with SHA-256, -384 or -512 (the
    ones `idp.saml.algorithms` lists, as the HTTP-POST binding accepts them). `raw` is
    `raw_parameters(raw_query)`, when the caller has it already.
    """
    raw = raw if raw is not None else raw_parameters(raw_query)
    if "Signature" not in raw:
        return False
    if not certificates:
        return False  # nothing to check it with; treated like an unsigned request
    sig_alg = unquote_plus(raw.get("SigAlg", ""))
    problem = refusal(sig_alg)
    if problem:
        raise SamlRequestError(problem)
    digest = QUERY_SIGNATURE_HASHES[sig_alg]
    signed = "&".join(f"{name}={raw[name]}" for name in (message, "RelayState", "SigAlg")
                      if name in raw).encode()
    try:
        signature = base64.b64decode(unquote_plus(raw["Signature"]), validate=True)
    except (binascii.Error, ValueError):
        raise SamlRequestError("the request's Signature is not base64") from None
    for body in certificates:
        try:
            key = x509.load_der_x509_certificate(base64.b64decode(body)).public_key()
        except ValueError:
            continue
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
            continue  # saml2int SDP-MD06: RSA keys of 2048 bits or more
        try:
            key.verify(signature, signed, padding.PKCS1v15(), digest())
            return True
        except InvalidSignature:
            continue
    raise SamlRequestError("the request's signature does not verify with the service "
                           "provider's certificate")
