"""Certificate lifecycle: `new-tls-cert` (here with a short life), the warnings of `serve
--check`, `/readyz` (still 200) and the expiry gauge of /metrics; /metrics access rules."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from click.testing import CliRunner
from cryptography import x509
from prometheus_client.parser import text_string_to_metric_families

from idp.auth.local import LocalDirectory
from idp.cli import cli
from idp.config import load_config
from idp.observe.certificates import certificates
from idp.web import create_app
from tests.conftest import CHEAP_HASHER, write_config


def test_a_short_lived_tls_certificate_warns_everywhere(tmp_path: Path, key_dir: Path) -> None:
    config_file = write_config(tmp_path, key_dir)
    key = tmp_path / "certs" / "tls.key"
    os.chmod(key, 0o640)
    runner = CliRunner()
    renewed = runner.invoke(cli, ["--config", str(config_file), "new-tls-cert", "--days", "3",
                                  "--name", "sts-upstream.internal"])
    assert renewed.exit_code == 0, renewed.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o640  # the old file's mode is kept
    cert = x509.load_pem_x509_certificate((tmp_path / "certs" / "tls.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "sts-upstream.internal" in names.get_values_for_type(x509.DNSName)
    info = next(c for c in certificates(load_config(config_file)) if c.name == "tls")
    assert info.sha256 in renewed.output

    check = runner.invoke(cli, ["--config", str(config_file), "serve", "--check"])
    assert check.exit_code == 0
    assert f"TLS certificate {tmp_path / 'certs' / 'tls.crt'}: expires" in check.stderr
    assert "warning: the TLS certificate" in check.stderr and "expires in 3.0 days" in check.stderr
    assert "warning: the SAML signing certificate" not in check.stderr

    config = load_config(config_file)
    app = create_app(config, backend=LocalDirectory(config.directory.database,
                                                    hasher=CHEAP_HASHER))
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json is not None
    assert ready.json["status"] == "ready"
    assert len(ready.json["warnings"]) == 1 and "TLS certificate" in ready.json["warnings"][0]
    assert ready.json["certificates"]["tls"]["days_left"] == 2
    assert ready.json["certificates"]["tls"]["sha256"] == info.sha256
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    expiry = {s.labels["certificate"]: s.value
              for family in text_string_to_metric_families(scraped.get_data(as_text=True))
              for s in family.samples if s.name == "cic_sts_certificate_expiry_seconds"}
    assert 2 * 86400 < expiry["tls"] <= 3 * 86400 and expiry["saml_signing"] > 3000 * 86400


def test_metrics_can_be_turned_off_and_are_refused_elsewhere(tmp_path: Path,
                                                             key_dir: Path) -> None:
    for allowed, address, status in (("[]", "127.0.0.1", 404),
                                     ('["10.0.0.0/8"]', "127.0.0.1", 404),
                                     ('["10.0.0.0/8"]', "10.1.2.3", 200)):
        folder = tmp_path / f"{len(allowed)}{address}"
        folder.mkdir()
        config_file = write_config(folder, key_dir, extra=f"\n[monitoring]\nmetrics_allowed = "
                                   f"{allowed}\naudit_log = \"\"\n")
        config = load_config(config_file)
        client = create_app(config).test_client()
        answer = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert answer.status_code == status, (allowed, address)
