"""RequestedAuthnContext (issue 12, item 4): a password over TLS satisfies what it satisfies, and
anything else is answered NoAuthnContext at the SP's ACS, before any password is asked."""

from __future__ import annotations

import base64

import pytest
from flask.testing import FlaskClient
from lxml import etree

from idp.errors import SamlStatusError
from idp.saml.authn_context import check
from idp.saml.constants import (
    AC_PASSWORD_PROTECTED,
    NS,
    STATUS_NO_AUTHN_CONTEXT,
    STATUS_RESPONDER,
)
from idp.saml.metadata import SSO_PATH
from idp.saml.request import RequestedAuthnContext, parse_authn_request
from tests.conftest import SP_BASE, Sp, hidden, now_instant, redirect_query
from tests.helpers import authn_request_xml

AC = "urn:oasis:names:tc:SAML:2.0:ac:classes:"
X509, PASSWORD, SMARTCARD = AC + "X509", AC + "Password", AC + "Smartcard"
UNKNOWN = "https://example.com/ac/retina-scan"


@pytest.mark.parametrize(("comparison", "classes"), [
    ("exact", (AC_PASSWORD_PROTECTED,)),
    ("exact", (X509, AC_PASSWORD_PROTECTED)),
    ("minimum", (PASSWORD,)),
    ("minimum", (AC_PASSWORD_PROTECTED,)),
    ("better", (PASSWORD,)),
    ("maximum", (X509,)),
    ("maximum", (AC_PASSWORD_PROTECTED,)),
])
def test_what_a_password_over_tls_satisfies(comparison: str, classes: tuple[str, ...]) -> None:
    check(RequestedAuthnContext(comparison, classes))


@pytest.mark.parametrize(("comparison", "classes", "declarations"), [
    ("exact", (X509,), ()),
    ("exact", (PASSWORD,), ()),
    ("exact", (UNKNOWN,), ()),
    ("minimum", (X509,), ()),
    ("minimum", (SMARTCARD, UNKNOWN), ()),
    ("better", (AC_PASSWORD_PROTECTED,), ()),
    ("better", (X509,), ()),
    ("maximum", (PASSWORD,), ()),
    ("maximum", (UNKNOWN,), ()),
    ("exact", (), ("urn:example:declaration",)),
])
def test_what_it_does_not(comparison: str, classes: tuple[str, ...],
                          declarations: tuple[str, ...]) -> None:
    with pytest.raises(SamlStatusError) as refused:
        check(RequestedAuthnContext(comparison, classes, declarations))
    assert refused.value.saml_status == STATUS_NO_AUTHN_CONTEXT


def test_the_request_carries_its_comparison_and_classes() -> None:
    xml = authn_request_xml(authn_context=(X509, PASSWORD), comparison="minimum")
    assert parse_authn_request(xml, 65536).authn_context == RequestedAuthnContext(
        "minimum", (X509, PASSWORD))
    default = authn_request_xml(authn_context=(X509,))
    assert parse_authn_request(default, 65536).authn_context == RequestedAuthnContext(
        "exact", (X509,))


def request_xml(classes: tuple[str, ...], comparison: str | None = None) -> str:
    return authn_request_xml(request_id="_ac1", issuer=f"{SP_BASE}/metadata",
                             acs_url=f"{SP_BASE}/acs", issue_instant=now_instant(),
                             destination=f"https://localhost:8043{SSO_PATH}",
                             authn_context=classes, comparison=comparison).decode()


def test_an_sp_asking_for_x509_gets_no_authn_context(client: FlaskClient, sp: Sp) -> None:
    page = client.get("/ICNotifierIDP/login", query_string=redirect_query(request_xml((X509,))),
                      base_url="https://localhost:8043")
    assert page.status_code == 200 and 'name="password"' not in page.text
    value = hidden(page.text, "SAMLResponse") or ""
    root = etree.fromstring(base64.b64decode(value))
    assert [c.get("Value") for c in root.iterfind(".//samlp:StatusCode", NS)] == [
        STATUS_RESPONDER, STATUS_NO_AUTHN_CONTEXT]
    assert root.find("saml:Assertion", NS) is None
    auth = sp.check(value, "_ac1")  # signed, to the registered ACS, in response to the request
    assert "was Responder" in (auth.get_last_error_reason() or "")


def test_an_sp_asking_for_password_protected_transport_gets_the_logon_page(
        client: FlaskClient) -> None:
    page = client.get("/ICNotifierIDP/login", query_string=redirect_query(
        request_xml((AC_PASSWORD_PROTECTED,))), base_url="https://localhost:8043")
    assert 'name="password"' in page.text
