"""An ICWS test server pair: what cic-sts's ``icws`` backend and the sync's CIC source talk to.

It implements what docs/facts.md#icws says of ICWS (its sections from logon to paging), and
nothing it does not say:

- ``POST /icws/connection`` (icAuth, and the unique auth token): 201 with ``csrfToken`` and
  ``sessionId`` in the body and as ``ININ-ICWS-CSRF-Token`` / ``ININ-ICWS-Session-ID`` headers, a
  ``Location`` and an ``icws_...`` cookie; 400 authenticationFailure for a wrong password or a
  bad, used or expired token (or, for a user given a `refusal`, that errorId once the password
  is right); 503 ``error.server.notAcceptingConnections`` with
  ``alternateHostList`` while the server is the backup of its pair.
- requests within a session need the session ID in the path, the CSRF header and the cookie;
  anything missing or wrong answers 401. ``GET`` / ``DELETE /icws/{id}/connection``.
- ``GET /icws/{id}/configuration/users[/{userId}]`` with ``select`` (dotted paths, null properties
  omitted), ``where`` (``eq``, ``sw``, ``ct``; a comma is "and") and ``Range: items=a-b`` (at
  most 200 items per answer when properties are selected; ``Content-Range`` in the answer).
- workgroups, skills and wrap-up codes (`tests.icws_objects`, through ``directory.objects``), and
  statuses, status messages, subscriptions and the message queue (`tests.icws_messaging`,
  through ``directory.board``).

Test controls: `IcwsServer.mode` ("primary" or "backup"), `delay` (answer slowly), `drip` (send the
answers within a session one byte at a time), `answer` (answer every logon with a fixed status and
body), `stop()` / `start()`, `drop_sessions()` (CIC forgot every session); for lists,
`page_cap` (answer at most this many items, whatever was asked: a CIC that caps pages lower),
`empty_pages` (item index -> how many more times a page asked from there is answered empty,
Content-Range and all), `before_page` (called with the first index asked, before the page is
read: a test edits the directory there); `CicDirectory.issue_token` (also ``POST
/icws-test/auth-tokens``, outside ``/icws``); and `IcwsServer.log`, every request. Auth tokens
live 7 seconds on the directory's clock, which tests can replace with a `FakeClock`.
`DripServer` is a server that sends every answer, status line and headers included, one byte at a
time.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.icws_common import (
    MAX_SELECTED_ITEMS,
    error,
    item_range,
    project,
    unauthorized,
    where_filter,
)
from tests.icws_messaging import StatusBoard
from tests.icws_messaging import register as register_messaging
from tests.icws_objects import (
    SKILL_PROPERTIES,
    WORKGROUP_PROPERTIES,
    WRAPUP_PROPERTIES,
    CicObjects,
)
from tests.servers import free_port

AUTH_FAILURE = {"errorId": "error.request.connection.authenticationFailure",
                "errorCode": -2147221503, "message": "The authentication process failed."}
NOT_ACCEPTING = {"errorId": "error.server.notAcceptingConnections",
                 "message": "This Session Manager is not currently accepting connections."}
IC_AUTH = "urn:inin.com:connection:icAuthConnectionRequestSettings"
AUTH_TOKEN = "urn:inin.com:connection:authTokenConnectionRequestSettings"
TOKEN_LIFETIME = 7.0
KNOWN_PROPERTIES = {"configurationId", "personalInformationProperties", "workgroups", "skills"}


class FakeClock:
    """A clock the test moves: `advance` instead of sleeping."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def phone(number: str, extension: str = "") -> dict[str, Any]:
    return {"number": number, "extension": extension, "dialExtensionAutomatically": False}


@dataclass
class IcwsUser:
    user_id: str
    password: str | None = None  # None: exists, cannot log on
    display_name: str | None = None  # CIC defaults it to the user ID
    email: str | None = None
    phones: dict[str, dict[str, Any]] = field(default_factory=dict)  # phoneNumberOfBusiness1...
    personal: dict[str, Any] = field(default_factory=dict)  # givenName, title, ...
    workgroups: list[str] = field(default_factory=list)  # their names (CIC's ids)
    skills: list[tuple[str, int]] = field(default_factory=list)  # assigned directly: (id, 1-100)
    #: An errorId CIC refuses this user's logon with once the password is checked (an expired
    #: password, a locked account: which ids a real CIC sends is not public), answered 400.
    refusal: str | None = None

    def record(self) -> dict[str, Any]:
        """The whole ICWS item; nulls are dropped when it is projected."""
        return {
            "configurationId": {"id": self.user_id,
                                "displayName": self.display_name or self.user_id,
                                "uri": f"/configuration/users/{self.user_id}"},
            "personalInformationProperties": {"emailAddress": self.email, **self.phones,
                                              **self.personal},
            "workgroups": [{"id": name, "displayName": name,
                            "uri": f"/configuration/workgroups/{name}"}
                           for name in self.workgroups] or None,
        }


class CicDirectory:
    """What both servers of a pair share: CIC's users and the auth tokens."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.users: dict[str, IcwsUser] = {}
        self.objects = CicObjects()  # workgroups, skills, wrap-up codes
        self.board = StatusBoard()  # user statuses and status messages
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def add(self, *users: IcwsUser) -> None:
        for user in users:
            self.users[user.user_id.casefold()] = user

    def get(self, user_id: str) -> IcwsUser | None:
        return self.users.get(user_id.casefold())

    def user_record(self, user: IcwsUser) -> dict[str, Any]:
        """The user's whole ICWS item, skills (its own and its workgroups') included."""
        return {**user.record(), "skills": self.objects.user_skills(user)}

    def issue_token(self, user_id: str) -> str:
        """A unique auth token for a user, as CIC issues one to a logged-on client."""
        assert self.get(user_id) is not None, f"no CIC user {user_id}"
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (self.get(user_id).user_id,  # type: ignore[union-attr]
                                   self.clock() + TOKEN_LIFETIME)
        return token

    def redeem(self, token: str) -> IcwsUser | None:
        """The token's user, once: a token is gone after its first use, and after 7 seconds."""
        with self._lock:
            entry = self._tokens.pop(token, None)
        if entry is None or self.clock() >= entry[1]:
            return None
        return self.get(entry[0])


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    status: int
    body: Any = None  # the JSON body, if any


@dataclass
class Session:
    user_id: str
    csrf: str
    cookie_name: str
    cookie_value: str


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class IcwsServer:
    """One CIC server's ICWS, served from a thread over HTTP or HTTPS."""

    def __init__(self, directory: CicDirectory, host: str, port: int,
                 tls: tuple[Path, Path] | None = None) -> None:
        self.directory = directory
        self.host, self.port, self.tls = host, port, tls
        self.mode = "primary"
        self.alternates: list[str] = []
        self.delay = 0.0
        #: Seconds between two bytes of the answers within a session (the headers go at once).
        self.drip = 0.0
        self.answer: tuple[int, Any] | None = None
        self.page_cap: int | None = None
        self.empty_pages: dict[int, int] = {}
        self.before_page: Callable[[int], None] | None = None
        self.sessions: dict[str, Session] = {}
        self.log: list[Logged] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.app = self._build_app()

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        context = None
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
        self._stopping.clear()
        self._server = make_server(self.host, self.port, self.app, threaded=True,
                                   ssl_context=context, request_handler=_Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop answering: connections are refused from now on."""
        self._stopping.set()  # wakes slow answers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _dripping(self, data: bytes) -> Iterator[bytes]:
        for index in range(len(data)):
            if self._stopping.wait(self.drip):
                return
            yield data[index:index + 1]

    def requests(self, method: str | None = None, path: str | None = None) -> list[Logged]:
        return [r for r in self.log if (method is None or r.method == method)
                and (path is None or re.fullmatch(path, r.path))]

    # -- the application ---------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask(f"icws-{self.host}")

        @app.before_request
        def slow_down() -> None:
            if self.delay and request.path.startswith("/icws/"):
                self._stopping.wait(self.delay)

        @app.after_request
        def record(response: Response) -> Response:
            self.log.append(Logged(request.method, request.path, dict(request.args),
                                   dict(request.headers), response.status_code,
                                   request.get_json(silent=True)))
            if self.drip and re.fullmatch(r"/icws/\d+/.+", request.path):
                data = response.get_data()
                response.response = self._dripping(data)
                response.headers["Content-Length"] = str(len(data))
            return response

        app.add_url_rule("/icws/connection", view_func=self._connect, methods=["POST"])
        app.add_url_rule("/icws/<session_id>/connection", view_func=self._connection,
                         methods=["GET", "DELETE"])
        app.add_url_rule("/icws/<session_id>/configuration/users", view_func=self._users)
        app.add_url_rule("/icws/<session_id>/configuration/users/<path:user_id>",
                         view_func=self._user)
        app.add_url_rule("/icws-test/auth-tokens", view_func=self._issue_token,
                         methods=["POST"])
        objects = self.directory.objects
        for kind, records, known in (
                ("workgroups", lambda: objects.workgroup_records(self.directory),
                 WORKGROUP_PROPERTIES),
                ("skills", objects.skill_records, SKILL_PROPERTIES),
                ("wrap-up-codes", objects.wrapup_records, WRAPUP_PROPERTIES)):
            app.add_url_rule(f"/icws/<session_id>/configuration/{kind}", f"list_{kind}",
                             self._lister(records, known))
        register_messaging(app, self.directory.board, id(self), self._session)
        return app

    def _lister(self, records: Callable[[], list[dict[str, Any]]],
                known: set[str]) -> Callable[[str], Response | tuple[Response, int]]:
        return lambda session_id: self.list_answer(session_id, records, known)

    def drop_sessions(self) -> None:
        """Forget every session (CIC restarted, or ended them): requests within them get 401."""
        self.sessions.clear()
        self.directory.board.forget(id(self))

    def _connect(self) -> Response | tuple[Response, int]:
        if self.answer is not None:
            return jsonify(self.answer[1]), self.answer[0]
        if self.mode == "backup":
            return jsonify({**NOT_ACCEPTING, "alternateHostList": self.alternates}), 503
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("applicationName"), str):
            return error(400, "error.request.invalidRepresentation",
                          "The request body is not a connection request.")
        user: IcwsUser | None = None
        if body.get("__type") == IC_AUTH:
            user = self.directory.get(str(body.get("userID", "")))
            if user is None or user.password is None or body.get("password") != user.password:
                return jsonify(AUTH_FAILURE), 400
            if user.refusal is not None:
                return error(400, user.refusal, "The logon was refused.")
        elif body.get("__type") == AUTH_TOKEN:
            user = self.directory.redeem(str(body.get("authToken", "")))
            if user is None:
                return jsonify(AUTH_FAILURE), 400
        else:
            return error(400, "error.request.invalidRepresentation",
                          "Unknown connection request type.")
        session_id = str(secrets.randbelow(10**9) + 10**9)
        session = Session(user.user_id, secrets.token_urlsafe(24), f"icws_{session_id}",
                          secrets.token_urlsafe(16))
        self.sessions[session_id] = session
        response = jsonify({
            "csrfToken": session.csrf, "sessionId": session_id, "userID": user.user_id,
            "userDisplayName": user.display_name or user.user_id, "icServer": self.host,
            "alternateHostList": self.alternates, "version": {"majorVersion": 1},
        })
        response.status_code = 201
        response.headers["ININ-ICWS-CSRF-Token"] = session.csrf
        response.headers["ININ-ICWS-Session-ID"] = session_id
        response.headers["Location"] = f"/icws/{session_id}/connection"
        response.set_cookie(session.cookie_name, session.cookie_value,
                            path=f"/icws/{session_id}", httponly=True, secure=bool(self.tls))
        return response

    def _session(self, session_id: str) -> Session | None:
        session = self.sessions.get(session_id)
        if (session is None or request.headers.get("ININ-ICWS-CSRF-Token") != session.csrf
                or request.cookies.get(session.cookie_name) != session.cookie_value):
            return None
        return session

    def _connection(self, session_id: str) -> Response | tuple[Response, int]:
        if self._session(session_id) is None:
            return unauthorized()
        if request.method == "DELETE":
            del self.sessions[session_id]
            self.directory.board.forget(id(self), session_id)
            return Response(status=204)
        return jsonify({"userID": self.sessions[session_id].user_id}), 200

    def _user(self, session_id: str, user_id: str) -> Response | tuple[Response, int]:
        if self._session(session_id) is None:
            return unauthorized()
        user = self.directory.get(user_id)
        if user is None:
            return error(404, "error.request.notFound", f"The user {user_id} was not found.")
        try:
            return jsonify(project(self.directory.user_record(user), request.args.get("select", ""),
                                   KNOWN_PROPERTIES)), 200
        except ValueError as exc:
            return error(400, "error.request.invalidSelect", str(exc))

    def _users(self, session_id: str) -> Response | tuple[Response, int]:
        return self.list_answer(session_id, lambda: [
            self.directory.user_record(user) for _, user in sorted(self.directory.users.items())],
            KNOWN_PROPERTIES)

    def list_answer(self, session_id: str, records: Callable[[], list[dict[str, Any]]],
                    known: set[str]) -> Response | tuple[Response, int]:
        """A configuration list (``where``, ``select``, ``Range``), with the test controls
        (`page_cap`, `empty_pages`, `before_page`)."""
        if self._session(session_id) is None:
            return unauthorized()
        select = request.args.get("select", "")
        try:
            first, last = item_range(request.headers.get("Range"), 1 << 30)
            if self.before_page is not None:
                self.before_page(first)
            matches = where_filter(request.args.get("where", ""))
            listed = [r for r in records() if matches(r)]
            if request.headers.get("Range") is None:
                last = max(len(listed) - 1, 0)
            if select:
                last = min(last, first + MAX_SELECTED_ITEMS - 1)
            if self.page_cap is not None:
                last = min(last, first + self.page_cap - 1)
            page = [project(r, select, known) for r in listed[first:last + 1]]
        except ValueError as exc:
            return error(400, "error.request.invalidParameter", str(exc))
        if self.empty_pages.get(first):
            self.empty_pages[first] -= 1
            response = jsonify({"items": []})
            response.headers["Content-Range"] = f"items */{len(listed)}"
            return response, 200
        response = jsonify({"items": page})
        if page:
            response.headers["Content-Range"] = f"items {first}-{first + len(page) - 1}/" \
                                                f"{len(listed)}"
        return response, 200

    def _issue_token(self) -> tuple[Response, int]:
        body = request.get_json(silent=True) or {}
        if self.directory.get(str(body.get("userID", ""))) is None:
            return error(404, "error.request.notFound", "No such user.")
        return jsonify({"authToken": self.directory.issue_token(body["userID"])}), 201


class DripServer:
    """A server that answers every request one byte every `interval` seconds, status line and
    headers included: every read of the client gets a byte long before a per-read timeout could
    fire, so only a deadline on the whole request ends it. The answer is a logon's 201."""

    def __init__(self, host: str, interval: float = 0.2,
                 tls: tuple[Path, Path] | None = None) -> None:
        self.host, self.port, self.interval = host, free_port(host), interval
        self.context: ssl.SSLContext | None = None
        if tls:
            self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.context.load_cert_chain(str(tls[0]), str(tls[1]))
        body = json.dumps({"sessionId": "1000000001", "csrfToken": "c" * 32}).encode()
        self.answer = (b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n" % len(body)) + body
        self.requests = 0  # requests read
        self.finished = 0  # answers that were sent to the end
        #: How long one answer takes to send: a client that waits longer was not cut off.
        self.seconds_to_answer = len(self.answer) * interval
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        self._stopping.clear()
        self._listener = socket.create_server((self.host, self.port))
        self._listener.settimeout(0.05)
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        try:
            connection.settimeout(5)
            if self.context is not None:
                connection = self.context.wrap_socket(connection, server_side=True)
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            while length and len(body) < int(length.group(1)):
                body += connection.recv(65536)
            self.requests += 1
            for index in range(len(self.answer)):
                if self._stopping.wait(self.interval):
                    return
                connection.sendall(self.answer[index:index + 1])
            self.finished += 1
        except OSError:
            pass  # the client gave up: what the tests want
        finally:
            connection.close()


# -- a pair ----------------------------------------------------------------------------------


@dataclass
class IcwsPair:
    """A CIC switchover pair: `primary` accepts connections, `backup` names it in its 503s."""

    directory: CicDirectory
    primary: IcwsServer
    backup: IcwsServer

    @property
    def servers(self) -> list[IcwsServer]:
        return [self.primary, self.backup]

    @property
    def addresses(self) -> list[str]:
        return [s.address for s in self.servers]

    def switchover(self) -> None:
        """The backup takes over; the old primary now answers 503 naming it."""
        self.primary.mode, self.backup.mode = "backup", "primary"

    def reset(self) -> None:
        for server in self.servers:
            server.log.clear()
            server.delay, server.drip, server.answer = 0.0, 0.0, None
            server.page_cap, server.empty_pages, server.before_page = None, {}, None
            if server._server is None:
                server.start()
        self.primary.mode, self.backup.mode = "primary", "backup"


def common_free_port(hosts: list[str]) -> int:
    """A port free on every one of `hosts`, so that an alternate host works on the same port."""
    for _ in range(50):
        port = free_port(hosts[0])
        try:
            for host in hosts[1:]:
                with socket.socket() as s:
                    s.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no port free on all of {hosts}")


@contextmanager
def running_pair(directory: CicDirectory, tls: tuple[Path, Path] | None = None,
                 hosts: tuple[str, str] = ("127.0.0.2", "127.0.0.3")) -> Iterator[IcwsPair]:
    """Two servers on one port of two loopback addresses, the first the primary."""
    port = common_free_port(list(hosts))
    primary = IcwsServer(directory, hosts[0], port, tls)
    backup = IcwsServer(directory, hosts[1], port, tls)
    primary.alternates, backup.alternates = [hosts[1]], [hosts[0]]
    pair = IcwsPair(directory, primary, backup)
    pair.reset()
    try:
        yield pair
    finally:
        for server in pair.servers:
            server.stop()


def use_icws(config_file: Path, pair: IcwsPair, ca_file: Path,
             service: tuple[str, str] | None = None, **settings: int | list[str]) -> None:
    """Switch a configuration written by `tests.conftest.write_config` to the ``icws`` backend
    against `pair`, with the service account's password in a secret file beside it."""
    lines = [f"servers = {pair.addresses!r}".replace("'", '"'), f'ca_file = "{ca_file}"',
             *(f"{key} = {json.dumps(value)}" for key, value in settings.items())]
    if service is not None:
        secret = config_file.parent / "icws-service.secret"
        secret.write_text(service[1] + "\n")
        secret.chmod(0o600)
        lines += [f'service_user = "{service[0]}"', f'service_password = {{ file = "{secret}" }}']
    text = config_file.read_text()
    assert text.count("[directory]\n") == 1
    text = text.replace("[directory]\n", '[directory]\nbackend = "icws"\n')
    config_file.write_text(text + "\n[icws]\n" + "\n".join(lines) + "\n")
