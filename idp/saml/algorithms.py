"""The signature and digest algorithms: what an SP may sign its requests with (on either binding)
and what the IdP's metadata advertises, in one place so that the two never disagree.

RSA with SHA-256, SHA-384 or SHA-512 is accepted; SHA-1 (and anything else) is refused with a
message that names the algorithm. Both lists are in order of preference, as the SAML V2.0
Metadata Profile for Algorithm Support wants them in metadata.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
RSA_SHA512 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
DIGEST_SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
DIGEST_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
DIGEST_SHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
DIGEST_SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"

#: SigAlg of an HTTP-Redirect signature -> the hash its RSA PKCS#1 v1.5 signature uses.
QUERY_SIGNATURE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    RSA_SHA256: hashes.SHA256,
    RSA_SHA384: hashes.SHA384,
    RSA_SHA512: hashes.SHA512,
}
SIGNING_METHODS = (RSA_SHA256, RSA_SHA384, RSA_SHA512)
DIGEST_METHODS = (DIGEST_SHA256, DIGEST_SHA384, DIGEST_SHA512)
#: Smallest RSA key a signing certificate may carry (saml2int SDP-MD06), advertised as
#: MinKeySize in metadata.
MIN_RSA_BITS = 2048

_WEAK = {RSA_SHA1: "RSA-SHA1", DIGEST_SHA1: "SHA-1",
         "http://www.w3.org/2000/09/xmldsig#hmac-sha1": "HMAC-SHA1",
         "http://www.w3.org/2000/09/xmldsig#dsa-sha1": "DSA-SHA1"}


def refusal(signing_method: str, digest_methods: tuple[str, ...] = ()) -> str | None:
    """Why a request signed with these algorithms is refused, or None when they are accepted."""
    for uri, accepted in ((signing_method, SIGNING_METHODS),
                          *((d, DIGEST_METHODS) for d in digest_methods)):
        if uri not in accepted:
            name = _WEAK.get(uri) or (uri[:80] if uri else "no algorithm")
            weak = ", weaker than SHA-256" if uri in _WEAK else ""
            return (f"the request is signed with {name}{weak}; only RSA with SHA-256, SHA-384 "
                    "or SHA-512 is accepted")
    return None
