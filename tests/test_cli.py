"""`cic-sts init` and `cic-sts genesys-settings` through click's test runner (idp.cli)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from idp.cli import cli
from idp.config import load_config
from idp.saml.constants import NAMEID_EMAIL

NAMES = ["--machine-name", "sts.example.com", "--machine-name", "10.0.0.5"]
GENESYS = ["--genesys-region", "eu-west-1", "--relying-party-identifier", "urn:test",
           "--organization", "acme"]
TARGET_URL = "https://sts.example.com:8043/ICNotifierIDP/login?loginType=saml"


@pytest.fixture(autouse=True)
def no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIC_STS_CONFIG", raising=False)


def run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


KEY_FILES = ("certs/saml-signing.key", "certs/tls.key", "certs/session.secret")


def init_ok(config: Path, *args: str) -> Result:
    result = run(config, "init", *NAMES, *args)
    assert result.exit_code == 0, result.output
    return result


def test_init_writes_config_and_keys(tmp_path: Path) -> None:
    config_file = tmp_path / "cic-sts.toml"
    result = init_ok(config_file)
    assert f"wrote configuration {config_file}" in result.output
    config = load_config(config_file)
    assert config.server.machine_names == ["sts.example.com", "10.0.0.5"]
    assert config.entity_id == "https://sts.example.com"
    assert config.genesys is None
    for path in (config.idp.signing_key, config.idp.signing_certificate,
                 config.server.tls_key, config.server.tls_certificate,
                 config.idp.session_secret.file):
        assert path is not None and path.is_file()
        assert path.parent == tmp_path / "certs"
    for name in KEY_FILES:
        assert f"generated {tmp_path / name}" in result.output
    assert len(config.idp.session_secret.reveal()) == 64
    assert not list(tmp_path.rglob(".*.tmp"))  # no temporary files left behind


def test_init_sets_the_remap_allow_list_and_a_persistent_id_key(tmp_path: Path) -> None:
    """Issue 12, item 11: without an allow-list a trusted proxy's header could name any site;
    persistent NameIDs need a key of their own, which --force never replaces."""
    config_file = tmp_path / "cic-sts.toml"
    init_ok(config_file)
    config = load_config(config_file)
    assert config.server.remap_allowed_bases == ["https://sts.example.com:8043"]
    key = config.idp.persistent_id_secret.file
    assert key is not None and key.is_file() and len(key.read_text().strip()) == 64
    before = key.read_text()
    init_ok(config_file, "--force")
    assert key.read_text() == before


def test_each_init_gets_its_own_sync_authority(tmp_path: Path) -> None:
    """Two installations on one Genesys Cloud organization must not share the link authority:
    each one's sync would take the other's users for its own removed ones."""
    authorities = set()
    for name in ("a", "b"):
        init_ok(tmp_path / name / "cic-sts.toml")
        authorities.add(load_config(tmp_path / name / "cic-sts.toml").sync.authority)
    assert len(authorities) == 2
    assert all(re.fullmatch(r"cic-sts/[0-9a-f]{8}", a) for a in authorities), authorities


def test_private_files_are_owner_only(tmp_path: Path) -> None:
    init_ok(tmp_path / "cic-sts.toml")
    for name in KEY_FILES:
        assert mode(tmp_path / name) == 0o600, name


def test_tls_certificate_names_and_signing_key(tmp_path: Path) -> None:
    init_ok(tmp_path / "cic-sts.toml")
    tls = x509.load_pem_x509_certificate((tmp_path / "certs/tls.crt").read_bytes())
    san = tls.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["sts.example.com"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.5")]
    assert isinstance(tls.public_key(), ec.EllipticCurvePublicKey)

    signing = x509.load_pem_x509_certificate((tmp_path / "certs/saml-signing.crt").read_bytes())
    public = signing.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 2048


def test_init_again_keeps_the_keys(tmp_path: Path) -> None:
    config_file = tmp_path / "cic-sts.toml"
    init_ok(config_file)
    before = {name: (tmp_path / name).read_bytes() for name in
              (*KEY_FILES, "certs/saml-signing.crt", "certs/tls.crt", "cic-sts.toml")}
    result = init_ok(config_file)
    after = {name: (tmp_path / name).read_bytes() for name in before}
    assert after == before
    assert f"kept existing configuration {config_file}" in result.output
    for name in KEY_FILES:
        assert f"kept existing (use --force to replace) {tmp_path / name}" in result.output
    assert "generated" not in result.output


def test_init_force_replaces_the_keys(tmp_path: Path) -> None:
    config_file = tmp_path / "cic-sts.toml"
    init_ok(config_file)
    before = {name: (tmp_path / name).read_bytes() for name in
              (*KEY_FILES, "certs/saml-signing.crt", "certs/tls.crt")}
    result = init_ok(config_file, "--force")
    assert f"wrote configuration {config_file}" in result.output
    for name, data in before.items():
        assert (tmp_path / name).read_bytes() != data, name
    for name in KEY_FILES:
        assert f"generated {tmp_path / name}" in result.output
        assert mode(tmp_path / name) == 0o600


def test_init_refuses_bad_values_without_leaving_a_file(tmp_path: Path) -> None:
    config_file = tmp_path / "cic-sts.toml"
    result = CliRunner().invoke(cli, ["--config", str(config_file), "init", *NAMES,
                                      "--genesys-region", "mars-1",
                                      "--relying-party-identifier", "urn:test",
                                      "--organization", "acme"])
    assert result.exit_code == 2
    assert "genesys.region" in result.stderr
    assert not config_file.exists()
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob(".*.tmp"))


def test_init_keeps_special_characters_out_of_the_toml(tmp_path: Path) -> None:
    config_file = tmp_path / "cic-sts.toml"
    result = CliRunner().invoke(cli, ["--config", str(config_file), "init", *NAMES,
                                      "--genesys-region", "eu-west-1",
                                      "--relying-party-identifier", "urn:a\\tb",
                                      "--organization", "acme"])
    assert result.exit_code == 2
    assert "not allowed" in result.stderr
    assert not config_file.exists()


def genesys_setup(tmp_path: Path) -> Path:
    config_file = tmp_path / "cic-sts.toml"
    init_ok(config_file, *GENESYS)
    return config_file


def test_genesys_settings(tmp_path: Path) -> None:
    config_file = genesys_setup(tmp_path)
    result = run(config_file, "genesys-settings")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"Target URL: {TARGET_URL}" in lines
    assert "Provider's Issuer URI: https://sts.example.com" in lines
    assert "Relying Party Identifier: urn:test" in lines
    assert f"Name Identifier Format: {NAMEID_EMAIL}" in lines
    certificate = (tmp_path / "certs/saml-signing.crt").read_text().strip()
    assert "Certificate:" in lines
    assert certificate in result.output
    assert "Single Logout URI: https://sts.example.com:8043/ICNotifierIDP/logout" in lines


def test_genesys_settings_json(tmp_path: Path) -> None:
    config_file = genesys_setup(tmp_path)
    values = json.loads(run(config_file, "genesys-settings", "--json").stdout)
    assert values["target_url"] == TARGET_URL
    assert values["issuer_uri"] == "https://sts.example.com"
    assert values["relying_party_identifier"] == "urn:test"
    assert values["name_identifier_format"] == NAMEID_EMAIL
    pem = (tmp_path / "certs/saml-signing.crt").read_text().strip()
    assert [c["pem"] for c in values["certificates"]] == [pem]
    # the same values as the text form
    text = run(config_file, "genesys-settings").output
    for label, key in (("Target URL", "target_url"), ("Provider's Issuer URI", "issuer_uri"),
                       ("Relying Party Identifier", "relying_party_identifier"),
                       ("Single Logout URI", "single_logout_uri")):
        assert f"{label}: {values[key]}\n" in text
    assert f"Certificate:\n{pem}\n" in text


def test_genesys_settings_config_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = genesys_setup(tmp_path)
    monkeypatch.setenv("CIC_STS_CONFIG", str(config_file))
    result = CliRunner().invoke(cli, ["genesys-settings", "--json"], catch_exceptions=False)
    assert json.loads(result.stdout)["target_url"] == TARGET_URL


def test_unknown_key_is_one_line_exit_2(tmp_path: Path) -> None:
    config_file = genesys_setup(tmp_path)
    text = config_file.read_text(encoding="utf-8").replace("[server]\n", "[server]\nprot = 1\n")
    config_file.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config_file), "genesys-settings"])
    assert result.exit_code == 2
    assert result.stdout == ""
    error_lines = result.stderr.strip().splitlines()
    assert len(error_lines) == 1, result.stderr
    assert "server.prot" in error_lines[0]
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "none.toml"),
                                      "genesys-settings"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cic-sts init" in result.stderr


def test_key_rollover_publishes_both_certificates(tmp_path: Path) -> None:
    from lxml import etree

    from idp.saml.constants import NS
    from idp.web import create_app

    runner = CliRunner()
    config_file = tmp_path / "cic-sts.toml"
    assert runner.invoke(cli, ["--config", str(config_file), "init", "--machine-name",
                               "sts.example.com"]).exit_code == 0
    made = runner.invoke(cli, ["--config", str(config_file), "new-signing-key",
                               str(tmp_path / "certs" / "next")])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "certs" / "next.key").stat().st_mode & 0o777 == 0o600
    again = runner.invoke(cli, ["--config", str(config_file), "new-signing-key",
                                str(tmp_path / "certs" / "next")])
    assert again.exit_code == 1 and "already exists" in again.output
    config_file.write_text(config_file.read_text().replace(
        "[idp]\n", '[idp]\nnext_signing_certificate = "certs/next.crt"\n'))
    shown = json.loads(runner.invoke(cli, ["--config", str(config_file), "genesys-settings",
                                           "--json"]).stdout)
    next_pem = (tmp_path / "certs" / "next.crt").read_text().strip()
    assert [c["role"] for c in shown["certificates"]] == ["saml_signing", "saml_signing_next"]
    assert shown["certificates"][1]["pem"] == next_pem
    assert shown["certificates"][0]["pem"] != next_pem
    app = create_app(load_config(config_file))
    metadata = app.test_client().get("/ICNotifierIDP/metadata",
                                     base_url="https://sts.example.com:8043")
    bodies = etree.fromstring(metadata.data).findall(".//ds:X509Certificate", NS)
    assert len(bodies) == 2


def test_serve_refuses_to_start_when_gevent_or_gunicorn_lack_a_name_the_worker_needs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from idp.server import private

    config_file = tmp_path / "cic-sts.toml"
    init_ok(config_file, *GENESYS)
    assert run(config_file, "serve", "--check").exit_code == 0
    gone = private.Name("gevent.pywsgi", "WSGIHandler", "_gone_in_an_upgrade", "override", "")
    monkeypatch.setattr(private, "NAMES", (*private.NAMES, gone))
    result = CliRunner().invoke(cli, ["--config", str(config_file), "serve", "--check"])
    assert result.exit_code == 1
    assert "gevent.pywsgi.WSGIHandler._gone_in_an_upgrade" in result.output
