"""Shared fixtures: fresh keys, a configuration on disk, the Flask app, an independent SP."""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from playwright.sync_api import Browser, sync_playwright

from idp.auth.local import LocalDirectory
from idp.config import Config, load_config
from idp.demo.sp import DemoIdp, saml_settings, sp_metadata
from idp.keys import generate_secret, generate_signing_pair, generate_tls_pair
from idp.saml.metadata import SSO_PATH
from idp.users import CicUser
from idp.web import create_app
from tests.servers import CHROMIUM, CHROMIUM_ARGS

SP_BASE = "https://sp.example.test"
STS_BASE = "https://localhost:8043"
GENESYS_LOGIN = "https://login.genesys.test"
GENESYS_RPI = "urn:genesys:test-org"
PASSWORD = "correct horse battery"

ALICE = CicUser("alice", "Alice Agent", "alice@example.com", {"business": "+13175550101"})
NOMAIL = CicUser("nomail", "No Mail", "")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole run, driven by Playwright (never downloaded)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def write_keys(folder: Path) -> Path:
    """A SAML signing pair, a TLS pair for localhost and the loopback addresses of a switchover
    pair, and a session secret, in `folder` (the names `write_config` expects)."""
    generate_signing_pair(folder / "saml-signing.key", folder / "saml-signing.crt",
                          "https://localhost", force=False)
    generate_tls_pair(folder / "tls.key", folder / "tls.crt",
                      ["localhost", "127.0.0.1", "127.0.0.2", "127.0.0.3"], force=False)
    generate_secret(folder / "session.secret", force=False)
    return folder


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_keys(tmp_path_factory.mktemp("keys"))


def write_config(folder: Path, key_dir: Path, extra: str = "", sp_base: str = SP_BASE,
                 machine: str = "localhost", port: int = 8043, stop_drain: int = 0) -> Path:
    """A configuration like `cic-sts init` writes, with the test SP registered from metadata.
    A stopping server drains for `stop_drain` seconds: none unless a test is about that
    (tests/switchover/, the worker's own tests), so that stopping a server does not slow down
    every other test."""
    certs = folder / "certs"
    if not certs.exists():
        shutil.copytree(key_dir, certs)
    idp = DemoIdp(f"https://{machine}", f"https://{machine}:{port}{SSO_PATH}",
                  (certs / "saml-signing.crt").read_text())
    (certs / "sp-metadata.xml").write_bytes(sp_metadata(sp_base, idp))
    path = folder / "cic-sts.toml"
    path.write_text(f"""
[server]
machine_names = ["{machine}", "127.0.0.1"]
port = {port}
stop_drain = {stop_drain}

[idp]
session_secret = {{ file = "certs/session.secret" }}

[directory]
database = "users.db"

[genesys]
region = "eu-west-1"
relying_party_identifier = "{GENESYS_RPI}"
organization = "acme"
login_base_url = "{GENESYS_LOGIN}"

[[service_providers]]
metadata = "certs/sp-metadata.xml"
{extra}
""")
    return path


INBOX_URL = "https://apps.example.test/directory/#/analytics/performance/me"
ADMIN_URL = "https://apps.example.test/directory/#/admin"


def launch_settings(sp_base: str) -> str:
    """A `[launch]` table that sends the CIC client buttons to the test SP."""
    return (f'\n[launch]\nservice_provider = "{sp_base}/metadata"\n'
            f'inbox = "{INBOX_URL}"\nadmin = "{ADMIN_URL}"\n')


CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def seed_users(database: Path) -> LocalDirectory:
    directory = LocalDirectory(database, hasher=CHEAP_HASHER)
    directory.upsert(ALICE, password=PASSWORD)
    directory.upsert(NOMAIL, password=PASSWORD)
    return directory


@pytest.fixture
def config(tmp_path: Path, key_dir: Path) -> Config:
    config = load_config(write_config(tmp_path, key_dir))
    seed_users(config.directory.database)
    return config


@pytest.fixture
def app(config: Config) -> Flask:
    app = create_app(config, backend=LocalDirectory(config.directory.database,
                                                    hasher=CHEAP_HASHER))
    app.testing = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class Sp:
    """An independent SP (OneLogin python3-saml, strict mode) to send requests and judge answers."""

    base: str
    idp: DemoIdp

    @property
    def settings(self) -> dict[str, Any]:
        return saml_settings(self.base, self.idp)

    def authn_request(self, acs_url: str | None = None) -> tuple[str, str]:
        """(request ID, AuthnRequest XML)."""
        request = OneLogin_Saml2_Authn_Request(OneLogin_Saml2_Settings(self.settings))
        xml = request.get_xml()
        if acs_url is not None:
            xml = xml.replace(f'AssertionConsumerServiceURL="{self.base}/acs"',
                              f'AssertionConsumerServiceURL="{acs_url}"')
        return request.get_id(), xml

    def check(self, saml_response: str, request_id: str | None) -> OneLogin_Saml2_Auth:
        auth = OneLogin_Saml2_Auth({
            "https": "on", "http_host": urlsplit(self.base).hostname, "server_port": 443,
            "script_name": "/acs", "get_data": {},
            "post_data": {"SAMLResponse": saml_response},
        }, self.settings)
        auth.process_response(request_id=request_id)
        return auth


@pytest.fixture
def sp(config: Config) -> Sp:
    return Sp(SP_BASE, DemoIdp(config.entity_id, config.public_base_url + SSO_PATH,
                               config.idp.signing_certificate.read_text()))


def now_instant(offset: int = 0) -> str:
    """An IssueInstant `offset` seconds from now, as SAML writes it."""
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def redirect_query(xml: str, relay_state: str | None = None) -> dict[str, str]:
    deflated = zlib.compress(xml.encode())[2:-4]  # raw DEFLATE, as the Redirect binding says
    query = {"loginType": "saml", "SAMLRequest": base64.b64encode(deflated).decode()}
    if relay_state is not None:
        query["RelayState"] = relay_state
    return query


def post_form(xml: str, relay_state: str | None = None) -> dict[str, str]:
    form = {"SAMLRequest": base64.b64encode(xml.encode()).decode()}
    if relay_state is not None:
        form["RelayState"] = relay_state
    return form


def parse_html(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def hidden(html: str, name: str) -> str | None:
    """The value of the (first) input named `name`, unescaped, wherever its attributes are."""
    found = parse_html(html).xpath("//input[@name=$name]", name=name)
    return found[0].get("value", "") if found else None


def input_value(html: str, input_id: str) -> str | None:
    """The value the input `input_id` is filled in with, or None when the page has no such
    input."""
    found = parse_html(html).xpath("//input[@id=$id]", id=input_id)
    return found[0].get("value", "") if found else None


def hidden_fields(html: str, *names: str) -> dict[str, str]:
    """The values of the inputs named `names` that the page has (first of each), unescaped."""
    found = {name: hidden(html, name) for name in names}
    return {name: value for name, value in found.items() if value is not None}


def selected_option(html: str, select_id: str) -> str | None:
    """The value of the option selected in the select `select_id`, or None."""
    found = parse_html(html).xpath("//select[@id=$id]/option[@selected]", id=select_id)
    return found[0].get("value") if found else None


def option_values(html: str, select_id: str) -> list[str]:
    return [str(v) for v in
            parse_html(html).xpath("//select[@id=$id]/option/@value", id=select_id)]


def form_action(html: str, form_id: str) -> str:
    found = parse_html(html).xpath("//form[@id=$id]", id=form_id)
    assert found, f"no form {form_id}"
    return str(found[0].get("action"))


def text_of(html: str, element_id: str) -> str | None:
    """The text of the element with this id, or None when the page has none."""
    found = parse_html(html).xpath("//*[@id=$id]", id=element_id)
    return found[0].text_content().strip() if found else None


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def reference_of(html: str) -> str:
    """The reference an error page shows (the key to its log line)."""
    found = text_of(html, "reference")
    assert found and re.fullmatch(r"[0-9a-f]{8}", found), "no reference on the page"
    return found


def logged_under_reference(caplog: pytest.LogCaptureFixture, html: str) -> str:
    """What the log says under the reference the page shows: the technical detail of the
    refusal, which the page itself must not show."""
    ref = reference_of(html)
    found = [r.getMessage() for r in caplog.records if f"[ref {ref}]" in r.getMessage()]
    assert found, f"nothing logged under reference {ref}"
    return found[0]


def refusal(answer: Any, caplog: pytest.LogCaptureFixture) -> str:
    """The technical detail of a refused request, from the log under the page's reference; the
    page itself (plain words, in the reader's language) must not show it."""
    logged = logged_under_reference(caplog, answer.text)
    detail = logged.split("]: ", 1)[1] if "]: " in logged else logged
    assert detail not in parse_html(answer.text).text_content(), "the page shows the detail"
    return detail
