"""A bounded, seeded fuzz run against the Flask app: mutated SAMLRequests and SAMLResponses (both
bindings, deflated or not), RelayStates and ININ-REMAP-BASE-URL headers, at the SSO, SLO,
launch and metadata endpoints, with and without a logged-on session. No answer may be a 5xx
and none may hang (each request has 5 s, enforced with SIGALRM). The seed is fixed, so a
failure names the case that reproduces it."""

from __future__ import annotations

import base64
import random
import signal
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, SP_BASE, Sp, hidden, now_instant, redirect_query

SEED = 20261201
CASES = 5000
PER_REQUEST = 5  # seconds before a request counts as hung
HTTPS = {"base_url": "https://localhost:8043"}

FRAGMENTS = [
    "<!DOCTYPE x>", "&lol;", "&#0;", "&#x110000;", "<![CDATA[", "]]>", "<!--", "-->", "<?pi?>",
    "<saml:Issuer>", "</saml:Issuer>", "<samlp:Extensions>", "<ds:Signature/>",
    ' ID="_dup"', ' xmlns:samlp="urn:evil"', "\x00", "\ufffe", "\ud800", "é", "\u202e",
    "<" * 20, ">" * 20, '"', "'", "%", "&amp;", "\r\n", "\t", " " * 300,
    '<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient">x</saml:NameID>',
    '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" '
    'AllowCreate="false"/>',
    "<samlp:RequestedAuthnContext Comparison=\"better\"><saml:AuthnContextClassRef>x"
    "</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>",
]
TEXT = ["", "a", "é" * 50, "\x00", "\r\nSet-Cookie: x=1", "%00", "%2e%2e/", "../" * 20,
        "\u0085", "\x9b", "https://evil.example/", "javascript:alert(1)", "a" * 5000, "ø\u200b",
        "&RelayState=x", "=" * 10]
BASES = ["https://appserver.xyzcorp.com/PureConnect", "https://x/%2e%2e/y", "https://x/\x85",
         "//evil", "https://a:b@c/", "https://[::1]:8043/p", "https://x:99999", "http://x/?q",
         "https://xn--bcher-kva.example/p", "https://bücher.example/p", ""]


def authn_xml(rng: random.Random) -> str:
    return (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_f{rng.randrange(10**9)}" '
            f'Version="2.0" IssueInstant="{now_instant(rng.choice([0, -30, -600, 600]))}" '
            f'Destination="https://localhost:8043/ICNotifierIDP/login?loginType=saml" '
            f'AssertionConsumerServiceURL="{SP_BASE}/acs"><saml:Issuer>{SP_BASE}/metadata'
            "</saml:Issuer></samlp:AuthnRequest>")


def logout_xml(rng: random.Random, kind: str) -> str:
    name = "LogoutRequest" if kind == "request" else "LogoutResponse"
    inner = ("<saml:NameID>alice@example.com</saml:NameID><samlp:SessionIndex>_s"
             "</samlp:SessionIndex>" if kind == "request" else
             '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:'
             'Success"/></samlp:Status>')
    irt = ' InResponseTo="_r"' if kind == "response" else ""
    return (f'<samlp:{name} xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_l{rng.randrange(10**9)}" '
            f'Version="2.0" IssueInstant="{now_instant()}"{irt}>'
            f"<saml:Issuer>{SP_BASE}/metadata</saml:Issuer>{inner}</samlp:{name}>")


def mutate(rng: random.Random, text: str) -> bytes:
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    for _ in range(rng.randint(0, 4)):
        where = rng.randrange(len(data) + 1)
        roll = rng.random()
        if roll < 0.3:
            data[where:where] = rng.choice(FRAGMENTS).encode("utf-8", "surrogatepass")
        elif roll < 0.5 and data:
            data[where:where + rng.randint(1, 40)] = b""
        elif roll < 0.7 and data:
            data[min(where, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif roll < 0.8:
            data = data[:where]
        else:
            data[where:where] = data[:rng.randint(0, len(data))]
    return bytes(data)


def encode(rng: random.Random, xml: bytes) -> str:
    roll = rng.random()
    if roll < 0.45:
        raw = zlib.compress(xml)[2:-4]
    elif roll < 0.55:
        raw = zlib.compress(xml)  # zlib-wrapped, not raw DEFLATE
    else:
        raw = xml
    encoded = base64.b64encode(raw).decode()
    if rng.random() < 0.1:
        cut = rng.randrange(len(encoded) + 1)
        encoded = encoded[:cut] + rng.choice(["!", "=", " ", "\n", "%", "é"]) + encoded[cut:]
    return encoded


def case(rng: random.Random) -> tuple[str, str, dict[str, Any]]:
    """(method, path, keyword arguments of the test client) for one fuzzed request."""
    headers: dict[str, str] = {}
    if rng.random() < 0.3:  # a header value cannot carry a line break on the wire
        headers["ININ-REMAP-BASE-URL"] = (rng.choice(BASES) + rng.choice(["", *TEXT[:8]])
                                          ).replace("\r\n", " ")
    if rng.random() < 0.1:
        headers["Accept-Language"] = rng.choice(TEXT).replace("\r\n", " ")
    target = rng.random()
    if target < 0.55:
        path, xml = "/ICNotifierIDP/login", authn_xml(rng)
        parameter = "SAMLRequest"
    elif target < 0.9:
        kind = rng.choice(["request", "response"])
        path, xml = "/ICNotifierIDP/logout", logout_xml(rng, kind)
        parameter = "SAMLRequest" if kind == "request" else "SAMLResponse"
    elif target < 0.95:
        return "GET", "/ICNotifierIDP/launch", {"query_string": {"target": rng.choice(
            ["collaborate", "inbox", "admin", *TEXT])}, "headers": headers}
    else:
        return "GET", "/ICNotifierIDP/metadata", {"headers": headers}
    values = {parameter: encode(rng, mutate(rng, xml))}
    if rng.random() < 0.5:
        values["RelayState"] = rng.choice(TEXT) + str(rng.randrange(100))
    if rng.random() < 0.05:
        values["SigAlg"] = rng.choice(["http://www.w3.org/2000/09/xmldsig#rsa-sha1", "x", ""])
        values["Signature"] = rng.choice(["AAAA", "!!", ""])
    if rng.random() < 0.5:
        return "GET", path, {"query_string": {"loginType": "saml", **values},
                             "headers": headers}
    return "POST", path, {"data": values, "headers": headers}


@contextmanager
def deadline(seconds: int, what: str) -> Iterator[None]:
    def hung(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"no answer within {seconds} s: {what}")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def logged_on(client: FlaskClient, sp: Sp) -> FlaskClient:
    page = client.get("/ICNotifierIDP/login", query_string=redirect_query(sp.authn_request()[1]),
                      **HTTPS)
    client.post("/ICNotifierIDP/login?loginType=saml", data={
        "ctx": hidden(page.text, "ctx"), "csrf": hidden(page.text, "csrf"), "user_id": "alice",
        "password": PASSWORD}, **HTTPS)
    return client


def test_fuzzed_requests_never_get_a_5xx_or_hang(client: FlaskClient, sp: Sp,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(SEED)
    caplog.set_level("CRITICAL")  # thousands of refusals: keep the capture small
    fresh, session = client, logged_on(client.application.test_client(), sp)
    seen: dict[int, int] = {}
    started = time.perf_counter()
    for number in range(CASES):
        method, path, arguments = case(rng)
        browser = session if number % 3 == 0 else fresh
        with deadline(PER_REQUEST, f"case {number}: {method} {path}"):
            answer = browser.open(path, method=method, **{**HTTPS, **arguments})
        seen[answer.status_code] = seen.get(answer.status_code, 0) + 1
        assert answer.status_code < 500, (number, method, path, arguments, answer.text[:500])
        if number % 200 == 0:
            session = logged_on(client.application.test_client(), sp)  # a new session now and then
    elapsed = time.perf_counter() - started
    print(f"{CASES} fuzzed requests in {elapsed:.1f} s: {dict(sorted(seen.items()))}")
    assert sum(seen.values()) == CASES and len(seen) > 3  # refusals, pages and answers alike
