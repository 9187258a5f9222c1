"""Stand-ins for a check run here of a configuration meant for the proxy machine.

`nginx -t` and `haproxy -c` load the certificate files, and nginx binds the listening sockets.
Files that live on the proxy machine, a port below 1024 without root, or an address of the proxy
machine would fail the check here for no fault of the configuration. The stand-ins change
values, never lines, so the line a proxy cites is the line of the real output.
"""

from __future__ import annotations

import errno
import os
import socket
from dataclasses import replace
from pathlib import Path

from idp.errors import ProxyConfigError
from idp.keys import generate_tls_pair
from idp.proxy.model import PID_FILES, Proxy, ProxyInputs


def stand_ins(inputs: ProxyInputs, prefix: Path, proxy: Proxy = "nginx"
              ) -> tuple[ProxyInputs, dict[str, str], list[str]]:
    """Inputs the proxy can load here, what was swapped (temporary path -> real), and notes."""
    logs = str(prefix / "logs")
    pid = str(prefix / f"{proxy}.pid")
    replaced = {logs: inputs.log_dir, pid: inputs.pid_file or PID_FILES[proxy]}
    notes = []
    certificate, key, ca = inputs.tls_certificate, inputs.tls_key, inputs.upstream_ca
    if not (readable(certificate) and readable(key)):
        # Named as HAProxy wants them: the key in the certificate's file, or <certificate>.key
        certificate = str(prefix / "stand-in.crt")
        combined = inputs.tls_key == inputs.tls_certificate
        key = certificate if combined else f"{certificate}.key"
        key_file = prefix / "stand-in.key" if combined else Path(key)
        generate_tls_pair(key_file, Path(certificate), [inputs.public_host], force=True)
        if combined:
            with open(certificate, "a", encoding="ascii") as pem:
                pem.write(key_file.read_text(encoding="ascii"))
        replaced.update({certificate: inputs.tls_certificate, key: inputs.tls_key})
        notes.append("the TLS certificate and key are not readable here: "
                     f"{'nginx -t' if proxy == 'nginx' else 'haproxy -c'} loaded stand-ins")
    if inputs.upstream_ca is not None and not readable(inputs.upstream_ca):
        ca = str(prefix / "stand-in-ca.crt")
        generate_tls_pair(prefix / "stand-in-ca.key", Path(ca), ["stand-in"], force=True)
        replaced[ca] = inputs.upstream_ca
        notes.append(f"the upstream CA file is not readable here: "
                     f"{'nginx -t' if proxy == 'nginx' else 'haproxy -c'} loaded a stand-in")
    stand_in = replace(inputs, log_dir=logs, tls_certificate=certificate, tls_key=key,
                       upstream_ca=ca, pid_file=pid)
    if proxy == "haproxy":  # haproxy -c binds nothing
        return stand_in, replaced, notes
    # nginx -t binds the listening sockets (tolerating only "address in use").
    ports = [inputs.public_port] + ([inputs.redirect_port] if inputs.redirect_http else [])
    hosts = inputs.listen_hosts
    refused = next((why for why in (bind_problem(h, p) for h in hosts for p in ports) if why),
                   None)
    if refused and len(hosts) == 1:
        stand_in = replace(stand_in, listen_address="127.0.0.1", public_port=free_port(),
                           redirect_port=free_port())
        notes.append(f"nginx -t cannot listen where the proxy will ({refused}): it listened on "
                     "127.0.0.1 instead")
    elif refused:  # every IPv4 and every IPv6 address: a listen address would drop a line
        ipv6 = bind_problem("::", 0)
        if ipv6:
            raise ProxyConfigError(f"nginx -t cannot listen on IPv6 here ({ipv6}), as the "
                                   "proxy of an IPv6 public host will: run --check on the "
                                   "proxy machine")
        public, redirect = free_port(hosts), free_port(hosts)
        stand_in = replace(stand_in, public_port=public, redirect_port=redirect)
        notes.append(f"nginx -t cannot listen where the proxy will ({refused}): it listened on "
                     "other ports instead")
    return stand_in, replaced, notes


def bind_problem(address: str | None, port: int) -> str | None:
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


def free_port(hosts: tuple[str | None, ...] = ("127.0.0.1",)) -> int:
    """A port nothing listens on, on each of `hosts` (None: every IPv4 address)."""
    for _ in range(20):
        with socket.socket() as probe:
            probe.bind((hosts[0] or "0.0.0.0", 0))
            port = int(probe.getsockname()[1])
        if all(_bind_error(host, port) is None for host in hosts[1:]):
            return port
    raise ProxyConfigError("found no free port to run nginx -t on")


def readable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.R_OK)
