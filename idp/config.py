"""The one TOML configuration file: a registry of settings, validated before anything starts.

Every setting has a section, a name, a type, a default and a help text; the README documents each
one (a test checks). Unknown keys and bad values raise `ConfigError` naming ``section.key``.
Secrets are never literal: they are ``{env = "NAME"}`` or ``{file = "path"}``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

from idp.addresses import is_ip
from idp.errors import ConfigError
from idp.genesys.regions import region_domain

DEFAULT_CONFIG = "cic-sts.toml"
CONFIG_ENV = "CIC_STS_CONFIG"


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
    threads: int = setting(4, "Threads per worker (gthread workers keep HTTPS connections alive).")
    public_base_url: str = setting(
        "", "Base URL browsers use when no proxy sets ININ-REMAP-BASE-URL. "
        "Default: https://<first machine name>:<port>.")
    trusted_proxies: list[str] = setting(
        ["127.0.0.0/8", "::1/128"],
        "Addresses (CIDR) whose ININ-REMAP-BASE-URL header is honoured.")
    remap_allowed_bases: list[str] = setting(
        [], "If not empty, the only ININ-REMAP-BASE-URL values accepted. "
        "Default: server.public_base_url when that is set.")
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


@dataclass(frozen=True)
class DirectorySettings:
    database: Path = setting(Path("cic-users.db"), "SQLite file of the local user directory.")
    backend: str = setting(
        "local", "Who checks user IDs and passwords: local (the local directory) or icws "
        "(CIC itself, over ICWS; see [icws]).")


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


@dataclass(frozen=True)
class ServiceProviderSettings:
    metadata: Path = setting(Path(), "SAML metadata file of the SP.")
    organization_name: str = setting("", "Optional OrganizationName attribute for this SP.")


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


@dataclass(frozen=True)
class SyncSettings:
    source: str = setting(
        "directory", "Where the sync reads CIC users: directory (the local directory, "
        "directory.database), csv (sync.csv_file) or icws (CIC itself, [icws] with a service "
        "account).")
    csv_file: Path = setting(
        Path(), "CSV export of CIC users (the columns of `users import`), for source = csv.")
    state_database: Path = setting(
        Path("cic-sync.db"), "SQLite file of the sync's state (per user: Genesys Cloud id, "
        "status, last synchronized) and request counters.")
    rate_per_minute: int = setting(
        300, "Most requests per minute sent to Genesys Cloud (its limit per OAuth token).")
    concurrency: int = setting(4, "Requests in flight at once.")
    max_retries: int = setting(
        5, "Retries of one request after a 429, a 5xx or a network error, before it fails.")
    request_timeout: int = setting(30, "Seconds to wait for one Genesys Cloud answer.")
    page_size: int = setting(
        100, "Users per page when listing Genesys Cloud users (trimmed with attributes=).")
    default_country: str = setting(
        "", "Region (ISO 3166 code such as US or DE) of phone numbers written without a "
        "country code; empty: such numbers are reported and left out.")
    authority: str = setting(
        "cic-sts", "Authority of the externalIds entry that links a Genesys Cloud user to its "
        "CIC user ID.")
    deactivate_missing: bool = setting(
        True, "Deactivate the Genesys Cloud user of a CIC user that was deleted or lost its "
        "business e-mail.")
    delete_instead_of_deactivate: bool = setting(
        False, "Delete such Genesys Cloud users instead of deactivating them.")
    adopt_existing: bool = setting(
        False, "Take over Genesys Cloud users the sync did not create when their e-mail is a "
        "CIC user's business e-mail (otherwise: reported as a conflict, left alone).")
    interval: int = setting(60, "Seconds between two passes of `sync run`.")


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
}


@dataclass(frozen=True)
class Config:
    path: Path
    server: ServerSettings
    idp: IdpSettings
    directory: DirectorySettings
    state: StateSettings
    launch: LaunchSettings
    genesys: GenesysSettings | None
    service_providers: list[ServiceProviderSettings]
    proxy: ProxySettings = field(default_factory=ProxySettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    icws: IcwsSettings = field(default_factory=IcwsSettings)

    @property
    def public_host(self) -> str:
        return self.server.machine_names[0]

    @property
    def public_base_url(self) -> str:
        if self.server.public_base_url:
            return self.server.public_base_url.rstrip("/")
        host = self.public_host
        if ":" in host:  # an IPv6 literal
            host = f"[{host}]"
        return f"https://{host}:{self.server.port}"

    @property
    def entity_id(self) -> str:
        return self.idp.entity_id or f"https://{self.public_host}"

    @property
    def genesys_login_base(self) -> str:
        assert self.genesys is not None
        if self.genesys.login_base_url:
            return self.genesys.login_base_url.rstrip("/")
        return f"https://login.{region_domain(self.genesys.region)}"

    @property
    def genesys_api_base(self) -> str:
        assert self.genesys is not None
        if self.genesys.api_base_url:
            return self.genesys.api_base_url.rstrip("/")
        return f"https://api.{region_domain(self.genesys.region)}"


def documented_settings() -> list[tuple[str, str, str]]:
    """(``section.key``, default, help) for every setting, for the README and its test."""
    rows = []
    for section, cls in SECTIONS.items():
        for f in fields(cls):
            factory = f.default_factory
            default = factory() if callable(factory) else f.default
            rows.append((f"{section}.{f.name}", repr(default), f.metadata["help"]))
    return rows


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the configuration file; raise `ConfigError` naming the first bad key."""
    file = config_path(path).resolve()
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no configuration file (create one with `cic-sts init`)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return parse_config(raw, file)


def parse_config(raw: dict[str, Any], file: Path) -> Config:
    base = file.parent
    for name in raw:
        if name not in SECTIONS:
            raise ConfigError(f"{name}: unknown section (known: {', '.join(SECTIONS)})")
    sps = raw.get("service_providers", [])
    if not isinstance(sps, list):
        raise ConfigError("service_providers: must be an array of tables ([[service_providers]])")
    config = Config(
        path=file,
        server=_section(ServerSettings, "server", raw.get("server", {}), base),
        idp=_section(IdpSettings, "idp", raw.get("idp", {}), base),
        directory=_section(DirectorySettings, "directory", raw.get("directory", {}), base),
        state=_section(StateSettings, "state", raw.get("state", {}), base),
        launch=_section(LaunchSettings, "launch", raw.get("launch", {}), base),
        genesys=(_section(GenesysSettings, "genesys", raw["genesys"], base)
                 if "genesys" in raw else None),
        service_providers=[
            _section(ServiceProviderSettings, f"service_providers[{i}]", sp, base)
            for i, sp in enumerate(sps)
        ],
        proxy=_section(ProxySettings, "proxy", raw.get("proxy", {}), base),
        sync=_section(SyncSettings, "sync", raw.get("sync", {}), base),
        icws=_section(IcwsSettings, "icws", raw.get("icws", {}), base),
    )
    if not config.server.machine_names:
        config = _replace(config, server=_with(config.server, machine_names=[socket.getfqdn()]))
    _check(config)
    return config


def _replace(config: Config, **changes: Any) -> Config:
    return Config(**{**{f.name: getattr(config, f.name) for f in fields(Config)}, **changes})


def _with(section: Any, **changes: Any) -> Any:
    current = {f.name: getattr(section, f.name) for f in fields(section)}
    return type(section)(**{**current, **changes})


def _section(cls: type, name: str, table: Any, base: Path) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{name}: must be a table ([{name}])")
    known = get_type_hints(cls)
    values = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{name}.{key}: unknown setting (known: {', '.join(known)})")
        values[key] = _coerce(f"{name}.{key}", known[key], value, base)
    for f in fields(cls):  # relative default paths are relative to the file, like set ones
        if f.name not in values and isinstance(f.default, Path) and str(f.default) != ".":
            values[f.name] = (base / f.default).resolve()
        elif f.name not in values and isinstance(f.default, Secret) and f.default.file:
            values[f.name] = Secret(file=(base / f.default.file).resolve())
    return cls(**values)


def _coerce(key: str, annotation: Any, value: Any, base: Path) -> Any:
    kind = annotation
    if get_origin(kind) is not None and type(None) in get_args(kind):  # Optional[X]
        kind = next(a for a in get_args(kind) if a is not type(None))
    if kind is Secret:
        return _secret(key, value, base)
    if kind is bool:
        if not isinstance(value, bool):
            hint = " (remove the quotes)" if value in ("true", "false") else ""
            raise ConfigError(f"{key}: expected true or false, got {value!r}{hint}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            hint = " (remove the quotes)" if isinstance(value, str) and value.isdigit() else ""
            raise ConfigError(f"{key}: expected a whole number, got {value!r}{hint}")
        if value < 0:
            raise ConfigError(f"{key}: must not be negative, got {value}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if kind is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key}: expected a file path string, got {value!r}")
        return (base / value).resolve()
    if get_origin(kind) is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return list(value)
    raise AssertionError(f"no coercion for {kind}")  # a programming error, not a user's


def _secret(key: str, value: Any, base: Path) -> Secret:
    if isinstance(value, dict) and len(value) == 1:
        if isinstance(value.get("env"), str):
            return Secret(env=value["env"])
        if isinstance(value.get("file"), str):
            return Secret(file=(base / value["file"]).resolve())
    raise ConfigError(
        f"{key}: a secret is read from the environment or a file, never written in the "
        f"configuration: use {{ env = \"VARIABLE\" }} or {{ file = \"path\" }}")


Level = Literal["debug", "info", "warning", "error"]


def _check(config: Config) -> None:
    """Cross-field and value checks that need more than a type."""
    server, idp = config.server, config.idp
    if not 1 <= server.port <= 65535:
        raise ConfigError(f"server.port: must be 1-65535, got {server.port}")
    if server.workers < 1 or server.threads < 1:
        raise ConfigError("server.workers / server.threads: must be at least 1")
    if server.log_level not in get_args(Level):
        raise ConfigError(f"server.log_level: one of {', '.join(get_args(Level))}, "
                          f"got {server.log_level!r}")
    for name in server.machine_names:
        if not name or any(c in name for c in " /:@?#") and not is_ip(name):
            raise ConfigError(f"server.machine_names: {name!r} is not a host name or IP address")
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
    for key in ("session_lifetime", "assertion_lifetime"):
        if getattr(idp, key) < 1:
            raise ConfigError(f"idp.{key}: must be at least 1 second")
    if not 1024 <= idp.max_message_bytes <= 10 * 1024 * 1024:
        raise ConfigError("idp.max_message_bytes: must be between 1024 and 10485760")
    if config.state.backend not in ("cookie", "redis"):
        raise ConfigError(f"state.backend: cookie or redis, got {config.state.backend!r}")
    if config.state.backend == "redis" and not config.state.redis_url.startswith(
            ("redis://", "rediss://", "unix://")):
        raise ConfigError("state.redis_url: must start with redis://, rediss:// or unix://")
    for key in ("max_failed_logons", "failed_logon_window"):
        if getattr(config.state, key) < 1:
            raise ConfigError(f"state.{key}: must be at least 1")
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
    _check_sync(config.sync)
    _check_icws(config)


def _check_sync(sync: SyncSettings) -> None:
    if sync.source not in ("directory", "csv", "icws"):
        raise ConfigError(f"sync.source: directory, csv or icws, got {sync.source!r}")
    if sync.source == "csv" and str(sync.csv_file) == ".":
        raise ConfigError("sync.csv_file: required when sync.source = \"csv\"")
    for key, low, high in (("rate_per_minute", 1, 1_000_000), ("concurrency", 1, 64),
                           ("max_retries", 0, 20), ("request_timeout", 1, 600),
                           ("page_size", 1, 1000), ("interval", 1, 86400)):
        if not low <= getattr(sync, key) <= high:
            raise ConfigError(f"sync.{key}: must be {low}-{high}, got {getattr(sync, key)}")
    if sync.default_country:
        import phonenumbers  # here, not at the top: only the sync needs it

        if sync.default_country.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(f"sync.default_country: {sync.default_country!r} is not a region "
                              "code with a phone numbering plan (such as US, GB or DE)")
    if not sync.authority.strip():
        raise ConfigError("sync.authority: must not be empty")


def _check_icws(config: Config) -> None:
    from idp.cic.hosts import DEFAULT_PORTS, parse_server

    icws = config.icws
    if config.directory.backend not in ("local", "icws"):
        raise ConfigError(f"directory.backend: local or icws, got {config.directory.backend!r}")
    if config.directory.backend == "icws" and not icws.servers:
        raise ConfigError("icws.servers: required when directory.backend = \"icws\" "
                          "(for example [\"cic1.example.com\", \"cic2.example.com\"])")
    if config.sync.source == "icws" and not (icws.servers and icws.service_user):
        raise ConfigError("icws.servers / icws.service_user: required when sync.source = "
                          "\"icws\": the sync reads CIC users with a service account")
    if icws.scheme not in DEFAULT_PORTS:
        raise ConfigError(f"icws.scheme: https or http, got {icws.scheme!r}")
    if icws.scheme == "http" and not icws.allow_plain_http:
        raise ConfigError("icws.scheme = \"http\" sends CIC passwords unencrypted: use https, "
                          "or set icws.allow_plain_http = true to accept that")
    if icws.port > 65535:
        raise ConfigError(f"icws.port: must be 1-65535 (or 0 for the default), got {icws.port}")
    for text in icws.servers:
        try:
            parse_server(text, icws.port or DEFAULT_PORTS[icws.scheme])
        except ValueError as exc:
            raise ConfigError(f"icws.servers: {exc}") from None
    if icws.timeout < 1 or icws.failover_timeout < icws.timeout:
        raise ConfigError("icws.timeout / icws.failover_timeout: timeout must be at least 1 "
                          "second and failover_timeout at least timeout")
    if bool(icws.service_user) != (icws.service_password is not None):
        raise ConfigError("icws.service_user / icws.service_password: set both or neither")
    for key in ("application_name", "language", "auth_token_type", "auth_token_field"):
        if not getattr(icws, key).strip():
            raise ConfigError(f"icws.{key}: must not be empty")




def base_url_problem(url: str) -> str | None:
    """Why `url` is not an absolute http(s) base URL without credentials, query or fragment."""
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url) or any(c in url for c in "\"'<>\\`{}|^"):
        return "contains spaces, quotes or control characters"
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
    return None
