"""NameID formats (issue 12, item 3): emailAddress, persistent (opaque, pairwise, stable) and
transient, chosen from the SP's allowed formats and the request's NameIDPolicy (AllowCreate
honoured); anything else is answered InvalidNameIDPolicy. Responses are judged by python3-saml
in strict mode, for SPs registered from the metadata python3-saml publishes."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from idp.auth.base import CicUser
from idp.auth.local import LocalDirectory
from idp.config import load_config
from idp.errors import ConfigError
from idp.saml.constants import (
    NAMEID_EMAIL,
    NAMEID_PERSISTENT,
    NAMEID_TRANSIENT,
    NS,
    STATUS_INVALID_NAMEID_POLICY,
    STATUS_REQUESTER,
)
from idp.saml.metadata import SSO_PATH
from idp.web import create_app
from tests.conftest import (
    ALICE,
    CHEAP_HASHER,
    PASSWORD,
    Sp,
    hidden,
    now_instant,
    redirect_query,
    seed_users,
    write_config,
)
from tests.helpers import authn_request_xml

HTTPS = {"base_url": "https://localhost:8043"}
LOGIN = "/ICNotifierIDP/login"
P1, P2 = "https://p1.example.test", "https://p2.example.test"
ENCRYPTED = "urn:oasis:names:tc:SAML:2.0:nameid-format:encrypted"


@dataclass
class Stack:
    app: Flask
    directory: LocalDirectory
    sps: dict[str, Sp]  # base -> the SP that judges answers for it

    def client(self) -> FlaskClient:
        return self.app.test_client()


class JudgingSp(Sp):
    """python3-saml in strict mode; an SP that takes NameIDs without attributes."""

    @property
    def settings(self) -> dict[str, Any]:
        values = super().settings
        values["security"]["wantAttributeStatement"] = False
        return values


def metadata_of(sp: Sp, nameid_format: str) -> bytes:
    values: dict[str, Any] = sp.settings
    values["sp"]["NameIDFormat"] = nameid_format
    metadata = OneLogin_Saml2_Settings(values, sp_validation_only=True).get_sp_metadata()
    return metadata if isinstance(metadata, bytes) else metadata.encode()


def build(tmp_path: Path, key_dir: Path, p2_formats: str = '["emailAddress", "persistent", '
          '"transient"]', persistent_key: bool = True, p1_format: str = NAMEID_PERSISTENT
          ) -> Stack:
    path = write_config(tmp_path, key_dir)
    config = load_config(path)
    from idp.demo.sp import DemoIdp

    idp = DemoIdp(config.entity_id, config.public_base_url + SSO_PATH,
                  config.idp.signing_certificate.read_text())
    sps: dict[str, Sp] = {P1: JudgingSp(P1, idp), P2: JudgingSp(P2, idp)}
    (tmp_path / "p1.xml").write_bytes(metadata_of(sps[P1], p1_format))
    (tmp_path / "p2.xml").write_bytes(metadata_of(sps[P2], NAMEID_EMAIL))
    path.write_text(path.read_text() + f"""
[[service_providers]]
metadata = "p1.xml"

[[service_providers]]
metadata = "p2.xml"
nameid_formats = {p2_formats}
""")
    if not persistent_key:
        text = path.read_text().replace("[idp]\n", '[idp]\npersistent_id_secret = { file = '
                                        '"certs/none.secret" }\n')
        path.write_text(text)
    config = load_config(path)
    (config.path.parent / "certs" / "persistent-id.secret").write_text("k" * 64)
    directory = seed_users(config.directory.database)
    backend = LocalDirectory(config.directory.database, hasher=CHEAP_HASHER)
    return Stack(create_app(config, backend=backend), directory, sps)


@pytest.fixture
def stack(tmp_path: Path, key_dir: Path) -> Stack:
    return build(tmp_path, key_dir)


def request_for(base: str, request_id: str, **policy: Any) -> str:
    return authn_request_xml(request_id=request_id, issuer=f"{base}/metadata",
                             acs_url=f"{base}/acs", issue_instant=now_instant(),
                             destination=f"https://localhost:8043{SSO_PATH}",
                             **policy).decode()


def answer(client: FlaskClient, base: str, request_id: str, **policy: Any) -> str:
    """The SAMLResponse for a request (logging on when the logon page comes)."""
    page = client.get(LOGIN, query_string=redirect_query(request_for(base, request_id,
                                                                     **policy)), **HTTPS)
    assert page.status_code == 200, page.text
    if 'name="password"' in page.text:
        page = client.post(f"{LOGIN}?loginType=saml", data={
            "ctx": hidden(page.text, "ctx"), "csrf": hidden(page.text, "csrf"),
            "user_id": "alice", "password": PASSWORD}, **HTTPS)
    value = hidden(page.text, "SAMLResponse")
    assert value, page.text
    return value


def name_id(stack: Stack, value: str, base: str, request_id: str) -> etree._Element:
    """The NameID of a Response that python3-saml (strict) accepts."""
    auth = stack.sps[base].check(value, request_id)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    found = etree.fromstring(base64.b64decode(value)).find(".//saml:Subject/saml:NameID", NS)
    assert found is not None
    assert found.text == auth.get_nameid() and found.get("Format") == auth.get_nameid_format()
    return found


def status_codes(value: str) -> list[str]:
    root = etree.fromstring(base64.b64decode(value))
    return [c.get("Value") or "" for c in root.iterfind(".//samlp:StatusCode", NS)]


def test_persistent_is_opaque_pairwise_and_stable(stack: Stack) -> None:
    client = stack.client()
    first = name_id(stack, answer(client, P1, "_a1", nameid_format=NAMEID_PERSISTENT), P1, "_a1")
    assert first.get("Format") == NAMEID_PERSISTENT
    assert first.get("NameQualifier") == "https://localhost"
    assert first.get("SPNameQualifier") == f"{P1}/metadata"
    value = first.text or ""
    assert len(value) == 43 and "alice" not in value.casefold() and "@" not in value
    # a new session, on a new browser: the same identifier
    again = name_id(stack, answer(stack.client(), P1, "_a2", nameid_format=NAMEID_PERSISTENT),
                    P1, "_a2")
    assert again.text == value
    # another SP: another identifier for the same user
    other = name_id(stack, answer(client, P2, "_a3", nameid_format=NAMEID_PERSISTENT), P2, "_a3")
    assert other.text != value and other.get("SPNameQualifier") == f"{P2}/metadata"
    # the e-mail changes: the identifier does not
    stack.directory.upsert(CicUser("alice", ALICE.display_name, "alice.new@example.com"))
    moved = name_id(stack, answer(stack.client(), P1, "_a4", nameid_format=NAMEID_PERSISTENT),
                    P1, "_a4")
    assert moved.text == value


def test_an_sp_that_asks_for_nothing_gets_its_first_allowed_format(stack: Stack) -> None:
    client = stack.client()
    p1 = name_id(stack, answer(client, P1, "_b1", nameid_format=None), P1, "_b1")
    assert p1.get("Format") == NAMEID_PERSISTENT  # what its metadata lists
    unspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
    p2 = name_id(stack, answer(client, P2, "_b2", nameid_format=unspecified), P2, "_b2")
    assert p2.get("Format") == NAMEID_EMAIL and p2.text == "alice@example.com"


def test_transient_is_kept_for_the_session_and_new_in_the_next(stack: Stack) -> None:
    client = stack.client()
    first = name_id(stack, answer(client, P2, "_c1", nameid_format=NAMEID_TRANSIENT), P2, "_c1")
    assert first.get("Format") == NAMEID_TRANSIENT and "alice" not in (first.text or "")
    same = name_id(stack, answer(client, P2, "_c2", nameid_format=NAMEID_TRANSIENT), P2, "_c2")
    assert same.text == first.text
    other = name_id(stack, answer(stack.client(), P2, "_c3", nameid_format=NAMEID_TRANSIENT),
                    P2, "_c3")
    assert other.text != first.text


@pytest.mark.parametrize("policy", [
    {"nameid_format": NAMEID_TRANSIENT},  # not among P1's formats
    {"nameid_format": NAMEID_EMAIL},  # likewise
    {"nameid_format": ENCRYPTED},  # not one this IdP issues
    {"nameid_format": NAMEID_PERSISTENT, "sp_name_qualifier": "urn:an-affiliation"},
])
def test_a_policy_that_cannot_be_met_is_answered_invalid_nameid_policy(
        stack: Stack, policy: dict[str, str]) -> None:
    client = stack.client()
    page = client.get(LOGIN, query_string=redirect_query(request_for(P1, "_d1", **policy)),
                      **HTTPS)
    assert 'name="password"' not in page.text  # answered at once, nothing to log on for
    value = hidden(page.text, "SAMLResponse") or ""
    assert status_codes(value) == [STATUS_REQUESTER, STATUS_INVALID_NAMEID_POLICY]
    auth = stack.sps[P1].check(value, "_d1")  # signed, addressed to P1's ACS
    assert "status code of the Response was not Success, was Requester" in (
        auth.get_last_error_reason() or "")


def test_allow_create_false_waits_for_an_established_identifier(stack: Stack) -> None:
    client = stack.client()
    refused = answer(client, P1, "_e1", nameid_format=NAMEID_PERSISTENT, allow_create="false")
    assert status_codes(refused) == [STATUS_REQUESTER, STATUS_INVALID_NAMEID_POLICY]
    created = name_id(stack, answer(client, P1, "_e2", nameid_format=NAMEID_PERSISTENT), P1,
                      "_e2")
    now = name_id(stack, answer(stack.client(), P1, "_e3", nameid_format=NAMEID_PERSISTENT,
                                allow_create="false"), P1, "_e3")
    assert now.text == created.text
    unsaid = name_id(stack, answer(stack.client(), P2, "_e4", nameid_format=NAMEID_PERSISTENT,
                                   allow_create=None), P2, "_e4")  # not said: permission
    assert unsaid.get("Format") == NAMEID_PERSISTENT


def test_a_user_without_e_mail_can_have_a_persistent_name_id(stack: Stack) -> None:
    stack.directory.upsert(CicUser("alice", "Alice", ""))
    value = answer(stack.client(), P1, "_f1", nameid_format=NAMEID_PERSISTENT)
    assert name_id(stack, value, P1, "_f1").get("Format") == NAMEID_PERSISTENT
    root = etree.fromstring(base64.b64decode(value))
    assert root.find(".//saml:AttributeStatement", NS) is None  # no empty statement


def test_metadata_lists_the_formats_issued(stack: Stack) -> None:
    metadata = etree.fromstring(stack.client().get("/ICNotifierIDP/metadata", **HTTPS).data)
    listed = [e.text for e in metadata.iterfind(".//md:NameIDFormat", NS)]
    assert listed == [NAMEID_EMAIL, NAMEID_PERSISTENT, NAMEID_TRANSIENT]


def test_without_the_key_persistent_is_not_offered(tmp_path: Path, key_dir: Path) -> None:
    with pytest.raises(ConfigError, match="only persistent NameIDs"):
        build(tmp_path, key_dir, persistent_key=False)  # P1's metadata takes nothing else
    with pytest.raises(ConfigError, match="persistent needs idp.persistent_id_secret"):
        build(tmp_path / "a", key_dir, persistent_key=False, p1_format=NAMEID_TRANSIENT)
    stack = build(tmp_path / "b", key_dir, p2_formats='["emailAddress", "transient"]',
                  persistent_key=False, p1_format=NAMEID_TRANSIENT)
    metadata = etree.fromstring(stack.client().get("/ICNotifierIDP/metadata", **HTTPS).data)
    assert NAMEID_PERSISTENT not in [e.text for e in metadata.iterfind(".//md:NameIDFormat", NS)]


def test_an_unknown_format_name_is_a_configuration_error(tmp_path: Path, key_dir: Path) -> None:
    with pytest.raises(ConfigError, match="nameid_formats: 'x509'"):
        build(tmp_path, key_dir, p2_formats='["x509"]')
