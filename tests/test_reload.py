"""What SIGHUP re-reads (docs/operating.md, "Reload"): after `new-tls-cert` and a SIGHUP to
gunicorn's master, new connections get the new certificate and /readyz reports it."""

from __future__ import annotations

import hashlib
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from idp.cli import cli
from idp.config import load_config
from idp.observe.certificates import describe
from tests.conftest import seed_users, write_config
from tests.servers import free_port, insecure_context, sts_server

pytestmark = pytest.mark.e2e


def served_fingerprint(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            insecure_context().wrap_socket(raw, server_hostname="localhost") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def test_sighup_serves_a_renewed_tls_certificate(tmp_path: Path, key_dir: Path) -> None:
    port = free_port()
    path = write_config(tmp_path, key_dir, machine="127.0.0.1", port=port,
                        extra='\n[monitoring]\naudit_log = ""\n')
    seed_users(load_config(path).directory.database)
    cert = tmp_path / "certs" / "tls.crt"
    with sts_server(path, f"127.0.0.1:{port}", tmp_path / "sts.log") as master:
        old = describe(cert, "tls", "TLS certificate").sha256
        assert served_fingerprint(port) == old
        assert CliRunner().invoke(cli, ["--config", str(path), "new-tls-cert"]).exit_code == 0
        new = describe(cert, "tls", "TLS certificate").sha256
        assert new != old
        master.send_signal(signal.SIGHUP)  # what `systemctl reload cic-sts` sends
        # Until the old workers have finished, a connection may still reach one of them.
        deadline = time.monotonic() + 20
        while served_fingerprint(port) != new or httpx.get(
                f"https://127.0.0.1:{port}/readyz", verify=False).json()[
                    "certificates"]["tls"]["sha256"] != new:
            assert time.monotonic() < deadline, "the new certificate was not served"
            time.sleep(0.2)
