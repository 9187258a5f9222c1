"""Redirect-binding requests an SP signs: verified with the certificate in its metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from idp.auth.local import LocalDirectory
from idp.config import load_config
from idp.demo.sp import DemoIdp, saml_settings
from idp.keys import generate_signing_pair
from idp.saml.metadata import LOGOUT_PATH, SSO_PATH
from idp.web import create_app
from tests.conftest import CHEAP_HASHER, seed_users, write_config

SIGNING_SP = "https://signing-sp.example.test"
HTTPS = {"base_url": "https://localhost:8043"}


def pem_body(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if "-----" not in line)


@pytest.fixture
def signing(tmp_path: Path, key_dir: Path) -> tuple[FlaskClient, dict[str, Any]]:
    generate_signing_pair(tmp_path / "sp.key", tmp_path / "sp.crt", SIGNING_SP, force=False)
    idp = DemoIdp("https://localhost", f"https://localhost:8043{SSO_PATH}",
                  (key_dir / "saml-signing.crt").read_text(),
                  f"https://localhost:8043{LOGOUT_PATH}")
    settings = saml_settings(SIGNING_SP, idp)
    settings["sp"]["x509cert"] = pem_body((tmp_path / "sp.crt").read_text())
    settings["sp"]["privateKey"] = pem_body((tmp_path / "sp.key").read_text())
    settings["security"].update(authnRequestsSigned=True, logoutRequestSigned=True)
    metadata = tmp_path / "signing-sp.xml"  # as python3-saml publishes it: with its certificate
    metadata.write_bytes(OneLogin_Saml2_Settings(settings, sp_validation_only=True)
                         .get_sp_metadata())
    config = load_config(write_config(tmp_path, key_dir, extra=(
        f'\n[[service_providers]]\nmetadata = "{metadata}"\n')))
    seed_users(config.directory.database)
    app = create_app(config, backend=LocalDirectory(config.directory.database,
                                                    hasher=CHEAP_HASHER))
    return app.test_client(), settings


def signed_url(settings: dict[str, Any], logout: bool = False) -> str:
    auth = OneLogin_Saml2_Auth({"https": "on", "http_host": urlsplit(SIGNING_SP).hostname,
                                "server_port": 443, "script_name": "/", "get_data": {},
                                "post_data": {}}, settings)
    if logout:
        return str(auth.logout(return_to="bye", name_id="alice@example.com"))
    return str(auth.login(return_to="relay-1"))


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    assert "Signature=" in parts.query and "SigAlg=" in parts.query
    return f"{parts.path}?{parts.query}"


def test_a_signed_authn_request_is_accepted(
        signing: tuple[FlaskClient, dict[str, Any]]) -> None:
    client, settings = signing
    page = client.get(path_and_query(signed_url(settings)), **HTTPS)
    assert page.status_code == 200 and 'name="password"' in page.text


def test_a_tampered_signed_authn_request_is_refused(
        signing: tuple[FlaskClient, dict[str, Any]]) -> None:
    client, settings = signing
    url = path_and_query(signed_url(settings)).replace("RelayState=relay-1",
                                                       "RelayState=evil")
    page = client.get(url, **HTTPS)
    assert page.status_code == 400
    assert "does not verify" in page.text and 'name="password"' not in page.text


def test_a_signed_logout_request_is_accepted_and_a_tampered_one_refused(
        signing: tuple[FlaskClient, dict[str, Any]]) -> None:
    client, settings = signing
    good = client.get(path_and_query(signed_url(settings, logout=True)), **HTTPS)
    assert good.status_code == 302
    bad = client.get(path_and_query(signed_url(settings, logout=True)).replace(
        "RelayState=bye", "RelayState=other"), **HTTPS)
    assert bad.status_code == 400 and "Location" not in bad.headers


@pytest.mark.parametrize("smuggled", ["SAML%52equest", "Relay%53tate", "RelayState"])
def test_a_second_copy_of_a_signed_parameter_is_refused(
        signing: tuple[FlaskClient, dict[str, Any]], smuggled: str) -> None:
    """Flask decodes parameter names; a copy spelled differently must not slip past the check."""
    client, settings = signing
    url = path_and_query(signed_url(settings))
    path, query = url.split("?", 1)
    page = client.get(f"{path}?{smuggled}=evil&{query}", **HTTPS)
    assert page.status_code == 400
    assert "more than once" in page.text and 'name="password"' not in page.text


def test_an_sp_whose_metadata_says_it_signs_must_sign(
        signing: tuple[FlaskClient, dict[str, Any]]) -> None:
    client, settings = signing
    path, query = path_and_query(signed_url(settings)).split("?", 1)
    unsigned = "&".join(p for p in query.split("&")
                        if not p.startswith(("Signature=", "SigAlg=")))
    page = client.get(f"{path}?{unsigned}", **HTTPS)
    assert page.status_code == 400
    assert "are signed" in page.text and 'name="password"' not in page.text
