"""What the STS remembers between requests, kept in signed data the browser carries, so that any
worker (and either server of a pair sharing the session secret) can continue a logon.

- The pending AuthnRequest travels in a signed, time-limited hidden form field (`PendingLogon`).
- The STS session (who logged on, when), the CSRF token and the SPs that received an assertion
  in it (`Participant`: the NameID each got and its session index, for Single Logout) live in
  the session (an encrypted cookie, or Redis).
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import asdict, dataclass

from flask import session
from itsdangerous import BadSignature, URLSafeTimedSerializer

from idp.errors import SamlRequestError
from idp.saml.constants import NAMEID_EMAIL, NAMEID_PERSISTENT, NAMEID_TRANSIENT
from idp.saml.response import NameId

PENDING_MAX_AGE = 900  # a logon page left open longer than this must be restarted from the SP
#: SPs remembered per session for Single Logout; a session that reaches more keeps the newest.
MAX_PARTICIPANTS = 8


@dataclass(frozen=True)
class PendingLogon:
    sp: str  # SP entity ID
    acs: str  # the registered ACS URL the answer goes to
    request_id: str | None  # None for IdP-initiated logons
    relay_state: str | None
    service_name: str = ""  # ServiceName to send, for launches
    binding: str = ""  # how the AuthnRequest came (for the audit log); "": IdP-initiated
    nameid_format: str = ""  # the NameID format chosen for this SP; "": its default
    allow_create: bool = True  # False: only a persistent NameID issued before will do


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
                                   "server", page_message="form_expired") from None


@dataclass(frozen=True)
class LogonSession:
    """The logon an STS session records (in Flask's session, `idp.web.sessions.WebSession`):
    who, when, and the session index assertions carry."""

    user_id: str
    auth_time: float
    session_index: str
    kept: bool = True  # False: for one answer only (a token launch), remembered nowhere


def current_session(lifetime: int) -> LogonSession | None:
    user_id, auth_time = session.get("uid"), session.get("at")
    if not isinstance(user_id, str) or not isinstance(auth_time, (int, float)):
        return None
    if time.time() - auth_time > lifetime:
        session.pop("uid", None)
        return None
    return LogonSession(user_id, auth_time, str(session.get("sid", "")))


def start_session(user_id: str) -> LogonSession:
    """Record a fresh logon; a new CSRF token too, so one seen before logon is useless after.
    The same user logging on again (ForceAuthn) keeps the SPs of the session, for logout."""
    kept = session.get("sps") if session.get("uid") == user_id else None
    session.clear()
    session.permanent = True
    started = LogonSession(user_id, time.time(), "_" + secrets.token_hex(16))
    session.update(uid=started.user_id, at=started.auth_time, sid=started.session_index,
                   csrf=secrets.token_urlsafe(24))
    if kept:
        session["sps"] = kept
    return started


def one_time_session(user_id: str) -> LogonSession:
    """A session for one answer only, kept nowhere."""
    return LogonSession(user_id, time.time(), "_" + secrets.token_hex(16), kept=False)


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


@dataclass(frozen=True)
class Participant:
    """An SP that received an assertion in this STS session: the NameID it was given (value
    and format; the qualifiers follow from the two entity IDs) and its session index."""

    sp: str
    name_id: str
    format: str
    session_index: str

    def dump(self) -> list[str]:
        return [self.sp, self.name_id, _FORMAT_CODES.get(self.format, self.format),
                self.session_index]

    @classmethod
    def load(cls, raw: object) -> Participant | None:
        if not (isinstance(raw, list) and len(raw) == 4 and all(isinstance(v, str) for v in raw)):
            return None
        sp, value, code, index = (str(v) for v in raw)
        return cls(sp, value, _FORMATS.get(code, code), index)

    def full_name_id(self, idp_entity_id: str) -> NameId:
        if self.format == NAMEID_EMAIL:
            return NameId(self.name_id, self.format)
        return NameId(self.name_id, self.format, idp_entity_id, self.sp)


# Formats are kept short in the session: a cookie has about 4 KB for everything.
_FORMAT_CODES = {NAMEID_EMAIL: "e", NAMEID_PERSISTENT: "p", NAMEID_TRANSIENT: "t"}
_FORMATS = {code: uri for uri, code in _FORMAT_CODES.items()}


def participants() -> list[Participant]:
    """The SPs of this session, oldest first."""
    raw = session.get("sps")
    found = [Participant.load(p) for p in raw] if isinstance(raw, list) else []
    return [p for p in found if p is not None]


def participant(sp: str) -> Participant | None:
    return next((p for p in participants() if p.sp == sp), None)


def add_participant(sp: str, name_id: NameId, known: Participant | None = None) -> Participant:
    """Record that `sp` received `name_id` in this session, with a session index of its own;
    the record already there (`known`, when the caller looked it up) when the SP and NameID are
    the same: the session is then not written again, so the hot path of a logged-on user stays
    free of cookie writes."""
    known = known if known is not None else participant(sp)
    if known is not None and (known.name_id, known.format) == (name_id.value, name_id.format):
        return known
    added = Participant(sp, name_id.value, name_id.format, "_" + secrets.token_hex(16))
    kept = [p for p in participants() if p.sp != sp][-(MAX_PARTICIPANTS - 1):]
    session["sps"] = [p.dump() for p in [*kept, added]]
    return added
