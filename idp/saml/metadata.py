"""The IdP's own SAML metadata: entity ID, endpoints, signing certificates, and what saml2int
asks an IdP to say about itself (SDP-MD09, -MD11, -MD12, -IDP33):

- the algorithms it accepts signatures in (`alg:SigningMethod`, `alg:DigestMethod`, SAML V2.0
  Metadata Profile for Algorithm Support), so that an SP picks RSA-SHA256 rather than its own
  default (often RSA-SHA1, which is refused);
- `mdui:UIInfo` with a DisplayName and a Logo, an `errorURL`, a technical contact;
- the NameID formats it issues.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from idp.saml.algorithms import DIGEST_METHODS, MIN_RSA_BITS, SIGNING_METHODS
from idp.saml.constants import ALG, BINDING_POST, BINDING_REDIRECT, DS, MD, MDUI, SAMLP

SSO_PATH = "/ICNotifierIDP/login?loginType=saml"
METADATA_PATH = "/ICNotifierIDP/metadata"
LOGOUT_PATH = "/ICNotifierIDP/logout"
ERROR_PATH = "/ICNotifierIDP/error"
LOGO_PATH = "/ICNotifierIDP/static/pureconnect-logo.svg"
LOGO_SIZE = (240, 64)  # width, height of the SVG


@dataclass(frozen=True)
class Description:
    """What the metadata says about the IdP besides its endpoints and keys."""

    display_name: str = "PureConnect"
    nameid_formats: tuple[str, ...] = ()
    technical_contact: str = ""  # an e-mail address; no ContactPerson when empty
    error_url: str = ""  # default: the STS's own page under the public base


def idp_metadata(entity_id: str, base_url: str, certificate_bodies: list[str],
                 about: Description | None = None) -> bytes:
    """Metadata whose endpoints are under `base_url` (the public base the caller came through).

    More than one certificate may be listed during a key rollover.
    """
    about = about or Description()
    sso = quoteattr(base_url + SSO_PATH)
    slo = quoteattr(base_url + LOGOUT_PATH)
    keys = "".join(
        '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>'
        f"<ds:X509Certificate>{body}</ds:X509Certificate>"
        "</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        for body in certificate_bodies
    )
    algorithms = "".join(
        [f'<alg:DigestMethod Algorithm="{uri}"/>' for uri in DIGEST_METHODS]
        + [f'<alg:SigningMethod Algorithm="{uri}" MinKeySize="{MIN_RSA_BITS}"/>'
           for uri in SIGNING_METHODS])
    width, height = LOGO_SIZE
    ui = (f"<md:Extensions><mdui:UIInfo>"
          f'<mdui:DisplayName xml:lang="en">{escape(about.display_name)}</mdui:DisplayName>'
          f'<mdui:Logo height="{height}" width="{width}">{escape(base_url + LOGO_PATH)}'
          "</mdui:Logo></mdui:UIInfo></md:Extensions>")
    formats = "".join(f"<md:NameIDFormat>{escape(f)}</md:NameIDFormat>"
                      for f in about.nameid_formats)
    contact = (f'<md:ContactPerson contactType="technical"><md:EmailAddress>'
               f"{escape(_mailto(about.technical_contact))}</md:EmailAddress></md:ContactPerson>"
               if about.technical_contact else "")
    error_url = quoteattr(about.error_url or base_url + ERROR_PATH)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" xmlns:alg="{ALG}" '
        f'xmlns:mdui="{MDUI}" entityID={quoteattr(entity_id)}>'
        f"<md:Extensions>{algorithms}</md:Extensions>"
        f'<md:IDPSSODescriptor WantAuthnRequestsSigned="false" errorURL={error_url} '
        f'protocolSupportEnumeration="{SAMLP}">'
        f"{ui}{keys}"
        f'<md:SingleLogoutService Binding="{BINDING_REDIRECT}" Location={slo}/>'
        f'<md:SingleLogoutService Binding="{BINDING_POST}" Location={slo}/>'
        f"{formats}"
        f'<md:SingleSignOnService Binding="{BINDING_REDIRECT}" Location={sso}/>'
        f'<md:SingleSignOnService Binding="{BINDING_POST}" Location={sso}/>'
        "</md:IDPSSODescriptor>"
        f"{contact}"
        "</md:EntityDescriptor>\n"
    ).encode()


def _mailto(address: str) -> str:
    return address if address.startswith("mailto:") else f"mailto:{address}"
