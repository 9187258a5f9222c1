"""A small client for Genesys Cloud's SCIM v2 API (``https://api.<domain>/api/v2/scim/v2``).

Why not the official Python SDK (PureCloudPlatformClientV2, which has a SCIMApi)? It has no
tunable retry and no token renewal for client credentials, and pacing would have to be bolted on
around it. The sync needs all three, and needs them tested: the few SCIM calls it makes are plain
JSON, so this module makes them directly on httpx and keeps every retry decision in one place
(`ScimClient._send`):

- every attempt first has an access token (fetched now if needed), then takes its slot from a
  shared `TokenBucket` (the configured rate), then is sent at once: nothing may come between
  the slot and the send, or the threads held up there would all send together when it ends
  (a slow token request once made four threads burst past the rate);
- 429: wait what Retry-After says (all threads wait: the limit is per token), then retry;
- 5xx and network errors: retry after an exponential backoff with jitter;
- 401: fetch a new access token once, then retry;
- at most `max_retries` retries, then `GenesysUnavailable`;
- a create (POST) is never repeated blindly: when its answer is lost (a network error once the
  request may have left, or a 5xx) it raises `OutcomeUnknown`, and the caller looks the user up
  before it tries again. Everything else the sync sends is idempotent (GET, PATCH with
  If-Match, DELETE with If-Match).

Requests are counted as Successful, Failed (answered with an error, or given up: not retried,
discarded) and Retried, like CIC's health view. A version or uniqueness conflict is the caller's
to count (`count_conflict`): the sync answers most of them by re-reading and sending again (an
e-mail swap), which is a retry, not a failure. "Connection lost" is logged once when requests
stop reaching Genesys Cloud (`LOST_AFTER` network failures in a row, token requests to the login
host included), "connection restored" once when one gets through again; a client made by a new
process after a loss (`assume_lost`) reports the restore too. Each wait that a 429 asks for is
logged once, with how many users are waiting (`pending`).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from idp.errors import (
    GenesysAuthError,
    GenesysError,
    GenesysUnavailable,
    OutcomeUnknown,
    ScimError,
    UniquenessConflict,
    VersionConflict,
)
from idp.genesys.oauth import ClientCredentials
from idp.genesys.ratelimit import TokenBucket, retry_after
from idp.timestamps import utc_now

log = logging.getLogger(__name__)

SCIM_PATH = "/api/v2/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GENESYS_SCHEMA = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"

#: Network failures in a row (over all threads) after which the connection counts as lost.
LOST_AFTER = 3

#: Answers meaning "Genesys Cloud is not reachable" rather than "it failed this request".
_GATEWAY = (502, 503, 504)

#: Transport errors raised before any byte of the request left: always safe to repeat.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

Event = Callable[[str, str], None]  # (kind, message), e.g. ("connection_lost", "...")


class RequestStats:
    """Thread-safe request counters, as CIC's health view shows them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.successful = 0
        self.failed = 0
        self.retried = 0

    def count(self, *, successful: int = 0, failed: int = 0, retried: int = 0) -> None:
        with self._lock:
            self.successful += successful
            self.failed += failed
            self.retried += retried

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"successful": self.successful, "failed": self.failed,
                    "retried": self.retried}


@dataclass(frozen=True)
class Written:
    """What a write left in Genesys Cloud: the user as answered (None for 204) and its version."""

    user: dict[str, Any] | None
    version: str | None


class ScimClient:
    """See the module documentation. Safe to share between threads."""

    def __init__(self, api_base: str, credentials: ClientCredentials, *,
                 rate_per_minute: float = 300, max_retries: int = 5, timeout: float = 30.0,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0,
                 http: httpx.Client | None = None, on_event: Event | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.base = api_base.rstrip("/") + SCIM_PATH
        self.credentials = credentials
        self.max_retries = max_retries
        self.stats = RequestStats()
        self._http = http or httpx.Client(timeout=timeout)
        self._bucket = TokenBucket(rate_per_minute, clock=clock, sleep=sleep)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._on_event = on_event
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._failures_in_row = 0
        self._lost = False
        #: ("ok" | "failure", message, ISO time) of the last answer, for the health view.
        self.health: tuple[str, str, str] | None = None
        #: How many users wait for requests, for the message about a 429's wait (set by the
        #: sync pass).
        self.pending: Callable[[], int] | None = None
        #: Waits that 429 answers asked for (each counted once), for the metrics.
        self.waits = 0

    def close(self) -> None:
        self._http.close()

    def assume_lost(self) -> None:
        """Start as if the connection were lost (an earlier process lost it): the first request
        that gets through reports the restore."""
        with self._lock:
            self._lost = True

    @property
    def connection_lost(self) -> bool:
        """Whether the latest requests could not reach Genesys Cloud at all."""
        return self._lost

    # -- users -------------------------------------------------------------------------------

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        """The user, or None if there is no such user (deleted)."""
        answer = self._send("GET", f"/users/{quote(user_id, safe='')}", missing_ok=True)
        return None if answer.status_code == 404 else _json(answer)

    def search_users(self, scim_filter: str, attributes: str | None = None,
                     count: int = 25) -> list[dict[str, Any]]:
        """The first page of users matching `scim_filter` (lookups expect zero or one)."""
        params: dict[str, Any] = {"filter": scim_filter, "count": count, "startIndex": 1}
        if attributes:
            params["attributes"] = attributes
        return _resources(_json(self._send("GET", "/users", params=params)))

    def list_users(self, scim_filter: str | None = None, attributes: str | None = None,
                   page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every user, page by page. Without a filter Genesys Cloud lists only active users;
        ``active eq false`` lists the others."""
        start = 1
        while True:
            params: dict[str, Any] = {"startIndex": start, "count": page_size}
            if scim_filter:
                params["filter"] = scim_filter
            if attributes:
                params["attributes"] = attributes
            page = _json(self._send("GET", "/users", params=params))
            resources = _resources(page)
            yield from resources
            start += len(resources)
            total = page.get("totalResults")
            if not resources or (isinstance(total, int) and start > total):
                return

    def create_user(self, body: dict[str, Any]) -> Written:
        """POST a new user. `OutcomeUnknown` when the answer was lost: look before retrying."""
        answer = self._send("POST", "/users", body=body, repeatable=False)
        user = _json(answer)
        return Written(user, _version(answer, user))

    def patch_user(self, user_id: str, operations: list[dict[str, Any]],
                   version: str | None) -> Written:
        """PATCH with If-Match `version` (when known); `VersionConflict` if it changed."""
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        answer = self._send("PATCH", f"/users/{quote(user_id, safe='')}", body=body,
                            version=version)
        user = _json(answer) if answer.content else None
        return Written(user, _version(answer, user))

    def delete_user(self, user_id: str, version: str | None) -> None:
        self._send("DELETE", f"/users/{quote(user_id, safe='')}", version=version,
                   missing_ok=True)

    # -- one request, with pacing and retries --------------------------------------------------

    def _send(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None, version: str | None = None,
              repeatable: bool = True, missing_ok: bool = False) -> httpx.Response:
        what = f"{method} {path}"
        content = json.dumps(body).encode() if body is not None else None
        retries = 0
        renewed_token = False
        while True:
            # The token first, then the slot, then the send at once: a thread that waited for
            # a token after taking its slot would send late, together with the next slots.
            try:
                token = self.credentials.token(self)
            except GenesysUnavailable:
                self.stats.count(failed=1)
                raise
            self._bucket.acquire()
            headers = {"Authorization": f"Bearer {token}", "Accept": SCIM_JSON}
            if content is not None:
                headers["Content-Type"] = SCIM_JSON
            if version:
                headers["If-Match"] = version
            wait: float | None = None  # None: back off; a number: the server said how long
            try:
                answer = self._http.request(method, self.base + path, params=params,
                                            content=content, headers=headers)
            except httpx.TransportError as exc:
                problem = _describe(exc)
                self.network_failure(problem)
                if not repeatable and not isinstance(exc, _NOT_SENT):
                    self.stats.count(failed=1)
                    raise OutcomeUnknown(f"{what}: no answer ({problem}); it may have been "
                                         "carried out") from None
            else:
                status = answer.status_code
                if status in _GATEWAY:
                    self.network_failure(f"HTTP {status}")
                else:
                    self.reached()
                if status < 400 or (status == 404 and missing_ok):
                    self._answered("ok", "")
                    self.stats.count(successful=1)
                    return answer
                if status == 401 and not renewed_token:
                    # Revoked or expired early: one new token, then the same request again.
                    self.credentials.invalidate(token)
                    renewed_token = True
                    self.stats.count(retried=1)
                    continue
                problem = f"HTTP {status}{_detail(answer)}"
                if status == 429:
                    wait = retry_after(answer)
                    if wait is None:
                        wait = self._backoff(retries + 1)
                    if self._bucket.pause_until(self._clock() + wait):
                        self._say_wait(wait)
                elif status >= 500:
                    self._answered("failure", f"{what}: {problem}")
                    if not repeatable:
                        self.stats.count(failed=1)
                        raise OutcomeUnknown(f"{what}: {problem}; it may have been carried out")
                else:
                    # A refusal of one request (a value, a version, a taken e-mail) says
                    # nothing against the API's health; a refused token or right does.
                    healthy = status not in (401, 403)
                    self._answered("ok" if healthy else "failure",
                                   "" if healthy else f"{what}: {problem}")
                    error = _error(what, answer)
                    if not isinstance(error, VersionConflict | UniquenessConflict):
                        self.stats.count(failed=1)
                    raise error
            if retries >= self.max_retries:
                self.stats.count(failed=1)
                self._answered("failure", f"{what}: {problem}")
                raise GenesysUnavailable(
                    f"Genesys Cloud: {what}: {problem}, still after {retries} retries")
            retries += 1
            self.stats.count(retried=1)
            log.debug("retry %d of %s after %s", retries, what, problem)
            if wait is None:  # for a 429 the bucket already holds everyone back
                self._sleep(self._backoff(retries))

    def count_conflict(self, *, retried: bool) -> None:
        """A version or uniqueness conflict the caller answered: by sending again (`retried`),
        or by giving the request up (Failed)."""
        self.stats.count(retried=1 if retried else 0, failed=0 if retried else 1)

    def _say_wait(self, seconds: float) -> None:
        with self._lock:
            self.waits += 1
        pending = self.pending() if self.pending is not None else None
        waiting = f"; {pending} users pending" if pending else ""
        log.info("Genesys Cloud asks to wait %.0f s (429)%s", seconds, waiting)

    def _backoff(self, retry: int) -> float:
        """Exponential backoff with "equal jitter": half of the step fixed, half random, so
        that retries both back off and spread out."""
        step = min(self._backoff_cap, self._backoff_base * 2.0 ** (retry - 1))
        return step / 2 + self._rng.uniform(0.0, step / 2)

    # -- connection state and health ---------------------------------------------------------

    def network_failure(self, problem: str) -> None:
        """A request (to the API or, through the credentials, to the login host) did not reach
        Genesys Cloud."""
        with self._lock:
            self._failures_in_row += 1
            newly_lost = not self._lost and self._failures_in_row >= LOST_AFTER
            if newly_lost:
                self._lost = True
        self._answered("failure", f"cannot reach Genesys Cloud: {problem}")
        if newly_lost:
            message = f"Genesys Cloud connection lost: {problem}"
            log.warning("%s", message)
            self._event("connection_lost", message)

    def reached(self) -> None:
        """A request reached Genesys Cloud, whatever it answered."""
        with self._lock:
            self._failures_in_row = 0
            restored = self._lost
            self._lost = False
        if restored:
            log.warning("Genesys Cloud connection restored")
            self._event("connection_restored", "Genesys Cloud connection restored")

    def _answered(self, state: str, message: str) -> None:
        self.health = (state, message, utc_now())

    def _event(self, kind: str, message: str) -> None:
        if self._on_event is not None:
            self._on_event(kind, message)


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError:
        raise ScimError(f"Genesys Cloud answered {answer.request.method} "
                        f"{answer.request.url.path} with something that is not JSON",
                        answer.status_code) from None
    if not isinstance(data, dict):
        raise ScimError("Genesys Cloud answered with unexpected JSON", answer.status_code)
    return data


def _resources(page: dict[str, Any]) -> list[dict[str, Any]]:
    resources = page.get("Resources") or []
    return [r for r in resources if isinstance(r, dict)]


def _version(answer: httpx.Response, user: dict[str, Any] | None) -> str | None:
    etag: str | None = answer.headers.get("ETag")
    if etag:
        return etag
    meta = (user or {}).get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    return version if isinstance(version, str) and version else None


def _scim_error_fields(answer: httpx.Response) -> tuple[str, str]:
    """(scimType, detail) of a SCIM or Genesys Cloud error body."""
    try:
        body = answer.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    scim_type = str(body.get("scimType") or "")
    detail = str(body.get("detail") or body.get("message") or "")
    return scim_type, detail


def _detail(answer: httpx.Response) -> str:
    _, detail = _scim_error_fields(answer)
    return f" ({detail})" if detail else ""


def _error(what: str, answer: httpx.Response) -> GenesysError:
    status = answer.status_code
    scim_type, detail = _scim_error_fields(answer)
    message = f"Genesys Cloud refused {what}: HTTP {status}"
    if scim_type:
        message += f" {scim_type}"
    if detail:
        message += f": {detail}"
    if status == 412 or scim_type == "invalidVers":
        return VersionConflict(message, status, scim_type)
    if status == 409 or scim_type == "uniqueness":
        return UniquenessConflict(message, status, scim_type)
    if status == 401:
        return GenesysAuthError(f"{message}. A fresh access token was refused too: does the "
                                "OAuth client still exist, in this region?")
    if status == 403:
        return ScimError(f"{message}. The OAuth client's role needs directory:user:add, "
                         "directory:user:edit (and directory:user:delete to delete)", status)
    return ScimError(message, status, scim_type)


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
