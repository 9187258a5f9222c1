"""Single Logout with more than one SP in the session (issue 12, items 6, 7 and 15): the logout
reaches every SP that received an assertion, with the NameID and session index it got; the
initiating SP hears Success only when every one confirmed, PartialLogout otherwise; the
Asynchronous extension gets no answer; a LogoutRequest that does not name this session ends
nothing. Both SPs are python3-saml in strict mode, which checks every message the STS sends
them (signatures included) and writes their answers."""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from idp.auth.local import LocalDirectory
from idp.config import load_config
from idp.demo.sp import DemoIdp, sp_metadata
from idp.saml.constants import (
    NS,
    STATUS_PARTIAL_LOGOUT,
    STATUS_REQUESTER,
    STATUS_SUCCESS,
    STATUS_UNKNOWN_PRINCIPAL,
)
from idp.saml.metadata import LOGOUT_PATH, SSO_PATH
from idp.web import create_app
from tests.conftest import (
    CHEAP_HASHER,
    PASSWORD,
    SP_BASE,
    Sp,
    hidden,
    query_of,
    redirect_query,
    refusal,
    seed_users,
    write_config,
)

HTTPS = {"base_url": "https://localhost:8043"}
SP2 = "https://sp2.example.test"
LOGIN = "/ICNotifierIDP/login"


@dataclass
class Session:
    """A browser (the test client) logged on to both SPs."""

    client: FlaskClient
    sps: dict[str, Sp]
    logins: dict[str, OneLogin_Saml2_Auth]  # what each SP learnt from its Response


def settings_of(sp: Sp) -> dict[str, Any]:
    return sp.settings


def sp_auth(sp: Sp, script: str, query: dict[str, str]) -> OneLogin_Saml2_Auth:
    return OneLogin_Saml2_Auth({"https": "on", "http_host": urlsplit(sp.base).hostname,
                                "server_port": 443, "script_name": script, "get_data": query,
                                "post_data": {}}, sp.settings)


@pytest.fixture
def session(tmp_path: Path, key_dir: Path) -> Session:
    path = write_config(tmp_path, key_dir)
    config = load_config(path)
    idp = DemoIdp(config.entity_id, config.public_base_url + SSO_PATH,
                  config.idp.signing_certificate.read_text())
    (tmp_path / "sp2.xml").write_bytes(sp_metadata(SP2, idp))
    path.write_text(path.read_text() + '\n[[service_providers]]\nmetadata = "sp2.xml"\n')
    config = load_config(path)
    seed_users(config.directory.database)
    client = create_app(config, backend=LocalDirectory(config.directory.database,
                                                       hasher=CHEAP_HASHER)).test_client()
    sps = {SP_BASE: Sp(SP_BASE, idp), SP2: Sp(SP2, idp)}
    logins = {}
    for base, sp in sps.items():
        request_id, xml = sp.authn_request()
        page = client.get(LOGIN, query_string=redirect_query(xml), **HTTPS)
        if 'name="password"' in page.text:
            page = client.post(f"{LOGIN}?loginType=saml", data={
                "ctx": hidden(page.text, "ctx"), "csrf": hidden(page.text, "csrf"),
                "user_id": "alice", "password": PASSWORD}, **HTTPS)
        logins[base] = sp.check(hidden(page.text, "SAMLResponse") or "", request_id)
        assert logins[base].get_errors() == []
    return Session(client, sps, logins)


def logout_request(session: Session, base: str, name_id: str | None = None,
                   session_index: str | None = None, extensions: str = "") -> tuple[str, str]:
    """(ID, the Redirect-binding SAMLRequest) of a LogoutRequest from `base`'s SP."""
    login = session.logins[base]
    request = OneLogin_Saml2_Logout_Request(
        OneLogin_Saml2_Settings(session.sps[base].settings),
        name_id=name_id or login.get_nameid(), name_id_format=login.get_nameid_format(),
        session_index=session_index or login.get_session_index())
    xml = request.get_xml()
    if extensions:
        xml = xml.replace("</saml:Issuer>", f"</saml:Issuer><samlp:Extensions>{extensions}"
                          "</samlp:Extensions>", 1)
    return request.id, base64.b64encode(zlib.compress(xml.encode())[2:-4]).decode()


def received_logout_request(location: str) -> etree._Element:
    query = query_of(location)
    return etree.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"]), -15))


def sp_answers(session: Session, base: str, location: str) -> str:
    """`base`'s SP processes the LogoutRequest at `location` (python3-saml checks its
    signature, Destination and NameID) and answers: the path and query of its
    LogoutResponse to the STS."""
    assert location.startswith(f"{base}/sls?")
    auth = sp_auth(session.sps[base], "/sls", query_of(location))
    url = auth.process_slo(keep_local_session=True)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    parts = urlsplit(url)
    assert parts.path == LOGOUT_PATH
    return f"{parts.path}?{parts.query}"


def logout_response_status(location: str) -> list[str]:
    xml = zlib.decompress(base64.b64decode(query_of(location)["SAMLResponse"]), -15)
    return [c.get("Value") or "" for c in etree.fromstring(xml).iterfind(".//samlp:StatusCode",
                                                                        NS)]


def still_logged_on(session: Session) -> bool:
    _, xml = session.sps[SP_BASE].authn_request()
    page = session.client.get(LOGIN, query_string=redirect_query(xml), **HTTPS)
    return 'name="password"' not in page.text


def test_each_sp_got_its_own_session_index(session: Session) -> None:
    indexes = {b: auth.get_session_index() for b, auth in session.logins.items()}
    assert len(set(indexes.values())) == 2 and all(indexes.values())


def test_a_logout_from_one_sp_reaches_the_other_then_answers_success(session: Session) -> None:
    request_id, encoded = logout_request(session, SP_BASE)
    hop = session.client.get(LOGOUT_PATH, query_string={"SAMLRequest": encoded,
                                                        "RelayState": "bye"}, **HTTPS)
    assert hop.status_code == 302
    sent = received_logout_request(hop.headers["Location"])
    assert sent.findtext("saml:NameID", namespaces=NS) == session.logins[SP2].get_nameid()
    assert sent.findtext("samlp:SessionIndex", namespaces=NS) == \
        session.logins[SP2].get_session_index()
    back = session.client.get(sp_answers(session, SP2, hop.headers["Location"]), **HTTPS)
    assert back.status_code == 302 and back.headers["Location"].startswith(f"{SP_BASE}/sls?")
    assert logout_response_status(back.headers["Location"]) == [STATUS_SUCCESS]
    assert query_of(back.headers["Location"])["RelayState"] == "bye"
    final = sp_auth(session.sps[SP_BASE], "/sls", query_of(back.headers["Location"]))
    final.process_slo(request_id=request_id, keep_local_session=True)
    assert final.get_errors() == [], final.get_last_error_reason()
    assert not still_logged_on(session)


def test_an_sp_that_does_not_confirm_makes_it_a_partial_logout(session: Session) -> None:
    request_id, encoded = logout_request(session, SP_BASE)
    hop = session.client.get(LOGOUT_PATH, query_string={"SAMLRequest": encoded}, **HTTPS)
    assert hop.headers["Location"].startswith(f"{SP2}/sls?")
    # SP2's page never sends the browser back; the user returns to the STS and carries on.
    waiting = session.client.get(LOGOUT_PATH, **HTTPS)
    assert "Demo service provider did not answer" in waiting.text
    results = session.client.post(LOGOUT_PATH, data={"csrf": hidden(waiting.text, "csrf"),
                                                     "intent": "skip"}, **HTTPS)
    assert results.status_code == 200
    assert "did not confirm" in results.text and "Not every application confirmed" in \
        results.text
    link = results.text.split('id="continue" href="', 1)[1].split('"', 1)[0].replace("&amp;",
                                                                                        "&")
    assert logout_response_status(link) == [STATUS_SUCCESS, STATUS_PARTIAL_LOGOUT]
    final = sp_auth(session.sps[SP_BASE], "/sls", query_of(link))
    final.process_slo(request_id=request_id, keep_local_session=True)
    assert final.get_errors() == [], final.get_last_error_reason()  # signed, in response
    assert not still_logged_on(session)


def sp2_logout_response(in_response_to: str, issue_instant: str,
                        status: str = "urn:oasis:names:tc:SAML:2.0:status:Responder") -> str:
    xml = (f'<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_sp2no" Version="2.0" '
           f'IssueInstant="{issue_instant}" Destination="https://localhost:8043{LOGOUT_PATH}" '
           f'InResponseTo="{in_response_to}"><saml:Issuer>{SP2}/metadata</saml:Issuer>'
           f'<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>'
           "</samlp:LogoutResponse>")
    return base64.b64encode(zlib.compress(xml.encode())[2:-4]).decode()


def test_an_sp_answering_with_an_error_counts_as_not_confirmed(session: Session) -> None:
    _, encoded = logout_request(session, SP_BASE)
    hop = session.client.get(LOGOUT_PATH, query_string={"SAMLRequest": encoded}, **HTTPS)
    sent = received_logout_request(hop.headers["Location"])
    results = session.client.get(LOGOUT_PATH, query_string={"SAMLResponse": sp2_logout_response(
        sent.get("ID") or "", sent.get("IssueInstant") or "")}, **HTTPS)
    assert results.status_code == 200 and "did not confirm" in results.text


def test_a_logout_response_that_answers_nothing_sent_is_refused(
        session: Session, caplog: pytest.LogCaptureFixture) -> None:
    _, encoded = logout_request(session, SP_BASE)
    hop = session.client.get(LOGOUT_PATH, query_string={"SAMLRequest": encoded}, **HTTPS)
    sent = received_logout_request(hop.headers["Location"])
    forged = session.client.get(LOGOUT_PATH, query_string={"SAMLResponse": sp2_logout_response(
        "_not-what-was-sent", sent.get("IssueInstant") or "", STATUS_SUCCESS)}, **HTTPS)
    assert forged.status_code == 400 and "does not answer" in refusal(forged, caplog)
    fresh = session.client.get(LOGOUT_PATH, **HTTPS)
    assert "did not answer" in fresh.text  # still waiting for the real answer


def test_a_logout_response_out_of_the_blue_is_refused(client: FlaskClient,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from tests.conftest import now_instant

    answer = client.get(LOGOUT_PATH, query_string={"SAMLResponse": sp2_logout_response(
        "_x", now_instant(), STATUS_SUCCESS)}, **HTTPS)
    assert answer.status_code == 400 and "not logging off" in refusal(answer, caplog)


def test_the_log_off_page_logs_off_every_sp(session: Session) -> None:
    page = session.client.get(LOGOUT_PATH, **HTTPS)
    hop = session.client.post(LOGOUT_PATH, data={"csrf": hidden(page.text, "csrf")}, **HTTPS)
    seen = []
    while hop.status_code == 302:
        location = hop.headers["Location"]
        base = SP_BASE if location.startswith(SP_BASE) else SP2
        seen.append(base)
        hop = session.client.get(sp_answers(session, base, location), **HTTPS)
    assert seen == [SP_BASE, SP2]
    assert hop.status_code == 200 and hop.text.count("logged off") >= 2
    assert "did not confirm" not in hop.text
    assert not still_logged_on(session)


def test_an_asynchronous_logout_gets_no_answer(session: Session) -> None:
    _, encoded = logout_request(session, SP_BASE, extensions=(
        '<aslo:Asynchronous xmlns:aslo="urn:oasis:names:tc:SAML:2.0:protocol:ext:async-slo"/>'))
    hop = session.client.get(LOGOUT_PATH, query_string={"SAMLRequest": encoded}, **HTTPS)
    assert hop.headers["Location"].startswith(f"{SP2}/sls?")  # still propagated
    done = session.client.get(sp_answers(session, SP2, hop.headers["Location"]), **HTTPS)
    assert done.status_code == 200 and "Location" not in done.headers
    assert SP_BASE not in done.text and "SAMLResponse" not in done.text
    assert not still_logged_on(session)


@pytest.mark.parametrize("change", ["name_id", "session_index"])
def test_a_logout_request_that_does_not_name_this_session_ends_nothing(
        session: Session, change: str) -> None:
    """Logout CSRF: a page can make the browser send an unsigned LogoutRequest; it ends the
    session only if it names the NameID (and session index) this SP received in it."""
    _, encoded = logout_request(session, SP_BASE, **{change: "_someone-else"})
    answer = session.client.get(LOGOUT_PATH, query_string={"SAMLRequest": encoded}, **HTTPS)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(f"{SP_BASE}/sls")
    assert logout_response_status(answer.headers["Location"]) == [STATUS_REQUESTER,
                                                                  STATUS_UNKNOWN_PRINCIPAL]
    assert still_logged_on(session)


def test_a_logout_request_after_it_expired_is_refused(session: Session,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    _, encoded = logout_request(session, SP_BASE)
    xml, changed = re.subn(rb"<samlp:LogoutRequest\s", b'<samlp:LogoutRequest NotOnOrAfter='
                           b'"2020-01-01T00:00:00Z" ', zlib.decompress(base64.b64decode(encoded),
                                                                     -15), count=1)
    assert changed == 1
    query = urlencode({"SAMLRequest": base64.b64encode(zlib.compress(xml)[2:-4]).decode()})
    answer = session.client.get(f"{LOGOUT_PATH}?{query}", **HTTPS)
    assert answer.status_code == 400 and "expired" in refusal(answer, caplog)
    assert still_logged_on(session)
