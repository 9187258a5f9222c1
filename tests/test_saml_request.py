"""Decoding and parsing AuthnRequests, and refusing hostile or malformed ones (idp.saml.request)."""

from __future__ import annotations

import base64
import zlib
from typing import Any

import pytest
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from idp.errors import SamlRequestError
from idp.saml.constants import BINDING_POST, BINDING_REDIRECT, NAMEID_EMAIL, NAMEID_UNSPECIFIED
from idp.saml.request import (
    MAX_RELAY_STATE,
    AuthnRequest,
    check_relay_state,
    decode_message,
    parse_authn_request,
)
from tests.helpers import (
    IDP_SSO,
    SP_ACS,
    SP_ENTITY,
    authn_request_xml,
    deflate_raw,
    post_encode,
    redirect_encode,
)

MAX = 65536

ENCODERS = {BINDING_REDIRECT: redirect_encode, BINDING_POST: post_encode}


def roundtrip(xml: bytes, binding: str) -> AuthnRequest:
    return parse_authn_request(decode_message(ENCODERS[binding](xml), binding, MAX), MAX)


def onelogin_settings() -> OneLogin_Saml2_Settings:
    return OneLogin_Saml2_Settings({
        "strict": True,
        "sp": {
            "entityId": SP_ENTITY,
            "assertionConsumerService": {"url": SP_ACS, "binding": BINDING_POST},
            "NameIDFormat": NAMEID_EMAIL,
        },
        "idp": {
            "entityId": "https://sts.example.com",
            "singleSignOnService": {"url": IDP_SSO, "binding": BINDING_REDIRECT},
            "x509cert": "",
        },
    })


# -- accepted requests ---------------------------------------------------------------------------


@pytest.mark.parametrize("binding", [BINDING_REDIRECT, BINDING_POST])
def test_request_fields_are_parsed(binding: str) -> None:
    request = roundtrip(authn_request_xml(), binding)
    assert request == AuthnRequest(
        id="_req-0001",
        issuer=SP_ENTITY,
        issue_instant="2025-03-04T10:20:30Z",
        destination=IDP_SSO,
        acs_url=SP_ACS,
        acs_index=None,
        protocol_binding=BINDING_POST,
        force_authn=False,
        is_passive=False,
        nameid_format=NAMEID_EMAIL,
        allow_create=True,
    )


def test_optional_fields_absent() -> None:
    xml = authn_request_xml(destination=None, acs_url=None, protocol_binding=None,
                            nameid_format=None, acs_index=3)
    request = roundtrip(xml, BINDING_REDIRECT)
    assert request.destination is None
    assert request.acs_url is None
    assert request.protocol_binding is None
    assert request.nameid_format is None
    assert request.acs_index == 3


@pytest.mark.parametrize("value, expected", [("true", True), ("1", True), ("false", False)])
def test_force_authn_and_is_passive(value: str, expected: bool) -> None:
    request = roundtrip(authn_request_xml(force_authn=value, is_passive=value), BINDING_POST)
    assert request.force_authn is expected
    assert request.is_passive is expected


def test_issuer_whitespace_is_trimmed() -> None:
    request = roundtrip(authn_request_xml(issuer=f"\n   {SP_ENTITY}\n"), BINDING_POST)
    assert request.issuer == SP_ENTITY


def test_base64_with_line_breaks_is_accepted() -> None:
    encoded = post_encode(authn_request_xml())
    wrapped = "\r\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
    xml = decode_message(wrapped, BINDING_POST, MAX)
    assert parse_authn_request(xml, MAX).id == "_req-0001"


@pytest.mark.parametrize("deflate", [True, False])
def test_request_from_python3_saml(deflate: bool) -> None:
    """An AuthnRequest built and encoded by an independent SP implementation."""
    request = OneLogin_Saml2_Authn_Request(onelogin_settings())
    binding = BINDING_REDIRECT if deflate else BINDING_POST
    parsed = parse_authn_request(decode_message(request.get_request(deflate), binding, MAX), MAX)
    assert parsed.id == request.get_id()
    assert parsed.issuer == SP_ENTITY
    assert parsed.destination == IDP_SSO
    assert parsed.acs_url == SP_ACS
    assert parsed.protocol_binding == BINDING_POST
    assert parsed.nameid_format == NAMEID_EMAIL
    assert parsed.issue_instant.endswith("Z")


# -- encoding refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("binding", [BINDING_REDIRECT, BINDING_POST])
@pytest.mark.parametrize("encoded", ["not base64!", "QUJD$", "QUJDRA"])  # bad chars; bad padding
def test_bad_base64(binding: str, encoded: str) -> None:
    with pytest.raises(SamlRequestError, match="not valid base64"):
        decode_message(encoded, binding, MAX)


def test_plain_base64_xml_is_accepted_on_the_redirect_binding() -> None:
    """Issue 12, item 18: Genesys Cloud with Endpoint Compression off may send the SAMLRequest
    base64 without DEFLATE."""
    xml = authn_request_xml()
    assert decode_message(post_encode(xml), BINDING_REDIRECT, MAX) == xml
    with_bom = b"\xef\xbb\xbf\n  " + xml
    assert decode_message(post_encode(with_bom), BINDING_REDIRECT, MAX) == with_bom


def test_plain_xml_on_the_redirect_binding_has_the_same_size_limit() -> None:
    big = authn_request_xml().replace(b"</samlp:AuthnRequest>",
                                      b"<x>" + b"a" * MAX + b"</x></samlp:AuthnRequest>")
    with pytest.raises(SamlRequestError, match=f"larger than {MAX} bytes"):
        parse_authn_request(decode_message(post_encode(big), BINDING_REDIRECT, MAX * 2), MAX)


def test_neither_deflate_nor_xml_is_refused_on_the_redirect_binding() -> None:
    encoded = base64.b64encode(b"\x00\x01 not xml, not deflate").decode()
    with pytest.raises(SamlRequestError, match="neither DEFLATE-compressed"):
        decode_message(encoded, BINDING_REDIRECT, MAX)


def test_zlib_wrapped_payload_is_not_raw_deflate() -> None:
    encoded = base64.b64encode(zlib.compress(authn_request_xml())).decode()
    with pytest.raises(SamlRequestError):
        parse_authn_request(decode_message(encoded, BINDING_REDIRECT, MAX), MAX)


def test_inflate_bomb_is_refused_without_inflating_it(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = deflate_raw(b" " * (10 * 1024 * 1024))
    encoded = base64.b64encode(bomb).decode()
    assert len(encoded) < MAX  # small on the wire: only the inflated size gives it away

    produced: list[int] = []
    real = zlib.decompressobj

    class Counting:
        def __init__(self, *args: Any) -> None:
            self._inner = real(*args)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            out = self._inner.decompress(data, max_length)
            produced.append(len(out))
            return out

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

    monkeypatch.setattr(zlib, "decompressobj", Counting)
    with pytest.raises(SamlRequestError, match=f"larger than {MAX} bytes"):
        decode_message(encoded, BINDING_REDIRECT, MAX)
    assert produced, "the decoder did not inflate through zlib.decompressobj"
    assert sum(produced) <= MAX + 1


def test_oversized_encoded_message_is_refused_before_decoding() -> None:
    with pytest.raises(SamlRequestError, match="larger than"):
        decode_message("A" * (2 * 1024 + 4), BINDING_POST, 1024)


def test_oversized_post_message_is_refused_by_the_parser() -> None:
    xml = authn_request_xml(issuer="https://sp.example.test/" + "x" * 2000)
    with pytest.raises(SamlRequestError, match="larger than 1024 bytes"):
        parse_authn_request(decode_message(post_encode(xml), BINDING_POST, 1024), 1024)


# -- XML refusals --------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
 xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x" Version="2.0"
 IssueInstant="2025-03-04T10:20:30Z"><saml:Issuer>&lol4;</saml:Issuer></samlp:AuthnRequest>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE samlp:AuthnRequest [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
 xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x" Version="2.0"
 IssueInstant="2025-03-04T10:20:30Z"><saml:Issuer>&xxe;</saml:Issuer></samlp:AuthnRequest>"""


@pytest.mark.parametrize("binding", [BINDING_REDIRECT, BINDING_POST])
@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY],
                         ids=["billion-laughs", "external-entity"])
def test_dtd_payloads_are_refused(binding: str, payload: bytes) -> None:
    with pytest.raises(SamlRequestError, match="DTD") as info:
        roundtrip(payload, binding)
    assert "root:" not in str(info.value)  # nothing from /etc/passwd leaks into the message


def test_plain_doctype_is_refused() -> None:
    xml = authn_request_xml().replace(b"?>", b'?><!DOCTYPE samlp:AuthnRequest SYSTEM "x.dtd">', 1)
    with pytest.raises(SamlRequestError, match="DTD"):
        parse_authn_request(xml, MAX)


@pytest.mark.parametrize("xml", [
    b"<samlp:AuthnRequest",
    b"not xml at all",
    b"",
    b"<a><b></a>",
    b'<samlp:AuthnRequest ID="_x" Version="2.0"/>',  # unbound prefix
])
def test_not_well_formed(xml: bytes) -> None:
    with pytest.raises(SamlRequestError, match="not well-formed"):
        parse_authn_request(xml, MAX)


def test_wrong_root_element() -> None:
    response = (b'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" '
                b'Version="2.0" IssueInstant="2025-03-04T10:20:30Z"/>')
    with pytest.raises(SamlRequestError, match="not an AuthnRequest"):
        roundtrip(response, BINDING_REDIRECT)


def test_authn_request_in_the_wrong_namespace() -> None:
    xml = authn_request_xml().replace(b"SAML:2.0:protocol", b"SAML:1.0:protocol")
    with pytest.raises(SamlRequestError, match="not an AuthnRequest"):
        parse_authn_request(xml, MAX)


@pytest.mark.parametrize("version", ["1.1", "2", ""])
def test_wrong_version(version: str) -> None:
    with pytest.raises(SamlRequestError, match="version 2.0"):
        roundtrip(authn_request_xml(version=version), BINDING_POST)


@pytest.mark.parametrize("request_id", [None, "", "1starts-with-digit", "has space",
                                        "_trailing-newline\n", "_" + "x" * 300])
def test_missing_or_invalid_id(request_id: str | None) -> None:
    with pytest.raises(SamlRequestError, match="no valid ID"):
        roundtrip(authn_request_xml(request_id=request_id), BINDING_POST)


@pytest.mark.parametrize("issuer", [None, "", "   "])
def test_missing_issuer(issuer: str | None) -> None:
    with pytest.raises(SamlRequestError, match="no Issuer"):
        roundtrip(authn_request_xml(issuer=issuer), BINDING_REDIRECT)


@pytest.mark.parametrize("index", ["one", "-1", "0x1", " 1", "1.0", "\u00b2", "9" * 5000,
                                   "70000"])
def test_non_numeric_acs_index(index: str) -> None:
    with pytest.raises(SamlRequestError, match="AssertionConsumerServiceIndex"):
        roundtrip(authn_request_xml(acs_index=index), BINDING_POST)


def test_nameid_policy_format_is_reported() -> None:
    request = roundtrip(authn_request_xml(nameid_format=NAMEID_UNSPECIFIED), BINDING_POST)
    assert request.nameid_format == NAMEID_UNSPECIFIED


# -- RelayState ----------------------------------------------------------------------------------


def test_relay_state_within_limit_is_kept() -> None:
    assert check_relay_state(None) is None
    assert check_relay_state("x" * MAX_RELAY_STATE) == "x" * MAX_RELAY_STATE


def test_relay_state_too_long() -> None:
    with pytest.raises(SamlRequestError, match="RelayState"):
        check_relay_state("x" * (MAX_RELAY_STATE + 1))


def test_relay_state_limit_counts_bytes_not_characters() -> None:
    with pytest.raises(SamlRequestError, match="RelayState"):
        check_relay_state("\u00e9" * (MAX_RELAY_STATE // 2 + 1))
