"""Genesys Cloud for the sync's tests: a real SCIM server with Genesys' habits in front of it.

`ScimBackend` runs `scim2-server` from PyPI (an implementation independent of ours) as a
subprocess on loopback, serving the Genesys Cloud user schema and extension from
``tests/testdata`` (``--schema``, ``--resource-type``), one in-memory tenant per test.

`FakeGenesys` is the thin layer in front, a small HTTP server of its own that adds what
Genesys Cloud does and scim2-server does not (docs/facts.md#genesys-cloud-scim-v2):

- ``POST /oauth/token`` (client credentials, Basic auth) issuing bearer tokens that expire and
  can be revoked; the SCIM API answers 401 without a valid one;
- the API under ``/api/v2/scim/v2/users`` (lowercase, as the SDK uses it);
- a plain listing shows only active users (the layer adds ``filter=active eq true``);
- If-Match mismatches answer 400 with scimType ``invalidVers`` (scim2-server says 412);
- a rate limit per token (a rolling minute), answered with 429 and Retry-After;
- fault injection from a seeded generator: 429, 500, connections dropped before or after the
  request was carried out (the answer lost), 500 after it was carried out;
- `hold_after`: after the n-th request of a kind is carried out, the answer is held back, so a
  test can kill the sync exactly while a create's answer is in flight;
- `hidden`: users left out of plain listings, as when a user moves between pages of a paged
  listing while it is being read (creates and deactivations shift the offsets);
- the rest of ``/api/v2`` (routing objects, presence) is `platform`, an in-memory
  `FakePlatform` (`tests.sync.fake_platform`) behind the same token, rate limit (one per token,
  all endpoints together), faults and holds (`Hold.path` narrows a hold to some paths).

`posted` records the userName of every POST that reached the SCIM server: scim2-server refuses a
second user with the same userName, which would hide a create sent twice; the log does not.

userName uniqueness (case-insensitive) comes from scim2-server itself (``uniqueness: server``).
"""

from __future__ import annotations

import base64
import collections
import json
import math
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.sync.fake_platform import FakePlatform

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
SCHEMAS = TESTDATA / "genesys-scim-schemas.json"
RESOURCE_TYPES = TESTDATA / "genesys-scim-resource-types.json"
GENESYS = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
API = "/api/v2/scim/v2/users"
PLATFORM = "/api/v2"

#: What carries out one API request: (method, path, query, body, If-Match) -> the answer.
Forward = Callable[[str, str, str, bytes, str | None], tuple[int, dict[str, str], bytes]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ScimBackend:
    """`scim2-server --dynamic-tenants` on 127.0.0.1; `tenant()` gives a fresh base URL."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        server = Path(sys.executable).parent / "scim2-server"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(server), "--hostname", "127.0.0.1", "--port", str(self.port),
                 "--schema", str(SCHEMAS), "--resource-type", str(RESOURCE_TYPES),
                 "--dynamic-tenants"], stdout=out, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"scim2-server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.base}/probe/v2/ServiceProviderConfig",
                             timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("scim2-server did not answer")
            time.sleep(0.05)

    def tenant(self) -> str:
        return f"{self.base}/t{secrets.token_hex(6)}/v2"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Faults:
    """Each request draws once: with probability `rate` it meets one of `kinds`."""

    rate: float = 0.0
    kinds: tuple[str, ...] = ("429", "500", "drop", "drop_after", "500_after")
    retry_after: int = 1
    only: tuple[str, ...] = ("GET", "POST", "PATCH", "PUT", "DELETE")


@dataclass
class Hold:
    method: str
    nth: int
    path: str = ""  # only requests under this path count (default: every one)
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    seen: int = 0


class FakeGenesys:
    def __init__(self, backend: str, *, client_id: str = "sync-client",
                 client_secret: str = "sync-secret", token_lifetime: int = 3600,
                 rate_per_minute: int | None = None, seed: int = 4) -> None:
        self.backend = backend
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime = token_lifetime
        self.rate_per_minute = rate_per_minute
        self.faults = Faults()
        self.hold: Hold | None = None
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self._windows: dict[str, collections.deque[float]] = {}
        # (time, method, path, status, note): note is "" or what the layer did to it
        self.requests: list[tuple[float, str, str, int, str]] = []
        self.token_requests = 0
        self.posted: list[str] = []  # userName of each POST carried to the SCIM server
        self.hidden: set[str] = set()  # ids of users left out of listings
        self.platform = FakePlatform(self._user_exists)  # routing objects and presence
        self._http = httpx.Client(timeout=30)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    # -- what tests look at and do -------------------------------------------------------------

    def users(self, active: bool | None = None) -> list[dict[str, Any]]:
        """Every user in the backend (both states unless `active` says), straight from it."""
        found = []
        for state in ([True, False] if active is None else [active]):
            start = 1
            while True:
                page = self._http.get(f"{self.backend}/Users", params={
                    "filter": f"active eq {str(state).lower()}", "startIndex": start,
                    "count": 500}).json()
                found.extend(page.get("Resources", []))
                start += len(page.get("Resources", []))
                if not page.get("Resources") or start > page["totalResults"]:
                    break
        return found

    def by_user_name(self, email: str) -> dict[str, Any] | None:
        page = self._http.get(f"{self.backend}/Users",
                              params={"filter": f'userName eq "{email}"'}).json()
        return page["Resources"][0] if page.get("totalResults") else None

    def add_user(self, user_name: str, display_name: str, **extra: Any) -> dict[str, Any]:
        """A Genesys Cloud user made by someone else (an admin, another provisioner)."""
        body = {"schemas": [USER, GENESYS], "userName": user_name, "displayName": display_name,
                "active": True, "emails": [{"type": "work", "value": user_name}], **extra}
        answer = self._http.post(f"{self.backend}/Users", json=body)
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def edit_user(self, user_id: str, **values: Any) -> None:
        """An admin edits a user in Genesys Cloud (its version changes)."""
        ops = [{"op": "replace", "path": k, "value": v} for k, v in values.items()]
        answer = self._http.patch(f"{self.backend}/Users/{user_id}", json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
        assert answer.status_code in (200, 204), answer.text

    def _user_exists(self, user_id: str) -> bool:
        answer = self._http.get(f"{self.backend}/Users/{urllib.parse.quote(user_id)}")
        return answer.status_code == 200

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def count(self, method: str | None = None, *, notes: tuple[str, ...] = ("",),
              status: int | None = None) -> int:
        with self._lock:
            return sum(1 for _, m, _, s, n in self.requests
                       if (method is None or m == method) and n in notes
                       and (status is None or s == status))

    @property
    def writes(self) -> int:
        """Writes that reached the SCIM server and succeeded there."""
        with self._lock:
            return sum(1 for _, m, _, s, n in self.requests
                       if m in ("POST", "PATCH", "PUT", "DELETE") and 200 <= s < 300
                       and n in ("", "drop_after", "500_after", "held"))

    def posts_per_user_name(self) -> dict[str, int]:
        """userName (casefolded) -> POSTs that reached the SCIM server with it."""
        with self._lock:
            return dict(collections.Counter(name.casefold() for name in self.posted))

    @property
    def rate_limited(self) -> int:
        return self.count(notes=("rate-limit",))

    # -- serving -------------------------------------------------------------------------------

    def handle(self, request: _Handler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        parts = urllib.parse.urlsplit(request.path)
        if parts.path == "/oauth/token" and request.command == "POST":
            self._token(request, body)
        elif parts.path == API or parts.path.startswith(API + "/"):
            self._api(request, parts, body, self._scim)
        elif parts.path.startswith(PLATFORM + "/"):
            self._api(request, parts, body, self._platform)
        else:
            _send(request, 404, {"message": "no such resource"})

    def _token(self, request: _Handler, body: bytes) -> None:
        self.token_requests += 1
        scheme, _, encoded = (request.headers.get("Authorization") or "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            client_id = secret = ""
        form = urllib.parse.parse_qs(body.decode())
        if form.get("grant_type") != ["client_credentials"]:
            _send(request, 400, {"error": "unsupported_grant_type"})
            return
        if scheme != "Basic" or (client_id, secret) != (self.client_id, self.client_secret):
            _send(request, 400, {"error": "invalid_client", "description": "client not found"})
            return
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_lifetime
        _send(request, 200, {"access_token": token, "token_type": "bearer",
                             "expires_in": self.token_lifetime})

    def _api(self, request: _Handler, parts: urllib.parse.SplitResult, body: bytes,
             forward: Forward) -> None:
        """Faults, the token, the rate limit (one per token, all endpoints together), then
        the request itself (`forward`), and what a `Hold` or a fault does to its answer."""
        method, path = request.command, parts.path
        fault = self._draw(method)

        def note(status: int, what: str = "") -> None:
            with self._lock:
                self.requests.append((time.monotonic(), method, path, status, what))

        if fault in ("429", "500", "drop"):
            note(0 if fault == "drop" else int(fault), f"fault-{fault}")
            if fault == "drop":
                _drop(request)
            elif fault == "429":
                _send(request, 429, {"message": "Rate limit exceeded",
                                     "code": "too.many.requests.retry.after"},
                      {"Retry-After": str(self.faults.retry_after)})
            else:
                _send(request, 500, {"message": "injected failure"})
            return
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        with self._lock:
            valid = self._tokens.get(token, 0) > time.monotonic()
        if not valid:
            note(401, "auth")
            _send(request, 401, {"message": "Invalid login credentials.",
                                 "code": "authentication.required"})
            return
        wait = self._rate_limit(token)
        if wait is not None:
            note(429, "rate-limit")
            _send(request, 429, {"message": "Rate limit exceeded the maximum",
                                 "code": "too.many.requests.retry.after"},
                  {"Retry-After": str(wait)})
            return
        status, headers, content = forward(method, path, parts.query, body,
                                           request.headers.get("If-Match"))
        held = self._held(method, path)
        if held or fault == "drop_after":
            note(status, "held" if held else fault or "")
            if held and self.hold is not None:
                self.hold.reached.set()
                self.hold.release.wait(60)
            _drop(request)
            return
        if fault == "500_after":
            note(status, fault)
            _send(request, 500, {"message": "injected failure after the work was done"})
            return
        note(status)
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(content)))
        request.end_headers()
        request.wfile.write(content)

    def _scim(self, method: str, path: str, query: str, body: bytes,
              if_match: str | None) -> tuple[int, dict[str, str], bytes]:
        rest = path[len(API):]
        if method == "POST":
            with self._lock:
                self.posted.append(str(_json_or_empty(body).get("userName", "")))
        status, headers, content = self._forward(method, rest, query, body, if_match)
        if self.hidden and method == "GET" and not rest and status == 200:
            content = self._hide(query, content)
        return status, headers, content

    def _platform(self, method: str, path: str, query: str, body: bytes,
                  if_match: str | None) -> tuple[int, dict[str, str], bytes]:
        status, answer = self.platform.handle(method, path[len(PLATFORM):], query, body)
        content = b"" if answer is None else json.dumps(answer).encode()
        return status, {"Content-Type": "application/json"} if content else {}, content

    def _hide(self, query: str, content: bytes) -> bytes:
        scim_filter = urllib.parse.parse_qs(query).get("filter", [""])[0]
        if scim_filter not in ("", "active eq true", "active eq false"):
            return content  # a look-up, not a listing
        page = json.loads(content)
        page["Resources"] = [r for r in page.get("Resources", []) if r["id"] not in self.hidden]
        return json.dumps(page).encode()

    def _draw(self, method: str) -> str | None:
        faults = self.faults
        if not faults.rate or method not in faults.only:
            return None
        with self._lock:
            if self._rng.random() >= faults.rate:
                return None
            kind = self._rng.choice(faults.kinds)
        if kind in ("drop_after", "500_after") and method == "GET":
            return "drop"  # the same thing for a read
        return kind

    def _held(self, method: str, path: str) -> bool:
        hold = self.hold
        if hold is None or hold.method != method or not path.startswith(hold.path):
            return False
        with self._lock:
            hold.seen += 1
            return hold.seen == hold.nth

    def _rate_limit(self, token: str) -> int | None:
        if self.rate_per_minute is None:
            return None
        now = time.monotonic()
        with self._lock:
            window = self._windows.setdefault(token, collections.deque())
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.rate_per_minute:
                return max(1, math.ceil(window[0] + 60 - now))
            window.append(now)
        return None

    def _forward(self, method: str, rest: str, query: str, body: bytes,
                 if_match: str | None) -> tuple[int, dict[str, str], bytes]:
        params = urllib.parse.parse_qs(query)
        if method == "GET" and not rest and "filter" not in params:
            params["filter"] = ["active eq true"]  # Genesys lists only active users
        headers = {"Content-Type": "application/scim+json"}
        if if_match:
            headers["If-Match"] = if_match
        answer = self._http.request(method, f"{self.backend}/Users{rest}",
                                    params={k: v[0] for k, v in params.items()},
                                    content=body or None, headers=headers)
        out = {k: v for k, v in answer.headers.items()
               if k.lower() in ("content-type", "etag", "location")}
        if answer.status_code == 412:
            return 400, {"Content-Type": "application/scim+json"}, json.dumps({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400",
                "scimType": "invalidVers",
                "detail": "The version in If-Match is not the user's current version"}).encode()
        return answer.status_code, out, answer.content


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body in one segment, flushed at the end of each request: otherwise Nagle's
    # algorithm and delayed ACKs add 40 ms to every answer on a kept-alive connection.
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024

    def _dispatch(self) -> None:
        self.server.fake.handle(self)  # type: ignore[attr-defined]

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _send(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any],
          headers: dict[str, str] | None = None) -> None:
    content = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(content)))
    request.end_headers()
    request.wfile.write(content)


def _json_or_empty(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _drop(request: BaseHTTPRequestHandler) -> None:
    """Close the connection without a word: the client never learns what happened."""
    request.close_connection = True
    try:
        request.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
