"""Decoding and parsing AuthnRequests from the HTTP-Redirect and HTTP-POST bindings."""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from dataclasses import dataclass

from lxml import etree

from idp.errors import SamlRequestError
from idp.saml.constants import BINDING_POST, BINDING_REDIRECT, NS, SAML, SAMLP
from idp.saml.xml import parse_untrusted

#: SAML says RelayState "MUST NOT exceed 80 bytes"; real SPs send more, so be generous but bounded.
MAX_RELAY_STATE = 2048
_ID = re.compile(r"[A-Za-z_][\w.\-]{0,255}")
_INDEX = re.compile(r"[0-9]{1,5}")  # an xs:unsignedShort


@dataclass(frozen=True)
class AuthnRequest:
    id: str
    issuer: str
    issue_instant: str
    destination: str | None
    acs_url: str | None
    acs_index: int | None
    protocol_binding: str | None
    force_authn: bool
    is_passive: bool
    nameid_format: str | None


def decode_message(encoded: str, binding: str, max_bytes: int) -> bytes:
    """The XML bytes of a SAMLRequest parameter (base64, and raw DEFLATE for Redirect)."""
    # base64 of max_bytes, plus line breaks some SPs insert, is the most a legitimate one needs
    if len(encoded) > max_bytes * 2:
        raise SamlRequestError(f"the SAML message is larger than {max_bytes} bytes")
    try:
        raw = base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SamlRequestError("SAMLRequest is not valid base64") from None
    if binding == BINDING_POST:
        return raw
    assert binding == BINDING_REDIRECT
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        xml = inflater.decompress(raw, max_bytes + 1)
    except zlib.error:
        raise SamlRequestError("SAMLRequest is not DEFLATE-compressed as the Redirect binding "
                               "requires") from None
    if len(xml) > max_bytes or inflater.unconsumed_tail:
        raise SamlRequestError(f"the SAML message is larger than {max_bytes} bytes")
    return xml


def check_relay_state(relay_state: str | None) -> str | None:
    if relay_state is not None and len(relay_state.encode()) > MAX_RELAY_STATE:
        raise SamlRequestError(f"RelayState is longer than {MAX_RELAY_STATE} bytes")
    return relay_state


def _parse_message(xml: bytes, max_bytes: int, kind: str) -> tuple[etree._Element, str, str]:
    """The root, ID and Issuer of a SAML protocol request of element `kind`, checked."""
    root = parse_untrusted(xml, max_bytes, "SAML request")
    if root.tag != f"{{{SAMLP}}}{kind}":
        article = "an" if kind[0] in "AEIOU" else "a"
        raise SamlRequestError(f"the SAML message is not {article} {kind}")
    if root.get("Version") != "2.0":
        raise SamlRequestError(f"the {kind} is not SAML version 2.0")
    request_id = root.get("ID") or ""
    if not _ID.fullmatch(request_id):
        raise SamlRequestError(f"the {kind} has no valid ID")
    issuer_el = root.find(f"{{{SAML}}}Issuer")
    issuer = (issuer_el.text or "").strip() if issuer_el is not None else ""
    if not issuer:
        raise SamlRequestError(f"the {kind} does not say which service provider sent it "
                               "(no Issuer)")
    return root, request_id, issuer


def parse_authn_request(xml: bytes, max_bytes: int) -> AuthnRequest:
    root, request_id, issuer = _parse_message(xml, max_bytes, "AuthnRequest")
    index = root.get("AssertionConsumerServiceIndex")
    if index is not None and not (_INDEX.fullmatch(index) and int(index) <= 0xFFFF):
        raise SamlRequestError("AssertionConsumerServiceIndex is not a number")
    policy = root.find("samlp:NameIDPolicy", NS)
    return AuthnRequest(
        id=request_id,
        issuer=issuer,
        issue_instant=root.get("IssueInstant", ""),
        destination=root.get("Destination"),
        acs_url=root.get("AssertionConsumerServiceURL"),
        acs_index=int(index) if index is not None else None,
        protocol_binding=root.get("ProtocolBinding"),
        force_authn=_bool(root.get("ForceAuthn")),
        is_passive=_bool(root.get("IsPassive")),
        nameid_format=policy.get("Format") if policy is not None else None,
    )


def _bool(value: str | None) -> bool:
    return value in ("true", "1")


@dataclass(frozen=True)
class LogoutRequest:
    id: str
    issuer: str
    name_id: str
    session_indexes: tuple[str, ...]


def parse_logout_request(xml: bytes, max_bytes: int) -> LogoutRequest:
    root, request_id, issuer = _parse_message(xml, max_bytes, "LogoutRequest")
    return LogoutRequest(
        id=request_id,
        issuer=issuer,
        name_id=(root.findtext("saml:NameID", default="", namespaces=NS) or "").strip(),
        session_indexes=tuple((e.text or "").strip()
                              for e in root.findall("samlp:SessionIndex", NS)),
    )
