"""OAuth client-credentials tokens for Genesys Cloud (``POST https://login.<domain>/oauth/token``).

Client-credentials tokens cannot be refreshed: a new one is requested shortly before the current
one expires (the lifetime is set per OAuth client, 300 s to 48 h), and at once when the API
answers 401 (revoked token, or a clock that lied). One token is shared by all threads; a lock
makes sure only one of them asks for a new one.

The secret may be given as a function (`Secret`), read again for every token request: a secret
rotated in its file (or environment variable) is taken at the next token, without closing the
client that every thread of the process shares.

The token request is retried like an API request: a 429 waits what its Retry-After says (up to
`MAX_RETRY_AFTER`; a longer wait fails at once, saying how long), 5xx and network errors back off
with jitter. Whether the login host was reached is told to a `ConnectionWatch` (the SCIM client),
so that an unreachable login host is a lost connection too.

Facts: docs/facts.md#genesys-cloud-oauth-tokens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from idp.errors import GenesysAuthError, GenesysUnavailable, StsError
from idp.genesys.ratelimit import backoff, retry_after

log = logging.getLogger(__name__)

#: Tries for the token request itself (network errors, 5xx, 429).
TOKEN_ATTEMPTS = 4

#: The longest Retry-After a token request waits for (every request waits with it).
MAX_RETRY_AFTER = 60.0

#: Answers meaning the login host was not reached (a gateway in front of it answered).
_GATEWAY = (502, 503, 504)


#: The client secret, or what reads it (again for every token request).
Secret = str | Callable[[], str]


class ConnectionWatch(Protocol):
    def network_failure(self, problem: str) -> None: ...

    def reached(self) -> None: ...


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # clock value after which a new token is fetched


def refresh_margin(lifetime: float) -> float:
    """Seconds before expiry to fetch the next token: 10 % of the lifetime, at least 30 s, and
    never more than half of it (a 300 s token is renewed after 270 s, a 24 h one after 21.6 h)."""
    return min(max(30.0, lifetime * 0.1), lifetime / 2)


class ClientCredentials:
    """Hands out a valid access token for one OAuth client; see the module documentation."""

    def __init__(self, login_base: str, client_id: str, client_secret: Secret,
                 http: httpx.Client,
                 *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.token_url = login_base.rstrip("/") + "/oauth/token"
        self.client_id = client_id
        self._secret = client_secret
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._token: _Token | None = None

    def token(self, watch: ConnectionWatch | None = None) -> str:
        """A token that is not about to expire, fetched now if needed (`watch` hears whether
        the login host could be reached)."""
        with self._lock:
            if self._token is None or self._clock() >= self._token.refresh_at:
                self._token = self._fetch(watch)
            return self._token.value

    def invalidate(self, value: str) -> None:
        """The API refused `value`: the next `token()` fetches a new one (unless another thread
        already did)."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None

    def _fetch(self, watch: ConnectionWatch | None) -> _Token:
        host = urlsplit(self.token_url).netloc
        problem = ""
        wait = 0.0
        for attempt in range(TOKEN_ATTEMPTS):
            if attempt:
                self._sleep(wait)
            wait = backoff(attempt + 1, 1.0, 8.0)  # unless a 429 says how long
            started = self._clock()
            secret = self._read_secret()
            try:
                answer = self._http.post(
                    self.token_url, data={"grant_type": "client_credentials"},
                    auth=(self.client_id, secret), headers={"Accept": "application/json"})
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if watch is not None:
                    watch.network_failure(f"token request to {host}: {problem}")
                continue
            if watch is not None:
                if answer.status_code in _GATEWAY:
                    watch.network_failure(f"token request to {host}: HTTP {answer.status_code}")
                else:
                    watch.reached()
            if answer.status_code == 429:
                problem = "HTTP 429"
                asked = retry_after(answer)
                if asked is not None and asked > MAX_RETRY_AFTER:
                    raise GenesysUnavailable(
                        f"Genesys Cloud ({host}) refuses token requests for now (HTTP 429): it "
                        f"asks to wait {asked:.0f} s")
                if asked is not None:
                    wait = asked
                continue
            if answer.status_code >= 500:
                problem = f"HTTP {answer.status_code}"
                continue
            if answer.status_code in (400, 401, 403):
                raise GenesysAuthError(
                    f"Genesys Cloud ({host}) refused the OAuth client {self.client_id!r}: "
                    f"{_oauth_error(answer)}. Check genesys.client_id and genesys.client_secret "
                    "(a client-credentials grant client), and that genesys.region is the region "
                    "of the organization.")
            try:
                body = answer.json()
                value = body["access_token"]
                lifetime = float(body.get("expires_in", 86400))
            except (ValueError, KeyError, TypeError):
                raise GenesysAuthError(
                    f"{self.token_url} answered HTTP {answer.status_code} without an access "
                    "token: is genesys.login_base_url (or genesys.region) right?") from None
            if answer.status_code != 200 or not isinstance(value, str) or not value:
                raise GenesysAuthError(
                    f"{self.token_url} answered HTTP {answer.status_code} without an access token")
            log.debug("new Genesys Cloud access token, valid %.0f s", lifetime)
            return _Token(value, started + lifetime - refresh_margin(lifetime))
        raise GenesysUnavailable(f"cannot get a Genesys Cloud access token from {self.token_url}: "
                                 f"{problem} (after {TOKEN_ATTEMPTS} tries)")


    def _read_secret(self) -> str:
        if isinstance(self._secret, str):
            return self._secret
        try:
            return self._secret()
        except StsError as exc:  # the secret's file is unreadable: no token can be had
            raise GenesysAuthError(f"genesys.client_secret: {exc}") from None


def _oauth_error(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return f"HTTP {answer.status_code}"
    if not isinstance(body, dict):
        return f"HTTP {answer.status_code}"
    error = str(body.get("error") or f"HTTP {answer.status_code}")
    detail = body.get("error_description") or body.get("description") or body.get("message")
    return f"{error} ({detail})" if detail else error
