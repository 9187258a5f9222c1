"""The recipe of docs/operating.md for verifying the pair's certificates from nginx, run as
written: each server of the pair keeps its own self-signed certificate (what `cic-sts init` and
`new-tls-cert` make), both carrying one shared name, and nginx trusts the two concatenated. Real
gunicorn and nginx on loopback."""

from __future__ import annotations

import os
import ssl
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from idp.cli import cli
from idp.keys import generate_tls_pair
from idp.proxy.check import with_temp_paths
from tests.conftest import write_config
from tests.servers import PAIR, free_port, nginx_running, pair_port, stop, sts_server

pytestmark = pytest.mark.e2e

SHARED = "sts-upstream.internal"


def server_config(folder: Path, key_dir: Path, address: str, port: int, base: str) -> Path:
    """One server's configuration: the pair's signing key and session secret, and a
    certificate of its own for port 8043, with the shared name."""
    path = write_config(folder, key_dir, machine="127.0.0.1", port=port)
    generate_tls_pair(folder / "certs" / "tls.key", folder / "certs" / "tls.crt",
                      [SHARED, address], force=True)
    path.write_text(path.read_text().replace(
        "[server]\n", f'[server]\npublic_base_url = "{base}"\n', 1))
    return path


def test_nginx_verifies_each_server_by_its_own_self_signed_certificate(
        tmp_path: Path, key_dir: Path) -> None:
    port, nginx_port = pair_port(PAIR), free_port()
    base = f"https://127.0.0.1:{nginx_port}/PureConnect"
    configs = {address: server_config(tmp_path / address, key_dir, address, port, base)
               for address in PAIR}
    bundle = tmp_path / "cic-sts-upstream.pem"  # step 2: both certificates, concatenated
    bundle.write_text("".join((tmp_path / a / "certs" / "tls.crt").read_text() for a in PAIR))
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    first = configs[PAIR[0]]
    first.write_text(first.read_text() + f"""
[proxy]
servers = ["{PAIR[0]}:{port}", "{PAIR[1]}:{port}"]
listen_address = "127.0.0.1"
tls_certificate = "{key_dir / 'tls.crt'}"
tls_key = "{key_dir / 'tls.key'}"
upstream_ca = "{bundle}"
upstream_name = "{SHARED}"
log_dir = "{prefix / 'logs'}"
pid_file = "nginx.pid"
""")
    conf = prefix / "nginx.conf"
    rendered = CliRunner().invoke(cli, ["--config", str(first), "proxy", "nginx", "--output",
                                        str(conf), "--check"])
    assert rendered.exit_code == 0, rendered.output
    assert "not verified" not in rendered.output
    if os.geteuid() != 0:
        conf.write_text(with_temp_paths(conf.read_text(), prefix))
    trust = ssl.create_default_context(cafile=str(key_dir / "tls.crt"))

    def through_the_proxy() -> int:
        with httpx.Client(verify=trust, timeout=10) as client:
            return client.get(base + "/healthz").status_code

    with ExitStack() as stack:
        servers = {a: stack.enter_context(sts_server(configs[a], f"{a}:{port}",
                                                     tmp_path / f"{a}.log")) for a in PAIR}
        stack.enter_context(nginx_running(conf, prefix, base + "/healthz"))
        for address in PAIR:  # each server in turn answers alone, verified by nginx
            other = PAIR[1] if address == PAIR[0] else PAIR[0]
            stop(servers[other])
            assert through_the_proxy() == 200, f"nginx refused {address}'s certificate"
            servers[other] = stack.enter_context(sts_server(
                configs[other], f"{other}:{port}", tmp_path / f"{other}.log"))

        # A server whose certificate is not in the bundle is refused, not trusted.
        stop(servers[PAIR[0]])
        folder = tmp_path / PAIR[1]
        stop(servers[PAIR[1]])
        generate_tls_pair(folder / "certs" / "tls.key", folder / "certs" / "tls.crt",
                          [SHARED, PAIR[1]], force=True)
        stack.enter_context(sts_server(configs[PAIR[1]], f"{PAIR[1]}:{port}",
                                       tmp_path / "stranger.log"))
        assert through_the_proxy() == 502
        errors = "".join(p.read_text() for p in (prefix / "logs").glob("*error*"))
        assert 'upstream SSL certificate verify error: (18:self-signed certificate) while SSL ' \
               'handshaking to upstream' in errors and f"https://{PAIR[1]}:{port}/" in errors
