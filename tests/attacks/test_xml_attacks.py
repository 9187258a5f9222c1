"""XML attacks on the SSO and SLO endpoints: XXE in its variants, entity and DEFLATE bombs,
deep nesting, comment injection and inputs parsers read differently. Each is refused (or, for
comments, read in full); each bomb is refused in under 100 ms, timed with time.perf_counter in
this process around the decode-and-parse call the web layer makes."""

from __future__ import annotations

import base64
import http.server
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from idp.errors import SamlRequestError
from idp.saml.constants import BINDING_POST, BINDING_REDIRECT
from idp.saml.request import decode_message, parse_authn_request, parse_logout_request
from tests.conftest import SP_BASE, now_instant, redirect_query, refusal
from tests.helpers import deflate_raw

HTTPS = {"base_url": "https://localhost:8043"}
LOGIN = "/ICNotifierIDP/login"
LOGOUT = "/ICNotifierIDP/logout"
MAX = 65536
BOMB_SECONDS = 0.100
ISSUER = f"{SP_BASE}/metadata"


def request(issuer: str = ISSUER, extra_root: str = "", body: str = "") -> str:
    return ('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x1" Version="2.0" '
            f'IssueInstant="{now_instant()}" AssertionConsumerServiceURL="{SP_BASE}/acs"'
            f"{extra_root}><saml:Issuer>{issuer}</saml:Issuer>{body}</samlp:AuthnRequest>")


LAUGHS = ('<!DOCTYPE samlp:AuthnRequest [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
                    for n in range(1, 10)) + "]>")
QUADRATIC = '<!DOCTYPE r [<!ENTITY a "' + "a" * 50_000 + '">]>'


def posted(client: FlaskClient, xml: bytes, path: str = LOGIN) -> object:
    return client.post(path, data={"SAMLRequest": base64.b64encode(xml).decode()}, **HTTPS)


def refused_in_time(parse: Callable[[], object]) -> float:
    started = time.perf_counter()
    with pytest.raises(SamlRequestError):
        parse()
    elapsed = time.perf_counter() - started
    assert elapsed < BOMB_SECONDS, f"refused after {elapsed * 1000:.1f} ms"
    return elapsed


BOMBS = {
    "billion laughs": (LAUGHS + request(issuer=ISSUER + "&lol9;")).encode(),
    "billion laughs, UTF-16": (LAUGHS + request(issuer="&lol9;")).encode("utf-16"),
    "billion laughs, lower-case doctype": (LAUGHS.replace("DOCTYPE", "doctype")
                                           + request(issuer="&lol9;")).encode(),
    "quadratic blowup": (QUADRATIC + request(issuer="&a;" * 1000)).encode(),
    "deep nesting": request(body="<a>" * 50_000 + "</a>" * 50_000).encode()[:MAX - 1],
    "attribute flood": request(extra_root="".join(f' a{n}="{n}"' for n in range(6000))).encode(),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_entity_and_structure_bombs_are_refused_quickly(client: FlaskClient, name: str) -> None:
    xml = BOMBS[name]
    encoded = base64.b64encode(xml).decode()
    if len(xml) <= MAX:
        refused_in_time(lambda: parse_authn_request(decode_message(encoded, BINDING_POST, MAX),
                                                    MAX))
    answer = posted(client, xml)
    assert answer.status_code in (400, 403, 413), answer.status_code  # type: ignore[attr-defined]
    assert "lollol" not in answer.text  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [10 * 1024 * 1024, 100 * 1024 * 1024])
def test_deflate_bombs_are_refused_quickly_without_inflating(
        client: FlaskClient, size: int, caplog: pytest.LogCaptureFixture) -> None:
    bomb = deflate_raw(request(body="<x>" + " " * size + "</x>").encode())
    encoded = base64.b64encode(bomb).decode()
    refused_in_time(lambda: decode_message(encoded, BINDING_REDIRECT, MAX))
    if len(encoded) < 100_000:  # what a URL can carry
        answer = client.get(LOGIN, query_string={"SAMLRequest": encoded}, **HTTPS)
        assert answer.status_code == 400 and "larger than" in refusal(answer, caplog)


@pytest.fixture
def attacker_site() -> Iterator[tuple[str, list[str]]]:
    """A server of the attacker's on loopback that records every fetch (an external DTD)."""
    fetched: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            fetched.append(self.path)
            body = b'<!ENTITY % file SYSTEM "file:///etc/passwd"><!ENTITY % eval "x">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fetched
    finally:
        server.shutdown()
        server.server_close()


def xxe_variants(site: str) -> dict[str, str]:
    return {
        "external entity": '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                           + request(issuer="&x;"),
        "parameter entity, external DTD": f'<!DOCTYPE r [<!ENTITY % sp SYSTEM "{site}/a.dtd">'
                                          "%sp;]>" + request(),
        "external DTD subset": f'<!DOCTYPE r SYSTEM "{site}/b.dtd">' + request(),
        "entity in an attribute (Keycloak REQUEST_FLAWED)":
            '<!DOCTYPE r [<!ENTITY heh SYSTEM "file:///etc/passwd">]>'
            + request().replace('ID="_x1"', 'ID="&heh;"'),
        "public identifier": f'<!DOCTYPE r PUBLIC "-//A//B" "{site}/c.dtd">' + request(),
        "UTF-16, external entity": '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                   + request(issuer="&x;"),
    }


@pytest.mark.parametrize("name", ["external entity", "parameter entity, external DTD",
                                  "external DTD subset",
                                  "entity in an attribute (Keycloak REQUEST_FLAWED)",
                                  "public identifier", "UTF-16, external entity"])
@pytest.mark.parametrize("path", [LOGIN, LOGOUT])
def test_xxe_is_refused_and_nothing_is_fetched(client: FlaskClient,
                                               attacker_site: tuple[str, list[str]],
                                               name: str, path: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    site, fetched = attacker_site
    text = xxe_variants(site)[name]
    xml = text.encode("utf-16") if name.startswith("UTF-16") else text.encode()
    answer = posted(client, xml, path)
    assert answer.status_code == 400  # type: ignore[attr-defined]
    detail = refusal(answer, caplog)
    assert "DTD" in detail or "not well-formed" in detail
    assert "root:" not in answer.text  # type: ignore[attr-defined]
    assert fetched == []
    with pytest.raises(SamlRequestError):
        (parse_logout_request if path == LOGOUT else parse_authn_request)(xml, MAX)


def test_xinclude_is_not_processed(client: FlaskClient) -> None:
    xml = request(body='<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                       'href="file:///etc/passwd" parse="text"/>')
    page = client.get(LOGIN, query_string=redirect_query(xml), **HTTPS)
    assert "root:" not in page.text  # parsed as a foreign element, never included


def test_a_utf7_disguise_is_refused(client: FlaskClient) -> None:
    disguised = ('<?xml version="1.0" encoding="UTF-7"?>+ADw-+ACE-DOCTYPE r +AFs-+ADw-+ACE-'
                 "ENTITY x SYSTEM +ACI-file:///etc/passwd+ACI-+AD4-+AF0-+AD4-" + request())
    answer = posted(client, disguised.encode())
    assert answer.status_code == 400  # type: ignore[attr-defined]


# -- comment injection -------------------------------------------------------------------------

def test_a_comment_cannot_cut_the_issuer_short(client: FlaskClient,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """A parser that returns only the first text node would read the Issuer as the registered
    SP's; ours reads all of it (comments removed, text joined) and finds no such SP."""
    page = client.get(LOGIN, query_string=redirect_query(
        request(issuer=f"{ISSUER}<!---->.evil.example")), **HTTPS)
    assert page.status_code == 403 and f"{ISSUER}.evil.example" in refusal(page, caplog)


def test_a_comment_inside_the_issuer_of_a_registered_sp_is_only_a_comment(
        client: FlaskClient) -> None:
    half = len(ISSUER) // 2
    page = client.get(LOGIN, query_string=redirect_query(
        request(issuer=f"{ISSUER[:half]}<!-- x -->{ISSUER[half:]}")), **HTTPS)
    assert page.status_code == 200 and 'name="password"' in page.text


# -- parser differentials ----------------------------------------------------------------------

DIFFERENTIALS = {
    "duplicate attribute": request(extra_root=' ID="_x2"'),
    "two Issuers": request(body=f"<saml:Issuer>{ISSUER}</saml:Issuer>"),
    "Issuer in the protocol namespace": request().replace("saml:Issuer", "samlp:Issuer"),
    "Issuer not first": request().replace(
        f"<saml:Issuer>{ISSUER}</saml:Issuer>",
        f"<samlp:Extensions/><saml:Issuer>{ISSUER}</saml:Issuer>"),
    "two NameIDPolicies": request(body='<samlp:NameIDPolicy/><samlp:NameIDPolicy/>'),
    "rebound protocol prefix": request().replace(
        'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"', 'xmlns:samlp="urn:evil"'),
    "NUL byte": request(issuer=ISSUER + "\x00"),
    "undeclared prefix": request().replace(' xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"',
                                           ""),
    "two roots": request() + request(),
    "processing instruction before the root, then a DOCTYPE": "<?x y?><!DOCTYPE r>" + request(),
    "Version 1.1": request().replace('Version="2.0"', 'Version="1.1"'),
    "ID that is not an NCName": request().replace('ID="_x1"', 'ID="1 2"'),
}


@pytest.mark.parametrize("name", list(DIFFERENTIALS))
def test_inputs_parsers_read_differently_are_refused(client: FlaskClient, name: str) -> None:
    xml = DIFFERENTIALS[name].encode()
    answer = posted(client, xml)
    assert answer.status_code == 400, answer.text  # type: ignore[attr-defined]
    assert 'name="password"' not in answer.text  # type: ignore[attr-defined]


def test_a_protocol_parameter_twice_in_a_form_is_refused(client: FlaskClient,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    one = base64.b64encode(request().encode()).decode()
    answer = client.post(LOGIN, data=MultiDict([("SAMLRequest", one), ("SAMLRequest", one)]),
                         **HTTPS)
    assert answer.status_code == 400 and "more than once" in refusal(answer, caplog)


def test_the_query_wins_over_the_body_and_is_what_gets_checked(client: FlaskClient) -> None:
    """A SAMLRequest in the query and another in the body: the query's is the one read (the
    Redirect binding's, whose signature covers the query), never a mix."""
    good = redirect_query(request())
    answer = client.post(LOGIN, query_string=good, data={"SAMLRequest": base64.b64encode(
        request(issuer="urn:other").encode()).decode()}, **HTTPS)
    assert answer.status_code == 200 and 'name="password"' in answer.text
