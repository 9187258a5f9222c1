"""XML signatures, in process, with the key parsed once.

pysaml2 signs by writing the document to a temporary file and running the `xmlsec1` program for
every message, which caps it at a few dozen responses a second. python-xmlsec calls the same
library directly; `Signer` keeps the parsed key and duplicates it per signature (cheap), so each
signature costs one RSA operation plus canonicalization.
"""

from __future__ import annotations

import xmlsec
from lxml import etree

from idp.errors import KeyMaterialError
from idp.saml.constants import SAML

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
