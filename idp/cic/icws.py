"""A small ICWS client on httpx: logons across a CIC switchover pair, user records, user lists.

Why not an SDK: CIC ships no Python one, and the few calls cic-sts needs (log on, read users,
log off) are easier to get exactly right, and to test against a switchover pair, by hand.

Switchover. Only one server of a pair accepts connections; the other answers ``POST
/icws/connection`` with 503 and names the server to use in ``alternateHostList``. A logon tries the
server that last accepted one first, then the configured servers in order, following every
``alternateHostList`` (same scheme and port as the server that named it, unless the host is a
configured server, whose own port is used). A refused connection, a timeout or a 5xx moves on to
the next server too. No server is tried twice in one logon, and the whole attempt is bounded by
`IcwsClient.failover_timeout`.

Answers. 201 opens a session (csrfToken and sessionId, also sent as headers, and a cookie whose
name starts with ``icws_``); later requests carry the session ID in the path, the CSRF token in
``ININ-ICWS-CSRF-Token`` and the cookie. A 400 authenticationFailure is a failed logon
(`AuthenticationFailed`, with the same text as any other); everything else that keeps a logon or a
request from succeeding is `IcwsUnavailable`, a `BackendUnavailable` whose message says which
servers were tried and what each said. Passwords and tokens never appear in a message or a log.

Cookies are kept per `IcwsSession`, never in the shared httpx client: its connection pool is shared
by all threads of a worker, and one user's ICWS cookie must never ride along with another's.
"""

from __future__ import annotations

import http.cookiejar
import logging
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from idp.auth.base import AUTH_FAILED_MESSAGE, CicUser
from idp.cic.hosts import DEFAULT_PORTS, Server, parse_server
from idp.cic.users import USER_SELECT, UnexpectedRecord, user_from_icws
from idp.config import IcwsSettings
from idp.errors import AuthenticationFailed, BackendUnavailable, ConfigError

log = logging.getLogger(__name__)

APPLICATION_NAME = "cic-sts"
IC_AUTH = "urn:inin.com:connection:icAuthConnectionRequestSettings"
#: The unique-auth-token logon. Type name and field name are unconfirmed, hence configurable.
AUTH_TOKEN = "urn:inin.com:connection:authTokenConnectionRequestSettings"
AUTH_TOKEN_FIELD = "authToken"
AUTH_FAILURE_ID = "error.request.connection.authenticationFailure"
AUTH_FAILURE_CODE = -2147221503  # what CIC before 4.0.6 sends, without an errorId
CSRF_HEADER = "ININ-ICWS-CSRF-Token"
SESSION_HEADER = "ININ-ICWS-Session-ID"
#: ICWS answers at most this many items per request when properties are selected.
MAX_PAGE_SIZE = 200


class IcwsUnavailable(BackendUnavailable):
    """CIC could not be asked, or answered something other than yes or no.

    `tried` lists the servers a logon tried, in order (empty for requests within a session)."""

    def __init__(self, message: str, tried: Sequence[Server] = ()) -> None:
        super().__init__(message)
        self.tried = list(tried)


class SessionLost(IcwsUnavailable):
    """The session's server forgot the session (401) or stopped answering: connect again."""


class ListChanged(IcwsUnavailable):
    """Users were added or deleted while a list was read page by page: read it again."""


@dataclass(frozen=True)
class IcwsError:
    """ICWS's error body: ``{"errorId"?, "errorCode"?, "message", "alternateHostList"?}``."""

    status: int
    error_id: str = ""
    code: int | None = None
    message: str = ""
    alternates: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, response: httpx.Response) -> IcwsError:
        body = _json(response)
        if not isinstance(body, dict):
            return cls(response.status_code, message=_snippet(response.text))
        alternates = body.get("alternateHostList")
        code = body.get("errorCode")
        return cls(
            status=response.status_code,
            error_id=_str(body.get("errorId")),
            code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            message=_snippet(str(body.get("message") or "")),
            alternates=[h for h in alternates if isinstance(h, str) and h.strip()]
            if isinstance(alternates, list) else [])

    @property
    def is_authentication_failure(self) -> bool:
        if self.error_id:
            return self.error_id == AUTH_FAILURE_ID
        return self.code == AUTH_FAILURE_CODE

    def __str__(self) -> str:
        detail = ", ".join(x for x in (self.error_id, self.message) if x)
        return f"HTTP {self.status}" + (f" ({detail})" if detail else "")


class IcwsClient:
    """Connects to ICWS on a switchover pair. One client serves all threads of a process."""

    def __init__(
        self,
        servers: Sequence[Server | str],
        *,
        scheme: str = "https",
        ca_file: Path | None = None,
        timeout: float = 5.0,
        failover_timeout: float = 15.0,
        application_name: str = APPLICATION_NAME,
        language: str = "en-us",
        auth_token_type: str = AUTH_TOKEN,
        auth_token_field: str = AUTH_TOKEN_FIELD,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if scheme not in DEFAULT_PORTS:
            raise ConfigError(f"icws.scheme: https or http, got {scheme!r}")
        default_port = DEFAULT_PORTS[scheme]
        self.servers = [s if isinstance(s, Server) else parse_server(s, default_port)
                        for s in servers]
        if not self.servers:
            raise ConfigError("icws.servers: name at least one CIC server")
        self.scheme = scheme
        self.timeout = timeout
        self.failover_timeout = failover_timeout
        self.application_name = application_name
        self.auth_token_type = auth_token_type
        self.auth_token_field = auth_token_field
        self._clock = clock
        self._preferred: Server | None = None
        self._http = httpx.Client(
            verify=tls_context(ca_file) if scheme == "https" else False,
            timeout=timeout,
            headers={"Accept-Language": language, "Accept": "application/json",
                     "User-Agent": APPLICATION_NAME},
            cookies=_refusing_jar(),
            follow_redirects=False,
            trust_env=False,  # CIC is on the local network: no proxy variables, no SSL_CERT_FILE
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: IcwsSettings) -> IcwsClient:
        """A client from the ``[icws]`` section."""
        default_port = settings.port or DEFAULT_PORTS.get(settings.scheme, 0)
        try:
            servers = [parse_server(text, default_port) for text in settings.servers]
        except ValueError as exc:
            raise ConfigError(f"icws.servers: {exc}") from None
        return cls(servers, scheme=settings.scheme, ca_file=settings.ca_file,
                   timeout=settings.timeout, failover_timeout=settings.failover_timeout,
                   application_name=settings.application_name, language=settings.language,
                   auth_token_type=settings.auth_token_type,
                   auth_token_field=settings.auth_token_field)

    def close(self) -> None:
        self._http.close()

    # -- logons ------------------------------------------------------------------------------

    def connect_password(self, user_id: str, password: str) -> IcwsSession:
        """Open a session with a user ID and password (icAuth)."""
        return self.connect({"__type": IC_AUTH, "applicationName": self.application_name,
                             "userID": user_id, "password": password})

    def connect_token(self, token: str) -> IcwsSession:
        """Open a session with a single-use auth token the CIC client handed over."""
        return self.connect({"__type": self.auth_token_type,
                             "applicationName": self.application_name,
                             self.auth_token_field: token})

    def authenticate(self, user_id: str, password: str,
                     reader: Callable[[str], CicUser | None] | None = None) -> CicUser:
        """Check the password with CIC and return the user's record; the session is closed.

        `reader` reads the record (for example with a service account's session); by default
        the user's own new session reads it."""
        with self.connect_password(user_id, password) as session:
            return _read_own_record(session, session.user_id or user_id, reader)

    def logon_with_token(self, token: str,
                         reader: Callable[[str], CicUser | None] | None = None) -> CicUser:
        """Log on with a single-use auth token and return whose it was; the session is closed."""
        with self.connect_token(token) as session:
            if not session.user_id:
                raise IcwsUnavailable(
                    f"CIC ({session.server}) accepted the auth token but did not say whose it is "
                    "(no userID in the connection response)")
            return _read_own_record(session, session.user_id, reader)

    def connect(self, body: dict[str, str]) -> IcwsSession:
        """``POST /icws/connection`` across the pair; see the module documentation."""
        deadline = self._clock() + self.failover_timeout
        queue = self._first_choices()
        tried: list[Server] = []
        problems: list[str] = []
        while queue:
            server = queue.pop(0)
            if server in tried:
                continue
            remaining = deadline - self._clock()
            if remaining <= 0:
                problems.append(f"gave up after {self.failover_timeout:g} s")
                break
            tried.append(server)
            wait = min(self.timeout, remaining)
            try:
                response = self._http.post(f"{server.base_url(self.scheme)}/icws/connection",
                                           json=body, timeout=wait)
            except httpx.TransportError as exc:
                problems.append(f"{server}: {describe(exc, wait)}")
                log.warning("ICWS %s", problems[-1])
                continue
            if response.status_code == 201:
                session = self._session(server, response, tried)
                self._preferred = server
                return session
            error = IcwsError.of(response)
            if response.status_code == 400 and error.is_authentication_failure:
                raise AuthenticationFailed(AUTH_FAILED_MESSAGE)
            if response.status_code == 503:
                alternates = self._alternates(error.alternates, server)
                problems.append(f"{server}: {error}" + (
                    f", alternates {', '.join(map(str, alternates))}" if alternates else ""))
                log.info("ICWS server %s does not accept connections (%s)", server, error)
                queue = [s for s in alternates if s not in tried] + queue
                continue
            if response.status_code >= 500:
                problems.append(f"{server}: {error}")
                log.warning("ICWS server %s: %s", server, error)
                continue
            # Any other answer is about the request itself: the other server would say the same.
            raise IcwsUnavailable(f"CIC refused the logon request: {server}: {error}", tried)
        raise IcwsUnavailable(
            "no CIC server accepted the connection (tried "
            f"{', '.join(map(str, tried)) or 'none'}): {'; '.join(problems)}", tried)

    def _first_choices(self) -> list[Server]:
        preferred = self._preferred
        first = [preferred] if preferred is not None else []
        return first + [s for s in self.servers if s != preferred]

    def _alternates(self, hosts: list[str], answered: Server) -> list[Server]:
        found = []
        for host in hosts:
            configured = next((s for s in self.servers if s.same_host(host)), None)
            if configured is not None:
                found.append(configured)
                continue
            try:
                found.append(parse_server(host, answered.port))
            except ValueError:
                log.warning("ICWS server %s named an unusable alternate host %r", answered,
                            host[:100])
        return found

    def _session(self, server: Server, response: httpx.Response,
                 tried: list[Server]) -> IcwsSession:
        body = _json(response)
        data = body if isinstance(body, dict) else {}
        session_id = _str(data.get("sessionId")) or response.headers.get(SESSION_HEADER, "")
        csrf = _str(data.get("csrfToken")) or response.headers.get(CSRF_HEADER, "")
        if not session_id or not csrf:
            raise IcwsUnavailable(f"CIC ({server}) opened a connection without a sessionId and "
                                  "csrfToken", tried)
        return IcwsSession(self, server, session_id, csrf, _cookie_header(response),
                           user_id=_str(data.get("userID")),
                           display_name=_str(data.get("userDisplayName")), tried=tuple(tried))

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request on the shared connection pool (sessions add their own headers)."""
        return self._http.request(method, url, **kwargs)


@dataclass
class IcwsSession:
    """An open ICWS session on one server. Close it (``with`` does) to log off."""

    client: IcwsClient
    server: Server
    session_id: str
    csrf_token: str
    cookie: str  # the Cookie header value, from the logon's Set-Cookie headers
    user_id: str = ""
    display_name: str = ""
    tried: tuple[Server, ...] = ()  # the servers the logon tried, the last one answered
    closed: bool = False

    def __enter__(self) -> IcwsSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
        """A request within the session; `SessionLost` on 401 or when the server is gone."""
        url = (f"{self.server.base_url(self.client.scheme)}/icws/"
               f"{quote(self.session_id, safe='')}{path}")
        sent = {CSRF_HEADER: self.csrf_token, **({"Cookie": self.cookie} if self.cookie else {}),
                **(headers or {})}
        try:
            response = self.client.send(method, url, params=params, headers=sent)
        except httpx.TransportError as exc:
            raise SessionLost(f"CIC ({self.server}): {describe(exc, self.client.timeout)}") \
                from None
        if response.status_code == 401:
            raise SessionLost(f"CIC ({self.server}) no longer knows the session "
                              f"({IcwsError.of(response)})")
        return response

    def check(self) -> bool:
        """Whether the session is still valid (``GET /icws/{session}/connection``)."""
        try:
            return self.request("GET", "/connection").status_code == 200
        except SessionLost:
            return False

    def get_user(self, user_id: str) -> CicUser | None:
        """The user's record, or None if CIC has no such user."""
        response = self.request("GET", f"/configuration/users/{quote(user_id, safe='')}",
                                params={"select": USER_SELECT})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            hint = (": the session's user may lack the right to read user configurations "
                    "(set icws.service_user)") if response.status_code == 403 else ""
            raise IcwsUnavailable(f"CIC ({self.server}) refused to read user {user_id!r}: "
                                  f"{IcwsError.of(response)}{hint}")
        return _user(_json(response), self.server)

    def iter_users(self, where: str = "", page_size: int = MAX_PAGE_SIZE) -> Iterator[CicUser]:
        """Every user (matching `where`), read `page_size` at a time with ``Range: items=a-b``."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1-{MAX_PAGE_SIZE}")
        params = {"select": USER_SELECT, **({"where": where} if where else {})}
        seen: set[str] = set()
        start = 0
        first_total: int | None = None
        while True:
            response = self.request("GET", "/configuration/users", params=params,
                                    headers={"Range": f"items={start}-{start + page_size - 1}"})
            if response.status_code == 416:  # asked past the end
                return
            if response.status_code not in (200, 206):
                raise IcwsUnavailable(f"CIC ({self.server}) refused to list users: "
                                      f"{IcwsError.of(response)}")
            body = _json(response)
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise IcwsUnavailable(f"CIC ({self.server}) answered the user list without "
                                      "an items array")
            total = _range_total(response.headers.get("Content-Range", ""))
            first_total = total if first_total is None else first_total
            if total is not None and total != first_total:
                # A user added or deleted meanwhile shifts the pages: one may have been skipped.
                raise ListChanged(f"CIC's user list changed while it was read ({first_total} "
                                  f"users, then {total})")
            for item in items:
                user = _user(item, self.server)
                if user.user_id.casefold() not in seen:
                    seen.add(user.user_id.casefold())
                    yield user
            start += len(items)
            # A short page is the last; so is one larger than asked for (Range was ignored).
            if len(items) != page_size or (total is not None and start >= total):
                return

    def close(self) -> None:
        """Log off (``DELETE /icws/{session}/connection``). Never raises: CIC ends idle sessions
        itself, so a failure only costs CIC a session until then."""
        if self.closed:
            return
        self.closed = True
        try:
            response = self.request("DELETE", "/connection")
            if response.status_code >= 400:
                log.warning("ICWS %s: closing the session answered %s", self.server,
                            IcwsError.of(response))
        except IcwsUnavailable as exc:
            log.info("ICWS %s: could not close the session: %s", self.server, exc)


def _read_own_record(session: IcwsSession, user_id: str,
                     reader: Callable[[str], CicUser | None] | None) -> CicUser:
    user = reader(user_id) if reader is not None else session.get_user(user_id)
    if user is None:
        raise IcwsUnavailable(f"CIC ({session.server}) accepted the logon of {user_id!r} but "
                              "has no user record for it")
    return user


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verify CIC's certificate and host name against `ca_file`, or the system's CAs."""
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"icws.ca_file: cannot load CA certificates from {ca_file}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None


def describe(exc: httpx.TransportError, timeout: float) -> str:
    """One line for a failed request, without the URL (which the caller names)."""
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:g} s ({type(exc).__name__})"
    reason = str(exc) or type(exc).__name__
    if "CERTIFICATE_VERIFY_FAILED" in reason or "certificate verify failed" in reason:
        return f"TLS certificate not trusted (check icws.ca_file): {_snippet(reason)}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {_snippet(reason)}"
    return f"{type(exc).__name__}: {_snippet(reason)}"


def _user(item: Any, server: Server) -> CicUser:
    try:
        return user_from_icws(item)
    except UnexpectedRecord as exc:
        raise IcwsUnavailable(f"CIC ({server}) sent an unexpected user record: {exc}") from None


def _refusing_jar() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing (see the module documentation)."""
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


def _cookie_header(response: httpx.Response) -> str:
    pairs = []
    for line in response.headers.get_list("set-cookie"):
        name, equals, value = line.split(";", 1)[0].partition("=")
        if equals and name.strip():
            pairs.append(f"{name.strip()}={value.strip()}")
    return "; ".join(pairs)


def _range_total(content_range: str) -> int | None:
    """The total of ``Content-Range: items 0-199/523``, if the server sends one."""
    _, _, total = content_range.partition("/")
    return int(total) if total.strip().isdigit() else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _snippet(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."
