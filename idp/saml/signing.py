"""XML signatures, in process, with the key parsed once.

pysaml2 signs by writing the document to a temporary file and running the `xmlsec1` program for
every message, which caps it at a few dozen responses a second. Here an enveloped signature is
made directly from text: the builders in `idp.saml.response` write each signed element already
in its exclusive canonical form (`idp.saml.canonical`), so its digest is SHA-256 of that text;
the SignedInfo naming the digest is canonical text too and is signed with RSA-SHA256
(cryptography, OpenSSL underneath); the Signature element goes right after the Issuer, as the
SAML schema wants. Per message that is one RSA operation and two hashes, with no XML parser or
canonicalizer on the way. Every signature is checked in the tests by `xmlsec1 --verify`,
python3-saml and pysaml2, and the text by libxml2's own exclusive C14N.
"""

from __future__ import annotations

import base64
import hashlib
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from idp.errors import KeyMaterialError
from idp.saml.algorithms import DIGEST_SHA256
from idp.saml.algorithms import RSA_SHA256 as SIG_ALG_RSA_SHA256
from idp.saml.constants import DS

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

# `xs` is used only inside attribute values (xsi:type="xs:string"), which exclusive C14N does not
# see as a use: without naming it here, its declaration would be left out of what is signed and
# could be rebound by whoever holds the message.
INCLUSIVE_PREFIXES = ("xs",)
# The content of the SignedInfo, canonical text. Signed as the apex of its own canonicalization
# (with the ds declaration on the SignedInfo); in the message its Signature parent declares ds.
_SIGNED_INFO = (
    f'<ds:CanonicalizationMethod Algorithm="{EXC_C14N}"></ds:CanonicalizationMethod>'
    f'<ds:SignatureMethod Algorithm="{SIG_ALG_RSA_SHA256}"></ds:SignatureMethod>'
    '<ds:Reference URI="#{reference}"><ds:Transforms>'
    f'<ds:Transform Algorithm="{ENVELOPED}"></ds:Transform>'
    f'<ds:Transform Algorithm="{EXC_C14N}"><ec:InclusiveNamespaces xmlns:ec="{EXC_C14N}" '
    f'PrefixList="{" ".join(INCLUSIVE_PREFIXES)}"></ec:InclusiveNamespaces></ds:Transform>'
    f'</ds:Transforms><ds:DigestMethod Algorithm="{DIGEST_SHA256}"></ds:DigestMethod>'
    "<ds:DigestValue>{digest}</ds:DigestValue></ds:Reference>"
)
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


class Signer:
    def __init__(self, key_pem: bytes, cert_pem: bytes, passphrase: str | None = None) -> None:
        try:
            key = serialization.load_pem_private_key(
                key_pem, passphrase.encode() if passphrase else None)
            certificate = x509.load_pem_x509_certificate(cert_pem)
        except (ValueError, TypeError):
            raise KeyMaterialError("the SAML signing key or certificate cannot be loaded "
                                   "(wrong passphrase, or not a PEM key and certificate)") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyMaterialError("the SAML signing key must be an RSA key (RSA-SHA256)")
        if certificate.public_key() != key.public_key():
            raise KeyMaterialError("the SAML signing certificate does not belong to the key")
        self._rsa = key
        self.cert_pem = cert_pem
        self._cert_body = base64.b64encode(
            certificate.public_bytes(serialization.Encoding.DER)).decode()

    def _rsa_sha256(self, data: bytes) -> str:
        signature = self._rsa.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def enveloped(self, head: str, tail: str, reference: str) -> str:
        """`head` + Signature + `tail`: an enveloped RSA-SHA256 / exclusive-C14N signature of the
        element whose exclusive canonical form is `head + tail` and whose ID is `reference`;
        `head` ends with the element's Issuer, after which the SAML schema puts the Signature.

        The enveloped-signature transform removes the Signature before digesting, so the digest
        is that of `head + tail`. The Signature is canonical text as well, so a signed element
        can be embedded in another one that is signed in turn (a signed Assertion).
        """
        if not _ID.fullmatch(reference):
            raise ValueError(f"not an ID this signer writes: {reference!r}")
        digest = base64.b64encode(hashlib.sha256((head + tail).encode()).digest()).decode()
        info = _SIGNED_INFO.format(reference=reference, digest=digest)
        value = self._rsa_sha256(f'<ds:SignedInfo xmlns:ds="{DS}">{info}</ds:SignedInfo>'
                                 .encode())
        return (f'{head}<ds:Signature xmlns:ds="{DS}"><ds:SignedInfo>{info}</ds:SignedInfo>'
                f"<ds:SignatureValue>{value}</ds:SignatureValue><ds:KeyInfo><ds:X509Data>"
                f"<ds:X509Certificate>{self._cert_body}</ds:X509Certificate></ds:X509Data>"
                f"</ds:KeyInfo></ds:Signature>{tail}")

    def sign_query(self, query: str) -> str:
        """Base64 RSA-SHA256 signature of an HTTP-Redirect binding query string."""
        return self._rsa_sha256(query.encode())
