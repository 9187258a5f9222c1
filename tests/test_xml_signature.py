"""`check_message_signature` on its own: the policy around signxml's verification."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.signer import XMLSigner

from idp.errors import SamlRequestError
from idp.saml.xml_signature import check_message_signature

REQUEST = (b'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           b'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_req1" Version="2.0">'
           b"<saml:Issuer>https://sp.example.test</saml:Issuer></samlp:AuthnRequest>")
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


def key_and_certificate(days_from_now: int, bits: int = 2048
                        ) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A key with a self-signed certificate that ends `days_from_now` days from now."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sp.example.test")])
    end = dt.datetime.now(dt.UTC) + dt.timedelta(days=days_from_now)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(end - dt.timedelta(days=365)).not_valid_after(end)
                   .sign(key, hashes.SHA256()))
    return key, certificate


def body(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def signed(key: rsa.RSAPrivateKey, certificate: x509.Certificate,
           xml: bytes = REQUEST) -> etree._Element:
    result = XMLSigner(c14n_algorithm=EXC_C14N).sign(
        etree.fromstring(xml), key=key, cert=[certificate], reference_uri="_req1")
    return etree.fromstring(etree.tostring(result))


@pytest.fixture(scope="module")
def pair() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    return key_and_certificate(300)


def test_a_signed_request_verifies(pair: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> None:
    key, certificate = pair
    assert check_message_signature(signed(key, certificate), (body(certificate),)) is True


def test_the_certificate_dates_do_not_count() -> None:
    key, expired = key_and_certificate(-30)  # SAML metadata often carries expired certificates
    assert check_message_signature(signed(key, expired), (body(expired),)) is True


def test_an_unsigned_request_is_reported_as_such(
        pair: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> None:
    assert check_message_signature(etree.fromstring(REQUEST), (body(pair[1]),)) is False


def test_without_a_certificate_to_check_with_it_counts_as_unsigned(
        pair: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> None:
    assert check_message_signature(signed(*pair), ()) is False


def test_one_of_several_metadata_certificates_may_verify(
        pair: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> None:
    _, other = key_and_certificate(300)
    key, certificate = pair
    assert check_message_signature(signed(key, certificate),
                                   (body(other), "not base64!", body(certificate))) is True


def test_a_certificate_in_the_message_is_not_trusted(
        pair: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> None:
    intruder_key, intruder_certificate = key_and_certificate(300)
    _, metadata_certificate = pair
    # Signed by another key whose own certificate rides along in KeyInfo: only metadata counts.
    with pytest.raises(SamlRequestError, match="does not verify"):
        check_message_signature(signed(intruder_key, intruder_certificate),
                                (body(metadata_certificate),))


def test_a_duplicated_id_is_refused(pair: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> None:
    root = signed(*pair)
    extensions = etree.SubElement(root, "{urn:oasis:names:tc:SAML:2.0:protocol}Extensions")
    etree.SubElement(extensions, "decoy", ID="_req1")
    with pytest.raises(SamlRequestError, match="not unique"):
        check_message_signature(root, (body(pair[1]),))


@pytest.mark.parametrize("damage", ["bad value", "no value"])
def test_a_malformed_signature_is_a_clear_refusal(
        pair: tuple[rsa.RSAPrivateKey, x509.Certificate], damage: str) -> None:
    root = signed(*pair)
    value = root.find(".//{http://www.w3.org/2000/09/xmldsig#}SignatureValue")
    if damage == "bad value":
        value.text = "QQ"  # not a valid RSA signature length; schema-valid base64
    else:
        value.getparent().remove(value)  # schema-invalid Signature
    with pytest.raises(SamlRequestError, match="does not verify"):
        check_message_signature(root, (body(pair[1]),))


def test_a_signature_that_is_not_the_roots_own_is_refused(
        pair: tuple[rsa.RSAPrivateKey, x509.Certificate]) -> None:
    """A wrapped signed message inside an unsigned one (XSW4): refused, not read as unsigned."""
    wrapper = etree.fromstring(REQUEST.replace(b'ID="_req1"', b'ID="_outer"'))
    wrapper.append(signed(*pair))
    with pytest.raises(SamlRequestError, match="not its own"):
        check_message_signature(wrapper, (body(pair[1]),))
    with pytest.raises(SamlRequestError, match="not its own"):
        check_message_signature(wrapper, ())  # even with no certificate to check it with


def test_a_key_under_2048_bits_verifies_nothing() -> None:
    """saml2int SDP-MD06: an SP's RSA key must have 2048 bits or more, on either binding."""
    import base64 as b64
    from urllib.parse import urlencode

    from cryptography.hazmat.primitives.asymmetric import padding

    from idp.saml.query_signature import check_query_signature

    key, weak = key_and_certificate(300, bits=1024)
    with pytest.raises(SamlRequestError, match="does not verify"):
        check_message_signature(signed(key, weak), (body(weak),))
    query = urlencode([("SAMLRequest", "x"),
                       ("SigAlg", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")])
    signature = key.sign(query.encode(), padding.PKCS1v15(), hashes.SHA256())
    raw = f"{query}&{urlencode([('Signature', b64.b64encode(signature).decode())])}"
    with pytest.raises(SamlRequestError, match="does not verify"):
        check_query_signature(raw, "SAMLRequest", (body(weak),))
