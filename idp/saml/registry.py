"""Registered service providers: the built-in Genesys Cloud profile and SPs from metadata files.

Only endpoints registered here are ever used to send a Response: the ACS URL an AuthnRequest
asks for must match one of them exactly, or the request is refused and nothing is signed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from idp.errors import ConfigError, SamlRequestError, StsError, UnknownServiceProvider
from idp.saml.constants import (
    BINDING_POST,
    BINDING_REDIRECT,
    MD,
    NAMEID_EMAIL,
    NAMEID_PERSISTENT,
    NAMEID_TRANSIENT,
    NS,
)
from idp.saml.request import AuthnRequest
from idp.saml.xml import parse_untrusted

#: The NameID formats this IdP can issue, in the order offered to an SP that names none.
NAMEID_FORMATS = (NAMEID_EMAIL, NAMEID_PERSISTENT, NAMEID_TRANSIENT)

MAX_METADATA_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Endpoint:
    binding: str
    location: str
    index: int | None = None
    is_default: bool = False
    response_location: str | None = None


@dataclass(frozen=True)
class ServiceProvider:
    entity_id: str
    name: str
    acs: tuple[Endpoint, ...]
    slo: tuple[Endpoint, ...] = ()
    organization_name: str = ""  # the OrganizationName attribute, if this SP wants one
    service_name: str = ""  # the ServiceName attribute for browser logons
    sign_assertion: bool = False  # sign the Assertion as well as the Response
    requests_signed: bool = False  # its metadata (or profile) says AuthnRequestsSigned
    certificates: tuple[str, ...] = field(default=(), repr=False)  # signing ones, base64 DER
    #: The NameID formats it may receive; the first is the one sent when it asks for none.
    nameid_formats: tuple[str, ...] = (NAMEID_EMAIL,)

    def resolve_acs(self, request: AuthnRequest) -> Endpoint:
        """The ACS to answer `request` at: one of ours, or `UnknownServiceProvider`."""
        post = [e for e in self.acs if e.binding == BINDING_POST]
        if request.protocol_binding not in (None, BINDING_POST):
            raise SamlRequestError("only the HTTP-POST binding is supported for responses")
        if request.acs_url is not None:
            for endpoint in post:
                if endpoint.location == request.acs_url:
                    return endpoint
            raise UnknownServiceProvider(
                f"the AssertionConsumerServiceURL {request.acs_url!r} is not registered for "
                f"service provider {self.entity_id!r}")
        if request.acs_index is not None:
            for endpoint in post:
                if endpoint.index == request.acs_index:
                    return endpoint
            raise UnknownServiceProvider(
                f"service provider {self.entity_id!r} has no assertion consumer service with "
                f"index {request.acs_index}")
        return self.default_acs()

    def default_acs(self) -> Endpoint:
        post = [e for e in self.acs if e.binding == BINDING_POST]
        if not post:
            raise UnknownServiceProvider(
                f"service provider {self.entity_id!r} has no HTTP-POST assertion consumer service")
        defaults = [e for e in post if e.is_default]
        if defaults:
            return defaults[0]
        return min(post, key=lambda e: e.index if e.index is not None else 1 << 30)


class Registry:
    def __init__(self, providers: list[ServiceProvider]) -> None:
        self._by_id: dict[str, ServiceProvider] = {}
        for sp in providers:
            if sp.entity_id in self._by_id:
                raise ConfigError(f"service provider {sp.entity_id!r} is registered twice")
            self._by_id[sp.entity_id] = sp

    def get(self, entity_id: str) -> ServiceProvider:
        try:
            return self._by_id[entity_id]
        except KeyError:
            raise UnknownServiceProvider(
                f"service provider {entity_id!r} is not registered with this identity "
                "provider") from None

    def __iter__(self) -> Iterator[ServiceProvider]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)


def genesys_provider(relying_party_identifier: str, organization: str, login_base: str,
                     service_name: str = "", certificates: tuple[str, ...] = ()
                     ) -> ServiceProvider:
    """Genesys Cloud as a Generic SSO provider sees it: POST to /saml, logout at /saml/logout,
    NameID emailAddress. With Genesys Cloud's SP certificate(s) (its "sign_authn_requests"
    setting on), its AuthnRequests must be signed with one of them."""
    return ServiceProvider(
        entity_id=relying_party_identifier,
        name="Genesys Cloud",
        acs=(Endpoint(BINDING_POST, f"{login_base}/saml", index=0, is_default=True),),
        slo=(Endpoint(BINDING_REDIRECT, f"{login_base}/saml/logout"),
             Endpoint(BINDING_POST, f"{login_base}/saml/logout")),
        organization_name=organization,
        service_name=service_name,
        requests_signed=bool(certificates),
        certificates=certificates,
    )


def read_metadata(path: Path) -> etree._Element:
    """The root of a metadata file, parsed as untrusted XML, or `ConfigError`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read SP metadata {path}: {exc.strerror}") from None
    try:
        return parse_untrusted(data, MAX_METADATA_BYTES, "SP metadata")
    except StsError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def signing_certificates(descriptor: etree._Element) -> tuple[str, ...]:
    """The base64 DER certificates of an SSO descriptor's signing keys (KeyDescriptors whose
    use is signing or not said; an encryption-only key never verifies a signature)."""
    return tuple("".join((c.text or "").split())
                 for key in descriptor.findall("md:KeyDescriptor", NS)
                 if key.get("use") in (None, "signing")
                 for c in key.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS))


def providers_from_metadata(path: Path, organization_name: str = "",
                            nameid_formats: tuple[str, ...] = ()) -> list[ServiceProvider]:
    """Every SP described in a metadata file (an EntityDescriptor or EntitiesDescriptor).

    The NameID formats an SP may receive: `nameid_formats` when given, else those its metadata
    lists that this IdP issues (in its order), else all this IdP issues, e-mail first.
    """
    root = read_metadata(path)
    if root.tag == f"{{{MD}}}EntityDescriptor":
        entities = [root]
    elif root.tag == f"{{{MD}}}EntitiesDescriptor":
        entities = root.findall(".//md:EntityDescriptor", NS)
    else:
        raise ConfigError(f"{path}: not SAML metadata (root element is {root.tag})")
    providers = []
    for entity in entities:
        descriptor = entity.find("md:SPSSODescriptor", NS)
        if descriptor is None:
            continue
        entity_id = entity.get("entityID", "")
        acs = tuple(_endpoints(descriptor, "AssertionConsumerService"))
        if not entity_id or not acs:
            raise ConfigError(f"{path}: SP {entity_id!r} has no entityID or no "
                              "AssertionConsumerService")
        listed = tuple(f for f in ((e.text or "").strip() for e in
                                   descriptor.findall("md:NameIDFormat", NS))
                       if f in NAMEID_FORMATS)
        providers.append(ServiceProvider(
            entity_id=entity_id,
            name=_display_name(entity, descriptor, entity_id),
            acs=acs,
            slo=tuple(_endpoints(descriptor, "SingleLogoutService")),
            organization_name=organization_name,
            sign_assertion=descriptor.get("WantAssertionsSigned") in ("true", "1"),
            requests_signed=descriptor.get("AuthnRequestsSigned") in ("true", "1"),
            certificates=signing_certificates(descriptor),
            nameid_formats=nameid_formats or listed or NAMEID_FORMATS,
        ))
    if not providers:
        raise ConfigError(f"{path}: no SPSSODescriptor found")
    return providers


def _display_name(entity: etree._Element, descriptor: etree._Element, entity_id: str) -> str:
    """What the logon page calls the SP: its metadata's display name, else its host."""
    for path, element in (("md:Extensions/mdui:UIInfo/mdui:DisplayName", descriptor),
                          ("md:Organization/md:OrganizationDisplayName", entity)):
        found = element.find(path, NS)
        if found is not None and (found.text or "").strip():
            return " ".join(found.text.split())[:80]
    return urlsplit(entity_id).hostname or entity_id


def _endpoints(descriptor: etree._Element, tag: str) -> list[Endpoint]:
    endpoints = []
    for el in descriptor.findall(f"md:{tag}", NS):
        location = el.get("Location", "")
        if not location.startswith("https://") and not location.startswith("http://"):
            raise ConfigError(f"{tag} Location {location!r} is not an http(s) URL")
        index = el.get("index")
        endpoints.append(Endpoint(
            binding=el.get("Binding", ""),
            location=location,
            index=(int(index) if index and index.isascii() and index.isdigit()
                   and len(index) <= 5 else None),
            is_default=el.get("isDefault") in ("true", "1"),
            response_location=el.get("ResponseLocation"),
        ))
    return endpoints


def certificates_from_metadata(path: Path) -> tuple[str, ...]:
    """The signing certificates of the SP a metadata file describes (Genesys Cloud's own SP
    metadata, say): those of its SPSSODescriptor(s)."""
    root = read_metadata(path)
    found = tuple(body for descriptor in root.iter(f"{{{MD}}}SPSSODescriptor")
                  for body in signing_certificates(descriptor))
    if not found:
        raise ConfigError(f"{path}: no signing certificate in an SPSSODescriptor")
    return found
