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

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import cast, get_args

from idp.errors import ProxyConfigError
from idp.hosts import describe, is_ip
from idp.proxy.certificates import certificate_warnings, check_pem
from idp.proxy.model import (
    DEFAULT_FRIENDLY_PATH,
    LOGON_TIMEOUT,
    MAX_SERVERS,
    OPTIONS,
    QUICK_TIMEOUT,
    Given,
    Proxy,
    ProxyInputs,
    Stickiness,
    Upstream,
    Validated,
)
from idp.proxy.values import first_bad, friendly_path, host, port, safe_path, upstream


def validate(given: Mapping[str, Given], proxy: Proxy = "nginx") -> Validated:
    """Check every input for `proxy`; raise `ProxyConfigError` naming the first bad one."""
    return _Validator(given, proxy).run()


class _Validator:
    def __init__(self, given: Mapping[str, Given], proxy: Proxy) -> None:
        self.given = given
        self.proxy = proxy
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
        if self.proxy == "haproxy" and key not in (certificate, certificate + ".key"):
            raise ProxyConfigError(
                f"{self._source('tls_key')}: {key}: HAProxy reads the private key from the "
                f"certificate's file or from {certificate}.key; put the key there, or both in "
                "one file (cat CERT KEY > FILE) and give that file as certificate and key")
        if Path(certificate).is_file():
            self.warnings += certificate_warnings(Path(certificate), public_host,
                                                  self._source("tls_certificate"))
        stickiness = self._stickiness()
        quick = self._int("quick_timeout", QUICK_TIMEOUT, 1, 60)
        logon = self._int("logon_timeout", LOGON_TIMEOUT, 1, 600)
        if logon < quick:
            raise ProxyConfigError(f"{self._source('logon_timeout')}: {logon} s is shorter than "
                                   f"{self._source('quick_timeout')} ({quick} s): a logon may "
                                   "wait on CIC, a GET never does")
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
            pid_file=self._pid_file(),
            quick_timeout=quick,
            logon_timeout=logon,
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

    def _int(self, key: str, default: int, low: int, high: int) -> int:
        given = self.given.get(key)
        if given is None:
            return default
        value = given.value
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProxyConfigError(f"{given.source}: expected a number of seconds, got "
                                   f"{given.value!r}")
        if not low <= value <= high:
            raise ProxyConfigError(f"{given.source}: {value} is out of range ({low}-{high} s)")
        return value

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
            bad = first_bad(str(value), re.compile(r"[0-9A-Fa-f.:/]"))
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
        bad = first_bad(text, re.compile(r"[0-9A-Za-z.:\[\]]"))
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
            return "none"
        choices = get_args(Stickiness)
        if text not in choices:
            raise ProxyConfigError(f"{self._source('stickiness')}: one of "
                                   f"{', '.join(choices)}, got {text!r}")
        if self.proxy == "nginx" and text != "none":
            self.warnings.append(
                f"{self._source('stickiness')}: {text}: nginx cannot combine it with the backup "
                "servers that keep the pair reachable while both servers are marked failed, so "
                "a switchover right after a restart can answer 502; the STS needs no "
                "stickiness (use none, docs/proxy.md)")
        return cast(Stickiness, text)

    def _pid_file(self) -> str | None:
        text = self._str("pid_file")
        return safe_path(os.path.normpath(text), self._source("pid_file")) if text else None

    def _log_dir(self) -> str:
        text = self._str("log_dir")
        if text is not None and self.proxy == "haproxy":
            self.warnings.append(f"{self._source('log_dir')}: not used: HAProxy logs to syslog "
                                 "(/dev/log; /var/log/haproxy.log on Debian)")
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
