"""Every input of the proxy generator, validated before anything is rendered.

Values come from `server.public_base_url` (the public base the STS already knows), from the
`[proxy]` section of the configuration file and from command-line options, each overriding the
one before. Every value keeps the name it was given under, so an error names the option or key
to fix.

The templates render with autoescaping off, so whatever reaches them must be safe as a bare
Nginx token: host names and IP addresses, port numbers, path segments of ``[A-Za-z0-9._~-]``,
and file paths of a similarly small alphabet. Nothing typed can end a directive (``;``), open or
close a block (``{`` ``}``), start a comment (``#``), quote, expand a variable (``$``) or start
a new line.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, cast, get_args
from urllib.parse import urlsplit

from cryptography import x509

from idp.addresses import is_ip
from idp.config import Config, ProxySettings
from idp.errors import ProxyConfigError
from idp.saml.metadata import SSO_PATH

Stickiness = Literal["ip_hash", "sticky-cookie", "none"]
STS_PORT = 8043
DEFAULT_FRIENDLY_PATH = "PureConnect"
MAX_SERVERS = 8

#: Input name -> the command-line option that sets it.
OPTIONS: dict[str, str] = {
    "servers": "--server",
    "public_host": "--public-host",
    "public_port": "--public-port",
    "friendly_path": "--friendly-path",
    "listen_address": "--listen-address",
    "tls_certificate": "--tls-cert",
    "tls_key": "--tls-key",
    "certificates_on_target": "--cert-on-target",
    "stickiness": "--stickiness",
    "upstream_ca": "--upstream-ca",
    "upstream_name": "--upstream-name",
    "verify_upstream": "--no-verify-upstream",
    "redirect_http": "--redirect-http",
    "log_dir": "--log-dir",
    "outer_proxies": "--outer-proxy",
}

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")
_PATH = re.compile(r"[A-Za-z0-9._~/+@=,:-]+")
_NAMED = {" ": "a space", "\t": "a tab", "\n": "a line break", "\r": "a line break",
          '"': "a double quote", "'": "a single quote", "`": "a backquote",
          "{": "a brace", "}": "a brace", ";": "a semicolon", "$": "a dollar sign",
          "#": "a hash sign", "\\": "a backslash"}


@dataclass(frozen=True)
class Given:
    """A raw value and where it came from: an option (``--server``) or a key
    (``proxy.servers``). Relative file paths are relative to `base`."""

    value: Any
    source: str
    base: Path


@dataclass(frozen=True)
class Upstream:
    host: str  # a host name, or an IP address without brackets
    port: int

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ProxyInputs:
    """Validated inputs; every string is safe to write into an Nginx configuration as is."""

    servers: tuple[Upstream, ...]
    public_host: str
    tls_certificate: str
    tls_key: str
    public_port: int = 443
    friendly_path: str = DEFAULT_FRIENDLY_PATH  # "" publishes the STS at /
    listen_address: str | None = None
    certificates_on_target: bool = False
    stickiness: Stickiness = "ip_hash"
    upstream_ca: str | None = None
    upstream_name: str | None = None
    redirect_http: bool = False
    log_dir: str = "/var/log/nginx"
    #: Not an option (browsers type plain-HTTP addresses without a port); `check` moves it.
    redirect_port: int = 80
    #: Networks of an outer proxy whose ININ-REMAP-BASE-URL is passed on (CIDR, normalized).
    outer_proxies: tuple[str, ...] = ()

    @property
    def server_name(self) -> str:
        """The public host as nginx's server_name matches it: an IPv6 address in brackets, as
        browsers send it in the Host header (nginx never matches a bare ``::1``)."""
        return f"[{self.public_host}]" if ":" in self.public_host else self.public_host

    @property
    def listen_hosts(self) -> tuple[str | None, ...]:
        """Where nginx listens: the listen address; else every IPv4 address (None) and, when
        browsers reach the proxy by an IPv6 address, every IPv6 address (``::``) as well."""
        if self.listen_address is not None:
            return (self.listen_address,)
        return (None, "::") if ":" in self.public_host else (None,)

    @property
    def public_origin(self) -> str:
        host = f"[{self.public_host}]" if ":" in self.public_host else self.public_host
        return f"https://{host}" if self.public_port == 443 else f"https://{host}:{self.public_port}"

    @property
    def public_base_url(self) -> str:
        return self.public_origin + (f"/{self.friendly_path}" if self.friendly_path else "")

    @property
    def target_url(self) -> str:
        """Genesys Cloud's "Target URL"."""
        return self.public_base_url + SSO_PATH

    @property
    def issuer(self) -> str:
        """Genesys Cloud's "Provider's Issuer URI": the seed's choice, https://<public host>."""
        host = f"[{self.public_host}]" if ":" in self.public_host else self.public_host
        return f"https://{host}"


@dataclass(frozen=True)
class Validated:
    inputs: ProxyInputs
    warnings: list[str]


# -- where values come from ----------------------------------------------------------------------


def from_options(values: Mapping[str, Any], cwd: Path) -> dict[str, Given]:
    """Command-line values; None (or an empty tuple) means the option was not given."""
    given = {}
    for key, value in values.items():
        if key not in OPTIONS:
            raise AssertionError(f"no option for {key}")  # a programming error
        if value is not None and value != ():
            given[key] = Given(value, OPTIONS[key], cwd)
    return given


def from_settings(values: Mapping[str, Any], base: Path,
                  section: str = "proxy") -> dict[str, Given]:
    """A `[proxy]` table, raw from TOML (test corpus) or as `ProxySettings`' fields; values
    equal to the setting's default count as not given."""
    defaults = ProxySettings()
    known = {f.name for f in fields(ProxySettings)}
    given = {}
    for key, value in values.items():
        if key not in known:
            raise ProxyConfigError(f"{section}.{key}: unknown setting "
                                   f"(known: {', '.join(sorted(known))})")
        if value != getattr(defaults, key):
            given[key] = Given(value, f"{section}.{key}", base)
    return given


def from_config(config: Config) -> dict[str, Given]:
    """What a configuration file contributes: its public base, then its `[proxy]` section."""
    settings = {f.name: getattr(config.proxy, f.name) for f in fields(ProxySettings)}
    return {**from_public_base(config.server.public_base_url, config.path.parent),
            **from_settings(settings, config.path.parent)}


def from_public_base(url: str, base: Path) -> dict[str, Given]:
    """Public host, port and friendly path from `server.public_base_url`, when it is set."""
    if not url:
        return {}
    parts = urlsplit(url.rstrip("/"))
    source = "server.public_base_url"
    given = {"public_host": Given(parts.hostname or "", source, base),
             "friendly_path": Given(parts.path.strip("/"), source, base)}
    if parts.scheme == "https":
        given["public_port"] = Given(parts.port or 443, source, base)
    return given


# -- validation ----------------------------------------------------------------------------------


def validate(given: Mapping[str, Given]) -> Validated:
    """Check every input; raise `ProxyConfigError` naming the first bad one."""
    return _Validator(given).run()


class _Validator:
    def __init__(self, given: Mapping[str, Given]) -> None:
        self.given = given
        self.warnings: list[str] = []

    def run(self) -> Validated:
        # In the order of the options, so that the first error is the first a user would fix.
        on_target = self._bool("certificates_on_target")
        servers = self._servers()
        public_host = self._public_host()
        public_port = self._port_of("public_port", 443)
        friendly = self._friendly_path()
        listen_address = self._listen_address()
        certificate = self._file("tls_certificate", "certificate", on_target, required=True)
        key = self._file("tls_key", "private key", on_target, required=True)
        assert certificate is not None and key is not None
        if Path(certificate).is_file():
            self.warnings += certificate_warnings(Path(certificate), public_host,
                                                  self._source("tls_certificate"))
        stickiness = self._stickiness()
        ca, name = self._upstream_verification(on_target)
        redirect_http = self._bool("redirect_http")
        if redirect_http and public_port == 80:
            raise ProxyConfigError(f"{self._source('redirect_http')}: the public port is already "
                                   "80; the redirect listens on 80 and sends browsers to HTTPS")
        inputs = ProxyInputs(
            servers=servers,
            public_host=public_host,
            public_port=public_port,
            friendly_path=friendly,
            listen_address=listen_address,
            tls_certificate=certificate,
            tls_key=key,
            certificates_on_target=on_target,
            stickiness=stickiness,
            upstream_ca=ca,
            upstream_name=name,
            redirect_http=redirect_http,
            log_dir=self._log_dir(),
            outer_proxies=self._outer_proxies(),
        )
        return Validated(inputs, self.warnings)

    # - helpers

    def _source(self, key: str) -> str:
        given = self.given.get(key)
        return given.source if given is not None else OPTIONS[key]

    def _sibling(self, key: str, like: Given) -> str:
        """How the user names `key` where they named `like`: an option or a setting."""
        if like.source.startswith("--"):
            return OPTIONS[key]
        return f"{like.source.rsplit('.', 1)[0]}.{key}"

    def _str(self, key: str) -> str | None:
        given = self.given.get(key)
        if given is None or given.value is None:
            return None
        if not isinstance(given.value, str):
            raise ProxyConfigError(f"{given.source}: expected a string, got {given.value!r}")
        return given.value

    def _bool(self, key: str) -> bool:
        given = self.given.get(key)
        if given is None:
            return False
        if not isinstance(given.value, bool):
            raise ProxyConfigError(f"{given.source}: expected true or false, "
                                   f"got {given.value!r}")
        return given.value

    def _port_of(self, key: str, default: int) -> int:
        given = self.given.get(key)
        if given is None:
            return default
        return port(given.value, given.source)

    # - each input

    def _servers(self) -> tuple[Upstream, ...]:
        given = self.given.get("servers")
        if given is None or not given.value:
            raise ProxyConfigError(f"{OPTIONS['servers']}: the STS servers of the switchover "
                                   "pair are required (repeat the option, or set proxy.servers)")
        values = given.value
        if isinstance(values, str) or not isinstance(values, list | tuple):
            raise ProxyConfigError(f"{given.source}: expected a list of servers, got {values!r}")
        if len(values) > MAX_SERVERS:
            raise ProxyConfigError(f"{given.source}: at most {MAX_SERVERS} servers")
        servers: list[Upstream] = []
        for value in values:
            if not isinstance(value, str):
                raise ProxyConfigError(f"{given.source}: expected host[:port], got {value!r}")
            server = upstream(value, given.source)
            if server in servers:
                raise ProxyConfigError(f"{given.source}: {server.address} is listed twice")
            servers.append(server)
        if len(servers) == 1:
            self.warnings.append(f"{given.source}: only one server: nothing to switch over to "
                                 "when it stops answering")
        elif len(servers) > 2:
            self.warnings.append(f"{given.source}: {len(servers)} servers; a CIC switchover "
                                 "pair has two")
        return tuple(servers)

    def _public_host(self) -> str:
        given = self.given.get("public_host")
        if given is None or given.value in ("", None):
            raise ProxyConfigError(
                f"{OPTIONS['public_host']}: required: the host name browsers use for the proxy "
                "(or set proxy.public_host, or server.public_base_url)")
        if not isinstance(given.value, str):
            raise ProxyConfigError(f"{given.source}: expected a host name, got {given.value!r}")
        return host(given.value, given.source)

    def _outer_proxies(self) -> tuple[str, ...]:
        given = self.given.get("outer_proxies")
        if given is None or not given.value:
            return ()
        values = given.value
        if isinstance(values, str) or not isinstance(values, list | tuple):
            raise ProxyConfigError(f"{given.source}: expected a list of addresses, got "
                                   f"{values!r}")
        networks = []
        for value in values:
            bad = _first_bad(str(value), re.compile(r"[0-9A-Fa-f.:/]"))
            try:
                if bad is not None:
                    raise ValueError(describe(bad))
                networks.append(str(ipaddress.ip_network(str(value), strict=False)))
            except ValueError:
                raise ProxyConfigError(f"{given.source}: {value!r} is not an address or CIDR "
                                       "network") from None
        return tuple(dict.fromkeys(networks))

    def _listen_address(self) -> str | None:
        text = self._str("listen_address")
        if not text:
            return None
        bad = _first_bad(text, re.compile(r"[0-9A-Za-z.:\[\]]"))
        if bad is not None:
            raise ProxyConfigError(f"{self._source('listen_address')}: {text!r} is not an IP "
                                   f"address (it contains {describe(bad)})")
        try:
            return ipaddress.ip_address(text.strip("[]")).compressed
        except ValueError:
            raise ProxyConfigError(f"{self._source('listen_address')}: {text!r} is not an IP "
                                   "address") from None

    def _friendly_path(self) -> str:
        text = self._str("friendly_path")
        if text is None:
            return DEFAULT_FRIENDLY_PATH
        return friendly_path(text, self._source("friendly_path"))

    def _stickiness(self) -> Stickiness:
        text = self._str("stickiness")
        if text is None:
            return "ip_hash"
        choices = get_args(Stickiness)
        if text not in choices:
            raise ProxyConfigError(f"{self._source('stickiness')}: one of "
                                   f"{', '.join(choices)}, got {text!r}")
        return cast(Stickiness, text)

    def _log_dir(self) -> str:
        text = self._str("log_dir")
        if text is None:
            return "/var/log/nginx"
        source = self._source("log_dir")
        if not text.startswith("/"):
            raise ProxyConfigError(f"{source}: {text!r}: give an absolute path (a folder on the "
                                   "proxy machine)")
        return safe_path(os.path.normpath(text), source)

    def _file(self, key: str, kind: str, on_target: bool, required: bool) -> str | None:
        given = self.given.get(key)
        if given is None or given.value in ("", None):
            if required:
                raise ProxyConfigError(f"{OPTIONS[key]}: required: the {kind} file "
                                       f"(or set proxy.{key})")
            return None
        if not isinstance(given.value, str | Path):
            raise ProxyConfigError(f"{given.source}: expected a file path, got {given.value!r}")
        text = safe_path(str(given.value), given.source)
        if not text.startswith("/"):
            if on_target:
                raise ProxyConfigError(
                    f"{given.source}: {text!r}: with the files on the proxy machine "
                    f"({self._sibling('certificates_on_target', given)}), give their absolute "
                    "path there")
            text = safe_path(os.path.normpath(given.base / text), given.source)
        path = Path(text)
        if path.is_file():
            check_pem(path, kind, given.source)
        elif path.exists():
            raise ProxyConfigError(f"{given.source}: {text} is not a file")
        elif on_target:
            self.warnings.append(f"{given.source}: {text} is not on this machine; it must exist "
                                 "on the proxy machine")
        else:
            raise ProxyConfigError(
                f"{given.source}: {text}: no such file (if it is a path on the proxy machine, "
                f"add {self._sibling('certificates_on_target', given)})")
        return text

    def _upstream_verification(self, on_target: bool) -> tuple[str | None, str | None]:
        ca_given = self.given.get("upstream_ca")
        name_given = self.given.get("upstream_name")
        off = self.given.get("verify_upstream")
        has_ca = ca_given is not None and ca_given.value not in ("", None)
        has_name = name_given is not None and name_given.value not in ("", None)
        not_verified = ("the STS servers' certificates are not verified: anything that answers "
                        "on their addresses would receive the users' passwords")
        if off is not None and off.value is False:
            if has_ca and ca_given is not None and ca_given.source.startswith("--"):
                raise ProxyConfigError(f"{off.source} contradicts {ca_given.source}: choose one")
            self.warnings.append(f"{off.source}: {not_verified}")
            return None, None
        if not has_ca:
            if has_name and name_given is not None:
                raise ProxyConfigError(
                    f"{name_given.source}: only used together with "
                    f"{self._sibling('upstream_ca', name_given)} (the CA to verify the STS "
                    "servers' certificates with)")
            self.warnings.append(f"{not_verified} (give {OPTIONS['upstream_ca']} FILE "
                                 f"{OPTIONS['upstream_name']} NAME)")
            return None, None
        assert ca_given is not None
        ca = self._file("upstream_ca", "certificate", on_target, required=False)
        if not has_name or name_given is None:
            raise ProxyConfigError(
                f"{ca_given.source}: needs {self._sibling('upstream_name', ca_given)} too: the "
                "host name both STS servers' certificates carry, which nginx checks")
        if not isinstance(name_given.value, str):
            raise ProxyConfigError(f"{name_given.source}: expected a host name")
        name = host(name_given.value, name_given.source)
        if ":" in name or is_ip(name):
            raise ProxyConfigError(f"{name_given.source}: {name!r}: nginx checks a host name "
                                   "(a DNS name in the certificates), not an IP address")
        return ca, name


# -- single values -------------------------------------------------------------------------------


def describe(char: str) -> str:
    return _NAMED.get(char, repr(char))


def _first_bad(text: str, allowed: re.Pattern[str]) -> str | None:
    return next((c for c in text if not allowed.fullmatch(c)), None)




def host(text: str, source: str) -> str:
    """A host name (lower-cased) or an IP address (IPv6 without brackets)."""
    if not text:
        raise ProxyConfigError(f"{source}: empty host name")
    bad = _first_bad(text, re.compile(r"[A-Za-z0-9.:\[\]-]"))
    if bad is not None:
        raise ProxyConfigError(f"{source}: {text!r} is not a host name or IP address "
                               f"(it contains {describe(bad)})")
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        return ipaddress.ip_address(inner).compressed
    except ValueError:
        pass
    labels = text.split(".")
    if all(label.isdigit() for label in labels if label) or ":" in text:
        raise ProxyConfigError(f"{source}: {text!r} is not a valid IP address")
    if len(text) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ProxyConfigError(f"{source}: {text!r} is not a valid host name (labels of letters, "
                               "digits and inner hyphens, separated by dots)")
    return text.lower()


def port(value: Any, source: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProxyConfigError(f"{source}: expected a port number, got {value!r}")
    if not 1 <= value <= 65535:
        raise ProxyConfigError(f"{source}: port {value} is out of range (1-65535)")
    return value


def upstream(text: str, source: str) -> Upstream:
    """``host``, ``host:port``, ``[IPv6]:port`` or a bare IPv6 address; port 8043 by default."""
    match = re.fullmatch(r"\[([^\]]*)\](?::(.*))?", text)
    if match:
        name, port_text = f"[{match.group(1)}]", match.group(2)
    elif text.count(":") == 1:
        name, port_text = text.split(":")
    else:
        name, port_text = text, None
    if port_text is None:
        number = STS_PORT
    elif port_text.isdigit():
        number = port(int(port_text), f"{source} ({text})")
    else:
        raise ProxyConfigError(f"{source}: {text!r}: the port after ':' must be a number")
    return Upstream(host(name, source), number)


def friendly_path(text: str, source: str) -> str:
    """Segments of ``[A-Za-z0-9._~-]`` separated by '/'; one leading and trailing '/' dropped."""
    path = text.removeprefix("/").removesuffix("/")
    if not path:
        return ""
    if len(path) > 200:
        raise ProxyConfigError(f"{source}: longer than 200 characters")
    for segment in path.split("/"):
        if not segment:
            raise ProxyConfigError(f"{source}: {text!r} has an empty segment ('//')")
        if segment in (".", ".."):
            raise ProxyConfigError(f"{source}: {text!r}: '.' and '..' segments are not allowed")
        bad = _first_bad(segment, _SEGMENT)
        if bad is not None:
            raise ProxyConfigError(f"{source}: {text!r}: only letters, digits and . _ ~ - are "
                                   f"allowed in the friendly path, not {describe(bad)}")
    return path


def safe_path(text: str, source: str) -> str:
    if not text:
        raise ProxyConfigError(f"{source}: empty path")
    bad = _first_bad(text, _PATH)
    if bad is not None:
        raise ProxyConfigError(f"{source}: {text!r}: a path in the nginx configuration may only "
                               f"contain letters, digits and . _ ~ / + @ = , : -, "
                               f"not {describe(bad)}")
    if ".." in text.split("/"):
        raise ProxyConfigError(f"{source}: {text!r}: '..' is not allowed")
    return text


def check_pem(path: Path, kind: str, source: str) -> None:
    try:
        data = path.read_bytes()[:1_000_000]
    except OSError as exc:
        raise ProxyConfigError(f"{source}: cannot read {path}: {exc.strerror}") from None
    if kind == "private key":
        if not re.search(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----", data):
            raise ProxyConfigError(f"{source}: {path} is not a PEM private key")
    elif b"-----BEGIN CERTIFICATE-----" not in data:
        raise ProxyConfigError(f"{source}: {path} is not a PEM certificate (nginx needs PEM; "
                               "convert DER with `openssl x509 -inform der -in FILE`)")


def certificate_warnings(path: Path, public_host: str, source: str) -> list[str]:
    """Warnings for a browser-facing certificate that will not satisfy browsers."""
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (ValueError, OSError) as exc:
        return [f"{source}: {path}: cannot read the certificate ({exc})"]
    warnings = []
    if certificate.not_valid_after_utc < dt.datetime.now(dt.UTC):
        warnings.append(f"{source}: {path} expired on {certificate.not_valid_after_utc:%Y-%m-%d}")
    try:
        names = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value
        dns = [n.lower() for n in names.get_values_for_type(x509.DNSName)]
        ips = [str(ip) for ip in names.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        dns, ips = [], []
    if is_ip(public_host):
        covered = ipaddress.ip_address(public_host).compressed in ips
    else:
        covered = any(_dns_match(pattern, public_host) for pattern in dns)
    if not covered:
        warnings.append(f"{source}: {path} does not name {public_host} (it names "
                        f"{', '.join(dns + ips) or 'nothing'}); browsers will refuse it")
    return warnings


def _dns_match(pattern: str, name: str) -> bool:
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


# -- agreement with the STS ----------------------------------------------------------------------


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
