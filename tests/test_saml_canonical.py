"""The messages are written in exclusive canonical form: checked against libxml2's own C14N.

`idp.saml.signing` digests the text the builders write, trusting it to be the exclusive
canonical form of the signed element. These tests hold every message kind, with hostile and
random values, to libxml2's canonicalization (through lxml): the whole message must come out of
it unchanged, and each DigestValue must be the digest libxml2 computes for its element.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import random

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from idp.saml.canonical import attribute, text
from idp.saml.constants import DS
from idp.saml.response import (
    ResponseParams,
    Subject,
    build_error_response,
    build_logout_response,
    build_response,
)
from idp.saml.signing import INCLUSIVE_PREFIXES, Signer
from tests.helpers import make_keypair

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
HOSTILE = ["plain", "a&b", "<tag>", "x > y", 'say "hi"', "it's", "tab\there", "line\nfeed",
           "carriage\rreturn", "crlf\r\n", "]]>", "&amp;", "&#13;", "Ünïcödé ✓ 漢字", "😀",
           " leading and trailing ", "\t\n\r", ""]
ALPHABET = "aZ09 &<>\"'\t\n\r=;:/#%ßé漢😀\u00a0\u2028]"


def exclusive_c14n(element: etree._Element) -> bytes:
    text: bytes = etree.tostring(element, method="c14n", exclusive=True, with_comments=False,
                                 inclusive_ns_prefixes=list(INCLUSIVE_PREFIXES))
    return text


def check_canonical_and_digests(xml: bytes) -> int:
    """Assert `xml` is its own exclusive canonical form and every Reference digest is the one
    libxml2 gives; returns how many signatures were checked."""
    root = etree.fromstring(xml)
    assert exclusive_c14n(root) == xml
    signatures = root.iter(f"{{{DS}}}Signature")
    count = 0
    for signature in signatures:
        signed = signature.getparent()
        reference = signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
        assert reference.get("URI") == "#" + signed.get("ID")
        detached = copy.deepcopy(signed)
        own = detached.find(f"{{{DS}}}Signature")
        detached.remove(own)  # the enveloped-signature transform
        digest = base64.b64encode(hashlib.sha256(exclusive_c14n(detached)).digest()).decode()
        assert reference.findtext(f"{{{DS}}}DigestValue") == digest
        # What is signed is the SignedInfo's exclusive C14N (its CanonicalizationMethod names
        # no InclusiveNamespaces), checked with the certificate the Signature carries.
        signed_info = etree.tostring(signature.find(f"{{{DS}}}SignedInfo"), method="c14n",
                                     exclusive=True, with_comments=False)
        certificate = x509.load_der_x509_certificate(base64.b64decode(
            signature.findtext(f".//{{{DS}}}X509Certificate")))
        certificate.public_key().verify(  # type: ignore[union-attr,call-arg]
            base64.b64decode(signature.findtext(f"{{{DS}}}SignatureValue")), signed_info,
            padding.PKCS1v15(), hashes.SHA256())  # type: ignore[arg-type]
        count += 1
    return count


def response(signer: Signer, value: str, sign_assertion: bool) -> bytes:
    params = ResponseParams(
        issuer=f"https://idp.example.com/{value}", audience=f"urn:sp:{value}",
        acs_url=f"https://sp.example.com/acs?x={value}", in_response_to=f"_req{value}",
        session_index=f"_s{value}", authn_instant=NOW, now=NOW, lifetime=300, skew=30,
        sign_assertion=sign_assertion)
    return build_response(params, Subject(f"{value}@example.com", {
        "email": f"{value}@example.com", "OrganizationName": value, "ServiceName": value}),
        signer)


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Signer:
    return make_keypair(tmp_path_factory.mktemp("canonical")).signer()


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("sign_assertion", [False, True])
def test_response_is_canonical(signer: Signer, value: str, sign_assertion: bool) -> None:
    xml = response(signer, value, sign_assertion)
    assert check_canonical_and_digests(xml) == (2 if sign_assertion else 1)


@pytest.mark.parametrize("value", HOSTILE)
def test_error_and_logout_responses_are_canonical(signer: Signer, value: str) -> None:
    error = build_error_response(f"https://idp/{value}", f"https://sp/acs?{value}", "_r",
                                 "urn:oasis:names:tc:SAML:2.0:status:NoPassive", value, NOW,
                                 signer)
    assert check_canonical_and_digests(error) == 1
    for with_signer, signatures in ((signer, 1), (None, 0)):
        logout = build_logout_response(f"https://idp/{value}", f"https://sp/slo?{value}",
                                       f"_r{value}", NOW, with_signer)
        assert check_canonical_and_digests(logout) == signatures


def test_random_values_are_canonical(signer: Signer) -> None:
    rng = random.Random(20261126)
    for _ in range(150):
        value = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 24)))
        check_canonical_and_digests(response(signer, value, rng.random() < 0.5))


def test_values_round_trip_through_a_parser() -> None:
    for value in HOSTILE:
        element = etree.fromstring(f"<a b={attribute(value)}>{text(value)}</a>".encode())
        assert element.get("b") == value
        assert (element.text or "") == value


def test_escaping_follows_c14n() -> None:
    assert text('&<>"\'\r\t\n') == "&amp;&lt;&gt;\"'&#xD;\t\n"
    assert attribute('&<>"\'\r\t\n') == '"&amp;&lt;>&quot;\'&#xD;&#x9;&#xA;"'


def test_an_id_the_signer_does_not_write_is_refused(signer: Signer) -> None:
    with pytest.raises(ValueError):
        signer.enveloped("<a>", "</a>", 'x" evil="1')
