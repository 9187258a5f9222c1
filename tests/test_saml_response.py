"""The signed SAML Response (idp.saml.response), checked with the xmlsec1 program, and the SP
registry (idp.saml.registry)."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
from pathlib import Path

import pytest
from lxml import etree
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from idp.errors import ConfigError, SamlRequestError, UnknownServiceProvider
from idp.keys import certificate_body
from idp.regions import region_domain
from idp.saml.constants import (
    AC_PASSWORD_PROTECTED,
    ATTRNAME_UNSPECIFIED,
    BINDING_POST,
    BINDING_REDIRECT,
    CM_BEARER,
    DS,
    MD,
    NAMEID_EMAIL,
    NS,
    SAML,
    SAMLP,
    STATUS_NO_PASSIVE,
    STATUS_RESPONDER,
    STATUS_SUCCESS,
    XS,
    XSI,
)
from idp.saml.metadata import idp_metadata
from idp.saml.registry import (
    Endpoint,
    Registry,
    ServiceProvider,
    genesys_provider,
    providers_from_metadata,
)
from idp.saml.request import AuthnRequest
from idp.saml.response import (
    ResponseParams,
    Subject,
    build_error_response,
    build_response,
    encode_for_post,
)
from tests.helpers import KeyPair, make_keypair, pem_certificate, xmlsec1_verify

IDP = "https://sts.example.com"
AUDIENCE = "urn:genesys:acme"
ACS = "https://login.mypurecloud.ie/saml"
NOW = dt.datetime(2025, 3, 4, 10, 20, 30, tzinfo=dt.UTC)
RESPONSE_NODE = f"{SAMLP}:Response"
ASSERTION_NODE = f"{SAML}:Assertion"

ALG_RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ALG_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
ALG_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ALG_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

needs_xmlsec1 = pytest.mark.skipif(shutil.which("xmlsec1") is None, reason="no xmlsec1 program")


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keypair(tmp_path_factory.mktemp("signing"), IDP)


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keypair(tmp_path_factory.mktemp("other"), "https://impostor.example.com")


@pytest.fixture
def metadata_cert(keys: KeyPair, tmp_path: Path) -> Path:
    """The signing certificate as a relying party gets it: from our metadata, nowhere else."""
    metadata = idp_metadata(IDP, "https://sts.example.com:8043", [certificate_body(keys.cert_pem)])
    root = etree.fromstring(metadata)
    bodies = root.findall(".//md:IDPSSODescriptor/md:KeyDescriptor[@use='signing']"
                          "/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    assert len(bodies) == 1
    path = tmp_path / "idp-cert.pem"
    path.write_bytes(pem_certificate(bodies[0].text or ""))
    return path


def params(**changes: object) -> ResponseParams:
    values: dict[str, object] = {
        "issuer": IDP, "audience": AUDIENCE, "acs_url": ACS, "in_response_to": "_req-0001",
        "session_index": "_session-42", "authn_instant": NOW - dt.timedelta(minutes=2),
        "now": NOW, "lifetime": 300, "skew": 30,
    }
    values.update(changes)
    return ResponseParams(**values)  # type: ignore[arg-type]


SUBJECT = Subject("alice@example.com", {"email": "alice@example.com",
                                        "OrganizationName": "acme",
                                        "ServiceName": "directory"})


@pytest.fixture
def response(keys: KeyPair) -> etree._Element:
    return etree.fromstring(build_response(params(), SUBJECT, keys.signer()))


def one(root: etree._Element, path: str) -> etree._Element:
    found = root.findall(path, NS)
    assert len(found) == 1, f"{path}: {len(found)} matches"
    return found[0]


# -- content -------------------------------------------------------------------------------------


def test_response_envelope(response: etree._Element) -> None:
    assert response.tag == f"{{{SAMLP}}}Response"
    assert response.get("Version") == "2.0"
    assert response.get("Destination") == ACS
    assert response.get("InResponseTo") == "_req-0001"
    assert response.get("IssueInstant") == "2025-03-04T10:20:30Z"
    assert response.get("ID", "").startswith("_")
    assert one(response, "saml:Issuer").text == IDP
    assert one(response, "samlp:Status/samlp:StatusCode").get("Value") == STATUS_SUCCESS


def test_assertion_subject(response: etree._Element) -> None:
    assertion = one(response, "saml:Assertion")
    assert assertion.get("ID") != response.get("ID")
    assert one(assertion, "saml:Issuer").text == IDP
    name_id = one(assertion, "saml:Subject/saml:NameID")
    assert name_id.get("Format") == NAMEID_EMAIL
    assert name_id.text == "alice@example.com"
    confirmation = one(assertion, "saml:Subject/saml:SubjectConfirmation")
    assert confirmation.get("Method") == CM_BEARER
    data = one(confirmation, "saml:SubjectConfirmationData")
    assert data.get("Recipient") == ACS
    assert data.get("InResponseTo") == "_req-0001"
    assert data.get("NotOnOrAfter") == "2025-03-04T10:25:30Z"


def test_conditions_window_and_audience(response: etree._Element) -> None:
    conditions = one(response, "saml:Assertion/saml:Conditions")
    assert conditions.get("NotBefore") == "2025-03-04T10:20:00Z"  # now - 30 s skew
    assert conditions.get("NotOnOrAfter") == "2025-03-04T10:25:30Z"  # now + 300 s lifetime
    assert one(conditions, "saml:AudienceRestriction/saml:Audience").text == AUDIENCE


def test_conditions_follow_the_parameters(keys: KeyPair) -> None:
    root = etree.fromstring(build_response(params(lifetime=60, skew=0), SUBJECT, keys.signer()))
    conditions = one(root, "saml:Assertion/saml:Conditions")
    assert conditions.get("NotBefore") == "2025-03-04T10:20:30Z"
    assert conditions.get("NotOnOrAfter") == "2025-03-04T10:21:30Z"


def test_times_are_utc_whatever_the_input_zone(keys: KeyPair) -> None:
    eastern = NOW.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    root = etree.fromstring(build_response(params(now=eastern), SUBJECT, keys.signer()))
    assert root.get("IssueInstant") == "2025-03-04T10:20:30Z"


def test_authn_statement(response: etree._Element) -> None:
    statement = one(response, "saml:Assertion/saml:AuthnStatement")
    assert statement.get("SessionIndex") == "_session-42"
    assert statement.get("AuthnInstant") == "2025-03-04T10:18:30Z"
    assert one(statement, "saml:AuthnContext/saml:AuthnContextClassRef").text == \
        AC_PASSWORD_PROTECTED


def test_attributes(response: etree._Element) -> None:
    attributes = response.findall("saml:Assertion/saml:AttributeStatement/saml:Attribute", NS)
    assert [a.get("Name") for a in attributes] == ["email", "OrganizationName", "ServiceName"]
    values = {}
    for attribute in attributes:
        assert attribute.get("NameFormat") == ATTRNAME_UNSPECIFIED
        value = one(attribute, "saml:AttributeValue")
        assert value.get(f"{{{XSI}}}type") == "xs:string"
        assert value.nsmap.get("xs") == XS  # the xs: prefix of the type is declared
        values[attribute.get("Name")] = value.text
    assert values == {"email": "alice@example.com", "OrganizationName": "acme",
                      "ServiceName": "directory"}


def test_unsolicited_response_has_no_in_response_to(keys: KeyPair) -> None:
    root = etree.fromstring(build_response(params(in_response_to=None), SUBJECT, keys.signer()))
    assert "InResponseTo" not in root.attrib
    assert "InResponseTo" not in one(root, ".//saml:SubjectConfirmationData").attrib


def test_special_characters_are_escaped(keys: KeyPair) -> None:
    email = "o'brien&<co>\"@example.com"
    tricky = "R&D <\"Ops\"> 'east' ]]> &amp;"
    subject = Subject(email, {"email": email, "OrganizationName": tricky})
    xml = build_response(params(in_response_to="_a&b\"<", session_index="s'\"<>&",
                                audience="urn:x?a=1&b=<2>"), subject, keys.signer())
    root = etree.fromstring(xml)  # well-formed
    assert one(root, ".//saml:NameID").text == email
    values = [v.text for v in root.findall(".//saml:AttributeValue", NS)]
    assert values == [email, tricky]
    assert root.get("InResponseTo") == "_a&b\"<"
    assert one(root, ".//saml:AuthnStatement").get("SessionIndex") == "s'\"<>&"
    assert one(root, ".//saml:Audience").text == "urn:x?a=1&b=<2>"
    assert len(root.findall(".//saml:Attribute", NS)) == 2  # no markup was injected


def test_encode_for_post_round_trips(keys: KeyPair) -> None:
    xml = build_response(params(), SUBJECT, keys.signer())
    assert base64.b64decode(encode_for_post(xml), validate=True) == xml


# -- signature shape -----------------------------------------------------------------------------


def check_signature_shape(element: etree._Element) -> None:
    signature = element[1]
    assert element[0].tag == f"{{{SAML}}}Issuer"
    assert signature.tag == f"{{{DS}}}Signature", "Signature must follow the Issuer directly"
    info = one(signature, "ds:SignedInfo")
    assert one(info, "ds:CanonicalizationMethod").get("Algorithm") == ALG_EXC_C14N
    assert one(info, "ds:SignatureMethod").get("Algorithm") == ALG_RSA_SHA256
    reference = one(info, "ds:Reference")
    assert reference.get("URI") == "#" + element.get("ID", "")
    assert [t.get("Algorithm") for t in reference.findall("ds:Transforms/ds:Transform", NS)] \
        == [ALG_ENVELOPED, ALG_EXC_C14N]
    assert one(reference, "ds:DigestMethod").get("Algorithm") == ALG_SHA256
    assert (one(signature, "ds:SignatureValue").text or "").strip()


def test_response_signature_algorithms_and_position(response: etree._Element,
                                                    keys: KeyPair) -> None:
    check_signature_shape(response)
    assert len(response.findall(f".//{{{DS}}}Signature")) == 1  # the assertion is not signed
    embedded = one(response, "ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate").text
    assert "".join((embedded or "").split()) == certificate_body(keys.cert_pem)


def test_sign_assertion_signs_both(keys: KeyPair) -> None:
    root = etree.fromstring(build_response(params(sign_assertion=True), SUBJECT, keys.signer()))
    check_signature_shape(root)
    check_signature_shape(one(root, "saml:Assertion"))


# -- verification with the xmlsec1 program -------------------------------------------------------


@needs_xmlsec1
def test_response_verifies_with_the_metadata_certificate(keys: KeyPair, metadata_cert: Path,
                                                         tmp_path: Path) -> None:
    document = tmp_path / "response.xml"
    document.write_bytes(build_response(params(), SUBJECT, keys.signer()))
    result = xmlsec1_verify(document, metadata_cert, RESPONSE_NODE)
    assert result.returncode == 0, result.stderr


@needs_xmlsec1
def test_tampered_response_fails_verification(keys: KeyPair, metadata_cert: Path,
                                              tmp_path: Path) -> None:
    root = etree.fromstring(build_response(params(), SUBJECT, keys.signer()))
    one(root, ".//saml:NameID").text = "mallory@example.com"
    document = tmp_path / "tampered.xml"
    document.write_bytes(etree.tostring(root))
    result = xmlsec1_verify(document, metadata_cert, RESPONSE_NODE)
    assert result.returncode != 0
    assert "FAIL" in result.stdout + result.stderr


@needs_xmlsec1
def test_other_certificate_fails_verification(keys: KeyPair, other_keys: KeyPair,
                                              tmp_path: Path) -> None:
    """xmlsec1 really checks against the given certificate, not the one the message carries."""
    document = tmp_path / "response.xml"
    document.write_bytes(build_response(params(), SUBJECT, keys.signer()))
    assert xmlsec1_verify(document, other_keys.cert_path, RESPONSE_NODE).returncode != 0


@needs_xmlsec1
def test_signed_assertion_and_response_both_verify(keys: KeyPair, metadata_cert: Path,
                                                   tmp_path: Path) -> None:
    xml = build_response(params(sign_assertion=True), SUBJECT, keys.signer())
    root = etree.fromstring(xml)
    assertion_id = one(root, "saml:Assertion").get("ID")
    document = tmp_path / "response.xml"
    document.write_bytes(xml)
    outer = xmlsec1_verify(document, metadata_cert, RESPONSE_NODE, ASSERTION_NODE)
    assert outer.returncode == 0, outer.stderr
    assert f'URI="#{root.get("ID")}"' in xml.decode()
    inner = xmlsec1_verify(document, metadata_cert, RESPONSE_NODE, ASSERTION_NODE,
                           node_id=assertion_id)
    assert inner.returncode == 0, inner.stderr
    # the assertion's signature also holds once the assertion is taken out of the response
    alone = tmp_path / "assertion.xml"
    alone.write_bytes(etree.tostring(one(root, "saml:Assertion")))
    detached = xmlsec1_verify(alone, metadata_cert, ASSERTION_NODE)
    assert detached.returncode == 0, detached.stderr


@needs_xmlsec1
def test_assertion_signature_is_checked_separately(keys: KeyPair, metadata_cert: Path,
                                                   tmp_path: Path) -> None:
    """Changing the Response outside the Assertion breaks only the Response's signature, which
    shows that `--node-id` really checks the Assertion's own signature."""
    root = etree.fromstring(build_response(params(sign_assertion=True), SUBJECT, keys.signer()))
    root.set("Destination", "https://evil.example.com/acs")
    document = tmp_path / "response.xml"
    document.write_bytes(etree.tostring(root))
    nodes = (RESPONSE_NODE, ASSERTION_NODE)
    assert xmlsec1_verify(document, metadata_cert, *nodes).returncode != 0
    assertion_id = one(root, "saml:Assertion").get("ID")
    assert xmlsec1_verify(document, metadata_cert, *nodes, node_id=assertion_id).returncode == 0


@needs_xmlsec1
def test_tampered_signed_assertion_fails_on_its_own(keys: KeyPair, metadata_cert: Path,
                                                    tmp_path: Path) -> None:
    root = etree.fromstring(build_response(params(sign_assertion=True), SUBJECT, keys.signer()))
    assertion = one(root, "saml:Assertion")
    one(assertion, ".//saml:Audience").text = "urn:someone-else"
    alone = tmp_path / "assertion.xml"
    alone.write_bytes(etree.tostring(assertion))
    assert xmlsec1_verify(alone, metadata_cert, ASSERTION_NODE).returncode != 0


@needs_xmlsec1
def test_escaped_values_still_verify(keys: KeyPair, metadata_cert: Path, tmp_path: Path) -> None:
    subject = Subject("o'brien&co@example.com", {"OrganizationName": "R&D <\"Ops\">"})
    document = tmp_path / "response.xml"
    document.write_bytes(build_response(params(), subject, keys.signer()))
    assert xmlsec1_verify(document, metadata_cert, RESPONSE_NODE).returncode == 0


# -- error responses -----------------------------------------------------------------------------


def test_error_response_carries_nested_status(keys: KeyPair) -> None:
    xml = build_error_response(IDP, ACS, "_req-0001", STATUS_NO_PASSIVE,
                               "passive logon <not> possible", NOW, keys.signer())
    root = etree.fromstring(xml)
    assert root.get("Destination") == ACS
    assert root.get("InResponseTo") == "_req-0001"
    assert one(root, "saml:Issuer").text == IDP
    top = one(root, "samlp:Status/samlp:StatusCode")
    assert top.get("Value") == STATUS_RESPONDER
    assert one(top, "samlp:StatusCode").get("Value") == STATUS_NO_PASSIVE
    assert one(root, "samlp:Status/samlp:StatusMessage").text == "passive logon <not> possible"
    assert root.find("saml:Assertion", NS) is None
    check_signature_shape(root)


@needs_xmlsec1
def test_error_response_verifies(keys: KeyPair, metadata_cert: Path, tmp_path: Path) -> None:
    document = tmp_path / "error.xml"
    document.write_bytes(build_error_response(IDP, ACS, "_r", STATUS_NO_PASSIVE, "no", NOW,
                                              keys.signer()))
    assert xmlsec1_verify(document, metadata_cert, RESPONSE_NODE).returncode == 0


# -- the SP registry -----------------------------------------------------------------------------


def authn(acs_url: str | None = None, acs_index: int | None = None,
          binding: str | None = None) -> AuthnRequest:
    return AuthnRequest(id="_req", issuer="urn:sp", issue_instant="2025-03-04T10:20:30Z",
                        destination=None, acs_url=acs_url, acs_index=acs_index,
                        protocol_binding=binding, force_authn=False, is_passive=False,
                        nameid_format=None)


def test_genesys_provider_endpoints() -> None:
    login = f"https://login.{region_domain('eu-west-1')}"
    sp = genesys_provider("urn:test", "acme", login, service_name="directory")
    assert sp.entity_id == "urn:test"
    assert sp.organization_name == "acme"
    assert sp.service_name == "directory"
    assert sp.acs == (Endpoint(BINDING_POST, "https://login.mypurecloud.ie/saml", index=0,
                               is_default=True),)
    assert {(e.binding, e.location) for e in sp.slo} == {
        (BINDING_REDIRECT, "https://login.mypurecloud.ie/saml/logout"),
        (BINDING_POST, "https://login.mypurecloud.ie/saml/logout"),
    }
    assert sp.resolve_acs(authn()).location == "https://login.mypurecloud.ie/saml"


SP = ServiceProvider(
    entity_id="urn:sp",
    name="test SP",
    acs=(
        Endpoint(BINDING_REDIRECT, "https://sp.example.test/acs-redirect", index=0),
        Endpoint(BINDING_POST, "https://sp.example.test/acs-1", index=1),
        Endpoint(BINDING_POST, "https://sp.example.test/acs-2", index=2, is_default=True),
        Endpoint(BINDING_POST, "https://sp.example.test/acs-3", index=3),
    ),
)


def test_resolve_acs_exact_url() -> None:
    endpoint = SP.resolve_acs(authn(acs_url="https://sp.example.test/acs-3"))
    assert endpoint.location == "https://sp.example.test/acs-3"
    assert endpoint.index == 3


@pytest.mark.parametrize("url", [
    "https://sp.example.test/acs-3/",  # trailing slash
    "https://SP.example.test/acs-3",  # other case
    "https://sp.example.test/acs-3?x=1",
    "https://evil.example.com/acs",
    "https://sp.example.test/acs-redirect",  # registered, but not for POST
])
def test_resolve_acs_unregistered_url(url: str) -> None:
    with pytest.raises(UnknownServiceProvider) as info:
        SP.resolve_acs(authn(acs_url=url))
    assert info.value.http_status == 403


def test_resolve_acs_by_index() -> None:
    assert SP.resolve_acs(authn(acs_index=1)).location == "https://sp.example.test/acs-1"
    with pytest.raises(UnknownServiceProvider):
        SP.resolve_acs(authn(acs_index=7))
    with pytest.raises(UnknownServiceProvider):
        SP.resolve_acs(authn(acs_index=0))  # the Redirect-binding endpoint


def test_resolve_acs_default() -> None:
    assert SP.resolve_acs(authn()).location == "https://sp.example.test/acs-2"
    assert SP.resolve_acs(authn(binding=BINDING_POST)).location == "https://sp.example.test/acs-2"


def test_default_acs_without_is_default_is_lowest_index() -> None:
    sp = ServiceProvider("urn:sp", "sp", acs=(
        Endpoint(BINDING_POST, "https://sp.example.test/b", index=5),
        Endpoint(BINDING_POST, "https://sp.example.test/a", index=2),
    ))
    assert sp.resolve_acs(authn()).location == "https://sp.example.test/a"


def test_non_post_protocol_binding_is_refused() -> None:
    with pytest.raises(SamlRequestError, match="HTTP-POST"):
        SP.resolve_acs(authn(acs_url="https://sp.example.test/acs-1", binding=BINDING_REDIRECT))
    with pytest.raises(SamlRequestError):
        SP.resolve_acs(authn(binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"))


def test_registry_get() -> None:
    registry = Registry([SP, genesys_provider("urn:test", "acme", "https://login.x")])
    assert len(registry) == 2
    assert registry.get("urn:sp") is SP
    assert {sp.entity_id for sp in registry} == {"urn:sp", "urn:test"}
    with pytest.raises(UnknownServiceProvider, match="urn:nobody"):
        registry.get("urn:nobody")


def test_registry_refuses_duplicates() -> None:
    with pytest.raises(ConfigError, match="registered twice"):
        Registry([SP, SP])


def test_providers_from_python3_saml_metadata(tmp_path: Path) -> None:
    settings = OneLogin_Saml2_Settings({
        "strict": True,
        "sp": {
            "entityId": "https://sp.example.test/metadata",
            "assertionConsumerService": {"url": "https://sp.example.test/acs",
                                         "binding": BINDING_POST},
            "singleLogoutService": {"url": "https://sp.example.test/sls",
                                    "binding": BINDING_REDIRECT},
            "NameIDFormat": NAMEID_EMAIL,
        },
        "idp": {"entityId": IDP, "singleSignOnService": {"url": IDP + "/sso",
                                                         "binding": BINDING_REDIRECT}},
    }, sp_validation_only=True)
    path = tmp_path / "sp.xml"
    metadata = settings.get_sp_metadata()
    path.write_bytes(metadata if isinstance(metadata, bytes) else metadata.encode())
    [sp] = providers_from_metadata(path, organization_name="acme")
    assert sp.entity_id == "https://sp.example.test/metadata"
    assert sp.organization_name == "acme"
    assert [(e.binding, e.location) for e in sp.acs] == [(BINDING_POST,
                                                          "https://sp.example.test/acs")]
    assert [(e.binding, e.location) for e in sp.slo] == [(BINDING_REDIRECT,
                                                          "https://sp.example.test/sls")]
    assert sp.resolve_acs(authn(acs_url="https://sp.example.test/acs")).location == \
        "https://sp.example.test/acs"
    assert sp.resolve_acs(authn()).location == "https://sp.example.test/acs"


ENTITIES = f"""<?xml version="1.0"?>
<md:EntitiesDescriptor xmlns:md="{MD}" xmlns:ds="{DS}">
  <md:EntityDescriptor entityID="https://one.example.test">
    <md:SPSSODescriptor protocolSupportEnumeration="{SAMLP}" WantAssertionsSigned="true">
      <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
        <ds:X509Certificate>
          MIIB
          AAAA
        </ds:X509Certificate>
      </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
      <md:AssertionConsumerService Binding="{BINDING_POST}"
          Location="https://one.example.test/acs" index="0"/>
      <md:AssertionConsumerService Binding="{BINDING_POST}"
          Location="https://one.example.test/acs2" index="1" isDefault="true"/>
    </md:SPSSODescriptor>
  </md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://idp-only.example.test">
    <md:IDPSSODescriptor protocolSupportEnumeration="{SAMLP}">
      <md:SingleSignOnService Binding="{BINDING_REDIRECT}" Location="https://idp.test/sso"/>
    </md:IDPSSODescriptor>
  </md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://two.example.test">
    <md:SPSSODescriptor protocolSupportEnumeration="{SAMLP}">
      <md:AssertionConsumerService Binding="{BINDING_POST}"
          Location="https://two.example.test/saml/acs" index="\u00b2"/>
      <md:SingleLogoutService Binding="{BINDING_REDIRECT}"
          Location="https://two.example.test/slo" ResponseLocation="https://two.example.test/r"/>
    </md:SPSSODescriptor>
  </md:EntityDescriptor>
</md:EntitiesDescriptor>
"""


def test_providers_from_entities_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "federation.xml"
    path.write_text(ENTITIES, encoding="utf-8")
    one_sp, two_sp = providers_from_metadata(path)
    assert one_sp.entity_id == "https://one.example.test"
    assert one_sp.sign_assertion is True
    assert one_sp.certificates == ("MIIBAAAA",)
    assert one_sp.resolve_acs(authn()).location == "https://one.example.test/acs2"
    assert one_sp.resolve_acs(authn(acs_index=0)).location == "https://one.example.test/acs"
    assert two_sp.entity_id == "https://two.example.test"
    assert two_sp.sign_assertion is False
    assert two_sp.acs[0].index is None  # a non-ASCII "digit" is not an index
    assert two_sp.slo[0].response_location == "https://two.example.test/r"
    assert Registry([one_sp, two_sp]).get("https://two.example.test") is two_sp


def test_metadata_with_doctype_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(ENTITIES.replace(
        '<?xml version="1.0"?>',
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'),
        encoding="utf-8")
    with pytest.raises(ConfigError, match="DTD") as info:
        providers_from_metadata(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("text, message", [
    ("<md:EntityDescriptor", "not well-formed"),
    (f'<md:EntityDescriptor xmlns:md="{MD}" entityID="x"/>', "no SPSSODescriptor"),
    (f'<x xmlns="{MD}"/>', "not SAML metadata"),
])
def test_bad_metadata_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sp.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        providers_from_metadata(path)


def test_metadata_acs_location_must_be_http(tmp_path: Path) -> None:
    path = tmp_path / "sp.xml"
    path.write_text(ENTITIES.replace("https://one.example.test/acs2", "javascript:alert(1)"),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="not an http"):
        providers_from_metadata(path)


def test_missing_metadata_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read SP metadata"):
        providers_from_metadata(tmp_path / "absent.xml")


def test_sp_display_name_comes_from_metadata(tmp_path: Path) -> None:
    from idp.saml.registry import providers_from_metadata

    named = tmp_path / "named.xml"
    named.write_text(
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        'entityID="https://sp.example.test/metadata"><md:SPSSODescriptor '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        '<md:AssertionConsumerService index="0" Location="https://sp.example.test/acs" '
        'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"/></md:SPSSODescriptor>'
        '<md:Organization><md:OrganizationName xml:lang="en">x</md:OrganizationName>'
        '<md:OrganizationDisplayName xml:lang="en">Example  Portal</md:OrganizationDisplayName>'
        '<md:OrganizationURL xml:lang="en">https://sp.example.test</md:OrganizationURL>'
        "</md:Organization></md:EntityDescriptor>")
    assert providers_from_metadata(named)[0].name == "Example Portal"
    anonymous = tmp_path / "anonymous.xml"
    anonymous.write_text(named.read_text().split("<md:Organization>")[0]
                         + "</md:EntityDescriptor>")
    assert providers_from_metadata(anonymous)[0].name == "sp.example.test"


@needs_xmlsec1
@pytest.mark.parametrize("sign_assertion", [False, True])
def test_rebinding_the_xs_prefix_breaks_the_signatures(keys: KeyPair, metadata_cert: Path,
                                                        tmp_path: Path,
                                                        sign_assertion: bool) -> None:
    """`xs` appears only inside xsi:type values; it is signed all the same (PrefixList)."""
    signed = build_response(params(sign_assertion=sign_assertion), SUBJECT, keys.signer())
    assert b'PrefixList="xs"' in signed
    rebound = signed.replace(b'xmlns:xs="http://www.w3.org/2001/XMLSchema"',
                             b'xmlns:xs="urn:evil"')
    assert rebound != signed
    document = tmp_path / "rebound.xml"
    document.write_bytes(rebound)
    assert xmlsec1_verify(document, metadata_cert, RESPONSE_NODE).returncode != 0
    if sign_assertion:
        assert xmlsec1_verify(document, metadata_cert, ASSERTION_NODE).returncode != 0


@needs_xmlsec1
def test_carriage_returns_arrive_as_sent(keys: KeyPair, metadata_cert: Path,
                                         tmp_path: Path) -> None:
    subject = Subject("a@example.com", {"email": "a@example.com", "ServiceName": "x\r\ny\rz"})
    signed = build_response(params(), subject, keys.signer())
    document = tmp_path / "cr.xml"
    document.write_bytes(signed)
    assert xmlsec1_verify(document, metadata_cert, RESPONSE_NODE).returncode == 0
    values = [v.text for v in etree.fromstring(signed).iterfind(".//saml:AttributeValue", NS)]
    assert "x\r\ny\rz" in values


@pytest.mark.parametrize("bad", ["a\x0bb@example.com", "nul\x00@example.com", "x\ufffe@y.z",
                                 "\ud800@example.com"])
def test_values_xml_cannot_carry_are_refused_clearly(keys: KeyPair, bad: str) -> None:
    from idp.errors import UnusableUserRecord

    with pytest.raises(UnusableUserRecord, match="cannot carry"):
        build_response(params(), Subject(bad, {"email": bad}), keys.signer())
