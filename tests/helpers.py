"""Small shared pieces for the unit tests: key pairs, AuthnRequest XML and its two encodings."""

from __future__ import annotations

import base64
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from idp.keys import generate_signing_pair
from idp.saml.constants import BINDING_POST, NAMEID_EMAIL, SAML, SAMLP
from idp.saml.signing import Signer

SP_ENTITY = "https://sp.example.test/metadata"
SP_ACS = "https://sp.example.test/acs"
IDP_SSO = "https://sts.example.com:8043/ICNotifierIDP/login?loginType=saml"


@dataclass(frozen=True)
class KeyPair:
    key_path: Path
    cert_path: Path

    @property
    def key_pem(self) -> bytes:
        return self.key_path.read_bytes()

    @property
    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()

    def signer(self) -> Signer:
        return Signer(self.key_pem, self.cert_pem)


def make_keypair(folder: Path, entity_id: str = "https://sts.example.com") -> KeyPair:
    """An RSA signing key and its certificate, made by the same code `cic-sts init` uses."""
    pair = KeyPair(folder / "saml-signing.key", folder / "saml-signing.crt")
    generate_signing_pair(pair.key_path, pair.cert_path, entity_id, force=False)
    return pair


_OMIT = object()


def authn_request_xml(
    *,
    request_id: object = "_req-0001",
    version: str = "2.0",
    issue_instant: str = "2025-03-04T10:20:30Z",
    destination: object = IDP_SSO,
    acs_url: object = SP_ACS,
    acs_index: object = _OMIT,
    protocol_binding: object = BINDING_POST,
    issuer: object = SP_ENTITY,
    nameid_format: object = NAMEID_EMAIL,
    force_authn: object = _OMIT,
    is_passive: object = _OMIT,
    allow_create: object = "true",
    sp_name_qualifier: object = None,
    authn_context: tuple[str, ...] = (),
    comparison: str | None = None,
) -> bytes:
    """An AuthnRequest; pass ``None`` to leave an attribute (or the Issuer / NameIDPolicy) out.
    `authn_context`: the class references of a RequestedAuthnContext (with `comparison`)."""
    root = etree.Element(f"{{{SAMLP}}}AuthnRequest", nsmap={"samlp": SAMLP, "saml": SAML})
    attributes = {
        "ID": request_id,
        "Version": version,
        "IssueInstant": issue_instant,
        "Destination": destination,
        "AssertionConsumerServiceURL": acs_url,
        "AssertionConsumerServiceIndex": acs_index,
        "ProtocolBinding": protocol_binding,
        "ForceAuthn": force_authn,
        "IsPassive": is_passive,
    }
    for name, value in attributes.items():
        if value is not None and value is not _OMIT:
            root.set(name, str(value))
    if issuer is not None:
        etree.SubElement(root, f"{{{SAML}}}Issuer").text = str(issuer)
    if nameid_format is not None:
        policy = etree.SubElement(root, f"{{{SAMLP}}}NameIDPolicy", Format=str(nameid_format))
        if allow_create is not None:
            policy.set("AllowCreate", str(allow_create))
        if sp_name_qualifier is not None:
            policy.set("SPNameQualifier", str(sp_name_qualifier))
    if authn_context:
        requested = etree.SubElement(root, f"{{{SAMLP}}}RequestedAuthnContext")
        if comparison is not None:
            requested.set("Comparison", comparison)
        for ref in authn_context:
            etree.SubElement(requested, f"{{{SAML}}}AuthnContextClassRef").text = ref
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")  # type: ignore[no-any-return]


def deflate_raw(data: bytes) -> bytes:
    """Raw DEFLATE (no zlib header or checksum), as the HTTP-Redirect binding requires."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def redirect_encode(xml: bytes) -> str:
    return base64.b64encode(deflate_raw(xml)).decode("ascii")


def post_encode(xml: bytes) -> str:
    return base64.b64encode(xml).decode("ascii")


def pem_certificate(body: str) -> bytes:
    """A PEM certificate from the base64 text of a <ds:X509Certificate>."""
    text = "".join(body.split())
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return ("-----BEGIN CERTIFICATE-----\n" + "\n".join(lines)
            + "\n-----END CERTIFICATE-----\n").encode()


def xmlsec1_verify(document: Path, cert_pem: Path, *id_attrs: str,
                   node_id: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the `xmlsec1` program to verify a signature in `document` with `cert_pem` only."""
    command = ["xmlsec1", "--verify", "--pubkey-cert-pem", str(cert_pem)]
    for node in id_attrs:
        command += ["--id-attr:ID", node]
    if node_id is not None:
        command += ["--node-id", node_id]
    command.append(str(document))
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
