"""XML signatures, in process, with the key parsed once.

pysaml2 signs by writing the document to a temporary file and running the `xmlsec1` program for
every message, which caps it at a few dozen responses a second. python-xmlsec calls the same
library directly; `Signer` keeps the parsed key and duplicates it per signature (cheap), so each
signature costs one RSA operation plus canonicalization.
"""

from __future__ import annotations

import base64

import xmlsec
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from idp.errors import KeyMaterialError
from idp.saml.constants import SAML

SIG_ALG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"

_ISSUER = f"{{{SAML}}}Issuer"


class Signer:
    def __init__(self, key_pem: bytes, cert_pem: bytes, passphrase: str | None = None) -> None:
        try:
            self._key = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem,
                                               passphrase or None)
            self._key.load_cert_from_memory(cert_pem, xmlsec.constants.KeyDataFormatCertPem)
        except xmlsec.Error:
            raise KeyMaterialError("the SAML signing key or certificate cannot be loaded "
                                   "(wrong passphrase, or not a PEM key and certificate)") from None
        self.cert_pem = cert_pem
        try:
            key = serialization.load_pem_private_key(
                key_pem, passphrase.encode() if passphrase else None)
        except (ValueError, TypeError):
            raise KeyMaterialError("the SAML signing key cannot be loaded (wrong passphrase, "
                                   "or not a PEM key)") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise KeyMaterialError("the SAML signing key must be an RSA key (RSA-SHA256)")
        self._rsa = key

    def sign_query(self, query: str) -> str:
        """Base64 RSA-SHA256 signature of an HTTP-Redirect binding query string."""
        signature = self._rsa.sign(query.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def sign(self, element: etree._Element) -> None:
        """Add an enveloped RSA-SHA256 / exclusive-C14N signature to `element`, right after its
        Issuer as the SAML schema requires, referencing its ID attribute."""
        signature = xmlsec.template.create(
            element, xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformRsaSha256,
            ns="ds")
        issuer = element.find(_ISSUER)
        if issuer is None:
            element.insert(0, signature)
        else:
            issuer.addnext(signature)
        ref = xmlsec.template.add_reference(
            signature, xmlsec.constants.TransformSha256, uri=f"#{element.get('ID')}")
        xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
        xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
        key_info = xmlsec.template.ensure_key_info(signature)
        xmlsec.template.add_x509_data(key_info)
        ctx = xmlsec.SignatureContext()
        ctx.key = self._key
        ctx.register_id(element, "ID")
        ctx.sign(signature)
