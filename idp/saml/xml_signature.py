"""XML signatures on messages an SP sends by HTTP-POST (AuthnRequest, LogoutRequest and the
LogoutResponse that answers our own LogoutRequest).

The HTTP-Redirect binding signs the query string (`idp.saml.query_signature`); the HTTP-POST
binding carries an enveloped signature inside the message. It is checked with signxml, a
maintained XML-DSig implementation, against the certificates in the SP's metadata only (never a
certificate the message brings along), and held to a narrow shape so that what is verified is
what the rest of the STS reads:

- the Signature is a direct child of the message's root element, the only one in the message
  (a Signature anywhere else is a wrapped copy of another message, and refused even when the
  root is unsigned), and there is one Reference;
- that Reference covers the root element itself (URI "#<root ID>", or "" for the document), and
  no other element carries the same ID;
- RSA with SHA-256 or stronger, digests SHA-256 or stronger;
- like SAML metadata in general, the certificate is only a key holder: its dates do not count.

Whatever signxml raises on a hostile Signature (an empty SignatureValue makes it raise
TypeError, for example) is a signature that does not verify: a refusal, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration, XMLVerifier

from idp.errors import SamlRequestError
from idp.saml.algorithms import MIN_RSA_BITS, refusal
from idp.saml.constants import DS

log = logging.getLogger(__name__)

_EXPECTED = SignatureConfiguration(
    require_x509=False,  # the key comes from the metadata; a certificate in KeyInfo is optional
    location="./",  # a direct child of the root
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.RSA_SHA256, SignatureMethod.RSA_SHA384,
                                 SignatureMethod.RSA_SHA512}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384,
                                 DigestAlgorithm.SHA512}),
)


def _attribute(parent: etree._Element, child: str) -> str:
    """The Algorithm of `parent`'s ds:`child` (SignedInfo's, or a Reference's)."""
    found = parent.find(f".//{{{DS}}}{child}")
    return (found.get("Algorithm") or "") if found is not None else ""


def check_message_signature(root: etree._Element, certificates: tuple[str, ...]) -> bool:
    """Whether the POSTed message `root` (parsed by `idp.saml.xml.parse_untrusted`) carries an
    enveloped signature, which then verified with one of `certificates` (base64 DER from the
    SP's metadata). Raises `SamlRequestError` for a signature that does not verify, or does not
    cover the whole message."""
    signatures = list(root.iter(f"{{{DS}}}Signature"))
    if any(s.getparent() is not root for s in signatures) or len(signatures) > 1:
        # A legitimate request has at most one, right under its root; one anywhere else is a
        # wrapped copy of a signed message (XSW), whatever the root itself carries.
        raise SamlRequestError("the request carries a signature that is not its own (only one "
                               "is allowed, as a direct child of the request)")
    if not signatures:
        return False
    signature = signatures[0]
    if not certificates:
        return False  # nothing to check it with; treated like an unsigned request
    message_id = root.get("ID")
    # signxml looks a Reference up by any of these attributes: none may name another element.
    if not message_id or len(root.xpath("//*[@ID=$id or @Id=$id or @id=$id or @xml:id=$id]",
                                        id=message_id)) != 1:
        raise SamlRequestError("the signed request's ID is missing or not unique")
    references = signature.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    if len(references) != 1 or references[0].get("URI") not in (f"#{message_id}", ""):
        raise SamlRequestError("the request's signature does not cover the request itself")
    problem = refusal(_attribute(signature, "SignatureMethod"),
                      (_attribute(references[0], "DigestMethod"),))
    if problem:
        raise SamlRequestError(problem)
    for body in certificates:
        try:
            certificate = x509.load_der_x509_certificate(base64.b64decode(body))
        except (binascii.Error, ValueError):
            continue
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_RSA_BITS:
            continue  # saml2int SDP-MD06: RSA keys of 2048 bits or more
        # A metadata certificate is a container for the SP's key (the SAML metadata
        # interoperability profile): its dates are not checked, as on the Redirect binding, so
        # the check is made at a moment the certificate is valid.
        expected = dataclasses.replace(_EXPECTED,
                                       verification_time=certificate.not_valid_before_utc)
        try:
            verified = XMLVerifier().verify(root, x509_cert=certificate, expect_config=expected)
        except (SignXMLException, etree.LxmlError, ValueError, TypeError, LookupError,
                InvalidSignature) as exc:
            log.debug("request signature not verified with one certificate: %s: %s",
                      type(exc).__name__, exc)
            continue
        signed = verified.signed_xml if not isinstance(verified, list) else None
        if signed is not None and signed.tag == root.tag and signed.get("ID") == message_id:
            return True
    raise SamlRequestError("the request's XML signature does not verify with the service "
                           "provider's certificate (or uses an algorithm weaker than SHA-256)")
