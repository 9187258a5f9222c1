"""The one way cic-sts talks to Genesys Cloud's API: pacing, retries, tokens, counters, health.

Both API clients, SCIM for users (`idp.genesys.scim`) and the Platform API for queues, skills,
wrap-up codes and presence (`idp.genesys.platform`), send every request through one `GenesysApi`.
One per OAuth client and process, so that they share what Genesys Cloud counts per token: the
rate limit (300 requests per minute, all endpoints together), a 429's Retry-After, the access
token itself, and the Successful / Failed / Retried counters and connection events the health
view shows. Every retry decision is made here, in `GenesysApi.send`:

- every attempt first has an access token (fetched now if needed), then takes its slot from the
  shared `TokenBucket` (the configured rate), then is sent at once: nothing may come between
  the slot and the send, or the threads held up there would all send together when it ends
  (a slow token request once made four threads burst past the rate);
- requests that are not `urgent` (the passes', with up to ``sync.concurrency`` workers) hold
  at most one slot of the bucket between them at a time, so an urgent one (a presence write,
  whose latency is the point) waits behind one of theirs, not behind every worker's; the
  passes still get every slot nobody urgent takes;
- 429: wait what Retry-After says (all threads wait: the limit is per token), then retry;
- 5xx and network errors: retry after an exponential backoff with jitter (`backoff`);
- 401: fetch a new access token once, then retry;
- at most `max_retries` retries, then `GenesysUnavailable`;
- a create (POST) is never repeated blindly (``repeatable=False``): when its answer is lost (a
  network error once the request may have left, or a 5xx) it raises `OutcomeUnknown`, and the
  caller looks the object up before it tries again.

Requests are counted as Successful, Failed (answered with an error, or given up: not retried,
discarded) and Retried, like CIC's health view. An error the caller answers by sending again (a
version conflict, an e-mail swap) is the caller's to count (`counted`, `count_conflict`).
"Connection lost" is logged once when requests stop reaching Genesys Cloud (`LOST_AFTER` network
failures in a row, token requests to the login host included), "connection restored" once when
one gets through again; a client made by a new process after a loss (`assume_lost`) reports the
restore too. Each wait that a 429 asks for is logged once, with how many users are waiting
(`pending`). Log lines go to the logger of the API that sent the request.

Facts: docs/facts.md#genesys-cloud-rate-limit and docs/facts.md#genesys-cloud-oauth-tokens.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from idp.errors import GenesysError, GenesysUnavailable, OutcomeUnknown
from idp.genesys.oauth import ClientCredentials
from idp.genesys.ratelimit import TokenBucket, backoff, retry_after
from idp.timestamps import utc_now

#: Network failures in a row (over all threads) after which the connection counts as lost.
LOST_AFTER = 3

#: Answers meaning "Genesys Cloud is not reachable" rather than "it failed this request".
_GATEWAY = (502, 503, 504)

#: Transport errors raised before any byte of the request left: always safe to repeat.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

Event = Callable[[str, str], None]  # (kind, message), e.g. ("connection_lost", "...")

#: Builds the error for a refused request: (what, answer) -> the exception to raise.
Refusal = Callable[[str, httpx.Response], GenesysError]

#: Gives the detail of an error answer for messages ("" if none).
Detail = Callable[[httpx.Response], str]

#: What a 401 that a fresh token did not cure says, whichever API refused.
TOKEN_REFUSED = ("A fresh access token was refused too: does the OAuth client still exist, in "
                 "this region?")


def error_detail(answer: httpx.Response) -> str:
    """The detail of a Genesys Cloud error body: SCIM's ``detail``, the Platform API's
    ``message`` ("" when the answer has no JSON object)."""
    return _error_field(answer, "detail") or _error_field(answer, "message")


def refusal(what: str, answer: httpx.Response, kind: str) -> tuple[str, str]:
    """("Genesys Cloud refused <what>: HTTP <status> <kind>: <detail>", the kind): `kind`
    names the body's field that classifies the error (``code``, ``scimType``)."""
    found, detail = _error_field(answer, kind), error_detail(answer)
    text = f"Genesys Cloud refused {what}: HTTP {answer.status_code}"
    return text + (f" {found}" if found else "") + (f": {detail}" if detail else ""), found


def _error_field(answer: httpx.Response, name: str) -> str:
    try:
        body = answer.json()
    except ValueError:
        return ""
    return str(body.get(name) or "") if isinstance(body, dict) else ""


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


class GenesysApi:
    """See the module documentation. Safe to share between threads and between API clients."""

    def __init__(self, api_base: str, credentials: ClientCredentials, *,
                 rate_per_minute: float = 300, max_retries: int = 5, timeout: float = 30.0,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0,
                 http: httpx.Client | None = None, on_event: Event | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.base = api_base.rstrip("/")
        self.credentials = credentials
        self.max_retries = max_retries
        self.stats = RequestStats()
        self.bucket = TokenBucket(rate_per_minute, clock=clock, sleep=sleep)
        self._http = http or httpx.Client(timeout=timeout)
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._on_event = on_event
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._queue = threading.Lock()  # one slot at a time for requests that are not urgent
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

    # -- one request, with pacing and retries --------------------------------------------------

    def send(self, method: str, path: str, *, refuse: Refusal, detail: Detail,
             log: logging.Logger, params: Any = None,
             body: Any = None, version: str | None = None, repeatable: bool = True,
             missing_ok: bool = False, media_type: str = "application/json",
             counted: Callable[[GenesysError], bool] = lambda error: True,
             urgent: bool = False) -> httpx.Response:
        """`method` `path` (under the API base) until it succeeds, the retries run out or
        Genesys Cloud refuses it (`refuse` builds that error; `counted` says whether it counts
        as Failed). A 404 is an answer, not an error, with `missing_ok`."""
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
            if urgent:
                self.bucket.acquire()
            else:
                with self._queue:
                    self.bucket.acquire()
            headers = {"Authorization": f"Bearer {token}", "Accept": media_type}
            if content is not None:
                headers["Content-Type"] = media_type
            if version:
                headers["If-Match"] = version
            wait: float | None = None  # None: back off; a number: the server said how long
            try:
                answer = self._http.request(method, self.base + path, params=params,
                                            content=content, headers=headers)
            except httpx.TransportError as exc:
                problem = _describe(exc)
                self.network_failure(problem, log)
                if not repeatable and not isinstance(exc, _NOT_SENT):
                    self.stats.count(failed=1)
                    raise OutcomeUnknown(f"{what}: no answer ({problem}); it may have been "
                                         "carried out") from None
            else:
                status = answer.status_code
                if status in _GATEWAY:
                    self.network_failure(f"HTTP {status}", log)
                else:
                    self.reached(log)
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
                said = detail(answer)
                problem = f"HTTP {status}" + (f" ({said})" if said else "")
                if status == 429:
                    wait = retry_after(answer)
                    if wait is None:
                        wait = self.backoff(retries + 1)
                    if self.bucket.pause_until(self._clock() + wait):
                        self._say_wait(wait, log)
                elif status >= 500:
                    self._answered("failure", f"{what}: {problem}")
                    if not repeatable:
                        self.stats.count(failed=1)
                        raise OutcomeUnknown(f"{what}: {problem}; it may have been carried out")
                else:
                    # A refusal of one request (a value, a version, a taken name) says nothing
                    # against the API's health; a refused token or right does.
                    healthy = status not in (401, 403)
                    self._answered("ok" if healthy else "failure",
                                   "" if healthy else f"{what}: {problem}")
                    error = refuse(what, answer)
                    if counted(error):
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
                self._sleep(self.backoff(retries))

    def count_conflict(self, *, retried: bool) -> None:
        """A version or uniqueness conflict the caller answered: by sending again (`retried`),
        or by giving the request up (Failed)."""
        self.stats.count(retried=1 if retried else 0, failed=0 if retried else 1)

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (`ratelimit.backoff`, this client's steps)."""
        return backoff(retry, self._backoff_base, self._backoff_cap, self._rng)

    def _say_wait(self, seconds: float, log: logging.Logger) -> None:
        with self._lock:
            self.waits += 1
        pending = self.pending() if self.pending is not None else None
        waiting = f"; {pending} users pending" if pending else ""
        log.info("Genesys Cloud asks to wait %.0f s (429)%s", seconds, waiting)

    # -- connection state and health ---------------------------------------------------------

    def network_failure(self, problem: str, log: logging.Logger | None = None) -> None:
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
            (log or _log).warning("%s", message)
            self._event("connection_lost", message)

    def reached(self, log: logging.Logger | None = None) -> None:
        """A request reached Genesys Cloud, whatever it answered."""
        with self._lock:
            self._failures_in_row = 0
            restored = self._lost
            self._lost = False
        if restored:
            (log or _log).warning("Genesys Cloud connection restored")
            self._event("connection_restored", "Genesys Cloud connection restored")

    def _answered(self, state: str, message: str) -> None:
        self.health = (state, message, utc_now())

    def _event(self, kind: str, message: str) -> None:
        if self._on_event is not None:
            self._on_event(kind, message)


_log = logging.getLogger(__name__)


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
