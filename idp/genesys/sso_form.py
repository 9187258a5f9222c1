"""The values to type into Genesys Cloud's Generic SSO provider form, from our configuration."""

from __future__ import annotations

from idp.config import Config
from idp.keys import read_pem
from idp.saml.constants import NAMEID_EMAIL
from idp.saml.metadata import LOGOUT_PATH, SSO_PATH


def sso_form_values(config: Config) -> dict[str, str]:
    """Field label -> value, in the order the Genesys Cloud form shows them."""
    base = config.public_base_url
    certificate = read_pem(config.idp.signing_certificate, "SAML signing certificate").decode()
    rpi = config.genesys.relying_party_identifier if config.genesys else ""
    values = {
        "Provider Name": "PureConnect",
        "Target URL": base + SSO_PATH,
        "Provider's Issuer URI": config.entity_id,
        "Certificate": certificate.strip(),
        "Relying Party Identifier": rpi or "(set genesys.relying_party_identifier)",
        "Name Identifier Format": NAMEID_EMAIL,
        "Single Logout URI": base + LOGOUT_PATH,
        "Single Logout Binding": "HTTP Redirect",
        "Endpoint Compression": "Off (both the compressed Redirect and the POST binding work)",
    }
    if config.next_signing_certificate is not None:  # Genesys Cloud takes more than one
        values["Certificate (next, for the rollover)"] = read_pem(
            config.next_signing_certificate, "next signing certificate").decode().strip()
    return values
