"""Decoding and parsing what SPs send: AuthnRequests and LogoutRequests, and the LogoutResponses
that answer the LogoutRequests the IdP sends when it propagates a logout."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import zlib
from dataclasses import dataclass

from lxml import etree

from idp.errors import SamlRequestError
from idp.saml.constants import ASLO, BINDING_POST, BINDING_REDIRECT, NS, SAML, SAMLP
from idp.saml.xml import parse_untrusted

#: SAML says RelayState "MUST NOT exceed 80 bytes"; real SPs send more, so be generous but bounded.
MAX_RELAY_STATE = 2048
_ID = re.compile(r"[A-Za-z_][\w.\-]{0,255}")
_INDEX = re.compile(r"[0-9]{1,5}")  # an xs:unsignedShort
# xs:dateTime as SAML uses it: UTC, "Z" (or +00:00, or nothing), optional fractional seconds.
_INSTANT = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d{1,9})?"
                      r"(Z|[+-]\d\d:\d\d)?")
_COMPARISONS = ("exact", "minimum", "maximum", "better")


@dataclass(frozen=True)
class RequestedAuthnContext:
    comparison: str  # exact (the default), minimum, maximum or better
    class_refs: tuple[str, ...] = ()
    decl_refs: tuple[str, ...] = ()


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
    allow_create: bool | None = None  # NameIDPolicy/@AllowCreate; None: not said
    sp_name_qualifier: str | None = None  # NameIDPolicy/@SPNameQualifier
    authn_context: RequestedAuthnContext | None = None


def decode_message(encoded: str, binding: str, max_bytes: int) -> bytes:
    """The XML bytes of a SAMLRequest (or SAMLResponse) parameter: base64, and raw DEFLATE for
    the Redirect binding. A Redirect-binding value that is plain base64 XML is taken as it is:
    Genesys Cloud with "Endpoint Compression" off may send one. Both are held to `max_bytes`."""
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
        xml: bytes | None = inflater.decompress(raw, max_bytes + 1)
    except zlib.error:
        xml = None
    if xml is not None and (len(xml) > max_bytes or inflater.unconsumed_tail):
        raise SamlRequestError(f"the SAML message is larger than {max_bytes} bytes")
    if xml is not None and _looks_like_xml(xml):
        return xml
    if _looks_like_xml(raw):
        return raw  # not compressed (parse_untrusted applies the size limit)
    raise SamlRequestError("the SAML message is neither DEFLATE-compressed, as the Redirect "
                           "binding requires, nor plain XML")


def _looks_like_xml(data: bytes) -> bool:
    """Whether `data` starts like an XML document (after a byte order mark and white space)."""
    return data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")[:1] == b"<"


def check_relay_state(relay_state: str | None) -> str | None:
    if relay_state is not None and len(relay_state.encode()) > MAX_RELAY_STATE:
        raise SamlRequestError(f"RelayState is longer than {MAX_RELAY_STATE} bytes")
    return relay_state


def parse_instant(value: str | None, what: str) -> dt.datetime:
    """An xs:dateTime of a SAML message as an aware UTC datetime, or `SamlRequestError`."""
    if value and len(value) == 20 and value.endswith("Z"):  # what nearly every SP sends
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            pass  # judged by the full grammar below
    match = _INSTANT.fullmatch(value or "")
    if match is None:
        raise SamlRequestError(f"the {what} is missing or not a dateTime")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    zone = match.group(7)
    offset = dt.timedelta(0)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        moment = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:
        raise SamlRequestError(f"the {what} is not a valid date and time") from None
    return moment - offset


@dataclass(frozen=True)
class Envelope:
    """What every SAML protocol message carries, checked, with its parsed root."""

    root: etree._Element
    id: str
    issuer: str
    issue_instant: str
    destination: str | None


def parse_envelope(xml: bytes, max_bytes: int, kind: str) -> Envelope:
    """The root, ID, Issuer, IssueInstant and Destination of a message of element `kind`."""
    root = parse_untrusted(xml, max_bytes, "SAML message")
    if root.tag != f"{{{SAMLP}}}{kind}":
        article = "an" if kind[0] in "AEIOU" else "a"
        raise SamlRequestError(f"the SAML message is not {article} {kind}")
    if root.get("Version") != "2.0":
        raise SamlRequestError(f"the {kind} is not SAML version 2.0")
    message_id = root.get("ID") or ""
    if not _ID.fullmatch(message_id):
        raise SamlRequestError(f"the {kind} has no valid ID")
    issuers = root.findall(f"{{{SAML}}}Issuer")
    issuer = (issuers[0].text or "").strip() if len(issuers) == 1 else ""
    if not issuer:
        raise SamlRequestError(f"the {kind} does not say which service provider sent it "
                               "(no Issuer, or more than one)")
    if issuers[0].getprevious() is not None:
        raise SamlRequestError(f"the {kind}'s Issuer is not its first element")
    return Envelope(root, message_id, issuer, root.get("IssueInstant", ""),
                    root.get("Destination"))


def parse_authn_request(xml: bytes, max_bytes: int) -> AuthnRequest:
    envelope = parse_envelope(xml, max_bytes, "AuthnRequest")
    root = envelope.root
    index = root.get("AssertionConsumerServiceIndex")
    if index is not None and not (_INDEX.fullmatch(index) and int(index) <= 0xFFFF):
        raise SamlRequestError("AssertionConsumerServiceIndex is not a number")
    policies = root.findall("samlp:NameIDPolicy", NS)
    if len(policies) > 1:
        raise SamlRequestError("the AuthnRequest carries more than one NameIDPolicy")
    policy = policies[0] if policies else None
    return AuthnRequest(
        id=envelope.id,
        issuer=envelope.issuer,
        issue_instant=envelope.issue_instant,
        destination=envelope.destination,
        acs_url=root.get("AssertionConsumerServiceURL"),
        acs_index=int(index) if index is not None else None,
        protocol_binding=root.get("ProtocolBinding"),
        force_authn=_bool(root.get("ForceAuthn")),
        is_passive=_bool(root.get("IsPassive")),
        nameid_format=policy.get("Format") if policy is not None else None,
        allow_create=(_bool(policy.get("AllowCreate")) if policy is not None
                      and policy.get("AllowCreate") is not None else None),
        sp_name_qualifier=policy.get("SPNameQualifier") if policy is not None else None,
        authn_context=_requested_authn_context(root),
    )


def _requested_authn_context(root: etree._Element) -> RequestedAuthnContext | None:
    found = root.findall("samlp:RequestedAuthnContext", NS)
    if not found:
        return None
    if len(found) > 1:
        raise SamlRequestError("the AuthnRequest carries more than one RequestedAuthnContext")
    element = found[0]
    comparison = element.get("Comparison") or "exact"
    if comparison not in _COMPARISONS:
        raise SamlRequestError(f"RequestedAuthnContext Comparison {comparison[:40]!r} is not "
                               "exact, minimum, maximum or better")
    classes = tuple((e.text or "").strip() for e in element.findall("saml:AuthnContextClassRef",
                                                                    NS))
    declarations = tuple((e.text or "").strip()
                         for e in element.findall("saml:AuthnContextDeclRef", NS))
    if not classes and not declarations:
        raise SamlRequestError("RequestedAuthnContext names no authentication context")
    return RequestedAuthnContext(comparison, classes, declarations)


def _bool(value: str | None) -> bool:
    return value in ("true", "1")


@dataclass(frozen=True)
class LogoutRequest:
    id: str
    issuer: str
    name_id: str
    session_indexes: tuple[str, ...]
    issue_instant: str = ""
    destination: str | None = None
    name_id_format: str | None = None
    not_on_or_after: str | None = None
    asynchronous: bool = False  # the SP wants no LogoutResponse (async-slo extension)


def parse_logout_request(xml: bytes, max_bytes: int) -> LogoutRequest:
    envelope = parse_envelope(xml, max_bytes, "LogoutRequest")
    root = envelope.root
    name_ids = root.findall("saml:NameID", NS)
    if len(name_ids) != 1:
        raise SamlRequestError("the LogoutRequest does not name one NameID (an encrypted or "
                               "BaseID one is not supported)")
    return LogoutRequest(
        id=envelope.id,
        issuer=envelope.issuer,
        name_id=(name_ids[0].text or "").strip(),
        session_indexes=tuple((e.text or "").strip()
                              for e in root.findall("samlp:SessionIndex", NS)),
        issue_instant=envelope.issue_instant,
        destination=envelope.destination,
        name_id_format=name_ids[0].get("Format"),
        not_on_or_after=root.get("NotOnOrAfter"),
        asynchronous=root.find(f"samlp:Extensions/{{{ASLO}}}Asynchronous", NS) is not None,
    )


@dataclass(frozen=True)
class LogoutResponse:
    id: str
    issuer: str
    in_response_to: str
    status: str  # the top-level StatusCode
    issue_instant: str = ""
    destination: str | None = None


def parse_logout_response(xml: bytes, max_bytes: int) -> LogoutResponse:
    envelope = parse_envelope(xml, max_bytes, "LogoutResponse")
    codes = envelope.root.findall("samlp:Status/samlp:StatusCode", NS)
    if len(codes) != 1 or not codes[0].get("Value"):
        raise SamlRequestError("the LogoutResponse has no single Status")
    return LogoutResponse(
        id=envelope.id,
        issuer=envelope.issuer,
        in_response_to=envelope.root.get("InResponseTo") or "",
        status=codes[0].get("Value") or "",
        issue_instant=envelope.issue_instant,
        destination=envelope.destination,
    )
