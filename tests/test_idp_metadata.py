"""The IdP metadata (issue 12, items 2 and 11): algorithm hints, mdui, errorURL and a technical
contact, as pysaml2's metadata store (an independent reader) finds them; schema-valid against
the SAML metadata, algorithm-support and mdui schemas; cacheable only keyed on the remap
header."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient
from lxml import etree
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.mdstore import MetadataStore

from idp.config import load_config
from idp.saml.algorithms import DIGEST_METHODS, SIGNING_METHODS
from idp.saml.constants import NS
from idp.saml.metadata import ERROR_PATH, LOGO_PATH, METADATA_PATH
from idp.web import create_app
from tests.conftest import write_config

HTTPS = {"base_url": "https://localhost:8043"}
PROXY = "https://appserver.xyzcorp.com/PureConnect"
ENTITY = "https://localhost"


@pytest.fixture
def described(tmp_path: Path, key_dir: Path) -> FlaskClient:
    path = write_config(tmp_path, key_dir)
    path.write_text(path.read_text().replace(
        "[idp]\n", '[idp]\ntechnical_contact = "sts-admins@example.com"\n'
        'display_name = "ACME PureConnect"\n'))
    return create_app(load_config(path)).test_client()


def store(metadata: bytes, tmp_path: Path) -> MetadataStore:
    """pysaml2's view of the metadata, as an SP configured with it loads it."""
    (tmp_path / "idp.xml").write_bytes(metadata)
    config = SPConfig()
    config.load({"entityid": "https://pysaml2-sp.example.test/metadata",
                 "service": {"sp": {"endpoints": {"assertion_consumer_service": [
                     ("https://pysaml2-sp.example.test/acs",
                      "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")]}}},
                 "metadata": {"local": [str(tmp_path / "idp.xml")]},
                 "xmlsec_binary": "/usr/bin/xmlsec1"})
    found: MetadataStore = Saml2Client(config).metadata
    return found


def test_an_sp_learns_which_algorithms_to_sign_with(described: FlaskClient,
                                                    tmp_path: Path) -> None:
    md = store(described.get(METADATA_PATH, **HTTPS).data, tmp_path)
    assert md.supported_algorithms(ENTITY) == {"digest_methods": list(DIGEST_METHODS),
                                               "signing_methods": list(SIGNING_METHODS)}


def test_ui_info_error_url_and_contact(described: FlaskClient, tmp_path: Path) -> None:
    data = described.get(METADATA_PATH, headers={"ININ-REMAP-BASE-URL": PROXY}, **HTTPS).data
    md = store(data, tmp_path)
    assert list(md.mdui_uiinfo_display_name(ENTITY)) == ["ACME PureConnect"]
    [logo] = list(md.mdui_uiinfo_logo(ENTITY))
    assert logo["text"] == PROXY + LOGO_PATH and (logo["width"], logo["height"]) == ("240", "64")
    assert [c["email_address"] for c in md.contact_person_data(ENTITY, "technical")] == [
        ["mailto:sts-admins@example.com"]]
    descriptor = etree.fromstring(data).find("md:IDPSSODescriptor", NS)
    assert descriptor is not None and descriptor.get("errorURL") == PROXY + ERROR_PATH
    help_page = described.get(ERROR_PATH, **HTTPS)
    assert help_page.status_code == 200 and "administrator" in help_page.text


def test_the_metadata_is_schema_valid(described: FlaskClient) -> None:
    from onelogin import saml2

    schemas = Path(saml2.__file__).parent / "schemas"
    imports = "".join(
        f'<xs:import namespace="{namespace}" schemaLocation="{(schemas / name).as_uri()}"/>'
        for namespace, name in (
            ("urn:oasis:names:tc:SAML:2.0:metadata", "saml-schema-metadata-2.0.xsd"),
            ("urn:oasis:names:tc:SAML:metadata:algsupport",
             "sstc-saml-metadata-algsupport-v1.0.xsd"),
            ("urn:oasis:names:tc:SAML:metadata:ui", "sstc-saml-metadata-ui-v1.0.xsd")))
    schema = etree.XMLSchema(etree.fromstring(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:all">'
        f"{imports}</xs:schema>".encode()))
    document = etree.fromstring(described.get(METADATA_PATH, **HTTPS).data)
    assert schema.validate(document), schema.error_log


def test_the_metadata_says_how_it_may_be_cached(described: FlaskClient) -> None:
    answer = described.get(METADATA_PATH, **HTTPS)
    assert answer.headers["Vary"] == "ININ-REMAP-BASE-URL"
    assert answer.headers["Cache-Control"] == "public, max-age=3600"


def test_without_a_contact_no_contact_person(client: FlaskClient) -> None:
    document = etree.fromstring(client.get(METADATA_PATH, **HTTPS).data)
    assert document.find("md:ContactPerson", NS) is None
