"""Genesys Cloud's Generic SSO provider as our configuration says it must be: the values of its
form (`sso_form_values`), a model with stable names (`sso_provider`) for JSON, the Platform API
body of `PUT /api/v2/identityproviders/generic` and Terraform's `genesyscloud_idp_generic`, and
what is not ready yet (`SsoProvider.problems`).

Facts: docs/facts.md#generic-sso-provider.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from idp.config import Config
from idp.hosts import is_loopback
from idp.keys import certificate_body, read_pem
from idp.observe.certificates import CertificateInfo, describe
from idp.saml.constants import NAMEID_EMAIL
from idp.saml.metadata import LOGOUT_PATH, SSO_PATH

#: The Provider Logo (SVG, Genesys Cloud takes at most 25 KB).
LOGO = Path(__file__).resolve().parents[1] / "web" / "static" / "pureconnect-logo.svg"
PROVIDER_NAME = "PureConnect"
SLO_BINDING = "HTTP Redirect"
#: Values that only stand in for real ones (init's template, the docs' examples).
PLACEHOLDERS = frozenset({"urn:example", "example", "changeme", "todo", "xxx", "tbd"})
SCHEMA = 1


@dataclass(frozen=True)
class SignedBy:
    info: CertificateInfo
    pem: str

    @property
    def body(self) -> str:  # base64 DER, as Genesys Cloud and metadata take it
        return certificate_body(self.pem.encode())


@dataclass(frozen=True)
class SsoProvider:
    provider_name: str
    target_url: str
    issuer_uri: str
    relying_party_identifier: str
    name_identifier_format: str
    single_logout_uri: str
    single_logout_binding: str
    endpoint_compression: bool
    # On exactly when cic-sts requires Genesys Cloud's AuthnRequests signed (its SP certificate
    # or metadata is configured): the two sides must agree or every logon is refused.
    sign_authn_requests: bool
    certificates: list[SignedBy]  # the current one first, then the next during a rollover
    logo: Path
    acs: str  # what the STS sends: where, and which attributes
    organization_name: str
    service_name: str
    problems: list[str]


def sso_provider(config: Config) -> SsoProvider:
    base = config.public_base_url
    g = config.genesys
    certificates = [SignedBy(describe(config.idp.signing_certificate, "saml_signing",
                                      "SAML signing certificate"),
                             read_pem(config.idp.signing_certificate, "SAML signing "
                                      "certificate").decode().strip())]
    if config.next_signing_certificate is not None:
        certificates.append(SignedBy(
            describe(config.next_signing_certificate, "saml_signing_next",
                     "next SAML signing certificate"),
            read_pem(config.next_signing_certificate, "next signing certificate").decode()
            .strip()))
    provider = SsoProvider(
        provider_name=PROVIDER_NAME, target_url=base + SSO_PATH, issuer_uri=config.entity_id,
        relying_party_identifier=g.relying_party_identifier if g else "",
        name_identifier_format=NAMEID_EMAIL, single_logout_uri=base + LOGOUT_PATH,
        single_logout_binding=SLO_BINDING, endpoint_compression=False,
        sign_authn_requests=g is not None and (g.sp_certificate is not None
                                               or g.sp_metadata is not None),
        certificates=certificates, logo=LOGO,
        acs=f"{config.genesys_login_base}/saml" if g else "",
        organization_name=g.organization if g else "", service_name=g.service_name if g else "",
        problems=[])
    provider.problems.extend(_problems(config, provider))
    return provider


def _problems(config: Config, provider: SsoProvider) -> list[str]:
    problems = []
    if config.genesys is None:
        problems.append("[genesys] is missing: set genesys.region, "
                        "genesys.relying_party_identifier and genesys.organization")
    else:
        for key in ("relying_party_identifier", "organization"):
            value = getattr(config.genesys, key)
            if value.strip().casefold() in PLACEHOLDERS:
                problems.append(f"genesys.{key} = {value!r} is a placeholder: copy it from "
                                "Genesys Cloud")
    for label, url, setting in (("Target URL", provider.target_url, "server.public_base_url"),
                                ("Provider's Issuer URI", provider.issuer_uri, "idp.entity_id")):
        host = urlsplit(url).hostname or ""
        if is_loopback(host):
            problems.append(f"{label} {url} names this machine ({host}), which no other "
                            f"browser reaches: set {setting} to the public (proxy) address")
    if len(provider.certificates) > 5:
        problems.append("Genesys Cloud keeps at most five certificates per provider")
    return problems


def sso_form_values(config: Config) -> dict[str, str]:
    """Field label -> value, in the order the Genesys Cloud form shows them."""
    p = sso_provider(config)
    values = {
        "Provider Name": p.provider_name,
        "Provider Logo": str(p.logo),
        "Target URL": p.target_url,
        "Provider's Issuer URI": p.issuer_uri,
        "Certificate": p.certificates[0].pem,
        "Relying Party Identifier": p.relying_party_identifier
        or "(set genesys.relying_party_identifier)",
        "Name Identifier Format": p.name_identifier_format,
        "Single Logout URI": p.single_logout_uri,
        "Single Logout Binding": p.single_logout_binding,
        "Endpoint Compression": "Off (both the compressed Redirect and the POST binding work)",
        "Sign Authentication Requests": "On" if p.sign_authn_requests else "Off",
    }
    if len(p.certificates) > 1:  # Genesys Cloud takes more than one
        values["Certificate (next, for the rollover)"] = p.certificates[1].pem
    return values


def as_json(p: SsoProvider, now: dt.datetime | None = None) -> dict[str, Any]:
    """The stable JSON document of `genesys-settings --json` (keys never change meaning)."""
    now = now or dt.datetime.now(dt.UTC)
    return {
        "schema": SCHEMA,
        "provider_name": p.provider_name,
        "provider_logo": str(p.logo),
        "target_url": p.target_url,
        "issuer_uri": p.issuer_uri,
        "relying_party_identifier": p.relying_party_identifier,
        "name_identifier_format": p.name_identifier_format,
        "single_logout_uri": p.single_logout_uri,
        "single_logout_binding": p.single_logout_binding,
        "endpoint_compression": p.endpoint_compression,
        "sign_authn_requests": p.sign_authn_requests,
        "certificates": [{"role": c.info.name, "pem": c.pem, **c.info.as_json(now)}
                         for c in p.certificates],
        "sts_sends": {"acs": p.acs, "name_id": "the user's business e-mail",
                      "attributes": {"email": "the user's business e-mail",
                                     "OrganizationName": p.organization_name,
                                     "ServiceName": p.service_name or None}},
        "problems": p.problems,
    }


def api_body(p: SsoProvider) -> dict[str, Any]:
    """The body of `PUT /api/v2/identityproviders/generic` (Platform API model GenericSAML)."""
    return {
        "name": p.provider_name,
        "disabled": False,
        "issuerURI": p.issuer_uri,
        "ssoTargetURI": p.target_url,
        "sloURI": p.single_logout_uri,
        "sloBinding": p.single_logout_binding,
        "relyingPartyIdentifier": p.relying_party_identifier,
        "certificates": [c.body for c in p.certificates],
        "logoImageData": base64.b64encode(p.logo.read_bytes()).decode(),
        "endpointCompression": p.endpoint_compression,
        "signAuthnRequests": p.sign_authn_requests,
        "nameIdentifierFormat": p.name_identifier_format,
    }


def terraform(p: SsoProvider) -> str:
    """A `genesyscloud_idp_generic` resource (MyPureCloud/genesyscloud provider)."""
    def string(value: str) -> str:
        return json.dumps(value).replace("${", "$${").replace("%{", "%%{")

    certificates = "".join(f"\n    {string(c.body)}," for c in p.certificates)
    rows = [("name", string(p.provider_name)),
            ("issuer_uri", string(p.issuer_uri)),
            ("target_uri", string(p.target_url)),
            ("relying_party_identifier", string(p.relying_party_identifier)),
            ("logo_image_data", string(base64.b64encode(p.logo.read_bytes()).decode())),
            ("endpoint_compression", "false"),
            ("sign_authn_requests", "true" if p.sign_authn_requests else "false"),
            ("name_identifier_format", string(p.name_identifier_format)),
            ("slo_uri", string(p.single_logout_uri)),
            ("slo_binding", string(p.single_logout_binding)),
            ("disabled", "false")]
    width = max(len(name) for name, _ in rows)  # aligned as `terraform fmt` aligns them
    body = "\n".join(f"  {name.ljust(width)} = {value}" for name, value in rows)
    body += f"\n  certificates = [{certificates}\n  ]"  # multi-line: after the aligned ones
    return ("# Genesys Cloud's Generic SSO provider for cic-sts (`cic-sts genesys-settings "
            "--format terraform`)\n"
            f'resource "genesyscloud_idp_generic" "pureconnect" {{\n{body}\n}}\n')
