"""The real `nginx -t` on what was rendered, in a throw-away prefix.

The check renders the same inputs once more with stand-ins where this machine cannot provide the
real thing (certificate files that live on the proxy machine, the log folder) and runs
``nginx -t -p <temporary prefix>`` on it, with the error log, pid file and temporary folders
inside that prefix, so it needs no root and touches nothing of the installed nginx. The stand-ins
change values, never lines, so the line nginx cites is the line of the real output; the error
carries nginx's own message and that line.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from idp.errors import ProxyConfigError
from idp.keys import generate_tls_pair
from idp.proxy.model import ProxyInputs
from idp.proxy.render import Rendered, render

NGINX_LOCATIONS = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
TIMEOUT = 30
_PROBLEM = re.compile(r"nginx: \[(emerg|alert|crit|error)\] (.*)")
_WHERE = re.compile(r"(.*) in (\S+):(\d+)$")
_TEMP_PATHS = ("client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
               "uwsgi_temp_path", "scgi_temp_path")


class NginxRejected(ProxyConfigError):
    """`nginx -t` refused the configuration; carries nginx's text and the line it cited."""

    def __init__(self, message: str, output: str, line: int | None, line_text: str | None):
        super().__init__(message)
        self.output = output
        self.line = line
        self.line_text = line_text


@dataclass(frozen=True)
class Checked:
    output: str  # nginx's own words, with the temporary paths put back to the real ones
    stand_ins: list[str]  # what was replaced for the test, for the report


def find_nginx(explicit: str | None = None) -> str:
    if explicit:
        if shutil.which(explicit) is None:
            raise ProxyConfigError(f"--nginx: {explicit}: not an executable")
        return explicit
    found = shutil.which("nginx") or next(
        (p for p in NGINX_LOCATIONS if os.access(p, os.X_OK)), None)
    if found is None:
        raise ProxyConfigError("--check needs nginx, which is not installed here (or give "
                               "--nginx PATH)")
    return found


def nginx_test(inputs: ProxyInputs, snippet: bool, *, name: str = "",
               nginx: str | None = None, templates: Path | None = None) -> Checked:
    """Run `nginx -t` on the rendering of `inputs`; raise `NginxRejected` if nginx refuses it.

    `name` is how the output is called in messages (the output file, or nginx.conf).
    """
    real = render(inputs, snippet, templates)
    name = name or ("conf.d/cic-sts.conf" if snippet else "nginx.conf")
    executable = find_nginx(nginx)
    with tempfile.TemporaryDirectory(prefix="cic-sts-nginx-t-") as folder:
        prefix = Path(folder)
        (prefix / "logs").mkdir()
        stand_in, replaced, notes = _stand_ins(inputs, prefix)
        checked = render(stand_in, snippet, templates)
        if checked.text.count("\n") != real.text.count("\n"):
            raise AssertionError("stand-ins changed the number of lines")  # a template bug
        conf, main = _lay_out(checked, prefix)
        command = [executable, "-t", "-p", f"{prefix}/", "-c", str(main),
                   "-e", str(prefix / "logs" / "error.log"), "-g", f"pid {prefix}/nginx.pid;"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT,
                                  env={**os.environ, "LC_ALL": "C"}, check=False)
        except subprocess.TimeoutExpired:
            raise ProxyConfigError(f"nginx -t did not finish within {TIMEOUT} s") from None
        replaced[str(conf)] = name
        if main != conf:
            replaced[str(main)] = f"(a test nginx.conf that includes {name})"
        output = _put_back((done.stderr + done.stdout).strip(), replaced)
        if done.returncode != 0:
            raise _rejection(output, real, name, conf_cited=name)
    return Checked(output, notes)


def _stand_ins(inputs: ProxyInputs, prefix: Path) -> tuple[ProxyInputs, dict[str, str],
                                                           list[str]]:
    """Inputs nginx can load here, what was swapped (temporary path -> real), and notes."""
    logs = str(prefix / "logs")
    replaced = {logs: inputs.log_dir}
    notes = []
    certificate, key, ca = inputs.tls_certificate, inputs.tls_key, inputs.upstream_ca
    if not (_readable(certificate) and _readable(key)):
        key, certificate = str(prefix / "stand-in.key"), str(prefix / "stand-in.crt")
        generate_tls_pair(Path(key), Path(certificate), [inputs.public_host], force=True)
        replaced.update({certificate: inputs.tls_certificate, key: inputs.tls_key})
        notes.append("the TLS certificate and key are not readable here: nginx -t loaded "
                     "stand-ins")
    if inputs.upstream_ca is not None and not _readable(inputs.upstream_ca):
        ca = str(prefix / "stand-in-ca.crt")
        generate_tls_pair(prefix / "stand-in-ca.key", Path(ca), ["stand-in"], force=True)
        replaced[ca] = inputs.upstream_ca
        notes.append("the upstream CA file is not readable here: nginx -t loaded a stand-in")
    stand_in = replace(inputs, log_dir=logs, tls_certificate=certificate, tls_key=key,
                       upstream_ca=ca)
    # nginx -t binds the listening sockets (tolerating only "address in use"): a port below
    # 1024 without root, or an address of the proxy machine, would fail here for no fault of
    # the configuration.
    ports = [inputs.public_port] + ([inputs.redirect_port] if inputs.redirect_http else [])
    hosts = inputs.listen_hosts
    refused = next((why for why in (_bind_problem(h, p) for h in hosts for p in ports) if why),
                   None)
    if refused and len(hosts) == 1:
        stand_in = replace(stand_in, listen_address="127.0.0.1", public_port=_free_port(),
                           redirect_port=_free_port())
        notes.append(f"nginx -t cannot listen where the proxy will ({refused}): it listened on "
                     "127.0.0.1 instead")
    elif refused:  # every IPv4 and every IPv6 address: a listen address would drop a line
        ipv6 = _bind_problem("::", 0)
        if ipv6:
            raise ProxyConfigError(f"nginx -t cannot listen on IPv6 here ({ipv6}), as the "
                                   "proxy of an IPv6 public host will: run --check on the "
                                   "proxy machine")
        public, redirect = _free_port(hosts), _free_port(hosts)
        stand_in = replace(stand_in, public_port=public, redirect_port=redirect)
        notes.append(f"nginx -t cannot listen where the proxy will ({refused}): it listened on "
                     "other ports instead")
    return stand_in, replaced, notes


def _bind_problem(address: str | None, port: int) -> str | None:
    """Why nginx -t could not listen on `address` (None: every IPv4 address) and `port`."""
    error = _bind_error(address, port)
    if error is None or error.errno == errno.EADDRINUSE:  # in use: nginx -t accepts that
        return None
    where = f"[{address}]" if address and ":" in address else address or "*"
    return f"{where}:{port}: {error.strerror}"


def _bind_error(address: str | None, port: int) -> OSError | None:
    family = socket.AF_INET6 if address and ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)  # as nginx does
            probe.bind((address or "0.0.0.0", port))
    except OSError as exc:  # also a machine without IPv6
        return exc
    return None


def _free_port(hosts: tuple[str | None, ...] = ("127.0.0.1",)) -> int:
    """A port nothing listens on, on each of `hosts` (None: every IPv4 address)."""
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind((hosts[0] or "0.0.0.0", 0))
            port = int(probe.getsockname()[1])
        if all(_bind_error(host, port) is None for host in hosts[1:]):
            return port
    raise ProxyConfigError("found no free port to run nginx -t on")


def _readable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.R_OK)


def _lay_out(checked: Rendered, prefix: Path) -> tuple[Path, Path]:
    """Write the file under test (and, for a snippet, an nginx.conf that includes it)."""
    if checked.snippet:
        conf = prefix / "conf.d" / "cic-sts.conf"
        conf.parent.mkdir()
        conf.write_text(checked.text, encoding="utf-8")
        main = prefix / "nginx.conf"
        # access_log off: nginx would otherwise open its compiled-in default log
        wrapper = f"events {{}}\nhttp {{{_temp_paths(prefix)} access_log off;\n" \
                  f"    include {conf};\n}}\n"
        main.write_text(wrapper, encoding="utf-8")
        return conf, main
    conf = prefix / "nginx.conf"
    conf.write_text(with_temp_paths(checked.text, prefix), encoding="utf-8")
    return conf, conf


def with_temp_paths(text: str, prefix: Path) -> str:
    """A complete configuration whose temporary folders are under `prefix`.

    The compiled-in ones (/var/lib/nginx/... on Debian) need root. They are set on the line
    that opens the http block, so no line number moves.
    """
    lines = text.split("\n")
    opening = [i for i, line in enumerate(lines) if line == "http {"]
    if len(opening) != 1:
        raise AssertionError("the complete configuration has no single 'http {' line")
    lines[opening[0]] += _temp_paths(prefix)
    return "\n".join(lines)


def _temp_paths(prefix: Path) -> str:
    return "".join(f" {d} {prefix}/{d.removesuffix('_temp_path')};" for d in _TEMP_PATHS)


def _put_back(text: str, replaced: dict[str, str]) -> str:
    for temporary, real in sorted(replaced.items(), key=lambda item: -len(item[0])):
        text = text.replace(temporary, real)
    return text


def _rejection(output: str, real: Rendered, name: str, conf_cited: str) -> NginxRejected:
    problem = next((m for m in map(_PROBLEM.match, output.splitlines()) if m), None)
    message = problem.group(0) if problem else output.splitlines()[0] if output else "no output"
    lines = real.text.split("\n")
    line: int | None = None
    where = _WHERE.match(message)
    if where and where.group(2) == conf_cited and where.group(3).isdigit():
        line = int(where.group(3))
    else:  # nginx names no line (a certificate that does not load, say): find what it quotes
        for quoted in re.findall(r'"([^"]+)"', message):
            line = next((i + 1 for i, text in enumerate(lines) if quoted in text
                         and not text.lstrip().startswith("#")), None)
            if line:
                break
    line_text = lines[line - 1].strip() if line and 0 < line <= len(lines) else None
    report = [f"nginx -t rejected the generated configuration ({real.kind}):", f"  {message}"]
    if line_text is not None:
        report.append(f"  line {line} of {name}: {line_text}")
    if "host not found in upstream" in message:
        report.append("  (nginx resolves the servers' host names when it loads the "
                      "configuration: run --check on the proxy machine, or give IP addresses)")
    if "sticky" in message:
        report.append("  (sticky is an NGINX Plus directive: with open-source nginx use "
                      "--stickiness ip_hash or none)")
    return NginxRejected("\n".join(report), output, line, line_text)
