"""Which NameID an SP gets: the format (its allowed ones, and what its AuthnRequest's
NameIDPolicy asks for) and the value.

- emailAddress: the user's business e-mail (what Genesys Cloud matches users by).
- persistent: an opaque identifier for the pair (SP, user), the same on every logon and on both
  servers of a pair, that never changes when the e-mail does and cannot be linked between SPs:
  HMAC-SHA256 of the SP's entity ID and the CIC user ID (case folded, as CIC compares them)
  under a key of its own (`idp.persistent_id_secret`), base64url, 43 characters.
- transient: a random identifier, the same for one SP within one STS session (so that a
  LogoutRequest can name it) and new in the next.

A request for a format the SP may not receive, or that this IdP does not issue, is refused with
InvalidNameIDPolicy, as is a persistent one with AllowCreate="false" before one was ever issued
for that pair (the caller knows; see `idp.web.nameids`). An AllowCreate that is not said is read
as permission, as most IdPs read it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from idp.errors import SamlStatusError
from idp.saml.constants import (
    NAMEID_EMAIL,
    NAMEID_PERSISTENT,
    NAMEID_TRANSIENT,
    NAMEID_UNSPECIFIED,
    STATUS_INVALID_NAMEID_POLICY,
    STATUS_REQUESTER,
)
from idp.saml.registry import ServiceProvider
from idp.saml.request import AuthnRequest
from idp.saml.response import NameId


def choose_format(sp: ServiceProvider, request: AuthnRequest | None) -> str:
    """The format `sp` gets for `request` (None: an IdP-initiated logon), or
    `SamlStatusError` InvalidNameIDPolicy."""
    asked = request.nameid_format if request is not None else None
    if request is not None and request.sp_name_qualifier not in (None, "", sp.entity_id):
        raise _invalid("the NameIDPolicy names an SPNameQualifier (an affiliation) other than "
                       "the service provider itself, which this identity provider does not "
                       "support")
    if asked in (None, "", NAMEID_UNSPECIFIED):
        return sp.nameid_formats[0]
    if asked not in sp.nameid_formats:
        raise _invalid(f"NameID format {asked[:100]!r} is not one this service provider may "
                       f"receive here (allowed: {', '.join(sp.nameid_formats)})")
    return asked


def _invalid(message: str) -> SamlStatusError:
    return SamlStatusError(STATUS_INVALID_NAMEID_POLICY, message, top=STATUS_REQUESTER)


def persistent_value(key: bytes, sp_entity_id: str, user_id: str) -> str:
    digest = hmac.new(key, f"{sp_entity_id}\0{user_id.casefold()}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def name_id(fmt: str, email: str, user_id: str, idp_entity_id: str, sp_entity_id: str,
            persistent_key: bytes | None, transient: str | None = None) -> NameId:
    """The NameID of format `fmt` for a user; `transient` is the value already given to this
    SP in this session, if any."""
    if fmt == NAMEID_EMAIL:
        if not email:
            raise _invalid("the user has no business e-mail, which this NameID format needs")
        return NameId(email, NAMEID_EMAIL)
    if fmt == NAMEID_PERSISTENT:
        if persistent_key is None:
            raise _invalid("persistent NameIDs are not configured (idp.persistent_id_secret)")
        return NameId(persistent_value(persistent_key, sp_entity_id, user_id), fmt,
                      idp_entity_id, sp_entity_id)
    if fmt == NAMEID_TRANSIENT:
        return NameId(transient or "_" + secrets.token_hex(16), fmt, idp_entity_id,
                      sp_entity_id)
    raise _invalid(f"NameID format {fmt[:100]!r} is not one this identity provider issues")
