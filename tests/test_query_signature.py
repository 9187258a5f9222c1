"""Requests an SP signs, verified with the certificate in its metadata: on the query string for
the HTTP-Redirect binding, inside the XML (enveloped signature) for HTTP-POST."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from idp.keys import generate_signing_pair
from idp.saml.constants import DS, SAML
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


@pytest.fixture
def signing(tmp_path: Path, key_dir: Path) -> tuple[FlaskClient, dict[str, Any]]:
    sp: SigningSp = make_signing_sp(tmp_path, key_dir)
    return sp.client, sp.settings


def test_a_signed_authn_request_is_accepted(
        signing: tuple[FlaskClient, dict[str, Any]]) -> None:
    client, settings = signing
    page = client.get(path_and_query(signed_url(settings)), **HTTPS)
    assert page.status_code == 200 and 'name="password"' in page.text


def test_a_tampered_signed_authn_request_is_refused(
        signing: tuple[FlaskClient, dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    client, settings = signing
    url = path_and_query(signed_url(settings)).replace("RelayState=relay-1",
                                                       "RelayState=evil")
    page = client.get(url, **HTTPS)
    assert page.status_code == 400
    assert "does not verify" in refusal(page, caplog) and 'name="password"' not in page.text


def test_a_signed_logout_request_is_accepted_and_a_tampered_one_refused(
        signing: tuple[FlaskClient, dict[str, Any]]) -> None:
    client, settings = signing
    good = client.get(path_and_query(signed_url(settings, logout=True)), **HTTPS)
    assert good.status_code == 302
    bad = client.get(path_and_query(signed_url(settings, logout=True)).replace(
        "RelayState=bye", "RelayState=other"), **HTTPS)
    assert bad.status_code == 400 and "Location" not in bad.headers


@pytest.mark.parametrize("smuggled", ["SAML%52equest", "Relay%53tate", "RelayState"])
def test_a_second_copy_of_a_signed_parameter_is_refused(
        signing: tuple[FlaskClient, dict[str, Any]], smuggled: str,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Flask decodes parameter names; a copy spelled differently must not slip past the check."""
    client, settings = signing
    url = path_and_query(signed_url(settings))
    path, query = url.split("?", 1)
    page = client.get(f"{path}?{smuggled}=evil&{query}", **HTTPS)
    assert page.status_code == 400
    assert "more than once" in refusal(page, caplog) and 'name="password"' not in page.text


def test_an_sp_whose_metadata_says_it_signs_must_sign(
        signing: tuple[FlaskClient, dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    client, settings = signing
    path, query = path_and_query(signed_url(settings)).split("?", 1)
    unsigned = "&".join(p for p in query.split("&")
                        if not p.startswith(("Signature=", "SigAlg=")))
    page = client.get(f"{path}?{unsigned}", **HTTPS)
    assert page.status_code == 400
    assert "are signed" in refusal(page, caplog) and 'name="password"' not in page.text


# -- HTTP-POST: the signature is inside the XML --------------------------------------------------

def test_a_posted_signed_authn_request_is_accepted(
        signing: tuple[FlaskClient, dict[str, Any]]) -> None:
    client, settings = signing
    page = post(client, posted_request(settings))
    assert page.status_code == 200 and 'name="password"' in page.text


def test_a_posted_signed_logout_request_is_accepted(
        signing: tuple[FlaskClient, dict[str, Any]]) -> None:
    client, settings = signing
    page = post(client, posted_request(settings, logout=True), logout=True)
    assert page.status_code in (200, 302) and "SAMLResponse" in (
        page.text + page.headers.get("Location", ""))


@pytest.mark.parametrize("change", [
    ('AllowCreate="true"', 'AllowCreate="false"'),
    ("<saml:Issuer>", "<saml:Issuer> "),
    ('Version="2.0"', 'Version="2.0" Extra="1"'),
])
def test_a_posted_request_changed_after_signing_is_refused(
        signing: tuple[FlaskClient, dict[str, Any]], change: tuple[str, str], caplog:
        pytest.LogCaptureFixture) -> None:
    client, settings = signing
    xml = posted_request(settings)
    assert change[0] in xml
    page = post(client, xml.replace(change[0], change[1], 1))
    assert page.status_code == 400
    assert "does not verify" in refusal(page, caplog) and 'name="password"' not in page.text


def test_a_posted_request_signed_by_another_key_is_refused(
        signing: tuple[FlaskClient, dict[str, Any]], tmp_path: Path, caplog:
        pytest.LogCaptureFixture) -> None:
    client, settings = signing
    generate_signing_pair(tmp_path / "other.key", tmp_path / "other.crt", SIGNING_SP,
                          force=False)
    xml = posted_request(settings, key=(tmp_path / "other.key").read_text(),
                         cert=(tmp_path / "other.crt").read_text())
    for logout in (False, True):
        page = post(client, xml if not logout else posted_request(
            settings, logout=True, key=(tmp_path / "other.key").read_text(),
            cert=(tmp_path / "other.crt").read_text()), logout=logout)
        assert page.status_code == 400 and "does not verify" in refusal(page, caplog)
        assert "SAMLResponse" not in page.text and "Location" not in page.headers


def test_a_posted_request_signed_with_sha1_is_refused(
        signing: tuple[FlaskClient, dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    client, settings = signing
    xml = posted_request(settings, sign_algorithm=OneLogin_Saml2_Constants.RSA_SHA1,
                         digest_algorithm=OneLogin_Saml2_Constants.SHA1)
    page = post(client, xml)
    assert page.status_code == 400 and 'name="password"' not in page.text
    assert "weaker than SHA-256" in refusal(page, caplog)


def test_an_unsigned_posted_request_from_an_sp_that_signs_is_refused(
        signing: tuple[FlaskClient, dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    client, settings = signing
    xml = OneLogin_Saml2_Authn_Request(OneLogin_Saml2_Settings(settings)).get_xml()
    page = post(client, xml)
    assert page.status_code == 400
    assert "are signed" in refusal(page, caplog) and 'name="password"' not in page.text


def test_a_signature_over_a_wrapped_copy_is_refused(
        signing: tuple[FlaskClient, dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    """Signature wrapping: the genuine signed request is hidden inside a forged one whose own
    content (here ForceAuthn) differs; the signature must cover the element that is read."""
    client, settings = signing
    signed = etree.fromstring(posted_request(settings).encode())
    forged = copy.deepcopy(signed)
    forged.set("ForceAuthn", "true")
    forged.set("ID", "_forged")
    forged.append(signed)  # the signed original as an extension-like child
    moved = signed.find(f"{{{DS}}}Signature")
    signed.remove(moved)
    forged.find(f"{{{SAML}}}Issuer").addnext(moved)
    page = post(client, etree.tostring(forged).decode())
    assert page.status_code == 400 and 'name="password"' not in page.text
    # the forged root keeps a copy of the signature too: two signatures, one of them nested
    detail = refusal(page, caplog)
    assert "not its own" in detail or "does not cover the request itself" in detail
