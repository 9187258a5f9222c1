"""Building the SAML Response the way Genesys Cloud wants it.

Signed with RSA-SHA256 and exclusive C14N; NameID emailAddress = the business e-mail; attributes
`email`, `OrganizationName` and optionally `ServiceName`; Audience = the SP entity ID;
Destination and Recipient = the ACS; short validity with NotBefore a little in the past.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
import zlib
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from idp.errors import UnusableUserRecord
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
class Subject:
    """Who the assertion is about, as the SP sees them."""

    email: str
    attributes: dict[str, str] = field(default_factory=dict)  # name -> value, order kept


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


# Characters XML 1.0 cannot carry at all (C0 controls but tab/LF/CR, surrogates, U+FFFE/F).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def text(value: str) -> str:
    """`value` as XML character data. A CR is written as a reference so that it arrives as a
    CR rather than being folded into a line feed by the receiving parser."""
    if _NOT_XML.search(value):
        raise UnusableUserRecord("a value for the assertion holds characters XML cannot "
                                 "carry; correct the user's record in the directory")
    return escape(value, {"\r": "&#13;"})


def build_response(params: ResponseParams, subject: Subject, signer: Signer) -> bytes:
    """The signed Response as bytes, ready to be base64-encoded into the POST form."""
    p = params
    not_before = instant(p.now - dt.timedelta(seconds=p.skew))
    not_after = instant(p.now + dt.timedelta(seconds=p.lifetime))
    now = instant(p.now)
    irt = f" InResponseTo={quoteattr(p.in_response_to)}" if p.in_response_to else ""
    issuer = f"<saml:Issuer>{escape(p.issuer)}</saml:Issuer>"
    attributes = "".join(
        f"<saml:Attribute Name={quoteattr(name)} NameFormat={quoteattr(ATTRNAME_UNSPECIFIED)}>"
        f"<saml:AttributeValue xsi:type=\"xs:string\">{text(value)}</saml:AttributeValue>"
        "</saml:Attribute>"
        for name, value in subject.attributes.items()
    )
    response_id, assertion_id = new_id(), new_id()
    document = (
        f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{response_id}" '
        f'Version="2.0" IssueInstant="{now}" Destination={quoteattr(p.acs_url)}{irt}>'
        f"{issuer}"
        f'<samlp:Status><samlp:StatusCode Value="{STATUS_SUCCESS}"/></samlp:Status>'
        f'<saml:Assertion xmlns:xs="{XS}" xmlns:xsi="{XSI}" ID="{assertion_id}" Version="2.0" '
        f'IssueInstant="{now}">'
        f"{issuer}"
        "<saml:Subject>"
        f'<saml:NameID Format="{NAMEID_EMAIL}">{text(subject.email)}</saml:NameID>'
        f'<saml:SubjectConfirmation Method="{CM_BEARER}">'
        f'<saml:SubjectConfirmationData NotOnOrAfter="{not_after}" '
        f"Recipient={quoteattr(p.acs_url)}{irt}/>"
        "</saml:SubjectConfirmation>"
        "</saml:Subject>"
        f'<saml:Conditions NotBefore="{not_before}" NotOnOrAfter="{not_after}">'
        f"<saml:AudienceRestriction><saml:Audience>{escape(p.audience)}</saml:Audience>"
        "</saml:AudienceRestriction>"
        "</saml:Conditions>"
        f'<saml:AuthnStatement AuthnInstant="{instant(p.authn_instant)}" '
        f"SessionIndex={quoteattr(p.session_index)}>"
        f"<saml:AuthnContext><saml:AuthnContextClassRef>{AC_PASSWORD_PROTECTED}"
        "</saml:AuthnContextClassRef></saml:AuthnContext>"
        "</saml:AuthnStatement>"
        f"<saml:AttributeStatement>{attributes}</saml:AttributeStatement>"
        "</saml:Assertion>"
        "</samlp:Response>"
    )
    root = etree.fromstring(document.encode())
    if p.sign_assertion:
        signer.sign(root.find(f"{{{SAML}}}Assertion"))
    signer.sign(root)
    return etree.tostring(root)  # type: ignore[no-any-return]


def build_error_response(issuer: str, acs_url: str, in_response_to: str, status: str,
                         message: str, now: dt.datetime, signer: Signer) -> bytes:
    """A signed Response carrying only a non-success status (for example NoPassive)."""
    document = (
        f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{new_id()}" '
        f'Version="2.0" IssueInstant="{instant(now)}" Destination={quoteattr(acs_url)} '
        f"InResponseTo={quoteattr(in_response_to)}>"
        f"<saml:Issuer>{escape(issuer)}</saml:Issuer>"
        f'<samlp:Status><samlp:StatusCode Value="{STATUS_RESPONDER}">'
        f"<samlp:StatusCode Value={quoteattr(status)}/></samlp:StatusCode>"
        f"<samlp:StatusMessage>{escape(message)}</samlp:StatusMessage></samlp:Status>"
        "</samlp:Response>"
    )
    root = etree.fromstring(document.encode())
    signer.sign(root)
    return etree.tostring(root)  # type: ignore[no-any-return]


def build_logout_response(issuer: str, destination: str, in_response_to: str,
                          now: dt.datetime, signer: Signer | None) -> bytes:
    """A LogoutResponse with status Success; signed in the XML when `signer` is given (the
    HTTP-POST binding), unsigned for the Redirect binding, which signs the query instead."""
    document = (
        f'<samlp:LogoutResponse xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{new_id()}" '
        f'Version="2.0" IssueInstant="{instant(now)}" Destination={quoteattr(destination)} '
        f"InResponseTo={quoteattr(in_response_to)}>"
        f"<saml:Issuer>{escape(issuer)}</saml:Issuer>"
        f'<samlp:Status><samlp:StatusCode Value="{STATUS_SUCCESS}"/></samlp:Status>'
        "</samlp:LogoutResponse>"
    )
    root = etree.fromstring(document.encode())
    if signer is not None:
        signer.sign(root)
    return etree.tostring(root)  # type: ignore[no-any-return]


def encode_for_redirect(xml: bytes) -> str:
    """Raw DEFLATE then base64, as the HTTP-Redirect binding carries a message."""
    return base64.b64encode(zlib.compress(xml)[2:-4]).decode("ascii")


def encode_for_post(xml: bytes) -> str:
    return base64.b64encode(xml).decode("ascii")

