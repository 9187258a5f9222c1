"""An SP that signs its requests, played by python3-saml (an implementation independent of ours),
registered with the STS from the metadata python3-saml publishes, with its own key pair."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from onelogin.saml2.utils import OneLogin_Saml2_Utils

from idp.auth.local import LocalDirectory
from idp.config import Config, load_config
from idp.demo.sp import DemoIdp, saml_settings
from idp.keys import generate_signing_pair
from idp.saml.metadata import LOGOUT_PATH, SSO_PATH
from idp.web import create_app
from tests.conftest import CHEAP_HASHER, seed_users, write_config

SIGNING_SP = "https://signing-sp.example.test"
HTTPS = {"base_url": "https://localhost:8043"}


def pem_body(pem: str) -> str:
    return "".join(line for line in pem.splitlines() if "-----" not in line)


@dataclass
class SigningSp:
    client: FlaskClient
    settings: dict[str, Any]
    app: Flask
    config: Config
    folder: Path

    @property
    def key_pem(self) -> str:
        return (self.folder / "sp.key").read_text()

    @property
    def cert_pem(self) -> str:
        return (self.folder / "sp.crt").read_text()


def make_signing_sp(tmp_path: Path, key_dir: Path, extra: str = "") -> SigningSp:
    """The STS (Flask test client) with the signing SP registered (AuthnRequestsSigned)."""
    generate_signing_pair(tmp_path / "sp.key", tmp_path / "sp.crt", SIGNING_SP, force=False)
    idp = DemoIdp("https://localhost", f"https://localhost:8043{SSO_PATH}",
                  (key_dir / "saml-signing.crt").read_text(),
                  f"https://localhost:8043{LOGOUT_PATH}")
    settings = saml_settings(SIGNING_SP, idp)
    settings["sp"]["x509cert"] = pem_body((tmp_path / "sp.crt").read_text())
    settings["sp"]["privateKey"] = pem_body((tmp_path / "sp.key").read_text())
    settings["security"].update(authnRequestsSigned=True, logoutRequestSigned=True,
                                logoutResponseSigned=True)
    metadata = tmp_path / "signing-sp.xml"  # as python3-saml publishes it: with its certificate
    metadata.write_bytes(OneLogin_Saml2_Settings(settings, sp_validation_only=True)
                         .get_sp_metadata())
    config = load_config(write_config(tmp_path, key_dir, extra=(
        f'\n[[service_providers]]\nmetadata = "{metadata}"\n{extra}')))
    seed_users(config.directory.database)
    app = create_app(config, backend=LocalDirectory(config.directory.database,
                                                    hasher=CHEAP_HASHER))
    return SigningSp(app.test_client(), settings, app, config, tmp_path)


def with_algorithm(settings: dict[str, Any], sign_algorithm: str) -> dict[str, Any]:
    changed = {**settings, "security": {**settings["security"],
                                        "signatureAlgorithm": sign_algorithm,
                                        "rejectDeprecatedAlgorithm": False}}
    return changed


def signed_url(settings: dict[str, Any], logout: bool = False,
               sign_algorithm: str = OneLogin_Saml2_Constants.RSA_SHA256) -> str:
    """An HTTP-Redirect URL with a signed AuthnRequest (or LogoutRequest), from python3-saml."""
    auth = OneLogin_Saml2_Auth({"https": "on", "http_host": urlsplit(SIGNING_SP).hostname,
                                "server_port": 443, "script_name": "/", "get_data": {},
                                "post_data": {}}, with_algorithm(settings, sign_algorithm))
    if logout:
        return str(auth.logout(return_to="bye", name_id="alice@example.com"))
    return str(auth.login(return_to="relay-1"))


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    assert "Signature=" in parts.query and "SigAlg=" in parts.query
    return f"{parts.path}?{parts.query}"


def posted_request(settings: dict[str, Any], logout: bool = False,
                   sign_algorithm: str = OneLogin_Saml2_Constants.RSA_SHA256,
                   digest_algorithm: str = OneLogin_Saml2_Constants.SHA256,
                   key: str | None = None, cert: str | None = None,
                   xml: str | None = None) -> str:
    """An AuthnRequest (or LogoutRequest, or `xml`) signed by python3-saml as its HTTP-POST
    binding does."""
    saml_settings = OneLogin_Saml2_Settings(settings)
    if xml is None and logout:
        xml = OneLogin_Saml2_Logout_Request(saml_settings, name_id="alice@example.com").get_xml()
    elif xml is None:
        xml = OneLogin_Saml2_Authn_Request(saml_settings).get_xml()
    signed: bytes = OneLogin_Saml2_Utils.add_sign(
        xml, key or settings["sp"]["privateKey"], cert or settings["sp"]["x509cert"],
        sign_algorithm=sign_algorithm, digest_algorithm=digest_algorithm)
    return signed.decode()


def unsigned_request(settings: dict[str, Any]) -> str:
    return str(OneLogin_Saml2_Authn_Request(OneLogin_Saml2_Settings(settings)).get_xml())


def post(client: FlaskClient, xml: str, logout: bool = False,
         relay_state: str = "relay-post") -> Any:
    path = LOGOUT_PATH if logout else SSO_PATH
    return client.post(path, data={"SAMLRequest": base64.b64encode(xml.encode()).decode(),
                                   "RelayState": relay_state}, **HTTPS)


def sign_redirect(xml: bytes, key_pem: str, relay_state: str | None = None,
                  sig_alg: str = OneLogin_Saml2_Constants.RSA_SHA256,
                  parameter: str = "SAMLRequest", compress: bool = True) -> str:
    """The query of an HTTP-Redirect message signed as the binding says (our own code, for
    requests python3-saml would not write: no Destination, a stale IssueInstant, ...)."""
    from urllib.parse import urlencode

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from tests.helpers import deflate_raw

    body = deflate_raw(xml) if compress else xml
    fields = [(parameter, base64.b64encode(body).decode())]
    if relay_state is not None:
        fields.append(("RelayState", relay_state))
    fields.append(("SigAlg", sig_alg))
    query = urlencode(fields)
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    digest = {OneLogin_Saml2_Constants.RSA_SHA1: hashes.SHA1(),
              OneLogin_Saml2_Constants.RSA_SHA384: hashes.SHA384(),
              OneLogin_Saml2_Constants.RSA_SHA512: hashes.SHA512()}.get(sig_alg, hashes.SHA256())
    signature = base64.b64encode(key.sign(query.encode(), padding.PKCS1v15(), digest)).decode()
    return f"{query}&{urlencode([('Signature', signature)])}"
