"""pysaml2's own SP client accepts our Responses (it verifies with the xmlsec1 program)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string

from idp.config import load_config
from idp.web import create_app
from tests.conftest import PASSWORD, hidden, query_of, seed_users, write_config

SP = "https://pysaml2-sp.example.test"


def sp_config(idp_metadata: Path, want_assertions_signed: bool) -> SPConfig:
    config = SPConfig()
    config.load({
        "entityid": f"{SP}/metadata",
        "service": {"sp": {
            "endpoints": {"assertion_consumer_service": [(f"{SP}/acs", BINDING_HTTP_POST)]},
            "want_response_signed": True,
            "want_assertions_signed": want_assertions_signed,
            "allow_unsolicited": False,
            "name_id_format": ["urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"],
        }},
        "metadata": {"local": [str(idp_metadata)]},
        "xmlsec_binary": "/usr/bin/xmlsec1",
        # email / OrganizationName are not in pysaml2's attribute maps; keep them in `ava`.
        "allow_unknown_attributes": True,
    })
    return config


@pytest.mark.parametrize("want_assertions_signed", [False, True])
def test_pysaml2_sp_accepts_the_response(tmp_path: Path, key_dir: Path,
                                         want_assertions_signed: bool) -> None:
    # Register the pysaml2 SP from the metadata pysaml2 itself produces.
    sp_metadata = tmp_path / "pysaml2-sp.xml"
    draft = SPConfig()
    draft.load({"entityid": f"{SP}/metadata", "service": {"sp": {
        "endpoints": {"assertion_consumer_service": [(f"{SP}/acs", BINDING_HTTP_POST)]},
        "want_assertions_signed": want_assertions_signed}}})
    sp_metadata.write_bytes(create_metadata_string(None, config=draft, sign=False))
    path = write_config(tmp_path, key_dir, extra=f'\n[[service_providers]]\nmetadata = '
                                                 f'"{sp_metadata}"\n')
    config = load_config(path)
    directory = seed_users(config.directory.database)
    app: Flask = create_app(config, backend=directory)
    client = app.test_client()
    https = {"base_url": "https://localhost:8043"}

    idp_metadata = tmp_path / "idp.xml"
    idp_metadata.write_bytes(client.get("/ICNotifierIDP/metadata", **https).data)
    sp = Saml2Client(sp_config(idp_metadata, want_assertions_signed))
    request_id, info = sp.prepare_for_authenticate(entityid=config.entity_id,
                                                   binding=BINDING_HTTP_REDIRECT,
                                                   relay_state="pysaml2-state")
    location = dict(info["headers"])["Location"]
    page = client.get("/ICNotifierIDP/login", query_string=query_of(location), **https)
    assert page.status_code == 200
    answer = client.post("/ICNotifierIDP/login?loginType=saml", data={
        "ctx": hidden(page.text, "ctx"), "csrf": hidden(page.text, "csrf"),
        "user_id": "alice", "password": PASSWORD}, **https)
    assert hidden(answer.text, "RelayState") == "pysaml2-state"

    result = sp.parse_authn_request_response(hidden(answer.text, "SAMLResponse"),
                                             BINDING_HTTP_POST, {request_id: "/"})
    assert result is not None
    assert result.name_id.text == "alice@example.com"
    assert result.ava.get("email") == ["alice@example.com"], result.ava
    # The Response is always signed; the Assertion too when the SP's metadata asks for it.
    assert (result.assertion.signature is not None) == want_assertions_signed
