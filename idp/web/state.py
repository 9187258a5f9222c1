"""What the STS remembers between requests, kept in signed data the browser carries, so that any
worker (and either server of a pair sharing the session secret) can continue a logon.

- The pending AuthnRequest travels in a signed, time-limited hidden form field (`PendingLogon`).
- The STS session (who logged on, when) and the CSRF token live in Flask's signed session cookie.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import asdict, dataclass

from flask import session
from itsdangerous import BadSignature, URLSafeTimedSerializer

from idp.errors import SamlRequestError

PENDING_MAX_AGE = 900  # a logon page left open longer than this must be restarted from the SP


@dataclass(frozen=True)
class PendingLogon:
    sp: str  # SP entity ID
    acs: str  # the registered ACS URL the answer goes to
    request_id: str | None  # None for IdP-initiated logons
    relay_state: str | None
    service_name: str = ""  # ServiceName to send, for launches
    binding: str = ""  # how the AuthnRequest came (for the audit log); "": IdP-initiated


class PendingCodec:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="cic-sts pending logon")

    def dumps(self, pending: PendingLogon) -> str:
        return self._serializer.dumps(asdict(pending))

    def loads(self, token: str) -> PendingLogon:
        try:
            data = self._serializer.loads(token, max_age=PENDING_MAX_AGE)
            return PendingLogon(**data)
        except (BadSignature, TypeError):
            raise SamlRequestError("the logon form has expired or was not issued by this "
                                   "server") from None


@dataclass(frozen=True)
class StsSession:
    user_id: str
    auth_time: float
    session_index: str


def current_session(lifetime: int) -> StsSession | None:
    user_id, auth_time = session.get("uid"), session.get("at")
    if not isinstance(user_id, str) or not isinstance(auth_time, (int, float)):
        return None
    if time.time() - auth_time > lifetime:
        session.pop("uid", None)
        return None
    return StsSession(user_id, auth_time, str(session.get("sid", "")))


def start_session(user_id: str) -> StsSession:
    """Record a fresh logon; a new CSRF token too, so one seen before logon is useless after."""
    session.clear()
    session.permanent = True
    started = one_time_session(user_id)
    session.update(uid=started.user_id, at=started.auth_time, sid=started.session_index,
                   csrf=secrets.token_urlsafe(24))
    return started


def one_time_session(user_id: str) -> StsSession:
    """A session for one answer only, kept nowhere."""
    return StsSession(user_id, time.time(), "_" + secrets.token_hex(16))


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        session["csrf"] = token
    return token


def csrf_ok(submitted: str | None) -> bool:
    expected = session.get("csrf")
    return (isinstance(expected, str) and isinstance(submitted, str)
            and hmac.compare_digest(expected, submitted))
