"""Agreement between the proxy and the STS: the Genesys Cloud values the proxy decides, what the
STS servers' configuration must say, and where it does not."""

from __future__ import annotations

from urllib.parse import urlsplit

from idp.config import Config
from idp.proxy.model import ProxyInputs
from idp.saml.metadata import SSO_PATH


def genesys_values(inputs: ProxyInputs) -> dict[str, str]:
    """The two Genesys Cloud SSO form values the proxy decides."""
    return {"Target URL": inputs.target_url, "Provider's Issuer URI": inputs.issuer}


def sts_settings(inputs: ProxyInputs) -> dict[str, str | list[str]]:
    """What both STS servers' configuration must say so that they agree with this proxy."""
    return {
        "server.public_base_url": inputs.public_base_url,
        "idp.entity_id": inputs.issuer,
        "server.remap_allowed_bases": [inputs.public_base_url],
        "server.trusted_proxies": "must include the address this proxy connects from",
    }


def disagreements(inputs: ProxyInputs, config: Config) -> list[str]:
    """Where the STS, reading `config`, would report other Genesys Cloud values than these."""
    found = []
    sts_target = config.public_base_url + SSO_PATH
    if not same_base(config.public_base_url, inputs.public_base_url):
        found.append(f"{config.path}: the STS reports Target URL {sts_target}; set "
                     f'server.public_base_url = "{inputs.public_base_url}" on both servers')
    icws = config.icws
    deadline = icws.failover_timeout + 2 * icws.timeout
    if config.directory.backend == "icws" and deadline >= inputs.logon_timeout:
        found.append(f"{config.path}: a logon may wait {deadline} s on CIC (icws.failover_timeout "
                     f"+ 2 x icws.timeout), not less than the proxy's {inputs.logon_timeout} s "
                     "(proxy.logon_timeout): a slow CIC would show the proxy's 504 instead of "
                     "the STS's own page; raise proxy.logon_timeout")
    if config.entity_id != inputs.issuer:
        found.append(f"{config.path}: the STS issues assertions as {config.entity_id}; set "
                     f'idp.entity_id = "{inputs.issuer}" on both servers, or type '
                     f"{config.entity_id} as the Provider's Issuer URI")
    return found


def same_base(a: str, b: str) -> bool:
    def key(url: str) -> tuple[str, str, int | None, str]:
        parts = urlsplit(url.rstrip("/"))
        default = {"https": 443, "http": 80}.get(parts.scheme)
        return parts.scheme, (parts.hostname or ""), parts.port or default, parts.path
    try:
        return key(a) == key(b)
    except ValueError:
        return False
