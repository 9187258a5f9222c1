"""The settings registry: one frozen dataclass per section of the TOML file.

Each field is a setting with its default and help text (`setting`); the README documents every
one (a test checks). Secrets are `Secret`s: where a value is read from, never the value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idp.errors import ConfigError


@dataclass(frozen=True)
class Secret:
    """Where a secret comes from; `reveal()` reads it at the moment it is needed."""

    env: str | None = None
    file: Path | None = None

    def reveal(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise ConfigError(f"environment variable {self.env} is not set")
            return value
        if self.file is not None:
            try:
                return self.file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read secret file {self.file}: {exc.strerror}") from None
        return ""

    def __repr__(self) -> str:  # never print a value, only where it lives
        return f"Secret(env={self.env!r})" if self.env else f"Secret(file={str(self.file)!r})"


def setting(default: Any, help: str) -> Any:
    """A dataclass field that carries its help text for the docs and error messages."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ServerSettings:
    machine_names: list[str] = setting(
        [], "Host names or IP addresses of this STS; the first is used in URLs, all go into the "
        "TLS certificate's subject alternative names. Default: this machine's FQDN.")
    bind: str = setting("0.0.0.0", "Address gunicorn listens on.")
    port: int = setting(8043, "HTTPS port (the proxy's upstream port).")
    workers: int = setting(2, "gunicorn worker processes.")
    connections: int = setting(
        1000, "Connections one worker holds at once (idle ones are closed after 30 s).")
    threads: int = setting(
        0, "Ignored since the workers use gevent (see server.connections); accepted so that "
        "older configuration files still load, with a warning.")
    public_base_url: str = setting(
        "", "Base URL browsers use when no proxy sets ININ-REMAP-BASE-URL. "
        "Default: https://<first machine name>:<port>.")
    trusted_proxies: list[str] = setting(
        ["127.0.0.0/8", "::1/128"],
        "Addresses (CIDR) whose ININ-REMAP-BASE-URL header is honoured.")
    remap_allowed_bases: list[str] = setting(
        [], "ININ-REMAP-BASE-URL values accepted besides server.public_base_url (which always "
        "is); `init` writes this STS's own base. When neither is set, any clean value from a "
        "trusted proxy is accepted, with a warning at start.")
    tls_certificate: Path = setting(Path("certs/tls.crt"), "TLS certificate for port 8043 (PEM).")
    tls_key: Path = setting(Path("certs/tls.key"), "TLS private key for port 8043 (PEM).")
    log_level: str = setting("info", "Log level: debug, info, warning or error.")


@dataclass(frozen=True)
class IdpSettings:
    entity_id: str = setting(
        "", "The IdP entity ID (Genesys Cloud's \"Provider's Issuer URI\"). "
        "Default: https://<first machine name>.")
    signing_certificate: Path = setting(
        Path("certs/saml-signing.crt"), "Certificate that signs SAML messages (PEM).")
    signing_key: Path = setting(Path("certs/saml-signing.key"), "Its private key (PEM).")
    next_signing_certificate: str = setting(
        "", "During a key rollover, the next signing certificate (PEM path): published in the "
        "metadata and by genesys-settings beside the current one, so Genesys Cloud trusts both "
        "before signing switches to it.")
    signing_key_passphrase: Secret | None = setting(
        None, "Passphrase of the signing key, if it is encrypted.")
    session_secret: Secret = setting(
        Secret(file=Path("certs/session.secret")),
        "Key that signs the STS session cookie; all servers of a pair need the same one.")
    session_lifetime: int = setting(
        28800, "Seconds a logged-on user is not asked for the password again (default 8 hours).")
    assertion_lifetime: int = setting(300, "Seconds an assertion stays valid after it is issued.")
    clock_skew: int = setting(30, "Seconds NotBefore is set in the past, for SPs with slow clocks.")
    max_message_bytes: int = setting(
        65536, "Largest SAML request accepted, after base64 decoding and inflating.")
    request_max_age: int = setting(
        300, "Seconds after its IssueInstant a request from an SP is still accepted; a signed "
        "one is accepted once within that time.")
    request_clock_skew: int = setting(
        180, "Seconds an SP's clock may differ from this server's when the IssueInstant of its "
        "requests is checked (saml2int asks for 3 to 5 minutes).")
    persistent_id_secret: Secret = setting(
        Secret(file=Path("certs/persistent-id.secret")),
        "Key persistent NameIDs are derived from (`init` writes it). Both servers of a pair "
        "need the same one; changing it gives every user new persistent NameIDs. Without the "
        "file, persistent NameIDs are not offered.")
    nameid_database: Path = setting(
        Path("cic-nameids.db"), "SQLite file recording which persistent NameIDs were issued, "
        "for requests with AllowCreate=\"false\".")
    display_name: str = setting(
        "PureConnect", "Name the IdP metadata gives this identity provider (mdui:DisplayName).")
    technical_contact: str = setting(
        "", "E-mail address the IdP metadata names as technical contact (saml2int wants one).")
    error_url: str = setting(
        "", "errorURL the IdP metadata publishes, a page for users an SP turned away. Default: "
        "the STS's own help page, /ICNotifierIDP/error.")


@dataclass(frozen=True)
class DirectorySettings:
    database: Path = setting(Path("cic-users.db"), "SQLite file of the local user directory.")
    backend: str = setting(
        "local", "Who checks user IDs and passwords: local (the local directory) or icws "
        "(CIC itself, over ICWS; see [icws]).")
    password_min_length: int = setting(
        12, "Shortest password `users add`, `users set-password` and `users import` accept "
        "for the local directory (also refused: the user ID, common passwords).")
    password_denied: list[str] = setting(
        [], "Passwords refused besides the built-in list of common ones (compared ignoring "
        "letter case and trailing digits or punctuation), e.g. the company's name.")


@dataclass(frozen=True)
class IcwsSettings:
    servers: list[str] = setting(
        [], "The CIC servers (switchover pair) as \"host\" or \"host:port\", tried in this "
        "order; required for directory.backend = \"icws\" and sync.source = \"icws\".")
    scheme: str = setting("https", "https or http (needs allow_plain_http).")
    allow_plain_http: bool = setting(
        False, "Accept scheme = \"http\", which sends CIC passwords unencrypted.")
    port: int = setting(0, "Port of servers named without one; 0: 8019 (https) or 8018 (http).")
    ca_file: Path | None = setting(
        None, "CA certificates (PEM) that CIC's TLS certificate must chain to. "
        "Default: the system's CAs.")
    timeout: int = setting(5, "Seconds one ICWS request may take in all.")
    failover_timeout: int = setting(
        15, "Seconds one logon may spend trying the servers of the pair in all; a whole logon "
        "ends within failover_timeout + 2 x timeout.")
    application_name: str = setting("cic-sts", "applicationName sent with every ICWS logon.")
    language: str = setting("en-us", "Accept-Language sent with every ICWS request.")
    service_user: str = setting(
        "", "CIC user ID of a service account that may read user configurations: for lookups "
        "of logged-on users and for the sync.")
    service_password: Secret | None = setting(None, "Password of the service account.")
    cache_ttl: int = setting(
        300, "Seconds a user record read from CIC is reused (0: never). Passwords never are.")
    auth_token_type: str = setting(
        "urn:inin.com:connection:authTokenConnectionRequestSettings",
        "__type of the auth-token logon request (unconfirmed).")
    auth_token_field: str = setting(
        "authToken", "Field of the auth-token logon request that carries the token "
        "(unconfirmed).")


@dataclass(frozen=True)
class GenesysSettings:
    region: str = setting("", "Region code (eu-west-1) or domain (mypurecloud.ie).")
    relying_party_identifier: str = setting(
        "", "Genesys Cloud's \"Relying Party Identifier\": the SP entity ID and Audience.")
    organization: str = setting("", "Genesys Cloud organization short name (OrganizationName).")
    service_name: str = setting("", "Optional ServiceName sent on every browser logon.")
    login_base_url: str = setting(
        "", "Override of https://login.<domain> (tests, proxies).")
    client_id: str = setting(
        "", "OAuth client ID (client credentials grant) the sync uses to call Genesys Cloud.")
    client_secret: Secret | None = setting(None, "Secret of that OAuth client.")
    api_base_url: str = setting("", "Override of https://api.<domain> (tests, proxies).")
    sp_certificate: Path | None = setting(
        None, "Genesys Cloud's SP signing certificate (PEM), for a provider with \"Sign "
        "Authentication Requests\" on; then its AuthnRequests must be signed with it.")
    sp_metadata: Path | None = setting(
        None, "Genesys Cloud's SP metadata file; the signing certificates in it count like "
        "genesys.sp_certificate.")


@dataclass(frozen=True)
class ServiceProviderSettings:
    metadata: Path = setting(Path(), "SAML metadata file of the SP.")
    organization_name: str = setting("", "Optional OrganizationName attribute for this SP.")
    nameid_formats: list[str] = setting(
        [], "NameID formats this SP may receive, the first when it asks for none: "
        "emailAddress, persistent, transient (or their URNs). Default: those its metadata "
        "lists, else all three, emailAddress first.")


@dataclass(frozen=True)
class StateSettings:
    backend: str = setting(
        "cookie", "Where STS sessions, logon throttling and replay caches live: cookie (sessions "
        "in an encrypted cookie any server with the same session secret reads; counters per "
        "process) or redis (all shared through Redis).")
    redis_url: str = setting("redis://127.0.0.1:6379/0", "Redis server, for backend = redis.")
    redis_password: Secret | None = setting(None, "Password of the Redis server, if it has one.")
    max_failed_logons: int = setting(
        10, "Failed logons for one user ID within failed_logon_window before further attempts "
        "are refused without checking (five times as many per client address).")
    failed_logon_window: int = setting(900, "Seconds over which failed logons are counted.")


@dataclass(frozen=True)
class LaunchSettings:
    service_provider: str = setting(
        "", "Entity ID of the SP the CIC client buttons launch. Default: Genesys Cloud's "
        "relying party identifier.")
    collaborate: str = setting("directory", "ServiceName for the Collaborate button.")
    inbox: str = setting(
        "", "ServiceName for the Inbox button (the My Performance view). "
        "Default: https://apps.<domain>/directory/#/analytics/performance/me.")
    admin: str = setting(
        "", "ServiceName for the Genesys Cloud Admin button. "
        "Default: https://apps.<domain>/directory/#/admin.")


@dataclass(frozen=True)
class ProxySettings:
    """Inputs of `cic-sts proxy nginx`; its command-line options override them.

    Validated by `idp.proxy.inputs` when the generator runs, not when the STS starts. Paths are
    kept as written (relative ones are relative to this file) because they may name files on
    the proxy machine rather than this one.
    """

    servers: list[str] = setting(
        [], "The STS servers of the switchover pair: host or IP, optional :port (default 8043).")
    public_host: str = setting(
        "", "Host name or IP browsers use for the proxy. Default: the host of "
        "server.public_base_url.")
    public_port: int = setting(
        0, "HTTPS port the proxy listens on. 0: the port of server.public_base_url, else 443.")
    friendly_path: str | None = setting(
        None, "Path the STS is published under (\"\" publishes at /). Default: the path of "
        "server.public_base_url, else PureConnect.")
    listen_address: str = setting(
        "", "IP address the proxy listens on. Default: all IPv4 addresses, and all IPv6 ones "
        "too when the public host is an IPv6 address.")
    tls_certificate: str = setting("", "Certificate (PEM) the proxy shows browsers.")
    tls_key: str = setting("", "Its private key (PEM).")
    certificates_on_target: bool = setting(
        False, "The certificate, key and CA paths are on the proxy machine, not this one: a "
        "missing file is a warning instead of an error.")
    stickiness: str = setting("ip_hash", "ip_hash, sticky-cookie (NGINX Plus only) or none.")
    upstream_ca: str = setting(
        "", "CA certificate (PEM) the STS servers' certificates are checked against. Empty: "
        "not checked (a warning).")
    upstream_name: str = setting(
        "", "Name both STS servers' certificates carry, checked with upstream_ca.")
    redirect_http: bool = setting(False, "Also listen on port 80 and redirect to HTTPS.")
    log_dir: str = setting("/var/log/nginx", "Folder of the proxy's access and error logs.")
    outer_proxies: list[str] = setting(
        [], "Addresses (CIDR) of an outer proxy in front of this one whose ININ-REMAP-BASE-URL "
        "is passed on to the STS; from anyone else the header is replaced by the public base.")


@dataclass(frozen=True)
class SyncSettings:
    source: str = setting(
        "directory", "Where the sync reads CIC users: directory (the local directory, "
        "directory.database), csv (sync.csv_file) or icws (CIC itself, [icws] with a service "
        "account).")
    csv_file: Path = setting(
        Path(), "CSV export of CIC users (the columns of `users import`), for source = csv.")
    csv_require_row_count: bool = setting(
        False, "The CSV export must end with a #rows=N line (N: its user rows); without one "
        "the export counts as incomplete and nobody is deactivated. A #rows=N line that does "
        "not match is always refused.")
    state_database: Path = setting(
        Path("cic-sync.db"), "SQLite file of the sync's state (per user: Genesys Cloud id, "
        "status, last synchronized, history) and request counters.")
    rate_per_minute: int = setting(
        300, "Most requests per minute sent to Genesys Cloud (its limit per OAuth token).")
    concurrency: int = setting(4, "Requests in flight at once.")
    max_retries: int = setting(
        5, "Retries of one request after a 429, a 5xx or a network error, before it fails.")
    request_timeout: int = setting(30, "Seconds to wait for one Genesys Cloud answer.")
    page_size: int = setting(
        25, "Users per page when listing Genesys Cloud users. Genesys Cloud may answer bigger "
        "pages with 429 when lookup values such as externalId are asked for.")
    default_country: str = setting(
        "", "Region (ISO 3166 code such as US or DE) of phone numbers written without a "
        "country code; empty: such numbers are reported and left out.")
    authority: str = setting(
        "cic-sts", "Authority of the externalIds entry that links a Genesys Cloud user to its "
        "CIC user ID. Unique per installation: `init` writes cic-sts/<random>. Files without "
        "one use cic-sts. Links under other cic-sts/... authorities belong to other "
        "installations and are never changed or deactivated.")
    include: list[str] = setting(
        [], "If not empty, only CIC users matching one of these are synced: a user ID pattern "
        "(shell-style, * and ?, without letter case) or workgroup:NAME (a pattern too; needs "
        "source csv or icws).")
    exclude: list[str] = setting(
        [], "CIC users matching one of these (same forms as include) are not synced, for "
        "service accounts and lab users. Users that leave the scope are deactivated like "
        "removed users.")
    deactivate_missing: bool = setting(
        True, "Deactivate the Genesys Cloud user of a CIC user that was deleted, lost its "
        "business e-mail or left the scope.")
    delete_instead_of_deactivate: bool = setting(
        False, "Delete such Genesys Cloud users instead of deactivating them.")
    max_deactivations: int = setting(
        10, "Most Genesys Cloud users one pass may deactivate (or delete). A pass that would "
        "do more deactivates nobody, does everything else, exits non-zero and is shown as "
        "held until `sync apply --allow-deactivations N` or a corrected source.")
    max_deactivations_percent: int = setting(
        0, "If not 0, also the most one pass may deactivate, as a percentage of the linked "
        "active users; the stricter of the two limits applies.")
    adopt_existing: bool = setting(
        False, "Take over Genesys Cloud users the sync did not create when their e-mail is a "
        "CIC user's business e-mail (otherwise: reported as a conflict, left alone; see also "
        "`sync adopt`).")
    max_display_name_length: int = setting(
        255, "Longest display name sent; a longer one is reported on the user and not sent. "
        "Genesys Cloud's own limit is not published (unconfirmed).")
    history_days: int = setting(
        90, "Days the per-user history (`sync status USER_ID --history`) is kept.")
    metrics_textfile: Path | None = setting(
        None, "If set, a node_exporter textfile the sync rewrites after each pass (users by "
        "state, requests, 429 waits, last pass and its outcome, held removals), e.g. "
        "/var/lib/prometheus/node-exporter/cic-sts-sync.prom.")
    interval: int = setting(60, "Seconds between two passes of `sync run`.")
    full_interval: int = setting(
        86400, "Seconds between full passes of `sync run` (its first pass is one too), which "
        "compare with a full listing of Genesys Cloud and so also undo changes made there; "
        "0: never.")


@dataclass(frozen=True)
class MonitoringSettings:
    audit_log: str = setting(
        "-", "Where the audit log goes (one JSON object per line, see docs/operating.md): a file "
        "path (reopened when logrotate moves it), \"-\" for standard output (the journal under "
        "systemd), or \"\" for none.")
    metrics_allowed: list[str] = setting(
        ["127.0.0.0/8", "::1/128"],
        "Client addresses (CIDR) that may read /metrics; [] turns /metrics off. A request that "
        "came through a proxy (X-Forwarded-For or ININ-REMAP-BASE-URL) is always refused.")
    certificate_warning_days: int = setting(
        30, "Days before the SAML signing or TLS certificate expires from which serve --check, "
        "/readyz and genesys-settings warn.")


SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "idp": IdpSettings,
    "directory": DirectorySettings,
    "icws": IcwsSettings,
    "state": StateSettings,
    "launch": LaunchSettings,
    "genesys": GenesysSettings,
    "service_providers": ServiceProviderSettings,
    "proxy": ProxySettings,
    "sync": SyncSettings,
    "monitoring": MonitoringSettings,
}
