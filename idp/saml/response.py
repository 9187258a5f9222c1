"""Building the SAML Response the way Genesys Cloud wants it.

Signed with RSA-SHA256 and exclusive C14N; NameID emailAddress = the business e-mail; attributes
`email`, `OrganizationName` and optionally `ServiceName`; Audience = the SP entity ID;
Destination and Recipient = the ACS; short validity with NotBefore a little in the past.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import zlib
from dataclasses import dataclass, field

from idp.saml.canonical import attribute, text
from idp.saml.constants import (
    AC_PASSWORD_PROTECTED,
    ATTRNAME_UNSPECIFIED,
    CM_BEARER,
    NAMEID_EMAIL,
    SAML,
    SAMLP,
    STATUS_RESPONDER,
    STATUS_SUCCESS,
    XS,
    XSI,
)
from idp.saml.signing import Signer


def new_id() -> str:
    """A SAML ID: an NCName with 128 random bits."""
    return "_" + secrets.token_hex(16)


def instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class NameId:
    value: str
    format: str = NAMEID_EMAIL
    name_qualifier: str = ""  # the IdP's entity ID, for persistent and transient ones
    sp_name_qualifier: str = ""  # the SP's entity ID, likewise

    def element(self) -> str:
        """The saml:NameID element, canonical (attributes in name order)."""
        qualifiers = "".join(f" {name}={attribute(value)}" for name, value in (
            ("NameQualifier", self.name_qualifier), ("SPNameQualifier", self.sp_name_qualifier))
            if value)
        return (f"<saml:NameID Format={attribute(self.format)}{qualifiers}>{text(self.value)}"
                "</saml:NameID>")


@dataclass(frozen=True)
class Subject:
    """Who the assertion is about, as the SP sees them: the NameID is `name_id`, or the e-mail
    address `email` (emailAddress format) when there is none."""

    email: str
    attributes: dict[str, str] = field(default_factory=dict)  # name -> value, order kept
    name_id: NameId | None = None


@dataclass(frozen=True)
class ResponseParams:
    issuer: str
    audience: str
    acs_url: str
    in_response_to: str | None  # None for IdP-initiated (unsolicited) responses
    session_index: str
    authn_instant: dt.datetime
    now: dt.datetime
    lifetime: int  # seconds
    skew: int  # seconds NotBefore lies in the past
    sign_assertion: bool = False


def build_response(params: ResponseParams, subject: Subject, signer: Signer) -> bytes:
    """The signed Response as bytes, ready to be base64-encoded into the POST form. Written in
    exclusive canonical form (see `idp.saml.canonical`), so signing needs no XML pass."""
    p = params
    not_before = instant(p.now - dt.timedelta(seconds=p.skew))
    not_after = instant(p.now + dt.timedelta(seconds=p.lifetime))
    now = instant(p.now)
    acs = attribute(p.acs_url)
    irt = f" InResponseTo={attribute(p.in_response_to)}" if p.in_response_to else ""
    issuer = text(p.issuer)
    attributes = "".join(
        f"<saml:Attribute Name={attribute(name)} NameFormat=\"{ATTRNAME_UNSPECIFIED}\">"
        f'<saml:AttributeValue xmlns:xsi="{XSI}" xsi:type="xs:string">{text(value)}'
        "</saml:AttributeValue></saml:Attribute>"
        for name, value in subject.attributes.items()
    )
    # A statement with no attribute is schema-invalid: none at all then (a persistent NameID
    # for a user without e-mail and an SP without OrganizationName).
    statement = (f"<saml:AttributeStatement>{attributes}</saml:AttributeStatement>"
                 if attributes else "")
    response_id, assertion_id = new_id(), new_id()
    assertion_head = (
        f'<saml:Assertion xmlns:saml="{SAML}" xmlns:xs="{XS}" ID="{assertion_id}" '
        f'IssueInstant="{now}" Version="2.0"><saml:Issuer>{issuer}</saml:Issuer>')
    assertion_tail = (
        "<saml:Subject>"
        f"{(subject.name_id or NameId(subject.email)).element()}"
        f'<saml:SubjectConfirmation Method="{CM_BEARER}">'
        f'<saml:SubjectConfirmationData{irt} NotOnOrAfter="{not_after}" Recipient={acs}>'
        "</saml:SubjectConfirmationData></saml:SubjectConfirmation></saml:Subject>"
        f'<saml:Conditions NotBefore="{not_before}" NotOnOrAfter="{not_after}">'
        f"<saml:AudienceRestriction><saml:Audience>{text(p.audience)}</saml:Audience>"
        "</saml:AudienceRestriction></saml:Conditions>"
        f'<saml:AuthnStatement AuthnInstant="{instant(p.authn_instant)}" '
        f"SessionIndex={attribute(p.session_index)}>"
        f"<saml:AuthnContext><saml:AuthnContextClassRef>{AC_PASSWORD_PROTECTED}"
        "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
        f"{statement}"
        "</saml:Assertion>"
    )
    if p.sign_assertion:
        assertion = signer.enveloped(assertion_head, assertion_tail, assertion_id)
    else:
        assertion = assertion_head + assertion_tail
    head = _response_head("Response", response_id, acs, irt, now, issuer)
    tail = (f'<samlp:Status><samlp:StatusCode Value="{STATUS_SUCCESS}"></samlp:StatusCode>'
            f"</samlp:Status>{assertion}</samlp:Response>")
    return signer.enveloped(head, tail, response_id).encode()


def _response_head(kind: str, message_id: str, destination: str, irt: str, now: str,
                   issuer: str) -> str:
    """Start tag and Issuer of a samlp message, canonical: attributes in name order."""
    return (f'<samlp:{kind} xmlns:samlp="{SAMLP}" Destination={destination} ID="{message_id}"'
            f'{irt} IssueInstant="{now}" Version="2.0">'
            f'<saml:Issuer xmlns:saml="{SAML}">{issuer}</saml:Issuer>')


def _status(top: str, second: str | None = None, message: str | None = None) -> str:
    inner = (f"<samlp:StatusCode Value={attribute(second)}></samlp:StatusCode>"
             if second else "")
    said = f"<samlp:StatusMessage>{text(message)}</samlp:StatusMessage>" if message else ""
    return (f"<samlp:Status><samlp:StatusCode Value={attribute(top)}>{inner}"
            f"</samlp:StatusCode>{said}</samlp:Status>")


def build_error_response(issuer: str, acs_url: str, in_response_to: str | None, status: str,
                         message: str, now: dt.datetime, signer: Signer,
                         top: str = STATUS_RESPONDER) -> bytes:
    """A signed Response carrying only a non-success status (NoPassive, InvalidNameIDPolicy,
    NoAuthnContext) under the top-level `top`."""
    response_id = new_id()
    irt = f" InResponseTo={attribute(in_response_to)}" if in_response_to else ""
    head = _response_head("Response", response_id, attribute(acs_url), irt, instant(now),
                          text(issuer))
    tail = _status(top, status, message) + "</samlp:Response>"
    return signer.enveloped(head, tail, response_id).encode()


def build_logout_response(issuer: str, destination: str, in_response_to: str,
                          now: dt.datetime, signer: Signer | None,
                          status: str = STATUS_SUCCESS, second: str | None = None) -> bytes:
    """A LogoutResponse (Success by default; Success with PartialLogout when not every SP of
    the session answered); signed in the XML when `signer` is given (the HTTP-POST binding),
    unsigned for the Redirect binding, which signs the query instead."""
    response_id = new_id()
    head = _response_head("LogoutResponse", response_id, attribute(destination),
                          f" InResponseTo={attribute(in_response_to)}", instant(now),
                          text(issuer))
    tail = _status(status, second) + "</samlp:LogoutResponse>"
    xml = head + tail if signer is None else signer.enveloped(head, tail, response_id)
    return xml.encode()


def build_logout_request(issuer: str, destination: str, request_id: str, name_id: NameId,
                         session_index: str, now: dt.datetime, lifetime: int,
                         signer: Signer | None) -> bytes:
    """The LogoutRequest the IdP sends an SP of the session when it propagates a logout:
    signed in the XML for HTTP-POST (`signer`), unsigned for Redirect (the query is)."""
    not_after = instant(now + dt.timedelta(seconds=lifetime))
    head = (f'<samlp:LogoutRequest xmlns:samlp="{SAMLP}" Destination={attribute(destination)} '
            f'ID="{request_id}" IssueInstant="{instant(now)}" NotOnOrAfter="{not_after}" '
            f'Version="2.0"><saml:Issuer xmlns:saml="{SAML}">{text(issuer)}</saml:Issuer>')
    tail = (f'<saml:NameID xmlns:saml="{SAML}" Format={attribute(name_id.format)}'
            + "".join(f" {n}={attribute(v)}" for n, v in (
                ("NameQualifier", name_id.name_qualifier),
                ("SPNameQualifier", name_id.sp_name_qualifier)) if v)
            + f">{text(name_id.value)}</saml:NameID>"
            + (f"<samlp:SessionIndex>{text(session_index)}</samlp:SessionIndex>"
               if session_index else "")
            + "</samlp:LogoutRequest>")
    xml = head + tail if signer is None else signer.enveloped(head, tail, request_id)
    return xml.encode()


def encode_for_redirect(xml: bytes) -> str:
    """Raw DEFLATE then base64, as the HTTP-Redirect binding carries a message."""
    return base64.b64encode(zlib.compress(xml)[2:-4]).decode("ascii")


def encode_for_post(xml: bytes) -> str:
    return base64.b64encode(xml).decode("ascii")

