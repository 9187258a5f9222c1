"""Checks that need more than the registry states (`idp.config.sections`: types, choices and
ranges, enforced when a file is loaded): URLs, CIDRs, host names, and settings that depend on
each other."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from idp.config.logo import read_logo
from idp.config.sections import SyncSettings
from idp.errors import ConfigError
from idp.hosts import host_problem, parse_host_port
from idp.regions import region_domain

if TYPE_CHECKING:
    from idp.config.model import Config

Level = Literal["debug", "info", "warning", "error"]


def check(config: Config) -> None:
    """Cross-field and value checks that need more than a type."""
    server, idp = config.server, config.idp
    for name in server.machine_names:
        problem = host_problem(name)
        if problem:
            raise ConfigError(f"server.machine_names: {problem}")
    for cidr in server.trusted_proxies:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(
                f"server.trusted_proxies: {cidr!r} is not an address or CIDR") from None
    for url in [server.public_base_url, *server.remap_allowed_bases]:
        if url:
            problem = base_url_problem(url)
            if problem:
                raise ConfigError(
                    f"server.public_base_url / remap_allowed_bases: {url!r}: {problem}")
    if idp.entity_id and not idp.entity_id.strip():
        raise ConfigError("idp.entity_id: must not be blank")
    _check_saml(config)
    if config.state.backend == "redis" and not config.state.redis_url.startswith(
            ("redis://", "rediss://", "unix://")):
        raise ConfigError("state.redis_url: must start with redis://, rediss:// or unix://")
    if config.genesys is not None:
        g = config.genesys
        try:
            region_domain(g.region)
        except ValueError as exc:
            raise ConfigError(f"genesys.region: {exc}") from None
        for key in ("relying_party_identifier", "organization"):
            if not getattr(g, key):
                raise ConfigError(f"genesys.{key}: required when [genesys] is present")
        if g.login_base_url and base_url_problem(g.login_base_url):
            raise ConfigError(f"genesys.login_base_url: {base_url_problem(g.login_base_url)}")
        if g.api_base_url and base_url_problem(g.api_base_url):
            raise ConfigError(f"genesys.api_base_url: {base_url_problem(g.api_base_url)}")
    directory = config.directory
    if directory.argon2_memory_kib * directory.argon2_time_cost < OWASP_MIN_WORK:
        raise ConfigError(
            f"directory.argon2_memory_kib / argon2_time_cost: {directory.argon2_memory_kib} KiB x "
            f"{directory.argon2_time_cost} is below OWASP's minimum for argon2id (memory x passes "
            f"at least {OWASP_MIN_WORK}: 19456 x 2, 12288 x 3, 9216 x 4 or 7168 x 5)")
    _check_sync(config.sync)
    _check_icws(config)
    _check_branding(config)
    for cidr in config.monitoring.metrics_allowed:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigError(
                f"monitoring.metrics_allowed: {cidr!r} is not an address or CIDR") from None


#: Short names of the NameID formats `[[service_providers]] nameid_formats` takes.
NAMEID_FORMAT_NAMES = {
    "emailAddress": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "persistent": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "transient": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
}


def nameid_format(value: str) -> str | None:
    """The URN of a NameID format given by short name or URN, or None if not one we issue."""
    if value in NAMEID_FORMAT_NAMES.values():
        return value
    return NAMEID_FORMAT_NAMES.get(value)


def _check_saml(config: Config) -> None:
    idp = config.idp
    if idp.entity_id and (len(idp.entity_id) > 256 or ":" not in idp.entity_id
                          or any(ord(c) < 0x21 for c in idp.entity_id)):
        raise ConfigError(f"idp.entity_id: {idp.entity_id[:80]!r} must be an absolute URI of "
                          "at most 256 characters (saml2int SDP-G04), such as https://sts.example")
    contact = idp.technical_contact.removeprefix("mailto:")
    if contact and ("@" not in contact or any(c in contact for c in " <>\"\n\r")):
        raise ConfigError(f"idp.technical_contact: {idp.technical_contact!r} is not an e-mail "
                          "address")
    if idp.error_url and not https_url_ok(idp.error_url):
        raise ConfigError(f"idp.error_url: {idp.error_url!r} must be an https URL")
    for i, sp in enumerate(config.service_providers):
        for value in sp.nameid_formats:
            if nameid_format(value) is None:
                raise ConfigError(f"service_providers[{i}].nameid_formats: {value!r} is not "
                                  f"one of {', '.join(NAMEID_FORMAT_NAMES)} (or their URNs)")


def https_url_ok(url: str) -> bool:
    """An https URL with a host and nothing that could break out of an HTML attribute."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return url.startswith("https://") and bool(host) and not any(
        ord(c) < 0x21 or c in "\"<>'`" for c in url)


def _check_branding(config: Config) -> None:
    branding = config.branding
    if branding.logo is not None:
        read_logo(branding.logo)  # raises a ConfigError that says what is wrong with it
    if branding.help_url and not https_url_ok(branding.help_url):
        raise ConfigError(f"branding.help_url: {branding.help_url[:200]!r} must be an https URL")


def _check_sync(sync: SyncSettings) -> None:
    if sync.source == "csv" and str(sync.csv_file) == ".":
        raise ConfigError("sync.csv_file: required when sync.source = \"csv\"")
    if sync.default_country:
        import phonenumbers  # here, not at the top: only the sync needs it

        if sync.default_country.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(f"sync.default_country: {sync.default_country!r} is not a region "
                              "code with a phone numbering plan (such as US, GB or DE)")
    if not sync.authority.strip():
        raise ConfigError("sync.authority: must not be empty")
    stars = sync.skill_stars
    if len(stars) != 4 or stars != sorted(set(stars)) or not 1 <= stars[0] <= stars[-1] < 100:
        raise ConfigError(f"sync.skill_stars: four rising proficiencies from 1 to 99 (the "
                          f"highest of 1, 2, 3 and 4 stars), got {stars}")
    if sync.platform_objects and sync.source != "icws" and str(sync.objects_dir) == ".":
        raise ConfigError("sync.objects_dir: required when sync.platform_objects = true and "
                          "the source is not icws (the folder of workgroups.csv, skills.csv, "
                          "wrapup_codes.csv and user_skills.csv)")
    if not sync.presence_source.strip():
        raise ConfigError("sync.presence_source: a presence source name, or purecloud")
    for key in ("include", "exclude"):
        for rule in getattr(sync, key):
            problem = scope_rule_problem(rule)
            if problem:
                raise ConfigError(f"sync.{key}: {rule!r}: {problem}")
    rules = [*sync.include, *sync.exclude]
    if sync.source == "directory" and any(r.startswith(SCOPE_WORKGROUP) for r in rules):
        raise ConfigError("sync.include / sync.exclude: workgroup: rules need sync.source = "
                          "\"csv\" (a workgroups column) or \"icws\"; the local directory "
                          "keeps no workgroups")


#: OWASP's weakest recommended argon2id profile, as memory (KiB) x passes: 7 MiB x 5.
OWASP_MIN_WORK = 7168 * 5

#: A scope rule (sync.include / sync.exclude) with this prefix matches workgroup names.
SCOPE_WORKGROUP = "workgroup:"


def scope_rule_problem(rule: str) -> str | None:
    """Why `rule` is not a scope rule: a user ID pattern, or workgroup:PATTERN."""
    pattern = rule.removeprefix(SCOPE_WORKGROUP)
    if not pattern.strip():
        return "empty pattern"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in rule):
        return "contains control characters"
    return None


def _check_icws(config: Config) -> None:
    icws = config.icws
    if config.directory.backend == "icws" and not icws.servers:
        raise ConfigError("icws.servers: required when directory.backend = \"icws\" "
                          "(for example [\"cic1.example.com\", \"cic2.example.com\"])")
    if config.sync.source == "icws" and not (icws.servers and icws.service_user):
        raise ConfigError("icws.servers / icws.service_user: required when sync.source = "
                          "\"icws\": the sync reads CIC users with a service account")
    if config.sync.presence and not (icws.servers and icws.service_user):
        raise ConfigError("icws.servers / icws.service_user: required when sync.presence = "
                          "true: agent statuses come from CIC's messaging, over ICWS")
    if icws.scheme == "http" and not icws.allow_plain_http:
        raise ConfigError("icws.scheme = \"http\" sends CIC passwords unencrypted: use https, "
                          "or set icws.allow_plain_http = true to accept that")
    for text in icws.servers:
        try:
            parse_host_port(text, icws.port or 1)  # the default port is not checked here
        except ValueError as exc:
            raise ConfigError(f"icws.servers: {exc}") from None
    if icws.failover_timeout < icws.timeout:
        raise ConfigError("icws.timeout / icws.failover_timeout: failover_timeout must be at "
                          "least timeout")
    if bool(icws.service_user) != (icws.service_password is not None):
        raise ConfigError("icws.service_user / icws.service_password: set both or neither")
    for key in ("application_name", "language", "auth_token_type", "auth_token_field"):
        if not getattr(icws, key).strip():
            raise ConfigError(f"icws.{key}: must not be empty")


def base_url_problem(url: str) -> str | None:
    """Why `url` is not an absolute http(s) base URL without credentials, query or fragment."""
    if any(ord(c) < 0x21 or 0x7F <= ord(c) <= 0x9F for c in url) or \
            any(c in url for c in "\"'<>\\`{}|^"):
        return "contains spaces, quotes or control characters"
    if not url.isascii():
        return "contains characters outside ASCII (write a host name in its xn-- form)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must start with https:// or http://"
    if not parts.hostname:
        return "has no host"
    if "@" in parts.netloc:
        return "must not carry credentials"
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        return "must not have a query or fragment"
    if ".." in parts.path.split("/"):
        return "must not contain '..'"
    if "%" in parts.path:  # a browser or proxy reads %2e%2e as '..' and %2f as '/'
        return "must not contain percent-encoded characters (such as %2e%2e, which is '..')"
    return None
