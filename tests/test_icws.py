"""The ICWS client and the ``icws`` backend against the ICWS test server pair (tests/icws_server.py)
on 127.0.0.2 and 127.0.0.3, over TLS verified against the test CA."""

from __future__ import annotations

import itertools
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from idp.auth.icws import IcwsBackend
from idp.cic.icws import (
    AUTH_TOKEN,
    IC_AUTH,
    IcwsClient,
    IcwsSession,
    IcwsUnavailable,
    ListChanged,
    SessionLost,
    deadline,
    time_left,
)
from idp.cic.paging import EMPTY_RETRIES
from idp.cic.service import ServiceSession
from idp.errors import (
    AUTH_FAILED_MESSAGE,
    AuthenticationFailed,
    BackendUnavailable,
    ConfigError,
    SyncError,
)
from idp.sync.sources.icws import IcwsSource
from idp.users import CicUser
from tests.icws_server import (
    CicDirectory,
    DripServer,
    FakeClock,
    IcwsPair,
    IcwsServer,
    IcwsUser,
    phone,
    running_pair,
)
from tests.servers import free_port

PASSWORD = "cic-secret-1"
SERVICE = ("svc-sts", "service-secret-1")
AGENTS = 400  # two full pages of 200

ALICE = IcwsUser("alice", PASSWORD, "Alice Agent", "alice@example.com", {
    "phoneNumberOfBusiness1": phone("+13175550101", "105"),
    "phoneNumberOfBusiness2": phone("+13175550102"),
    "phoneNumberOfMobile": phone("+13175550103"),
    "phoneNumberOfHome1": phone("+13175550104"),
    "phoneNumberOfFax": phone("+13175550105"),
}, {"givenName": "Alice", "title": "Agent"})


@pytest.fixture(scope="module")
def cic() -> CicDirectory:
    directory = CicDirectory(FakeClock())
    directory.add(ALICE, IcwsUser("bob", PASSWORD),  # no display name, no e-mail, no phones
                  IcwsUser(SERVICE[0], SERVICE[1], "STS service account"),
                  IcwsUser("extonly", PASSWORD, phones={"phoneNumberOfBusiness1": phone("", "7")}))
    directory.add(*(IcwsUser(f"agent{i:03}", None, f"Agent {i}", f"agent{i:03}@example.com")
                    for i in range(AGENTS)))
    return directory


@pytest.fixture(scope="module")
def running(cic: CicDirectory, key_dir: Path) -> Iterator[IcwsPair]:
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        yield pair


@pytest.fixture
def pair(running: IcwsPair) -> IcwsPair:
    running.reset()
    return running


def make_client(pair: IcwsPair, key_dir: Path, timeout: float = 1.0,
                failover_timeout: float = 3.0) -> IcwsClient:
    return IcwsClient(pair.addresses, ca_file=key_dir / "tls.crt", timeout=timeout,
                      failover_timeout=failover_timeout)


@pytest.fixture
def client(pair: IcwsPair, key_dir: Path) -> Iterator[IcwsClient]:
    client = make_client(pair, key_dir)
    yield client
    client.close()


def posts(server: IcwsServer) -> int:
    return len(server.requests("POST", "/icws/connection"))


# -- logons ----------------------------------------------------------------------------------


def test_logon_reads_the_user_and_closes_the_session(pair: IcwsPair,
                                                     client: IcwsClient) -> None:
    user = client.authenticate("ALICE", PASSWORD)  # CIC matches user IDs in any case
    assert user == CicUser("alice", "Alice Agent", "alice@example.com", {
        "business": "+13175550101;ext=105", "business2": "+13175550102",
        "mobile": "+13175550103", "home": "+13175550104", "fax": "+13175550105"})
    primary = pair.primary
    assert [(r.method, r.status) for r in primary.log] == [("POST", 201), ("GET", 200),
                                                           ("DELETE", 204)]
    logon, read, close = primary.log
    assert logon.body == {"__type": IC_AUTH, "applicationName": "cic-sts", "userID": "ALICE",
                          "password": PASSWORD}
    assert read.path.endswith("/configuration/users/alice")
    assert "personalInformationProperties.emailAddress" in read.query["select"]
    assert read.headers["Cookie"].startswith("icws_") and read.headers["Inin-Icws-Csrf-Token"]
    assert close.path == read.path.split("/configuration")[0] + "/connection"
    assert primary.sessions == {}  # logged off
    assert all(r.headers.get("Accept-Language") == "en-us" for r in primary.log)
    assert pair.backup.log == []


def test_missing_properties_and_bare_extensions(client: IcwsClient) -> None:
    assert client.authenticate("bob", PASSWORD) == CicUser("bob", "bob", "", {})
    assert client.authenticate("extonly", PASSWORD).phones == {}


@pytest.mark.parametrize("user_id, password", [("alice", "wrong"), ("nobody", PASSWORD),
                                               ("agent001", "")])
def test_wrong_credentials_fail_like_any_failed_logon(pair: IcwsPair, client: IcwsClient,
                                                      user_id: str, password: str) -> None:
    with pytest.raises(AuthenticationFailed) as info:
        client.authenticate(user_id, password)
    assert str(info.value) == AUTH_FAILED_MESSAGE  # the local directory's text, too
    assert [r.method for r in pair.primary.log] == ["POST"]  # no session, no retry elsewhere
    assert pair.backup.log == []


def test_cic_before_4_0_6_fails_a_logon_with_only_an_error_code(pair: IcwsPair,
                                                                client: IcwsClient) -> None:
    pair.primary.answer = (400, {"errorCode": -2147221503, "message": "failed"})
    with pytest.raises(AuthenticationFailed):
        client.authenticate("alice", "wrong")


def test_any_other_refusal_is_unavailable_not_a_failed_logon(pair: IcwsPair,
                                                             client: IcwsClient) -> None:
    pair.primary.answer = (400, {"errorId": "error.request.connection.somethingElse",
                                 "message": "Something else."})
    with pytest.raises(IcwsUnavailable) as info:
        client.authenticate("alice", PASSWORD)
    assert "somethingElse" in str(info.value)
    assert PASSWORD not in str(info.value)


def test_primary_in_switchover_sends_the_logon_to_the_backup(pair: IcwsPair,
                                                             client: IcwsClient) -> None:
    pair.switchover()  # 127.0.0.2 now answers 503 naming 127.0.0.3
    with client.connect_password("alice", PASSWORD) as session:
        assert [s.host for s in session.tried] == ["127.0.0.2", "127.0.0.3"]
        assert session.server.host == "127.0.0.3"
    assert pair.primary.requests("POST")[0].status == 503
    # The client remembers which server accepted: the next logon goes there first.
    assert client.authenticate("alice", PASSWORD).email == "alice@example.com"
    assert (posts(pair.primary), posts(pair.backup)) == (1, 2)


def test_alternate_host_that_is_not_configured_is_tried_on_the_same_port(
        pair: IcwsPair, key_dir: Path) -> None:
    pair.switchover()
    lone = IcwsClient([pair.primary.address], ca_file=key_dir / "tls.crt", timeout=1.0)
    try:
        assert lone.authenticate("alice", PASSWORD).user_id == "alice"
    finally:
        lone.close()
    assert posts(pair.backup) == 1


def test_both_servers_backup_gives_up_without_looping(pair: IcwsPair,
                                                      client: IcwsClient) -> None:
    pair.primary.mode = "backup"
    with pytest.raises(IcwsUnavailable) as info:
        client.authenticate("alice", PASSWORD)
    assert [s.host for s in info.value.tried] == ["127.0.0.2", "127.0.0.3"]
    assert "notAcceptingConnections" in str(info.value)
    assert (posts(pair.primary), posts(pair.backup)) == (1, 1)


def test_both_down_is_unavailable_at_once(pair: IcwsPair, client: IcwsClient) -> None:
    for server in pair.servers:
        server.stop()
    with pytest.raises(BackendUnavailable) as info:
        client.authenticate("alice", PASSWORD)
    # Refused at once, not timed out: both reasons are "cannot connect", none "no answer".
    assert str(info.value).count("cannot connect") == 2
    assert "no answer" not in str(info.value)
    assert "127.0.0.2" in str(info.value) and "127.0.0.3" in str(info.value)


def test_refused_primary_moves_to_the_other_server(pair: IcwsPair, client: IcwsClient) -> None:
    pair.primary.stop()
    pair.backup.mode = "primary"
    assert client.authenticate("alice", PASSWORD).user_id == "alice"


def test_slow_primary_times_out_and_the_other_answers(pair: IcwsPair, key_dir: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    pair.primary.delay = 5.0  # hangs
    pair.backup.mode = "primary"
    client = make_client(pair, key_dir, timeout=0.5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="idp"):
        try:
            assert client.authenticate("alice", PASSWORD).user_id == "alice"
        finally:
            client.close()
    # The budget itself is checked exactly on a fake clock below; here that a real socket is
    # cut off: the answer came long before the hanging server would have sent one.
    assert time.monotonic() - started < pair.primary.delay
    assert f"{pair.primary.address}: no answer within 0.5 s" in caplog.text


def test_slow_pair_gives_up_within_the_failover_time(pair: IcwsPair, key_dir: Path) -> None:
    for server in pair.servers:
        server.delay, server.mode = 5.0, "primary"
    client = make_client(pair, key_dir, timeout=0.5, failover_timeout=0.8)
    started = time.monotonic()
    try:
        with pytest.raises(IcwsUnavailable) as info:
            client.authenticate("alice", PASSWORD)
    finally:
        client.close()
    assert time.monotonic() - started < pair.primary.delay  # neither server was waited out
    assert "no answer within 0.5 s" in str(info.value)
    assert "no answer within 0.3 s" in str(info.value)  # what was left of failover_timeout


def test_server_error_moves_to_the_other_server(pair: IcwsPair, client: IcwsClient) -> None:
    pair.primary.answer = (500, {"message": "Internal error."})
    pair.backup.mode = "primary"
    assert client.authenticate("alice", PASSWORD).user_id == "alice"


def test_session_requests_need_the_csrf_token_and_the_cookie(client: IcwsClient) -> None:
    with client.connect_password("alice", PASSWORD) as session:
        token, cookie = session.csrf_token, session.cookie
        session.csrf_token = "forged"
        with pytest.raises(SessionLost):
            session.get_user("alice")
        session.csrf_token, session.cookie = token, ""
        with pytest.raises(SessionLost):
            session.get_user("alice")
        session.cookie = cookie
        assert session.check() and session.get_user("nobody") is None


# -- TLS -------------------------------------------------------------------------------------


def test_wrong_ca_is_unavailable(pair: IcwsPair, key_dir: Path) -> None:
    for ca_file in (key_dir / "saml-signing.crt", None):  # another certificate; system CAs
        client = IcwsClient(pair.addresses, ca_file=ca_file, timeout=1.0)
        try:
            with pytest.raises(IcwsUnavailable, match="TLS certificate not trusted"):
                client.authenticate("alice", PASSWORD)
        finally:
            client.close()
    assert all(r.method != "POST" for s in pair.servers for r in s.log)  # no password sent


def test_host_name_not_in_the_certificate_is_refused(cic: CicDirectory, key_dir: Path) -> None:
    # The test certificate names 127.0.0.1-3 and localhost, not 127.0.0.4.
    server = IcwsServer(cic, "127.0.0.4", free_port("127.0.0.4"),
                        (key_dir / "tls.crt", key_dir / "tls.key"))
    server.start()
    client = IcwsClient([server.address], ca_file=key_dir / "tls.crt", timeout=1.0)
    try:
        with pytest.raises(IcwsUnavailable, match="TLS certificate not trusted"):
            client.authenticate("alice", PASSWORD)
    finally:
        client.close()
        server.stop()


def test_unreadable_ca_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="icws.ca_file"):
        IcwsClient(["cic1"], ca_file=tmp_path / "missing.pem")


# -- auth tokens -----------------------------------------------------------------------------


def test_token_logon_is_single_use_and_lives_seven_seconds(pair: IcwsPair, client: IcwsClient,
                                                           cic: CicDirectory) -> None:
    clock = cic.clock
    assert isinstance(clock, FakeClock)
    token = cic.issue_token("alice")
    assert client.logon_with_token(token).email == "alice@example.com"
    assert pair.primary.log[0].body == {"__type": AUTH_TOKEN, "applicationName": "cic-sts",
                                        "authToken": token}
    with pytest.raises(AuthenticationFailed):  # replayed
        client.logon_with_token(token)
    late = cic.issue_token("alice")
    clock.advance(7.0)
    with pytest.raises(AuthenticationFailed):  # expired
        client.logon_with_token(late)
    fresh = cic.issue_token("alice")
    clock.advance(6.5)
    assert client.logon_with_token(fresh).user_id == "alice"
    assert pair.primary.sessions == {}


def test_token_issued_over_the_test_endpoint(pair: IcwsPair, key_dir: Path,
                                             client: IcwsClient) -> None:
    answer = httpx.post(f"https://{pair.primary.address}/icws-test/auth-tokens",
                        json={"userID": "alice"},
                        verify=ssl.create_default_context(cafile=key_dir / "tls.crt"))
    assert answer.status_code == 201
    assert client.logon_with_token(answer.json()["authToken"]).user_id == "alice"


# -- the backend -----------------------------------------------------------------------------


def service_backend(client: IcwsClient, clock: FakeClock, ttl: float = 60) -> IcwsBackend:
    return IcwsBackend(client, ServiceSession(client, *SERVICE), cache_ttl=ttl, clock=clock)


def user_reads(pair: IcwsPair, user_id: str) -> int:
    return sum(len(s.requests("GET", rf"/icws/\d+/configuration/users/{user_id}"))
               for s in pair.servers)


def test_lookup_with_the_service_account_is_cached_briefly(pair: IcwsPair,
                                                           client: IcwsClient) -> None:
    clock = FakeClock()
    backend = service_backend(client, clock)
    first = backend.lookup("alice")
    assert first is not None and backend.lookup("ALICE") == first
    assert user_reads(pair, "alice") == 1
    clock.advance(61)
    assert backend.lookup("alice") is not None
    assert user_reads(pair, "alice") == 2
    assert backend.lookup("nobody") is None
    assert posts(pair.primary) == 1  # one service session for all of it
    backend.close()
    assert pair.primary.sessions == {}


def test_logon_reads_with_the_service_account_and_fills_the_cache(pair: IcwsPair,
                                                                  client: IcwsClient) -> None:
    backend = service_backend(client, FakeClock())
    assert backend.authenticate("alice", PASSWORD).display_name == "Alice Agent"
    assert backend.lookup("alice") is not None
    assert user_reads(pair, "alice") == 1  # the logon's read, by the service session
    service_posts = [r for r in pair.primary.requests("POST") if r.body["userID"] == SERVICE[0]]
    assert len(service_posts) == 1
    with pytest.raises(AuthenticationFailed):  # passwords are never cached
        backend.authenticate("alice", "wrong")
    backend.close()


def test_lookup_without_a_service_account_remembers_only_logons(client: IcwsClient) -> None:
    clock = FakeClock()
    backend = IcwsBackend(client, cache_ttl=300, clock=clock)
    assert backend.lookup("alice") is None
    backend.authenticate("alice", PASSWORD)
    assert backend.lookup("Alice") is not None
    clock.advance(301)
    assert backend.lookup("alice") is None
    assert backend.ready()


def test_service_session_is_reopened_after_a_switchover(pair: IcwsPair,
                                                        client: IcwsClient) -> None:
    backend = service_backend(client, FakeClock(), ttl=0)
    assert backend.lookup("alice") is not None
    pair.switchover()
    pair.primary.sessions.clear()  # the old primary's sessions are gone
    assert backend.lookup("alice") is not None
    assert posts(pair.backup) == 1
    backend.close()


def test_ready_checks_the_service_session(pair: IcwsPair, client: IcwsClient) -> None:
    clock = FakeClock()
    backend = service_backend(client, clock)
    assert backend.ready()
    for server in pair.servers:
        server.stop()
    assert backend.ready()  # the answer is kept for a few seconds
    clock.advance(11)
    assert not backend.ready()


def test_backend_token_logon(pair: IcwsPair, client: IcwsClient, cic: CicDirectory) -> None:
    backend = service_backend(client, FakeClock())
    assert backend.authenticate_token(cic.issue_token("alice")).user_id == "alice"
    backend.close()


def test_refused_service_account_is_unavailable_not_a_failed_logon(client: IcwsClient) -> None:
    backend = IcwsBackend(client, ServiceSession(client, SERVICE[0], "wrong"))
    with pytest.raises(IcwsUnavailable, match="service account"):
        backend.lookup("alice")


# -- listing users for the sync --------------------------------------------------------------


def test_users_are_listed_200_at_a_time(pair: IcwsPair, client: IcwsClient) -> None:
    with client.connect_password(*SERVICE) as session:
        users = list(session.iter_users())
    assert len(users) == AGENTS + 4
    assert len({u.user_id for u in users}) == len(users)
    assert users[0].user_id == "agent000" and users[0].email == "agent000@example.com"
    ranges = [r.headers["Range"] for r in pair.primary.requests("GET")]
    assert ranges == ["items=0-199", "items=200-399", "items=400-599"]


def test_listing_with_where_stops_at_the_total(pair: IcwsPair, client: IcwsClient) -> None:
    with client.connect_password(*SERVICE) as session:
        users = list(session.iter_users("configurationId.id sw agent"))
        assert len(users) == AGENTS
        assert len(pair.primary.requests("GET")) == 2  # Content-Range said 400 in all
        matched = list(session.iter_users(
            "personalInformationProperties.emailAddress ct 01@, configurationId.id sw agent1"))
        assert [u.user_id for u in matched] == ["agent101"]


def test_users_changing_while_listed_are_read_again(pair: IcwsPair, client: IcwsClient,
                                                    cic: CicDirectory) -> None:
    with client.connect_password(*SERVICE) as session:
        users = session.iter_users()
        first_page = list(itertools.islice(users, 200))
        cic.add(IcwsUser("aaron", PASSWORD))  # sorts first: every later page shifts
        try:
            with pytest.raises(ListChanged):
                next(users)
            assert len(first_page) == 200
            service = ServiceSession(client, *SERVICE)
            assert len(IcwsSource(service).snapshot().users) == AGENTS + 5
            service.close()
        finally:
            del cic.users["aaron"]


def test_the_test_server_caps_selected_pages_at_200(pair: IcwsPair, client: IcwsClient) -> None:
    with client.connect_password(*SERVICE) as session:
        answer = session.request("GET", "/configuration/users",
                                 params={"select": "personalInformationProperties.emailAddress"},
                                 headers={"Range": "items=0-499"})
        assert len(answer.json()["items"]) == 200
        assert answer.headers["Content-Range"] == f"items 0-199/{AGENTS + 4}"
        bob = session.request("GET", "/configuration/users/bob", params={
            "select": "personalInformationProperties.emailAddress"}).json()
        assert bob == {"configurationId": {"id": "bob", "displayName": "bob",
                                           "uri": "/configuration/users/bob"}}


def test_sync_source_snapshot(pair: IcwsPair, client: IcwsClient) -> None:
    source = IcwsSource(ServiceSession(client, *SERVICE))
    snapshot = source.snapshot()
    assert snapshot.complete and len(snapshot.users) == AGENTS + 4
    assert "127.0.0.2" in source.description
    for server in pair.servers:
        server.stop()
    pair.primary.sessions.clear()
    with pytest.raises(SyncError, match="cannot read users from CIC"):
        source.snapshot()


# -- answers that are not ICWS ---------------------------------------------------------------


def mock_client(handler: httpx.MockTransport) -> IcwsClient:
    return IcwsClient(["cic1", "cic2"], scheme="http", allow_plain_http=True, transport=handler)


@pytest.mark.parametrize("answer", [
    httpx.Response(201, text="<html>not json</html>"),
    httpx.Response(201, json={"sessionId": "1"}),  # no csrfToken
    httpx.Response(302, headers={"Location": "https://elsewhere/"}),
    httpx.Response(404, text="not found"),
])
def test_odd_logon_answers_are_unavailable(answer: httpx.Response) -> None:
    client = mock_client(httpx.MockTransport(lambda request: answer))
    with pytest.raises(IcwsUnavailable):
        client.authenticate("alice", PASSWORD)


def test_odd_user_records_are_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/icws/connection":
            return httpx.Response(201, json={"sessionId": "1", "csrfToken": "c"})
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(200, json={"configurationId": {"displayName": "no id"}})

    client = mock_client(httpx.MockTransport(handler))
    with pytest.raises(IcwsUnavailable, match="unexpected user record"):
        client.authenticate("alice", PASSWORD)


def test_alternates_go_to_configured_servers_with_their_ports() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url.host}:{request.url.port}")
        if request.url.host == "cic1":
            return httpx.Response(503, json={"alternateHostList": ["CIC2"],
                                             "errorId": "error.server.unavailable",
                                             "message": "switching"})
        return httpx.Response(400, json={"errorId": "error.request.connection."
                                                    "authenticationFailure", "message": "no"})

    client = IcwsClient(["cic1:9000", "cic2:9001"], scheme="http", allow_plain_http=True,
                        transport=httpx.MockTransport(handler))
    with pytest.raises(AuthenticationFailed):
        client.authenticate("alice", "wrong")
    assert seen == ["cic1:9000", "cic2:9001"]


# -- plain HTTP ------------------------------------------------------------------------------


def test_plain_http_needs_to_be_asked_for_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError, match="icws.allow_plain_http"):
        IcwsClient(["cic1"], scheme="http")
    with caplog.at_level(logging.WARNING, logger="idp.cic.icws"):
        IcwsClient(["cic1"], scheme="http", allow_plain_http=True).close()
    assert "unencrypted to cic1:8018" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="idp.cic.icws"):
        IcwsClient(["cic1"]).close()
    assert caplog.text == ""


def test_plain_http_sends_passwords_to_no_host_that_is_not_configured() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.host)
        return httpx.Response(503, json={"alternateHostList": ["elsewhere.example", "CIC2"],
                                         "errorId": "error.server.notAcceptingConnections"})

    client = mock_client(httpx.MockTransport(handler))
    with pytest.raises(IcwsUnavailable):
        client.authenticate("alice", PASSWORD)
    assert seen == ["cic1", "cic2"]


# -- deadlines ---------------------------------------------------------------------------------
# The budgets (per request, per failover, per logon) are checked exactly on a fake clock that the
# transport moves ("this server took 0.6 s"). The tests on real sockets after them check what a
# fake clock cannot: that a slow or dripping server is really cut off. Their time bounds come from
# the contract (`logon_timeout`) or from what the server would take if nothing cut it off, never
# from a guess at scheduling slack.


class TimedCic:
    """A MockTransport handler for a CIC pair on a fake clock: a request to a host listed in
    `takes` costs that many seconds, or its timeout if that is shorter (then it fails as a read
    timeout, as a real socket would). Records (host, method, the timeout it was given)."""

    def __init__(self, clock: FakeClock, takes: dict[str, float]) -> None:
        self.clock, self.takes = clock, takes
        self.seen: list[tuple[str, str, float]] = []
        self.lost_service = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        timeout = float(request.extensions["timeout"]["read"])
        self.seen.append((request.url.host, request.method, round(timeout, 3)))
        took = self.takes.get(request.url.host, 0.0)
        if took > timeout:
            self.clock.advance(timeout)
            raise httpx.ReadTimeout("timed out", request=request)
        self.clock.advance(took)
        if request.url.path == "/icws/connection":
            user = json.loads(request.content)["userID"]
            return httpx.Response(201, json={"sessionId": f"s-{user}", "csrfToken": "c",
                                             "userID": user})
        if request.method == "DELETE":
            return httpx.Response(204)
        if self.lost_service and request.url.path.startswith("/icws/s-svc-sts/"):
            return httpx.Response(401, json={"message": "The session is not valid."})
        return httpx.Response(200, json=record(request.url.path.rsplit("/", 1)[-1]))


def timed_client(handler: TimedCic, timeout: float, failover_timeout: float) -> IcwsClient:
    return IcwsClient(["cic1", "cic2"], scheme="http", allow_plain_http=True,
                      transport=httpx.MockTransport(handler), timeout=timeout,
                      failover_timeout=failover_timeout, clock=handler.clock)


def test_deadlines_nest_and_the_earlier_one_wins() -> None:
    clock = FakeClock()
    assert time_left() is None
    with deadline(5.0, clock):
        with deadline(10.0):
            assert time_left() == pytest.approx(5.0)  # the enclosing block ends first
        with deadline(2.0):
            clock.advance(3.0)
            assert time_left() == pytest.approx(-1.0)
        assert time_left() == pytest.approx(2.0)
    assert time_left() is None


def test_a_hanging_primary_costs_one_timeout_then_the_other_answers() -> None:
    handler = TimedCic(FakeClock(), {"cic1": 60.0})
    client = timed_client(handler, timeout=0.5, failover_timeout=3.0)
    started = handler.clock()
    assert client.authenticate("alice", PASSWORD).user_id == "alice"
    assert handler.clock() - started == pytest.approx(0.5)
    assert handler.seen[:2] == [("cic1", "POST", 0.5), ("cic2", "POST", 0.5)]


def test_the_second_server_gets_what_is_left_of_the_failover_time() -> None:
    handler = TimedCic(FakeClock(), {"cic1": 60.0, "cic2": 60.0})
    client = timed_client(handler, timeout=0.5, failover_timeout=0.8)
    started = handler.clock()
    with pytest.raises(IcwsUnavailable) as info:
        client.authenticate("alice", PASSWORD)
    assert handler.clock() - started == pytest.approx(0.8)
    assert handler.seen == [("cic1", "POST", 0.5), ("cic2", "POST", 0.3)]
    assert "cic1:8018: no answer within 0.5 s" in str(info.value)
    assert "cic2:8018: no answer within 0.3 s" in str(info.value)


def test_no_server_is_tried_once_the_failover_time_is_spent() -> None:
    handler = TimedCic(FakeClock(), {"cic1": 60.0})
    client = timed_client(handler, timeout=1.0, failover_timeout=1.0)
    with pytest.raises(IcwsUnavailable, match=r"gave up: out of time after 1\.0 s"):
        client.authenticate("alice", PASSWORD)
    assert [host for host, _, _ in handler.seen] == ["cic1"]


def test_a_whole_logon_ends_within_its_bound() -> None:
    handler = TimedCic(FakeClock(), {})
    client = timed_client(handler, timeout=1.2, failover_timeout=1.2)
    assert client.logon_timeout == pytest.approx(3.6)  # failover_timeout + 2 x timeout
    backend = IcwsBackend(client, ServiceSession(client, *SERVICE), cache_ttl=0)
    assert backend.lookup("bob") is not None  # the service session is open
    # CIC forgets the service session, and every request now takes 1 s, within the 1.2 s
    # limit: the user's logon, the service session's read (401), its new logon, the read again
    # and the logoff would take 5 s.
    handler.lost_service = True
    handler.takes = {"cic1": 1.0, "cic2": 1.0}
    handler.seen.clear()
    started = handler.clock()
    with pytest.raises(BackendUnavailable):
        backend.authenticate("alice", PASSWORD)
    assert handler.clock() - started == pytest.approx(3.6)
    # Three requests took their second; the fourth got what was left of the 3.6 s, no more.
    assert [timeout for _, _, timeout in handler.seen[:4]] == [1.2, 1.2, 1.2, 0.6]
    backend.close()


SECONDS = 0.1  # between two bytes a dripping server sends


@pytest.fixture
def drip_servers(key_dir: Path) -> Iterator[Callable[..., DripServer]]:
    started: list[DripServer] = []

    def start(host: str, tls: bool = True) -> DripServer:
        server = DripServer(host, interval=SECONDS,
                            tls=(key_dir / "tls.crt", key_dir / "tls.key") if tls else None)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_a_server_that_drips_its_answer_is_cut_off_and_the_other_answers(
        pair: IcwsPair, key_dir: Path, drip_servers: Callable[..., DripServer],
        caplog: pytest.LogCaptureFixture) -> None:
    # One byte every 0.1 s, headers included: a limit between two reads (1 s) never fires.
    dripping = drip_servers("127.0.0.2")
    pair.backup.mode = "primary"
    client = IcwsClient([dripping.address, pair.backup.address], ca_file=key_dir / "tls.crt",
                        timeout=1.0, failover_timeout=3.0)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="idp"):
        try:
            assert client.authenticate("alice", PASSWORD).user_id == "alice"
        finally:
            client.close()
    assert time.monotonic() - started < dripping.seconds_to_answer  # it was not waited out
    assert f"{dripping.address}: no answer within 1 s" in caplog.text
    assert (dripping.requests, dripping.finished) == (1, 0)


@pytest.mark.parametrize("tls", [True, False], ids=["https", "http"])
def test_a_dripping_pair_gives_up_within_the_failover_time(
        key_dir: Path, drip_servers: Callable[..., DripServer], tls: bool) -> None:
    servers = [drip_servers(host, tls) for host in ("127.0.0.2", "127.0.0.3")]
    client = IcwsClient([s.address for s in servers], scheme="https" if tls else "http",
                        allow_plain_http=not tls, ca_file=key_dir / "tls.crt", timeout=1.0,
                        failover_timeout=1.5)
    started = time.monotonic()
    try:
        with pytest.raises(BackendUnavailable) as info:
            client.connect_password("alice", PASSWORD)
    finally:
        client.close()
    assert time.monotonic() - started < servers[0].seconds_to_answer
    assert f"{servers[0].address}: no answer within 1 s" in str(info.value)
    # what was left of failover_timeout
    assert f"{servers[1].address}: no answer within 0.5 s" in str(info.value)
    assert all((s.requests, s.finished) == (1, 0) for s in servers)


def test_a_dripping_record_read_fails_after_the_request_timeout(pair: IcwsPair,
                                                                key_dir: Path) -> None:
    pair.primary.drip = SECONDS  # the answers within a session; the logon itself is quick
    client = make_client(pair, key_dir, timeout=1.0, failover_timeout=3.0)
    started = time.monotonic()
    try:
        with pytest.raises(IcwsUnavailable, match="no answer within 1 s"):
            client.authenticate("alice", PASSWORD)
    finally:
        client.close()
    assert time.monotonic() - started < client.logon_timeout  # the bound it promises
    assert [r.method for r in pair.primary.log] == ["POST", "GET", "DELETE"]  # logged off


def test_waiting_for_the_service_session_ends_at_the_deadline(client: IcwsClient) -> None:
    service = ServiceSession(client, *SERVICE)
    opened, release = threading.Event(), threading.Event()

    def hold() -> None:  # another thread that is opening the session, and never finishes
        with service._lock:
            opened.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    opened.wait()
    try:
        with deadline(0.3), pytest.raises(IcwsUnavailable, match="did not open in time"):
            service.run(lambda session: session.check())
        assert holder.is_alive()  # the other thread still holds the logon: it was not waited for
    finally:
        release.set()
        holder.join()
        service.close()


def test_a_request_past_the_deadline_fails_at_once(pair: IcwsPair, client: IcwsClient) -> None:
    with deadline(0), pytest.raises(IcwsUnavailable, match="gave up: out of time"):
        client.connect_password("alice", PASSWORD)
    assert (posts(pair.primary), posts(pair.backup)) == (0, 0)  # nothing was sent


# -- user lists that do not end ----------------------------------------------------------------


def record(user_id: str) -> dict[str, object]:
    return {"configurationId": {"id": user_id, "displayName": user_id}}


def listing(pages: Callable[[httpx.Request], httpx.Response]) -> IcwsSession:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/icws/connection":
            return httpx.Response(201, json={"sessionId": "1", "csrfToken": "c"})
        if request.method == "DELETE":
            return httpx.Response(204)
        return pages(request)

    return mock_client(httpx.MockTransport(handler)).connect_password(*SERVICE)


def test_a_list_that_ignores_range_fails_instead_of_looping() -> None:
    asked: list[str] = []
    same = [record(f"u{i:03}") for i in range(200)]

    def pages(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers["Range"])
        assert len(asked) <= 5, "still paging"
        return httpx.Response(200, json={"items": same})  # Range ignored, no Content-Range

    with listing(pages) as session:
        users = session.iter_users()
        assert len(list(itertools.islice(users, 200))) == 200
        with pytest.raises(IcwsUnavailable, match="ignore the Range header"):
            next(users)
    assert asked == ["items=0-199", "items=200-399"]


def test_a_list_that_does_not_end_is_read_no_further_than_max_users() -> None:
    asked: list[str] = []
    size = [10**9]

    def pages(request: httpx.Request) -> httpx.Response:  # new users on every page
        asked.append(request.headers["Range"])
        assert len(asked) <= 50, "still paging"
        first, last = map(int, request.headers["Range"].removeprefix("items=").split("-"))
        return httpx.Response(200, json={"items": [record(f"u{i:06}") for i in
                                                   range(first, min(last + 1, size[0]))]})

    with listing(pages) as session:
        with pytest.raises(IcwsUnavailable, match="did not end after 11 pages of 100"):
            list(session.iter_users(page_size=100, max_users=1000))
        assert len(asked) == 11
        # exactly max_users: ten full pages, then an empty one, asked again to be sure (without
        # Content-Range, one empty answer is no end)
        size[0], asked[:] = 1000, []
        assert len(list(session.iter_users(page_size=100, max_users=1000))) == 1000
        assert len(asked) == 10 + 1 + EMPTY_RETRIES


def test_a_service_session_is_kept_when_the_deadline_passes_before_a_request(
        pair: IcwsPair, client: IcwsClient) -> None:
    service = ServiceSession(client, *SERVICE)
    assert service.run(lambda session: session.get_user("alice")) is not None
    with deadline(0), pytest.raises(IcwsUnavailable, match="out of time"):
        service.run(lambda session: session.get_user("alice"))
    assert service.run(lambda session: session.get_user("bob")) is not None
    assert posts(pair.primary) == 1  # the same session throughout
    service.close()
