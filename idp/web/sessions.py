"""Where the STS session lives, so that either server of a switchover pair can continue it.

- `EncryptedCookieSessionInterface` (default): the session travels in the cookie itself,
  encrypted and authenticated with AES-256-GCM under a key derived from `idp.session_secret`.
  Two servers (even on two machines) that share the secret share every session, with no extra
  service; the browser cannot read or alter what is inside.
- `RedisSessionInterface`: the cookie holds only a random session ID; the session is kept in
  Redis, for many servers, or when a session must be revocable server-side.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import time
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, Request
from flask.sessions import SecureCookieSession, SessionInterface
from werkzeug.wrappers import Response

from idp.observe.metrics import REDIS_ERRORS
from idp.web.state import PENDING_MAX_AGE

log = logging.getLogger(__name__)


def derive_key(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"cic-sts " + purpose).derive(secret.encode())


class WebSession(SecureCookieSession):
    """Flask's `session` of this browser, wherever it is kept (cookie or Redis); it remembers
    who it belonged to when it was opened (to rotate its ID). Who logged on, in it, is read
    from it as an `idp.web.state.LogonSession`."""

    opened_for: Any = None
    sid: str | None = None
    unavailable = False  # the session store could not be read


def _lifetime(app: Flask) -> int:
    return int(app.permanent_session_lifetime.total_seconds())


def _set_cookie(interface: SessionInterface, app: Flask, response: Response, value: str) -> None:
    response.set_cookie(
        interface.get_cookie_name(app), value, max_age=_lifetime(app),
        path=interface.get_cookie_path(app), domain=interface.get_cookie_domain(app),
        secure=interface.get_cookie_secure(app), httponly=interface.get_cookie_httponly(app),
        samesite=interface.get_cookie_samesite(app))


def _delete_cookie(interface: SessionInterface, app: Flask, response: Response) -> None:
    response.delete_cookie(
        interface.get_cookie_name(app), path=interface.get_cookie_path(app),
        domain=interface.get_cookie_domain(app), secure=interface.get_cookie_secure(app),
        httponly=interface.get_cookie_httponly(app),
        samesite=interface.get_cookie_samesite(app))


class EncryptedCookieSessionInterface(SessionInterface):
    session_class = WebSession

    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(derive_key(secret, b"session cookie"))

    def _aad(self, app: Flask) -> bytes:
        return self.get_cookie_name(app).encode()  # a value moved to another cookie is invalid

    def open_session(self, app: Flask, request: Request) -> WebSession:
        raw = request.cookies.get(self.get_cookie_name(app))
        if not raw:
            return WebSession()
        try:
            blob = base64.urlsafe_b64decode(raw.encode() + b"=" * (-len(raw) % 4))
            plain = self._aead.decrypt(blob[:12], blob[12:], self._aad(app))
            envelope = json.loads(plain)
        except (binascii.Error, ValueError, InvalidTag):
            return WebSession()  # tampered, foreign or from an old secret: start afresh
        if not isinstance(envelope, dict) or envelope.get("exp", 0) < time.time():
            return WebSession()
        data = envelope.get("data")
        return WebSession(data if isinstance(data, dict) else {})

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        if not session:
            if session.modified:
                _delete_cookie(self, app, response)
            return
        if not session.modified:
            return
        envelope = json.dumps({"exp": time.time() + _lifetime(app), "data": dict(session)},
                              separators=(",", ":")).encode()
        nonce = secrets.token_bytes(12)
        blob = nonce + self._aead.encrypt(nonce, envelope, self._aad(app))
        _set_cookie(self, app, response, base64.urlsafe_b64encode(blob).decode().rstrip("="))


#: Redis keys of STS sessions: the prefix, then the session ID (the cookie's value).
SESSION_PREFIX = "cic-sts:session:"


class RedisSessionInterface(SessionInterface):
    session_class = WebSession

    def __init__(self, client: Any, prefix: str = SESSION_PREFIX) -> None:
        self._redis = client
        self._prefix = prefix

    def open_session(self, app: Flask, request: Request) -> WebSession:
        from redis.exceptions import RedisError

        sid = request.cookies.get(self.get_cookie_name(app))
        session = WebSession()
        if sid and len(sid) <= 64:
            try:
                raw = self._redis.get(self._prefix + sid)
            except RedisError as exc:
                # Flask opens the session before any handler runs; flag it so a handler can
                # answer with a clear 503 page (see `create_app`), not a bare 500.
                log.error("Redis unavailable, session not read: %s", type(exc).__name__)
                REDIS_ERRORS.inc()
                session.unavailable = True
                return session
            if raw is not None:
                data = json.loads(raw)
                session = WebSession(data if isinstance(data, dict) else {})
                session.sid = sid
        session.opened_for = session.get("uid")
        return session

    def save_session(self, app: Flask, session: Any, response: Response) -> None:
        from redis.exceptions import RedisError

        if not session.modified or session.unavailable:
            return
        try:
            self._save(app, session, response)
        except RedisError as exc:  # the answer is already made; the session is just not kept
            log.error("Redis unavailable, session not saved: %s", type(exc).__name__)
            REDIS_ERRORS.inc()

    def _save(self, app: Flask, session: Any, response: Response) -> None:
        if not session:
            _delete_cookie(self, app, response)  # first: the browser forgets even if Redis fails
            if session.sid:
                self._redis.delete(self._prefix + session.sid)
            return
        if session.sid is None or session.get("uid") != session.opened_for:
            # A new session, or a logon: a new ID, so an ID seen before logon is worthless.
            if session.sid:
                self._redis.delete(self._prefix + session.sid)
            session.sid = secrets.token_urlsafe(32)
        # Before logon a session holds only a CSRF token: keep it as long as a logon form lives,
        # so visitors who never log on do not fill Redis for a whole session lifetime.
        ttl = _lifetime(app) if "uid" in session else PENDING_MAX_AGE
        self._redis.set(self._prefix + session.sid, json.dumps(dict(session)), ex=ttl)
        _set_cookie(self, app, response, session.sid)
