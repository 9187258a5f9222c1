"""Signature attacks on requests of an SP that signs (python3-saml, AuthnRequestsSigned): the
eight XML Signature Wrapping variants of SAML Raider adapted from Responses to requests,
signature stripping, KeyInfo certificate injection and algorithm downgrades, on both bindings.

The wrapped documents carry a change that would be accepted if the signature were not bound to
what is read (a fresh ID and ForceAuthn): a refusal shows the binding holds, a logon page would
show it does not.

For a signed request R (ID i) with its enveloped Signature S, the variants are:
  XSW1  a forged root E (new ID) holding S, with R (without S) inside S
  XSW2  a forged root E holding R (without S) before S, as a detached signature would
  XSW3  a forged root E with the same ID i, holding the genuine R
  XSW4  a forged unsigned root E, holding the genuine signed R
  XSW5  R changed in place, keeping S, with an unchanged copy of R appended
  XSW6  R changed in place, keeping S, with an unchanged copy of R inside S
  XSW7  a forged root E holding S, with R (without S) in samlp:Extensions
  XSW8  a forged root E holding S, with R (without S) in a ds:Object of S
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from lxml import etree
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from idp.keys import generate_signing_pair
from idp.saml.constants import DS, SAML, SAMLP
from tests.conftest import refusal
from tests.signing_sp import (
    HTTPS,
    SIGNING_SP,
    SigningSp,
    make_signing_sp,
    path_and_query,
    post,
    posted_request,
    signed_url,
)

LOGON_FORM = 'name="password"'


@pytest.fixture
def signing(tmp_path: Path, key_dir: Path) -> SigningSp:
    return make_signing_sp(tmp_path, key_dir)


def split(xml: str) -> tuple[etree._Element, etree._Element]:
    root = etree.fromstring(xml.encode())
    signature = root.find(f"{{{DS}}}Signature")
    assert signature is not None
    return root, signature


def unsigned_copy(root: etree._Element) -> etree._Element:
    clone = copy.deepcopy(root)
    clone.remove(clone.find(f"{{{DS}}}Signature"))
    return clone


def forged(root: etree._Element, same_id: bool = False) -> etree._Element:
    """A copy of `root` without its signature, with the attacker's change."""
    evil = unsigned_copy(root)
    evil.set("ForceAuthn", "true")
    if not same_id:
        evil.set("ID", "_forged")
    return evil


def after_issuer(parent: etree._Element, child: etree._Element) -> None:
    parent.find(f"{{{SAML}}}Issuer").addnext(child)


def xsw1(xml: str) -> etree._Element:
    root, signature = split(xml)
    evil, plain = forged(root), unsigned_copy(root)
    signature.append(plain)
    after_issuer(evil, signature)
    return evil


def xsw2(xml: str) -> etree._Element:
    root, signature = split(xml)
    evil, plain = forged(root), unsigned_copy(root)
    after_issuer(evil, signature)
    signature.addprevious(plain)
    return evil


def xsw3(xml: str) -> etree._Element:
    root, _ = split(xml)
    evil = forged(root, same_id=True)
    evil.append(root)
    return evil


def xsw4(xml: str) -> etree._Element:
    root, _ = split(xml)
    evil = forged(root)
    evil.append(root)
    return evil


def xsw5(xml: str) -> etree._Element:
    root, _ = split(xml)
    original = copy.deepcopy(root)
    root.set("ForceAuthn", "true")
    root.append(original)
    return root


def xsw6(xml: str) -> etree._Element:
    root, signature = split(xml)
    original = unsigned_copy(root)
    root.set("ForceAuthn", "true")
    signature.append(original)
    return root


def xsw7(xml: str) -> etree._Element:
    root, signature = split(xml)
    evil, plain = forged(root), unsigned_copy(root)
    after_issuer(evil, signature)
    extensions = etree.Element(f"{{{SAMLP}}}Extensions")
    extensions.append(plain)
    signature.addnext(extensions)
    return evil


def xsw8(xml: str) -> etree._Element:
    root, signature = split(xml)
    evil, plain = forged(root), unsigned_copy(root)
    etree.SubElement(signature, f"{{{DS}}}Object").append(plain)
    after_issuer(evil, signature)
    return evil


WRAPPINGS: dict[str, Callable[[str], etree._Element]] = {
    "XSW1": xsw1, "XSW2": xsw2, "XSW3": xsw3, "XSW4": xsw4,
    "XSW5": xsw5, "XSW6": xsw6, "XSW7": xsw7, "XSW8": xsw8,
}


@pytest.mark.parametrize("logout", [False, True], ids=["AuthnRequest", "LogoutRequest"])
@pytest.mark.parametrize("variant", list(WRAPPINGS))
def test_signature_wrapping_is_refused(signing: SigningSp, variant: str, logout: bool) -> None:
    genuine = posted_request(signing.settings, logout=logout)
    wrapped = etree.tostring(WRAPPINGS[variant](genuine)).decode()
    answer = post(signing.client, wrapped, logout=logout)
    assert answer.status_code == 400, (variant, answer.status_code)
    assert LOGON_FORM not in answer.text and "Location" not in answer.headers
    # the genuine request still goes through (the refusal was about the wrapping)
    assert post(signing.client, posted_request(signing.settings, logout=logout),
                logout=logout).status_code in (200, 302)


def test_signature_stripping_is_refused_on_both_bindings(signing: SigningSp,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    root, signature = split(posted_request(signing.settings))
    root.remove(signature)
    stripped = post(signing.client, etree.tostring(root).decode())
    assert stripped.status_code == 400 and "are signed" in refusal(stripped, caplog)
    path, query = path_and_query(signed_url(signing.settings)).split("?", 1)
    bare = "&".join(p for p in query.split("&") if not p.startswith(("Signature=", "SigAlg=")))
    answer = signing.client.get(f"{path}?{bare}", **HTTPS)
    assert answer.status_code == 400 and "are signed" in refusal(answer, caplog)


def test_a_certificate_injected_in_key_info_is_not_trusted(
        signing: SigningSp, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    generate_signing_pair(tmp_path / "evil.key", tmp_path / "evil.crt", SIGNING_SP, force=False)
    evil_key, evil_cert = (tmp_path / "evil.key").read_text(), (tmp_path / "evil.crt").read_text()
    for logout in (False, True):
        xml = posted_request(signing.settings, logout=logout, key=evil_key, cert=evil_cert)
        assert "<ds:X509Certificate>" in xml  # the attacker's certificate rides along
        answer = post(signing.client, xml, logout=logout)
        assert answer.status_code == 400 and "does not verify" in refusal(answer, caplog)
    # and with the key only, as an RSAKeyValue in KeyInfo
    root, signature = split(posted_request(signing.settings, key=evil_key, cert=evil_cert))
    info = signature.find(f"{{{DS}}}KeyInfo")
    for child in list(info):
        info.remove(child)
    etree.SubElement(etree.SubElement(info, f"{{{DS}}}KeyValue"), f"{{{DS}}}RSAKeyValue")
    answer = post(signing.client, etree.tostring(root).decode())
    assert answer.status_code == 400 and LOGON_FORM not in answer.text


@pytest.mark.parametrize(("signature", "digest"), [
    (C.RSA_SHA1, C.SHA1),
    (C.RSA_SHA256, C.SHA1),
    (C.RSA_SHA1, C.SHA256),
])
def test_posted_algorithm_downgrades_are_refused(signing: SigningSp, signature: str,
                                                 digest: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    xml = posted_request(signing.settings, sign_algorithm=signature, digest_algorithm=digest)
    answer = post(signing.client, xml)
    assert answer.status_code == 400 and "weaker than SHA-256" in refusal(answer, caplog)


def test_hmac_with_the_public_certificate_as_key_is_refused(
        signing: SigningSp, caplog: pytest.LogCaptureFixture) -> None:
    """The key-confusion downgrade: HMAC keyed with what everyone knows (the SP's
    certificate), which a verifier that trusts SignatureMethod would accept."""
    root, signature = split(posted_request(signing.settings))
    method = signature.find(f"{{{DS}}}SignedInfo/{{{DS}}}SignatureMethod")
    method.set("Algorithm", "http://www.w3.org/2000/09/xmldsig#hmac-sha1")
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    canonical = etree.tostring(signed_info, method="c14n", exclusive=True)
    value = hmac.new(signing.cert_pem.encode(), canonical, hashlib.sha1).digest()
    signature.find(f"{{{DS}}}SignatureValue").text = base64.b64encode(value).decode()
    answer = post(signing.client, etree.tostring(root).decode())
    assert answer.status_code == 400 and "HMAC-SHA1" in refusal(answer, caplog)


def test_redirect_algorithm_downgrades_are_refused(signing: SigningSp,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    sha1 = signing.client.get(path_and_query(signed_url(signing.settings,
                                                        sign_algorithm=C.RSA_SHA1)), **HTTPS)
    assert sha1.status_code == 400 and "RSA-SHA1" in refusal(sha1, caplog)
    url = path_and_query(signed_url(signing.settings))
    hmac_alg = quote("http://www.w3.org/2000/09/xmldsig#hmac-sha1", safe="")
    swapped = url.replace(quote(C.RSA_SHA256, safe=""), hmac_alg)
    assert swapped != url
    answer = signing.client.get(swapped, **HTTPS)
    assert answer.status_code == 400 and "HMAC-SHA1" in refusal(answer, caplog)
    stronger = url.replace(quote(C.RSA_SHA256, safe=""), quote(C.RSA_SHA512, safe=""))
    answer = signing.client.get(stronger, **HTTPS)  # a SHA-256 signature claimed as SHA-512
    assert answer.status_code == 400 and "does not verify" in refusal(answer, caplog)
    no_alg = "&".join(p for p in url.split("&") if not p.startswith("SigAlg="))
    answer = signing.client.get(no_alg, **HTTPS)
    assert answer.status_code == 400 and LOGON_FORM not in answer.text
