"""The SSO endpoint through Flask's test client, judged by an independent SP (python3-saml)."""

from __future__ import annotations

import base64
import logging
import re

import pytest
from flask.testing import FlaskClient
from lxml import etree
from werkzeug.test import TestResponse

from idp.saml.constants import NS
from idp.saml.metadata import SSO_PATH
from tests.conftest import (
    GENESYS_LOGIN,
    GENESYS_RPI,
    PASSWORD,
    SP_BASE,
    Sp,
    form_action,
    hidden,
    now_instant,
    option_values,
    post_form,
    redirect_query,
    refusal,
    selected_option,
)

LOGIN = "/ICNotifierIDP/login"
HTTPS = {"base_url": "https://localhost:8043"}


def start(client: FlaskClient, sp: Sp, binding: str, relay_state: str | None = "rs-1",
          acs_url: str | None = None, **headers: str) -> tuple[str, TestResponse]:
    request_id, xml = sp.authn_request(acs_url)
    if binding == "redirect":
        response = client.get(LOGIN, query_string=redirect_query(xml, relay_state),
                              headers=headers, **HTTPS)
    else:
        response = client.post(f"{LOGIN}?loginType=saml", data=post_form(xml, relay_state),
                               headers=headers, **HTTPS)
    return request_id, response


def log_on(client: FlaskClient, page: str, user_id: str = "alice", password: str = PASSWORD,
           **extra: str) -> TestResponse:
    form = {"ctx": hidden(page, "ctx") or "", "csrf": hidden(page, "csrf") or "",
            "user_id": user_id, "password": password, **extra}
    return client.post(f"{LOGIN}?loginType=saml", data=form, **HTTPS)


def saml_response(html: str) -> bytes:
    value = hidden(html, "SAMLResponse")
    assert value, "no SAMLResponse in the page"
    return base64.b64decode(value)


@pytest.mark.parametrize("binding", ["redirect", "post"])
def test_full_logon_is_accepted_by_an_independent_sp(client: FlaskClient, sp: Sp,
                                                     binding: str) -> None:
    request_id, page = start(client, sp, binding)
    assert page.status_code == 200
    assert 'name="password"' in page.text
    answer = log_on(client, page.text)
    assert answer.status_code == 200
    assert form_action(answer.text, "saml") == f"{SP_BASE}/acs"
    assert hidden(answer.text, "RelayState") == "rs-1"
    auth = sp.check(hidden(answer.text, "SAMLResponse") or "", request_id)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.get_nameid() == "alice@example.com"
    assert auth.get_attributes()["email"] == ["alice@example.com"]


def test_second_request_in_the_session_skips_the_password(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect")
    log_on(client, page.text)
    for binding in ("redirect", "post"):
        request_id, again = start(client, sp, binding, relay_state="second")
        assert 'name="password"' not in again.text
        auth = sp.check(hidden(again.text, "SAMLResponse") or "", request_id)
        assert auth.get_errors() == [], auth.get_last_error_reason()
        assert hidden(again.text, "RelayState") == "second"


def test_force_authn_asks_again(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect")
    log_on(client, page.text)
    request_id, xml = sp.authn_request()
    xml = re.sub(r"<samlp:AuthnRequest\s", '<samlp:AuthnRequest ForceAuthn="true" ', xml, count=1)
    assert 'ForceAuthn="true"' in xml
    again = client.get(LOGIN, query_string=redirect_query(xml), **HTTPS)
    assert 'name="password"' in again.text


def test_wrong_password_and_unknown_user_get_the_same_answer(client: FlaskClient,
                                                            sp: Sp) -> None:
    _, page = start(client, sp, "redirect")
    wrong = log_on(client, page.text, password="nope")
    _, page = start(client, sp, "redirect")
    unknown = log_on(client, page.text, user_id="mallory", password="nope")
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "The user ID or password is incorrect." in answer.text
        assert "SAMLResponse" not in answer.text
    assert wrong.text.replace("alice", "X") .count("incorrect") == unknown.text.count("incorrect")


def test_user_without_business_email_is_told_why(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect")
    answer = log_on(client, page.text, user_id="nomail")
    assert answer.status_code == 403
    assert "business e-mail" in answer.text
    assert "SAMLResponse" not in answer.text


def test_response_for_genesys_carries_organization_and_audience(client: FlaskClient,
                                                                sp: Sp) -> None:
    xml = (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_g1" Version="2.0" '
        f'IssueInstant="{now_instant()}" AssertionConsumerServiceURL="{GENESYS_LOGIN}/saml">'
        f"<saml:Issuer>{GENESYS_RPI}</saml:Issuer></samlp:AuthnRequest>")
    page = client.get(LOGIN, query_string=redirect_query(xml, "genesys-state"), **HTTPS)
    answer = log_on(client, page.text)
    assert form_action(answer.text, "saml") == f"{GENESYS_LOGIN}/saml"
    root = etree.fromstring(saml_response(answer.text))
    assert root.get("InResponseTo") == "_g1"
    assert root.findtext(".//saml:Audience", namespaces=NS) == GENESYS_RPI
    values = {a.get("Name"): a.findtext("saml:AttributeValue", namespaces=NS)
              for a in root.iterfind(".//saml:Attribute", NS)}
    assert values == {"email": "alice@example.com", "OrganizationName": "acme"}


def test_missing_csrf_token_is_refused(client: FlaskClient, sp: Sp,
                                       caplog: pytest.LogCaptureFixture) -> None:
    _, page = start(client, sp, "redirect")
    form = {"ctx": hidden(page.text, "ctx"), "user_id": "alice", "password": PASSWORD}
    answer = client.post(LOGIN, data=form, **HTTPS)
    assert answer.status_code == 400
    assert "CSRF" in refusal(answer, caplog)
    assert "SAMLResponse" not in answer.text


def test_tampered_pending_request_is_refused(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect")
    answer = log_on(client, page.text.replace('name="ctx" value="', 'name="ctx" value="x'))
    assert answer.status_code == 400
    assert "SAMLResponse" not in answer.text


@pytest.mark.parametrize("acs", [f"{SP_BASE}/evil", "https://attacker.example/acs"])
def test_unregistered_acs_is_refused_before_logon(client: FlaskClient, sp: Sp, acs: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    _, page = start(client, sp, "redirect", acs_url=acs)
    assert page.status_code == 403
    assert "not registered" in refusal(page, caplog)
    assert 'name="password"' not in page.text


def test_unknown_sp_is_refused(client: FlaskClient, sp: Sp,
                               caplog: pytest.LogCaptureFixture) -> None:
    request_id, xml = sp.authn_request()
    xml = xml.replace(f"{SP_BASE}/metadata</saml:Issuer>", "urn:who-knows</saml:Issuer>")
    page = client.get(LOGIN, query_string=redirect_query(xml), **HTTPS)
    assert page.status_code == 403
    detail = refusal(page, caplog)
    assert "urn:who-knows" in detail and "not registered" in detail


def test_known_sp_unknown_acs_refused_even_with_a_session(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect")
    log_on(client, page.text)
    _, again = start(client, sp, "post", acs_url="https://attacker.example/acs")
    assert again.status_code == 403
    assert "SAMLResponse" not in again.text


@pytest.mark.parametrize("payload", [
    b"not xml at all",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    b"<samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'/>",
])
def test_malformed_requests_get_a_clear_400(client: FlaskClient, payload: bytes) -> None:
    form = {"SAMLRequest": base64.b64encode(payload).decode()}
    answer = client.post(LOGIN, data=form, **HTTPS)
    assert answer.status_code == 400
    assert "Reference" in answer.text


def test_oversized_request_is_refused(client: FlaskClient,
                                      caplog: pytest.LogCaptureFixture) -> None:
    form = {"SAMLRequest": base64.b64encode(b"<a>" + b" " * 300_000 + b"</a>").decode()}
    answer = client.post(LOGIN, data=form, **HTTPS)
    assert answer.status_code in (400, 413)
    detail = refusal(answer, caplog)
    assert "larger" in detail or "too large" in detail


def test_no_saml_request_at_all(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    answer = client.get(f"{LOGIN}?loginType=saml", **HTTPS)
    assert answer.status_code == 400
    assert "no SAML request" in refusal(answer, caplog)


def test_remap_header_from_a_trusted_proxy_moves_every_url(client: FlaskClient, sp: Sp) -> None:
    base = "https://appserver.xyzcorp.com/PureConnect"
    _, page = start(client, sp, "redirect", **{"ININ-REMAP-BASE-URL": base})
    assert form_action(page.text, "logon") == base + SSO_PATH
    assert f'href="{base}/ICNotifierIDP/static/sts.css"' in page.text
    metadata = client.get("/ICNotifierIDP/metadata", headers={"ININ-REMAP-BASE-URL": base},
                          **HTTPS)
    root = etree.fromstring(metadata.data)
    assert root.get("entityID") == "https://localhost"  # the issuer never moves
    locations = {e.get("Location") for e in root.iterfind(".//md:SingleSignOnService", NS)}
    assert locations == {base + SSO_PATH}


def test_remap_header_does_not_change_what_is_signed(client: FlaskClient, sp: Sp) -> None:
    base = "https://appserver.xyzcorp.com/PureConnect"
    request_id, page = start(client, sp, "redirect", **{"ININ-REMAP-BASE-URL": base})
    answer = log_on(client, page.text)
    root = etree.fromstring(saml_response(answer.text))
    assert root.findtext("saml:Issuer", namespaces=NS) == "https://localhost"
    assert root.get("Destination") == f"{SP_BASE}/acs"


def test_remap_header_from_an_untrusted_address_is_refused(
        client: FlaskClient, sp: Sp, caplog: pytest.LogCaptureFixture) -> None:
    request_id, xml = sp.authn_request()
    with caplog.at_level(logging.WARNING):
        page = client.get(LOGIN, query_string=redirect_query(xml),
                          headers={"ININ-REMAP-BASE-URL": "https://evil.example"},
                          environ_base={"REMOTE_ADDR": "192.0.2.10"}, **HTTPS)
    assert page.status_code == 400
    assert "trusted proxy" in refusal(page, caplog)
    assert "evil.example" not in page.text.replace("trusted proxy", "")
    assert any("untrusted address 192.0.2.10" in r.getMessage() for r in caplog.records)


def test_bad_remap_header_from_a_trusted_proxy_is_refused(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect",
                    **{"ININ-REMAP-BASE-URL": "https://x.example/p?next=https://evil"})
    assert page.status_code == 400
    assert 'name="password"' not in page.text


def test_security_headers_on_the_logon_page(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    cookie = next(v for k, v in page.headers.items()
                  if k == "Set-Cookie" and v.startswith("cicsts_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=None" in cookie


def test_every_answer_carries_each_security_header_once(client: FlaskClient, sp: Sp) -> None:
    from idp.web import SECURITY_HEADERS

    _, logon = start(client, sp, "redirect")
    answers = [client.get("/healthz", **HTTPS), client.get("/ICNotifierIDP/metadata", **HTTPS),
               client.get("/ICNotifierIDP/login?loginType=saml", **HTTPS), logon,
               log_on(client, logon.text)]
    for answer in answers:
        for name, _ in SECURITY_HEADERS:
            assert len(answer.headers.getlist(name)) == 1, (answer.request.path, name)
    # A page with a script keeps its own policy (its nonce), not the default one.
    assert "script-src 'nonce-" in answers[-1].headers["Content-Security-Policy"]


def test_assertion_page_is_not_cached(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect")
    answer = log_on(client, page.text)
    assert answer.headers["Cache-Control"] == "no-store"
    assert f"form-action {SP_BASE}" in answer.headers["Content-Security-Policy"]


def test_no_password_or_assertion_in_the_logs(client: FlaskClient, sp: Sp,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        _, page = start(client, sp, "redirect")
        log_on(client, page.text, password="wrong-secret-pw")
        _, page = start(client, sp, "redirect")
        answer = log_on(client, page.text)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "wrong-secret-pw" not in text and PASSWORD not in text
    assert (hidden(answer.text, "SAMLResponse") or "")[:40] not in text
    assert "issued assertion for 'alice'" in text


def test_language_defaults_from_accept_language(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect", **{"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert "Kennwort" in page.text
    assert selected_option(page.text, "lang") == "de"


def test_language_picker_offers_only_shipped_languages(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect", **{"Accept-Language": "fi,th;q=0.9"})
    assert "Password" in page.text  # Finnish and Thai fall back to English
    offered = set(option_values(page.text, "lang"))
    assert offered == {"en", "de", "fr", "es"}


def test_changing_language_rerenders_without_logging_on(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect")
    answer = log_on(client, page.text, password="", intent="language", lang="fr")
    assert answer.status_code == 200
    assert "Mot de passe" in answer.text
    assert "SAMLResponse" not in answer.text


def test_metadata_and_health(client: FlaskClient) -> None:
    metadata = client.get("/ICNotifierIDP/metadata", **HTTPS)
    assert metadata.status_code == 200
    root = etree.fromstring(metadata.data)
    assert root.find(".//ds:X509Certificate", NS) is not None
    assert client.get("/healthz", **HTTPS).json == {"status": "ok"}
    ready = client.get("/readyz", **HTTPS)
    assert ready.status_code == 200 and (ready.json or {})["status"] == "ready"


@pytest.mark.parametrize("relay_state", [None, "", 'rs "quoted" <&> \u00e9'])
@pytest.mark.parametrize("lang", ["en", "de"])
def test_post_page_is_the_template_rendered_with_the_values(
        client: FlaskClient, relay_state: str | None, lang: str) -> None:
    # The page is filled in from a shell rendered once per language; it must be exactly what
    # rendering the template with the values gives, escaping included.
    from flask import g, render_template

    from idp.web import i18n
    from idp.web.pages import post_page

    acs, value = "https://sp.example.test/acs?a=1&b=\"2\"", "PHNhbWxw+/=="
    with client.application.test_request_context(f"/?lang={lang}"):
        g.nonce = "n0nce"
        g.remap = client.application.extensions["cic_sts"].remap.resolve(None, None)
        page = post_page(acs, value, relay_state).get_data(as_text=True)
        expected = render_template("post.html", t=i18n.Translator(lang), acs=acs,
                                   saml_response=value, relay_state=relay_state, nonce="n0nce",
                                   base=g.remap.base_url)
    assert page == expected
