"""The IdP's own SAML metadata: entity ID, SSO endpoints and the signing certificate."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from idp.saml.constants import BINDING_POST, BINDING_REDIRECT, DS, MD, NAMEID_EMAIL, SAMLP

SSO_PATH = "/ICNotifierIDP/login?loginType=saml"
METADATA_PATH = "/ICNotifierIDP/metadata"
LOGOUT_PATH = "/ICNotifierIDP/logout"


def idp_metadata(entity_id: str, base_url: str, certificate_bodies: list[str]) -> bytes:
    """Metadata whose endpoints are under `base_url` (the public base the caller came through).

    More than one certificate may be listed during a key rollover.
    """
    sso = quoteattr(base_url + SSO_PATH)
    slo = quoteattr(base_url + LOGOUT_PATH)
    keys = "".join(
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>'
        f"<ds:X509Certificate>{body}</ds:X509Certificate>"
        "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for body in certificate_bodies
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID={quoteattr(entity_id)}>'
        f'<md:IDPSSODescriptor WantAuthnRequestsSigned="false" '
        f'protocolSupportEnumeration="{SAMLP}">'
        f"{keys}"
        f'<md:SingleLogoutService Binding="{BINDING_REDIRECT}" Location={slo}/>'
        f'<md:SingleLogoutService Binding="{BINDING_POST}" Location={slo}/>'
        f"<md:NameIDFormat>{escape(NAMEID_EMAIL)}</md:NameIDFormat>"
        f'<md:SingleSignOnService Binding="{BINDING_REDIRECT}" Location={sso}/>'
        f'<md:SingleSignOnService Binding="{BINDING_POST}" Location={sso}/>'
        "</md:IDPSSODescriptor>"
        "</md:EntityDescriptor>\n"
    ).encode()
