"""A small ICWS client on httpx: logons across a CIC switchover pair, user records, user lists.

Why not an SDK: CIC ships no Python one, and the few calls cic-sts needs (log on, read users,
log off) are easier to get exactly right, and to test against a switchover pair, by hand.

Switchover. Only one server of a pair accepts connections; the other answers ``POST
/icws/connection`` with 503 and names the server to use in ``alternateHostList``. A logon tries the
server that last accepted one first, then the configured servers in order, following every
``alternateHostList`` (same scheme and port as the server that named it, unless the host is a
configured server, whose own port is used). A refused connection, a timeout or a 5xx moves on to
the next server too. No server is tried twice in one logon, and trying the servers is bounded by
`IcwsClient.failover_timeout`.

Time limits are deadlines, not limits between two bytes: httpx's ``timeout`` applies to each read,
so a server that sends one byte a second would hold a request for ever. Every ICWS request ends
`IcwsClient.timeout` seconds after it started at the latest, whatever the server does; the
connections of the client's own transport (`idp.cic.deadline`) check the calling thread's
deadline before every connect, read and write, and a request that runs out of time fails like one
that got no answer. A whole logon (`IcwsClient.authenticate`, `IcwsClient.logon_with_token`: the
servers of the pair, the record read, perhaps by a service session that must be reopened, and the
logoff) shares one deadline, `IcwsClient.logon_timeout` = failover_timeout + 2 x timeout seconds.

Plain HTTP sends passwords in clear text; the configuration must ask for it
(``icws.allow_plain_http``), and then passwords go only to the configured servers: an
``alternateHostList`` naming another host is not followed.

Answers. 201 opens a session (csrfToken and sessionId, also sent as headers, and a cookie whose
name starts with ``icws_``); later requests carry the session ID in the path, the CSRF token in
``ININ-ICWS-CSRF-Token`` and the cookie. A 400 authenticationFailure is a failed logon
(`AuthenticationFailed`, with the same text as any other); everything else that keeps a logon or a
request from succeeding is `IcwsUnavailable`, a `BackendUnavailable` whose message says which
servers were tried and what each said. Passwords and tokens never appear in a message or a log.

Cookies are kept per `IcwsSession`, never in the shared httpx client: its connection pool is shared
by all threads of a worker, and one user's ICWS cookie must never ride along with another's.

The ICWS facts this relies on: docs/facts.md#icws (logon, errors, switchover, sessions).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from idp.cic.deadline import Clock, DeadlineTransport, deadline, time_left
from idp.cic.errors import (
    AccountRefusals,
    IcwsError,
    IcwsUnavailable,
    IncompleteList,
    ListChanged,
    SessionLost,
    json_body,
    text_of,
)
from idp.cic.hosts import DEFAULT_PORTS, Server, parse_server
from idp.cic.lists import MAX_PAGE_SIZE, read_list
from idp.cic.users import USER_SELECT, WORKGROUPS, UnexpectedRecord, user_from_icws
from idp.cic.wire import cookie_header, describe, refusing_jar, tls_context
from idp.config import IcwsSettings
from idp.errors import AUTH_FAILED_MESSAGE, AuthenticationFailed, ConfigError
from idp.observe.metrics import ICWS_FAILOVERS, ICWS_SECONDS
from idp.users import CicUser

__all__ = ["IcwsClient", "IcwsError", "IcwsSession", "IcwsUnavailable", "IncompleteList",
           "ListChanged", "SessionLost", "deadline", "time_left"]

log = logging.getLogger(__name__)

APPLICATION_NAME = "cic-sts"
IC_AUTH = "urn:inin.com:connection:icAuthConnectionRequestSettings"
#: The unique-auth-token logon. Type name and field name are unconfirmed, hence configurable.
AUTH_TOKEN = "urn:inin.com:connection:authTokenConnectionRequestSettings"
AUTH_TOKEN_FIELD = "authToken"
CSRF_HEADER = "ININ-ICWS-CSRF-Token"
SESSION_HEADER = "ININ-ICWS-Session-ID"
#: More users than any CIC has: a user list that does not end before this is read no further.
MAX_USERS = 1_000_000


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
        allow_plain_http: bool = False,
        refusals: AccountRefusals | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        """`transport` replaces the client's own (tests): it does not enforce deadlines.
        `clock` times the client's deadlines (tests: a fake clock moved by the transport)."""
        self.clock = clock
        if scheme not in DEFAULT_PORTS:
            raise ConfigError(f"icws.scheme: https or http, got {scheme!r}")
        if scheme == "http" and not allow_plain_http:
            raise ConfigError("icws.scheme = \"http\" sends CIC passwords unencrypted: use "
                              "https, or set icws.allow_plain_http = true to accept that")
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
        self.refusals = refusals or AccountRefusals()
        self._preferred: Server | None = None
        if scheme == "http":
            log.warning("icws.scheme = \"http\" (icws.allow_plain_http): CIC passwords and "
                        "session tokens cross the network unencrypted to %s",
                        ", ".join(map(str, self.servers)))
        self._http = httpx.Client(
            timeout=timeout,
            headers={"Accept-Language": language, "Accept": "application/json",
                     "User-Agent": APPLICATION_NAME},
            cookies=refusing_jar(),
            follow_redirects=False,
            trust_env=False,  # CIC is on the local network: no proxy variables, no SSL_CERT_FILE
            transport=transport or DeadlineTransport(
                tls_context(ca_file) if scheme == "https" else None),
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
                   auth_token_field=settings.auth_token_field,
                   allow_plain_http=settings.allow_plain_http,
                   refusals=AccountRefusals(tuple(settings.password_expired_error_ids),
                                            tuple(settings.account_locked_error_ids)))

    @property
    def logon_timeout(self) -> float:
        """The most a whole logon takes: trying the servers, reading the record, logging off."""
        return self.failover_timeout + 2 * self.timeout

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
        the user's own new session reads it. All of it ends within `logon_timeout` seconds."""
        with (deadline(self.logon_timeout, self.clock),
              self.connect_password(user_id, password) as session):
            return _read_own_record(session, session.user_id or user_id, reader)

    def logon_with_token(self, token: str,
                         reader: Callable[[str], CicUser | None] | None = None) -> CicUser:
        """Log on with a single-use auth token and return whose it was; the session is closed.
        All of it ends within `logon_timeout` seconds."""
        with deadline(self.logon_timeout, self.clock), self.connect_token(token) as session:
            if not session.user_id:
                raise IcwsUnavailable(
                    f"CIC ({session.server}) accepted the auth token but did not say whose it is "
                    "(no userID in the connection response)")
            return _read_own_record(session, session.user_id, reader)

    def connect(self, body: dict[str, str]) -> IcwsSession:
        """``POST /icws/connection`` across the pair; see the module documentation."""
        started = self.clock()
        with deadline(self.failover_timeout, self.clock):
            return self._connect(body, started)

    def _connect(self, body: dict[str, str], started: float) -> IcwsSession:
        queue = self._first_choices()
        tried: list[Server] = []
        problems: list[str] = []
        while queue:
            server = queue.pop(0)
            if server in tried:
                continue
            remaining = time_left()
            if remaining is not None and remaining <= 0:
                problems.append(f"gave up: out of time after {self.clock() - started:.1f} s")
                break
            tried.append(server)
            wait = min(self.timeout, remaining if remaining is not None else self.timeout)
            try:
                response = self.send("POST", f"{server.base_url(self.scheme)}/icws/connection",
                                     json=body)
            except httpx.TransportError as exc:
                problems.append(f"{server}: {describe(exc, wait)}")
                log.warning("ICWS %s", problems[-1])
                continue
            if response.status_code == 201:
                session = self._session(server, response, tried)
                if len(tried) > 1:
                    ICWS_FAILOVERS.inc()
                self._preferred = server
                return session
            error = IcwsError.of(response)
            if response.status_code == 400 and error.is_authentication_failure:
                raise AuthenticationFailed(AUTH_FAILED_MESSAGE)
            refusal = self.refusals.of(error, server)
            if refusal is not None:  # the password may be right: CIC says why it is refused
                log.warning("ICWS %s", refusal)
                raise refusal
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
            if self.scheme == "http":  # no password in clear text to a host nobody configured
                log.warning("ICWS server %s named alternate host %r, which is not in "
                            "icws.servers: not followed over plain HTTP", answered, host[:100])
                continue
            try:
                found.append(parse_server(host, answered.port))
            except ValueError:
                log.warning("ICWS server %s named an unusable alternate host %r", answered,
                            host[:100])
        return found

    def _session(self, server: Server, response: httpx.Response,
                 tried: list[Server]) -> IcwsSession:
        body = json_body(response)
        data = body if isinstance(body, dict) else {}
        session_id = text_of(data.get("sessionId")) or response.headers.get(SESSION_HEADER, "")
        csrf = text_of(data.get("csrfToken")) or response.headers.get(CSRF_HEADER, "")
        if not session_id or not csrf:
            raise IcwsUnavailable(f"CIC ({server}) opened a connection without a sessionId and "
                                  "csrfToken", tried)
        return IcwsSession(self, server, session_id, csrf, cookie_header(response),
                           user_id=text_of(data.get("userID")),
                           display_name=text_of(data.get("userDisplayName")), tried=tuple(tried))

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request on the shared connection pool (sessions add their own headers). It ends
        within `timeout` seconds, or earlier at the deadline of an enclosing `deadline` block;
        a request with no time left fails at once, as a timeout."""
        with deadline(self.timeout, self.clock):
            left = time_left()
            if left is None or left <= 0:
                raise httpx.ConnectTimeout("no time left for the request")
            with ICWS_SECONDS.time():
                return self._http.request(method, url, timeout=left, **kwargs)


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
                headers: dict[str, str] | None = None, json: Any = None) -> httpx.Response:
        """A request within the session; `SessionLost` on 401 or when the server is gone."""
        url = (f"{self.server.base_url(self.client.scheme)}/icws/"
               f"{quote(self.session_id, safe='')}{path}")
        sent = {CSRF_HEADER: self.csrf_token, **({"Cookie": self.cookie} if self.cookie else {}),
                **(headers or {})}
        left = time_left()
        if left is not None and left <= 0:  # not the session's fault: it is not lost
            raise IcwsUnavailable(f"CIC ({self.server}): out of time before the request could "
                                  "be sent")
        wait = self.client.timeout if left is None else min(self.client.timeout, left)
        try:
            response = self.client.send(method, url, params=params, headers=sent,
                                        **({"json": json} if json is not None else {}))
        except httpx.TransportError as exc:
            raise SessionLost(f"CIC ({self.server}): {describe(exc, wait)}") from None
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
        return _user(json_body(response), self.server)

    def iter_users(self, where: str = "", page_size: int = MAX_PAGE_SIZE,
                   max_users: int = MAX_USERS, *, workgroups: bool = False) -> Iterator[CicUser]:
        """Every user (matching `where`), read completely (`idp.cic.paging`) `page_size` at a
        time, with their workgroups when asked. A user read twice means the list moved or CIC
        ignores ``Range``: `IncompleteList`."""
        select = f"{USER_SELECT},{WORKGROUPS}" if workgroups else USER_SELECT
        seen: set[str] = set()
        for item in read_list(self, "/configuration/users", select=select, where=where,
                              noun="users", page_size=page_size, max_items=max_users):
            user = _user(item, self.server)
            if user.user_id.casefold() in seen:
                raise IncompleteList(
                    f"CIC ({self.server}): the user list: user {user.user_id!r} came twice; "
                    "the list moved while it was read, or CIC seems to ignore the Range header")
            seen.add(user.user_id.casefold())
            yield user

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


def _user(item: Any, server: Server) -> CicUser:
    try:
        return user_from_icws(item)
    except UnexpectedRecord as exc:
        raise IcwsUnavailable(f"CIC ({server}) sent an unexpected user record: {exc}") from None
