"""`cic-sts genesys-settings`: problems and their exit code, files, stable JSON, Terraform, the
metadata's download name, and `--apply` against the stand-in of Genesys Cloud's Platform API
(create, update, nothing to do, refused permission)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from werkzeug.serving import make_server

from idp.cli import cli
from idp.config import load_config
from idp.keys import certificate_body
from idp.web import create_app
from tests.conftest import write_config
from tests.genesys_sso_standin import GenericSso
from tests.servers import free_port


def run(config_file: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config_file), "genesys-settings", *args])


@pytest.fixture
def public(tmp_path: Path, key_dir: Path) -> Path:
    """A configuration ready for Genesys Cloud: a public base URL and real Genesys values."""
    path = write_config(tmp_path, key_dir, extra=(
        '\n[monitoring]\naudit_log = ""\n'))
    text = path.read_text().replace("[server]\n", '[server]\npublic_base_url = '
                                    '"https://sts.example.com/PureConnect"\n')
    text = text.replace("[idp]\n", '[idp]\nentity_id = "https://sts.example.com"\n')
    path.write_text(text)
    return path


def test_not_ready_values_exit_1_naming_the_setting(tmp_path: Path, key_dir: Path) -> None:
    path = write_config(tmp_path, key_dir)  # Target URL on localhost
    path.write_text(path.read_text().replace('organization = "acme"',
                                             'organization = "example"'))
    result = run(path)
    assert result.exit_code == 1
    assert "Target URL: https://localhost:8043/ICNotifierIDP/login?loginType=saml" in result.stdout
    problems = [line for line in result.stderr.splitlines() if line.startswith("not ready:")]
    assert any("server.public_base_url" in p and "localhost" in p for p in problems)
    assert any("genesys.organization = 'example' is a placeholder" in p for p in problems)
    assert any("idp.entity_id" in p for p in problems)


def test_ready_values_exit_0_with_fingerprints_and_what_is_sent(public: Path) -> None:
    result = run(public)
    assert result.exit_code == 0, result.output
    config = load_config(public)
    from idp.observe.certificates import describe

    info = describe(config.idp.signing_certificate, "saml_signing", "SAML signing certificate")
    assert f"SAML signing certificate: expires {info.not_after:%Y-%m-%d} UTC, SHA-256 " \
           f"{info.sha256}" in result.stdout
    assert "ACS (HTTP-POST): https://login.genesys.test/saml" in result.stdout
    assert "OrganizationName: acme" in result.stdout
    assert "Target URL: https://sts.example.com/PureConnect/ICNotifierIDP/login" in result.stdout


def test_endpoint_compression_and_request_signing_are_explained(public: Path,
                                                                 key_dir: Path) -> None:
    """Issue 12, items 17 and 18: what each setting means for cic-sts, and what it says now."""
    result = run(public)
    assert "Endpoint Compression (what Genesys Cloud does on the wire is not documented" in \
        result.stdout
    assert "  Off: the AuthnRequest may arrive base64 without DEFLATE" in result.stdout
    assert "  On:  the AuthnRequest arrives DEFLATE-compressed" in result.stdout
    assert "Off here: cic-sts accepts unsigned AuthnRequests from Genesys Cloud" in result.stdout
    text = public.read_text().replace(
        'login_base_url = "https://login.genesys.test"\n',
        f'login_base_url = "https://login.genesys.test"\nsp_certificate = '
        f'"{key_dir / "tls.crt"}"\n')
    public.write_text(text)
    signed = run(public)
    assert "On here: cic-sts requires signed AuthnRequests from Genesys Cloud" in signed.stdout
    assert "Sign Authentication Requests: On" in signed.stdout


def test_request_signing_is_configured_on_the_genesys_side_too(public: Path,
                                                               key_dir: Path) -> None:
    """The provider's "Sign Authentication Requests" follows cic-sts: on exactly when cic-sts
    requires signed AuthnRequests, in the form, the JSON, the API body and Terraform."""
    from idp.commands.sso_form import api_body, sso_provider

    unsigned = load_config(public)
    assert json.loads(run(public, "--json").stdout)["sign_authn_requests"] is False
    assert api_body(sso_provider(unsigned))["signAuthnRequests"] is False
    assert "sign_authn_requests      = false" in run(public, "--format", "terraform").stdout
    public.write_text(public.read_text().replace(
        'login_base_url = "https://login.genesys.test"\n',
        f'login_base_url = "https://login.genesys.test"\nsp_certificate = '
        f'"{key_dir / "tls.crt"}"\n'))
    assert json.loads(run(public, "--json").stdout)["sign_authn_requests"] is True
    assert api_body(sso_provider(load_config(public)))["signAuthnRequests"] is True
    assert "sign_authn_requests      = true" in run(public, "--format", "terraform").stdout


def test_json_has_stable_keys(public: Path) -> None:
    document = json.loads(run(public, "--json").stdout)
    assert list(document) == [
        "schema", "provider_name", "provider_logo", "target_url", "issuer_uri",
        "relying_party_identifier", "name_identifier_format", "single_logout_uri",
        "single_logout_binding", "endpoint_compression", "sign_authn_requests", "certificates",
        "sts_sends", "problems"]
    assert document["schema"] == 1 and document["problems"] == []
    [cert] = document["certificates"]
    assert set(cert) == {"role", "pem", "file", "not_after", "days_left", "sha256"}
    assert cert["role"] == "saml_signing" and cert["days_left"] > 3600
    assert document["sts_sends"]["attributes"]["OrganizationName"] == "acme"
    assert document == json.loads(run(public, "--format", "json").stdout)


def test_certificate_and_logo_files(public: Path, tmp_path: Path) -> None:
    result = run(public, "--certificate-out", str(tmp_path / "out"),
                 "--logo-out", str(tmp_path / "logo.svg"))
    assert result.exit_code == 0
    config = load_config(public)
    assert (tmp_path / "out" / "saml-signing.pem").read_text().strip() == \
        config.idp.signing_certificate.read_text().strip()
    logo = (tmp_path / "logo.svg").read_bytes()
    assert logo.startswith(b"<svg") and len(logo) <= 25 * 1024


def test_terraform_resource(public: Path) -> None:
    text = run(public, "--format", "terraform").stdout
    assert 'resource "genesyscloud_idp_generic" "pureconnect" {' in text
    config = load_config(public)
    body = certificate_body(config.idp.signing_certificate.read_bytes())
    assert f'"{body}",' in text
    assert 'target_uri               = "https://sts.example.com/PureConnect/ICNotifierIDP/' \
           'login?loginType=saml"' in text
    assert 'slo_binding              = "HTTP Redirect"' in text
    if shutil.which("terraform"):  # not installed by the project: checked where present
        fmt = subprocess.run(["terraform", "fmt", "-check", "-"], input=text,
                             capture_output=True, text=True)
        assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_metadata_has_a_download_name(public: Path) -> None:
    answer = create_app(load_config(public)).test_client().get(
        "/ICNotifierIDP/metadata", base_url="https://localhost:8043")
    assert answer.headers["Content-Disposition"] == \
        'attachment; filename="sts.example.com-idp-metadata.xml"'


@pytest.fixture
def standin() -> Iterator[tuple[GenericSso, str]]:
    genesys = GenericSso()
    port = free_port()
    server = make_server("127.0.0.1", port, genesys.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield genesys, f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def applying(public: Path, standin: tuple[GenericSso, str],
             monkeypatch: pytest.MonkeyPatch) -> tuple[Path, GenericSso]:
    genesys, base = standin
    monkeypatch.setenv("APPLY_SECRET", genesys.client_secret)
    public.write_text(public.read_text().replace(
        'login_base_url = "https://login.genesys.test"',
        f'login_base_url = "{base}"\napi_base_url = "{base}"\n'
        f'client_id = "{genesys.client_id}"\nclient_secret = {{ env = "APPLY_SECRET" }}'))
    return public, genesys


def test_apply_creates_updates_and_then_has_nothing_to_do(applying: tuple[Path, GenericSso],
                                                         tmp_path: Path) -> None:
    path, genesys = applying
    refused = run(path, "--apply")  # not a terminal, no --yes
    assert refused.exit_code == 1 and "--yes" in refused.stderr and genesys.puts == []
    created = run(path, "--apply", "--yes")
    assert created.exit_code == 0, created.output
    assert "This will create" in created.stdout and "created Genesys Cloud's" in created.stdout
    [body] = genesys.puts
    config = load_config(path)
    assert body["issuerURI"] == "https://sts.example.com"
    assert body["ssoTargetURI"] == "https://sts.example.com/PureConnect/ICNotifierIDP/login" \
                                   "?loginType=saml"
    assert body["relyingPartyIdentifier"] == "urn:genesys:test-org"
    assert body["certificates"] == [certificate_body(config.idp.signing_certificate
                                                     .read_bytes())]
    assert base64.b64decode(body["logoImageData"]).startswith(b"<svg")
    assert body["sloBinding"] == "HTTP Redirect" and body["endpointCompression"] is False
    assert body["signAuthnRequests"] is False

    same = run(path, "--apply", "--yes")
    assert same.exit_code == 0 and "nothing to do" in same.stdout and len(genesys.puts) == 1

    # a rollover: the next certificate joins; both go to Genesys Cloud
    made = CliRunner().invoke(cli, ["--config", str(path), "new-signing-key",
                                    str(tmp_path / "certs" / "next")])
    assert made.exit_code == 0
    path.write_text(path.read_text().replace(
        "[idp]\n", '[idp]\nnext_signing_certificate = "certs/next.crt"\n'))
    updated = run(path, "--apply", "--yes")
    assert updated.exit_code == 0, updated.output
    assert "This will update" in updated.stdout and "certificates: [SHA-256" in updated.stdout
    assert len(genesys.puts) == 2 and len(genesys.puts[1]["certificates"]) == 2
    assert genesys.puts[1]["certificates"][1] == certificate_body(
        (tmp_path / "certs" / "next.crt").read_bytes())


def test_apply_refused_permission_says_which(applying: tuple[Path, GenericSso]) -> None:
    path, genesys = applying
    genesys.permissions.clear()
    result = run(path, "--apply", "--yes")
    assert result.exit_code == 1
    assert "HTTP 403" in result.stderr and "sso:provider:edit" in result.stderr
    assert genesys.puts == []
    assert genesys.client_secret not in result.output


def test_apply_refuses_values_that_are_not_ready(tmp_path: Path, key_dir: Path) -> None:
    path = write_config(tmp_path, key_dir)
    result = run(path, "--apply", "--yes")
    assert result.exit_code == 1 and "not applied" in result.stderr
