"""The settings registry: one frozen dataclass per section of the TOML file.

Each field is a setting with its default, its help text and, where it has them, its choices or
its range (`setting`); loading enforces those generically (`idp.config.loading`), and
docs/settings.md is generated from them (`idp.config.reference`; a test keeps the committed copy
equal). Rules that join several settings live in `idp.config.checks`. Secrets are `Secret`s:
where a value is read from, never the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from idp.config.registry import Secret, setting
from idp.config.sync_section import SyncSettings

__all__ = ["SECTIONS", "BrandingSettings", "DirectorySettings", "GenesysSettings",
           "IcwsSettings", "IdpSettings", "LaunchSettings", "MonitoringSettings", "ProxySettings",
           "Secret", "ServerSettings",
           "ServiceProviderSettings", "StateSettings", "SyncSettings", "setting"]


@dataclass(frozen=True)
class ServerSettings:
    machine_names: list[str] = setting(
        [], "Host names or IP addresses of this STS; the first is used in URLs, all go into the "
        "TLS certificate's subject alternative names. Default: this machine's FQDN.")
    bind: str = setting("0.0.0.0", "Address gunicorn listens on.")
    port: int = setting(8043, "HTTPS port (the proxy's upstream port).", min=1, max=65535)
    workers: int = setting(2, "gunicorn worker processes.", min=1, max=64)
    connections: int = setting(
        1000, "Connections one worker holds at once (idle ones are closed after 30 s).", min=1)
    stop_drain: int = setting(
        3, "Seconds a stopping server (systemctl stop, restart or reload) keeps answering, with "
        "/readyz at 503 and Connection: close on every answer, before it refuses connections, "
        "so that the proxy takes it out first (docs/proxy.md). Keep it above the generated "
        "proxy's idle-connection timeout (2 s). 0: refuse connections at once.", min=0, max=30)
    threads: int = setting(
        0, "Ignored since the workers use gevent (see server.connections); accepted so that "
        "older configuration files still load, with a warning.")
    public_base_url: str = setting(
        "", "Base URL browsers use when no proxy sets ININ-REMAP-BASE-URL; behind a proxy set it "
        "to the public base (for example https://appserver.xyzcorp.com/PureConnect) so "
        "`genesys-settings` prints the public Target URL. Default: https://<first machine "
        "name>:<port>.")
    trusted_proxies: list[str] = setting(
        ["127.0.0.0/8", "::1/128"],
        "Addresses (CIDR) whose ININ-REMAP-BASE-URL header is honoured.")
    remap_allowed_bases: list[str] = setting(
        [], "ININ-REMAP-BASE-URL values accepted besides server.public_base_url (which always "
        "is); `init` writes this STS's own base. When neither is set, any clean value from a "
        "trusted proxy is accepted, with a warning at start.")
    tls_certificate: Path = setting(Path("certs/tls.crt"), "TLS certificate for port 8043 (PEM).")
    tls_key: Path = setting(Path("certs/tls.key"), "TLS private key for port 8043 (PEM).")
    log_level: str = setting("info", "Log level.",
                             choices=("debug", "info", "warning", "error"))


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
        28800, "Seconds a logged-on user is not asked for the password again (default 8 hours).",
        min=1)
    assertion_lifetime: int = setting(300, "Seconds an assertion stays valid after it is issued.",
                                      min=1)
    clock_skew: int = setting(30, "Seconds NotBefore is set in the past, for SPs with slow clocks.")
    max_message_bytes: int = setting(
        65536, "Largest SAML request accepted, after base64 decoding and inflating.",
        min=1024, max=10 * 1024 * 1024)
    request_max_age: int = setting(
        300, "Seconds after its IssueInstant a request from an SP is still accepted; a signed "
        "one is accepted once within that time.", min=1, max=3600)
    request_clock_skew: int = setting(
        180, "Seconds an SP's clock may differ from this server's when the IssueInstant of its "
        "requests is checked (saml2int asks for 3 to 5 minutes).", min=0, max=900)
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
        "(CIC itself, over ICWS; see [icws]).", choices=("local", "icws"))
    password_min_length: int = setting(
        12, "Shortest password `users add`, `users set-password` and `users import` accept "
        "for the local directory; also refused: the user ID itself and common passwords (see "
        "docs/operating.md). Checked when a password is set, never at logon.", min=1)
    password_denied: list[str] = setting(
        [], "Passwords refused besides the built-in list of common ones (compared ignoring "
        "letter case and trailing digits or punctuation), e.g. the company's name.")
    argon2_memory_kib: int = setting(
        19456, "Memory of one argon2id password hash, in KiB (OWASP's recommended 19 MiB). "
        "With argon2_time_cost, at least OWASP's minimum: memory x passes >= 35840 "
        "(7168 x 5, 9216 x 4, 12288 x 3, 19456 x 2, 47104 x 1). Stored hashes made with "
        "other parameters are replaced at the user's next successful logon.", min=7168,
        max=1048576)
    argon2_time_cost: int = setting(2, "Passes of one argon2id hash.", min=1, max=20)
    argon2_parallelism: int = setting(1, "Lanes of one argon2id hash.", min=1, max=16)
    max_concurrent_hashes: int = setting(
        4, "Password hashes one worker computes at once (each holds argon2_memory_kib: 4 x 19 "
        "MiB = 76 MiB per worker by default); further logons wait their turn.", min=1, max=64)
    hash_queue_timeout: int = setting(
        5, "Seconds a logon waits for its turn to hash before it is answered 503 (\"too many "
        "logons at once, try again in a moment\").", min=1, max=60)


@dataclass(frozen=True)
class IcwsSettings:
    servers: list[str] = setting(
        [], "The CIC servers (switchover pair) as \"host\" or \"host:port\", tried in this "
        "order; required for directory.backend = \"icws\" and sync.source = \"icws\".")
    scheme: str = setting("https", "http only with icws.allow_plain_http (never across an "
                         "untrusted network: passwords travel in it).",
        choices=("https", "http"))
    allow_plain_http: bool = setting(
        False, "Accept scheme = \"http\", which sends CIC passwords unencrypted. Logged as a "
        "warning at every start; alternateHostList hosts that are not in icws.servers are "
        "then not followed.")
    port: int = setting(0, "Port of servers named without one; 0: 8019 (https) or 8018 (http).",
        max=65535)
    ca_file: Path | None = setting(
        None, "CA certificates (PEM) that CIC's TLS certificate must chain to. "
        "Default: the system's CAs.")
    timeout: int = setting(5, "Seconds one ICWS request may take in all.", min=1)
    failover_timeout: int = setting(
        15, "Seconds one logon may spend trying the servers of the pair in all; a whole logon "
        "ends within failover_timeout + 2 x timeout (25 s by default): keep that below the "
        "proxy's wait for a logon (proxy.logon_timeout, 30 s).")
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
    user_status_properties: list[str] = setting(
        ["statusId", "statusChanged", "loggedIn"], "The userStatusProperties the presence sync "
        "subscribes to (names from the ICWS reference; that CIC takes them is unconfirmed). "
        "statusChanged orders late events, loggedIn places logged-off agents; a CIC that "
        "refuses them stops the presence sync with a message naming this setting.")
    password_expired_error_ids: list[str] = setting(
        ["error.request.connection.passwordExpired",
         "error.request.connection.passwordChangeRequired"],
        "errorIds with which CIC refuses the logon of a user whose password has expired "
        "(unconfirmed: CIC's ids are not public). The logon page then says to change the "
        "password in the PureConnect client. Every refused logon's errorId is logged: put "
        "the one your CIC sends here.")
    account_locked_error_ids: list[str] = setting(
        ["error.request.connection.accountLocked", "error.request.connection.userLocked"],
        "errorIds with which CIC refuses the logon of a locked account (unconfirmed, like "
        "password_expired_error_ids). The logon page then says the account is locked.")
    skill_language_property: str = setting(
        "treatAsLanguage", "Property of a CIC skill (/configuration/skills, a dotted path) "
        "that holds \"Treat as Language\" (unconfirmed: not public); \"\": every skill is a "
        "skill.")


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
        "", "The sync's OAuth client (Genesys Cloud Admin > OAuth, grant type Client Credentials, "
        "a role with directory:user:add, directory:user:edit, and directory:user:delete only if "
        "deletion is configured).")
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
    metadata: Path = setting(Path(), "SAML metadata file of another SP (one "
                             "[[service_providers]] table each).")
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
        "process) or redis (all shared through Redis).", choices=("cookie", "redis"))
    redis_url: str = setting("redis://127.0.0.1:6379/0", "Redis server, for backend = redis.")
    redis_password: Secret | None = setting(None, "Password of the Redis server, if it has one.")
    max_failed_logons: int = setting(
        10, "Failed logons for one user ID within failed_logon_window before further attempts "
        "are refused without checking (five times as many per client address).", min=1)
    failed_logon_window: int = setting(900, "Seconds over which failed logons are counted.", min=1)


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
    """Inputs of `cic-sts proxy nginx` and `cic-sts proxy haproxy`; their command-line options
    override them.

    Validated by `idp.proxy.validate` when the generator runs, not when the STS starts. Paths are
    kept as written (relative ones are relative to this file) because they may name files on
    the proxy machine rather than this one.
    """

    servers: list[str] = setting(
        [], "The STS servers of the switchover pair: host or IP, optional :port (default 8043). "
        "The [proxy] settings are the inputs of `cic-sts proxy nginx` and `cic-sts proxy haproxy`; "
        "their options override them.")
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
    tls_certificate: str = setting(
        "", "Certificate (PEM) the proxy shows browsers; relative to this file unless "
        "certificates_on_target.")
    tls_key: str = setting("", "Its private key (PEM).")
    certificates_on_target: bool = setting(
        False, "The certificate, key and CA paths are on the proxy machine, not this one: a "
        "missing file is a warning instead of an error.")
    stickiness: str = setting(
        "none", "How the proxy keeps a browser on one server: none (round robin; the STS needs "
        "no stickiness, and only with none can nginx fall back to a server it has left out, "
        "see docs/proxy.md), ip_hash (by client address) or sticky-cookie (cookie srv_id for "
        "one hour; with nginx, NGINX Plus only).",
        choices=("ip_hash", "sticky-cookie", "none"))
    upstream_ca: str = setting(
        "", "CA certificate (PEM) the STS servers' certificates are checked against. Empty: "
        "not checked (a warning).")
    upstream_name: str = setting(
        "", "Name both STS servers' certificates carry, checked with upstream_ca.")
    redirect_http: bool = setting(False, "Also listen on port 80 and redirect to HTTPS.")
    log_dir: str = setting("/var/log/nginx", "Folder of nginx's access and error logs (HAProxy "
                           "logs to syslog, /dev/log).")
    outer_proxies: list[str] = setting(
        [], "Addresses (CIDR) of an outer proxy in front of this one whose ININ-REMAP-BASE-URL "
        "is passed on to the STS; from anyone else the header is replaced by the public base.")
    pid_file: str = setting(
        "", "The proxy's pid file. Default: where Debian's unit expects it (/run/nginx.pid, "
        "/run/haproxy.pid). A relative path is under nginx's prefix (-p), for a second nginx "
        "beside the system's.")
    quick_timeout: int = setting(
        3, "Seconds the proxy waits for an STS server's answer to a GET (metadata, health, the "
        "logon page, a logged-on AuthnRequest) before it sends the request to the other "
        "server: what a hung server costs such a request.", min=1, max=60)
    logon_timeout: int = setting(
        30, "Seconds the proxy waits for the answer to a POST (the logon form, which may wait "
        "on CIC): above the STS's ICWS deadline (icws.failover_timeout + 2 x icws.timeout). "
        "A POST that reached a server is never sent to the other one.", min=1, max=600)


@dataclass(frozen=True)
class BrandingSettings:
    logo: Path | None = setting(
        None, "Logo shown at the top of the logon and error pages: an SVG or PNG file of at most "
        "256 KiB, served by the STS itself (/ICNotifierIDP/logo). Checked when the "
        "configuration is loaded: an SVG with scripts, event handlers, embedded HTML or "
        "references outside itself is refused. Default: none (the PureConnect name only).")
    help_url: str = setting(
        "", "An https URL shown as a help link on the logon and error pages (for example the "
        "service desk's page about logging on); it opens in a new tab. Default: no link.")


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
    "branding": BrandingSettings,
}
