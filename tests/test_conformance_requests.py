"""What a request from an SP must be to be accepted (issue 12, items 1, 5, 8, 15, 17 and 18):
the signature algorithms of both bindings, Destination, IssueInstant and replays, a hostile
empty signature, RelayState from the signed part, Genesys Cloud's signed requests and its
uncompressed Redirect binding. Signed requests come from python3-saml where it can write them,
from tests.signing_sp.sign_redirect where it would refuse to."""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C

from idp.auth.local import LocalDirectory
from idp.config import load_config
from idp.keys import generate_signing_pair
from idp.saml.metadata import LOGOUT_PATH, SSO_PATH
from idp.web import create_app
from tests.conftest import (
    CHEAP_HASHER,
    GENESYS_LOGIN,
    GENESYS_RPI,
    SP_BASE,
    Sp,
    now_instant,
    redirect_query,
    refusal,
    seed_users,
    write_config,
)
from tests.helpers import authn_request_xml, post_encode
from tests.signing_sp import (
    HTTPS,
    SIGNING_SP,
    SigningSp,
    make_signing_sp,
    path_and_query,
    post,
    posted_request,
    sign_redirect,
    signed_url,
)

SSO = f"https://localhost:8043{SSO_PATH}"
LOGIN = "/ICNotifierIDP/login"
LOGON_FORM = 'name="password"'


@pytest.fixture
def signing(tmp_path: Path, key_dir: Path) -> SigningSp:
    return make_signing_sp(tmp_path, key_dir)


def sp_request(issue_instant: str | None = None, destination: object = SSO,
               request_id: str = "_r1", **changes: Any) -> bytes:
    """An AuthnRequest of the signing SP (issuer, ACS), fresh unless told otherwise."""
    return authn_request_xml(request_id=request_id, issuer=f"{SIGNING_SP}/metadata",
                             acs_url=f"{SIGNING_SP}/acs", destination=destination,
                             issue_instant=issue_instant or now_instant(), **changes)


# -- item 1: every RSA-SHA2 algorithm on the Redirect binding, as on POST -----------------------

@pytest.mark.parametrize("algorithm", [C.RSA_SHA256, C.RSA_SHA384, C.RSA_SHA512])
def test_redirect_signatures_with_any_sha2_are_accepted(signing: SigningSp,
                                                        algorithm: str) -> None:
    page = signing.client.get(path_and_query(signed_url(signing.settings,
                                                        sign_algorithm=algorithm)), **HTTPS)
    assert page.status_code == 200 and LOGON_FORM in page.text
    logout = signing.client.get(path_and_query(signed_url(
        signing.settings, logout=True, sign_algorithm=algorithm)), **HTTPS)
    assert logout.status_code == 302 and "SAMLResponse=" in logout.headers["Location"]


@pytest.mark.parametrize("algorithm", [C.RSA_SHA256, C.RSA_SHA384, C.RSA_SHA512])
def test_post_signatures_with_any_sha2_are_accepted(signing: SigningSp, algorithm: str) -> None:
    digest = {C.RSA_SHA256: C.SHA256, C.RSA_SHA384: C.SHA384, C.RSA_SHA512: C.SHA512}[algorithm]
    page = post(signing.client, posted_request(signing.settings, sign_algorithm=algorithm,
                                               digest_algorithm=digest))
    assert page.status_code == 200 and LOGON_FORM in page.text


def test_a_redirect_signature_with_sha1_is_refused_by_name(
        signing: SigningSp, caplog: pytest.LogCaptureFixture) -> None:
    page = signing.client.get(path_and_query(signed_url(signing.settings,
                                                        sign_algorithm=C.RSA_SHA1)), **HTTPS)
    assert page.status_code == 400 and LOGON_FORM not in page.text
    assert "signed with RSA-SHA1, weaker than SHA-256" in refusal(page, caplog)


# -- item 5: Destination, IssueInstant, replays ------------------------------------------------

@pytest.mark.parametrize("destination", [
    "https://elsewhere.example/ICNotifierIDP/login?loginType=saml",
    "https://localhost:8043/ICNotifierIDP/logout",
    "http://localhost:8043/ICNotifierIDP/login",
])
def test_a_request_sent_elsewhere_is_refused(signing: SigningSp, destination: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    plain = authn_request_xml(issuer=f"{SP_BASE}/metadata", acs_url=f"{SP_BASE}/acs",
                              destination=destination, issue_instant=now_instant())
    unsigned = signing.client.get(LOGIN, query_string=redirect_query(plain.decode()), **HTTPS)
    assert unsigned.status_code == 400 and "Destination" in refusal(unsigned, caplog)
    signed = signing.client.get(f"{SSO_PATH}&" + sign_redirect(
        sp_request(destination=destination), signing.key_pem), **HTTPS)
    assert signed.status_code == 400 and "Destination" in refusal(signed, caplog)


def test_our_address_in_any_spelling_is_our_destination(signing: SigningSp) -> None:
    for destination in ("https://LOCALHOST:8043/ICNotifierIDP/login",
                        "https://localhost:8043/ICNotifierIDP/login?loginType=saml&x=1"):
        page = signing.client.get(f"{SSO_PATH}&" + sign_redirect(
            sp_request(destination=destination, request_id=f"_d{len(destination)}"),
            signing.key_pem), **HTTPS)
        assert page.status_code == 200 and LOGON_FORM in page.text


def test_a_signed_request_must_name_its_destination(signing: SigningSp,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    page = signing.client.get(f"{SSO_PATH}&" + sign_redirect(sp_request(destination=None),
                                                            signing.key_pem), **HTTPS)
    assert page.status_code == 400 and "no Destination" in refusal(page, caplog)


@pytest.mark.parametrize("instant", ["2001-01-01T00:00:00Z", now_instant(-900),
                                     now_instant(+900), "yesterday", None])
def test_a_stale_future_or_missing_issue_instant_is_refused(
        signing: SigningSp, instant: str | None, caplog: pytest.LogCaptureFixture) -> None:
    xml = sp_request(issue_instant=instant or "x").replace(b' IssueInstant="x"', b"")
    page = signing.client.get(f"{SSO_PATH}&" + sign_redirect(xml, signing.key_pem), **HTTPS)
    assert page.status_code == 400 and LOGON_FORM not in page.text
    detail = refusal(page, caplog)
    assert "IssueInstant" in detail or "issued" in detail


@pytest.mark.parametrize("offset", [-400, +150])
def test_clock_skew_of_a_few_minutes_is_allowed(signing: SigningSp, offset: int) -> None:
    """saml2int SDP-G01: 3 to 5 minutes of skew in either direction."""
    page = signing.client.get(f"{SSO_PATH}&" + sign_redirect(
        sp_request(issue_instant=now_instant(offset)), signing.key_pem), **HTTPS)
    assert page.status_code == 200 and LOGON_FORM in page.text


def test_a_signed_request_is_accepted_once(signing: SigningSp,
                                           caplog: pytest.LogCaptureFixture) -> None:
    url = path_and_query(signed_url(signing.settings))
    assert LOGON_FORM in signing.client.get(url, **HTTPS).text
    for _ in range(2):
        again = signing.client.get(url, **HTTPS)
        assert again.status_code == 400 and "replay" in refusal(again, caplog)
    posted = posted_request(signing.settings)
    assert LOGON_FORM in post(signing.client, posted).text
    assert "replay" in refusal(post(signing.client, posted), caplog)


def test_an_unsigned_request_may_come_again(client: FlaskClient, sp: Sp) -> None:
    """Anyone can send a new unsigned request with a new ID: remembering them protects
    nothing, and a flood of them would fill the memory the signed ones need."""
    _, xml = sp.authn_request()
    for _ in range(3):
        page = client.get(LOGIN, query_string=redirect_query(xml), **HTTPS)
        assert page.status_code == 200 and LOGON_FORM in page.text


# -- item 8: an empty SignatureValue is a refusal, not a 500 -----------------------------------

@pytest.mark.parametrize("logout", [False, True])
def test_an_empty_signature_value_is_refused_cleanly(signing: SigningSp, logout: bool,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    xml = posted_request(signing.settings, logout=logout)
    emptied = re.sub(r"<ds:SignatureValue>[^<]*</ds:SignatureValue>", "<ds:SignatureValue/>",
                     xml)
    assert emptied != xml
    with caplog.at_level(logging.DEBUG):
        page = post(signing.client, emptied, logout=logout)
    assert page.status_code == 400 and "does not verify" in refusal(page, caplog)
    assert "Traceback" not in caplog.text and "TypeError" not in page.text


# -- item 15: RelayState of a query-signed request comes from the query ------------------------

def test_relay_state_of_a_query_signed_logout_is_never_taken_from_the_body(
        signing: SigningSp) -> None:
    from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
    from onelogin.saml2.settings import OneLogin_Saml2_Settings

    xml = OneLogin_Saml2_Logout_Request(OneLogin_Saml2_Settings(signing.settings),
                                        name_id="alice@example.com").get_xml()
    query = sign_redirect(xml.encode(), signing.key_pem)  # signed, without a RelayState
    answer = signing.client.post(f"{LOGOUT_PATH}?{query}",
                                 data={"RelayState": "https://evil.example/"}, **HTTPS)
    assert answer.status_code == 302
    assert "RelayState" not in parse_qs(urlsplit(answer.headers["Location"]).query)


# -- item 17: Genesys Cloud's signed AuthnRequests ---------------------------------------------

def genesys_request(request_id: str = "_g1") -> bytes:
    return authn_request_xml(request_id=request_id, issuer=GENESYS_RPI,
                             acs_url=f"{GENESYS_LOGIN}/saml", destination=SSO,
                             issue_instant=now_instant())


@pytest.fixture
def signing_genesys(tmp_path: Path, key_dir: Path) -> tuple[FlaskClient, str]:
    generate_signing_pair(tmp_path / "genesys.key", tmp_path / "genesys.crt", GENESYS_RPI,
                          force=False)
    path = write_config(tmp_path, key_dir)
    path.write_text(path.read_text().replace(
        f'login_base_url = "{GENESYS_LOGIN}"\n',
        f'login_base_url = "{GENESYS_LOGIN}"\nsp_certificate = "genesys.crt"\n'))
    config = load_config(path)
    seed_users(config.directory.database)
    app = create_app(config, backend=LocalDirectory(config.directory.database,
                                                    hasher=CHEAP_HASHER))
    return app.test_client(), (tmp_path / "genesys.key").read_text()


def test_genesys_with_its_certificate_configured_must_sign(
        signing_genesys: tuple[FlaskClient, str], caplog: pytest.LogCaptureFixture) -> None:
    client, key = signing_genesys
    unsigned = client.get(LOGIN, query_string=redirect_query(genesys_request().decode()),
                          **HTTPS)
    assert unsigned.status_code == 400 and "are signed" in refusal(unsigned, caplog)
    signed = client.get(f"{SSO_PATH}&" + sign_redirect(genesys_request("_g2"), key), **HTTPS)
    assert signed.status_code == 200 and LOGON_FORM in signed.text
    assert "Genesys Cloud" in signed.text


def test_genesys_certificate_from_its_sp_metadata(tmp_path: Path, key_dir: Path,
                                                  signing: SigningSp) -> None:
    """genesys.sp_metadata: the certificates of the SP metadata Genesys Cloud publishes."""
    from idp.web import genesys_certificates

    path = write_config(tmp_path, key_dir)
    path.write_text(path.read_text().replace(
        f'login_base_url = "{GENESYS_LOGIN}"\n',
        f'login_base_url = "{GENESYS_LOGIN}"\nsp_metadata = "signing-sp.xml"\n'))
    config = load_config(path)
    from idp.keys import certificate_body

    assert genesys_certificates(config) == (certificate_body(signing.cert_pem.encode()),)


# -- item 18: Genesys Cloud with Endpoint Compression off --------------------------------------

def test_an_uncompressed_redirect_request_is_served(client: FlaskClient) -> None:
    encoded = post_encode(genesys_request())  # base64 of the XML, no DEFLATE
    page = client.get(LOGIN, query_string={"SAMLRequest": encoded}, **HTTPS)
    assert page.status_code == 200 and LOGON_FORM in page.text


def test_an_uncompressed_redirect_logout_request_is_answered(client: FlaskClient) -> None:
    xml = (f'<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lo1" Version="2.0" '
           f'IssueInstant="{now_instant()}"><saml:Issuer>{GENESYS_RPI}</saml:Issuer>'
           "<saml:NameID>alice@example.com</saml:NameID></samlp:LogoutRequest>")
    answer = client.get(LOGOUT_PATH, query_string={
        "SAMLRequest": base64.b64encode(xml.encode()).decode()}, **HTTPS)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(f"{GENESYS_LOGIN}/saml/logout?SAMLResponse=")
