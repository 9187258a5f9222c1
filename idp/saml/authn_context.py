"""RequestedAuthnContext: whether the one way this IdP authenticates, a password over TLS
(PasswordProtectedTransport), is what the SP asked for (SAML Core 3.3.2.2.1).

Strength, as this IdP ranks the classes it can place: unspecified < InternetProtocol <
InternetProtocolPassword, Password < PasswordProtectedTransport < the certificate, smart card,
token and multi-factor classes. A class not in that ranking cannot be compared, so it only
matches exactly. Declarations (AuthnContextDeclRef) are never issued.
"""

from __future__ import annotations

from idp.errors import SamlStatusError
from idp.saml.constants import AC_PASSWORD_PROTECTED, STATUS_NO_AUTHN_CONTEXT
from idp.saml.request import RequestedAuthnContext

_AC = "urn:oasis:names:tc:SAML:2.0:ac:classes:"
#: Class -> rank; ours (PasswordProtectedTransport) is 3.
_RANK = {
    _AC + "unspecified": 0,
    _AC + "InternetProtocol": 1,
    _AC + "InternetProtocolPassword": 2,
    _AC + "Password": 2,
    AC_PASSWORD_PROTECTED: 3,
    **{_AC + name: 4 for name in (
        "X509", "Smartcard", "SmartcardPKI", "SoftwarePKI", "TLSClient", "Kerberos",
        "TimeSyncToken", "MobileOneFactorContract", "MobileTwoFactorContract",
        "MobileTwoFactorUnregistered", "MobileOneFactorUnregistered", "PGP", "SPKI",
        "XMLDSig")},
}
OURS = _RANK[AC_PASSWORD_PROTECTED]


def check(requested: RequestedAuthnContext | None) -> None:
    """Nothing when a password logon satisfies `requested`; else `SamlStatusError`
    NoAuthnContext (answered to the SP, which may then offer another way in)."""
    if requested is None:
        return
    ranks = [_RANK.get(ref) for ref in requested.class_refs]
    how = requested.comparison
    if how == "exact":
        ok = AC_PASSWORD_PROTECTED in requested.class_refs or _AC + "unspecified" in \
            requested.class_refs
    elif how == "minimum":
        ok = any(r is not None and r <= OURS for r in ranks)
    elif how == "better":
        ok = any(r is not None and r < OURS for r in ranks)
    else:  # maximum: the strongest we have without exceeding one of them
        ok = any(r is not None and r >= OURS for r in ranks)
    if not ok:
        asked = ", ".join(ref.removeprefix(_AC) for ref in
                          requested.class_refs + requested.decl_refs)[:300]
        raise SamlStatusError(STATUS_NO_AUTHN_CONTEXT,
                              f"the service provider asked for {how} {asked}; this identity "
                              "provider authenticates with a password over TLS "
                              "(PasswordProtectedTransport) only")
