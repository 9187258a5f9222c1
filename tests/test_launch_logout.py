"""CIC client launches (IdP-initiated), Single Logout, logon throttling and the session cookie."""

from __future__ import annotations

import base64
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.logout_request import OneLogin_Saml2_Logout_Request
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from idp.auth.local import LocalDirectory
from idp.config import Config, load_config
from idp.errors import AuthenticationFailed
from idp.saml.constants import NS
from idp.users import CicUser
from idp.web import create_app
from tests.conftest import (
    CHEAP_HASHER,
    PASSWORD,
    SP_BASE,
    Sp,
    form_action,
    hidden,
    query_of,
    redirect_query,
    refusal,
    seed_users,
    text_of,
    write_config,
)

HTTPS = {"base_url": "https://localhost:8043"}
LAUNCH = "/ICNotifierIDP/launch"
LOGOUT = "/ICNotifierIDP/logout"


class TokenDirectory(LocalDirectory):
    """The local directory plus single-use tokens, standing in for CIC's auth tokens."""

    tokens: dict[str, str]

    def authenticate_token(self, token: str) -> CicUser:
        user_id = self.tokens.pop(token, None)
        user = self.lookup(user_id) if user_id else None
        if user is None:
            raise AuthenticationFailed("unknown token")
        return user


@pytest.fixture
def launch_config(tmp_path: Path, key_dir: Path) -> Config:
    extra = f'\n[launch]\nservice_provider = "{SP_BASE}/metadata"\n' \
            'inbox = "https://apps.example.test/directory/#/analytics/performance/me"\n'
    config = load_config(write_config(tmp_path, key_dir, extra=extra))
    seed_users(config.directory.database)
    return config


@pytest.fixture
def launch_app(launch_config: Config) -> tuple[Flask, TokenDirectory]:
    backend = TokenDirectory(launch_config.directory.database, hasher=CHEAP_HASHER)
    backend.tokens = {}
    return create_app(launch_config, backend=backend), backend


def log_on(client: FlaskClient, page_html: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    return client.post("/ICNotifierIDP/login?loginType=saml", data={
        "ctx": hidden(page_html, "ctx"), "csrf": hidden(page_html, "csrf"),
        "user_id": "alice", "password": password}, **HTTPS)


def service_name(html: str) -> str | None:
    root = etree.fromstring(base64.b64decode(hidden(html, "SAMLResponse") or ""))
    for attribute in root.iterfind(".//saml:Attribute", NS):
        if attribute.get("Name") == "ServiceName":
            value: str | None = attribute.findtext("saml:AttributeValue", namespaces=NS)
            return value
    return None


def test_launch_without_session_shows_logon_then_lands(launch_app: tuple[Flask, TokenDirectory],
                                                       sp: Sp) -> None:
    client = launch_app[0].test_client()
    page = client.get(LAUNCH, query_string={"target": "collaborate"}, **HTTPS)
    assert 'name="password"' in page.text
    answer = log_on(client, page.text)
    assert form_action(answer.text, "saml") == f"{SP_BASE}/acs"
    assert hidden(answer.text, "RelayState") is None
    assert service_name(answer.text) == "directory"
    auth = sp.check(hidden(answer.text, "SAMLResponse") or "", None)  # unsolicited
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.get_nameid() == "alice@example.com"


@pytest.mark.parametrize(("target", "expected"), [
    ("collaborate", "directory"),
    ("inbox", "https://apps.example.test/directory/#/analytics/performance/me"),
    ("admin", "https://apps.mypurecloud.ie/directory/#/admin"),  # default from the region
])
def test_launch_with_a_session_goes_straight_through(launch_app: tuple[Flask, TokenDirectory],
                                                     sp: Sp, target: str, expected: str) -> None:
    client = launch_app[0].test_client()
    log_on(client, client.get(LAUNCH, query_string={"target": "collaborate"}, **HTTPS).text)
    answer = client.get(LAUNCH, query_string={"target": target}, **HTTPS)
    assert 'name="password"' not in answer.text
    assert service_name(answer.text) == expected
    assert sp.check(hidden(answer.text, "SAMLResponse") or "", None).get_errors() == []


def test_launch_with_a_token_is_single_use(launch_app: tuple[Flask, TokenDirectory],
                                           sp: Sp) -> None:
    app, backend = launch_app
    backend.tokens["tok-1"] = "alice"
    answer = app.test_client().post(LAUNCH, data={"target": "inbox", "token": "tok-1"}, **HTTPS)
    assert answer.status_code == 200
    assert sp.check(hidden(answer.text, "SAMLResponse") or "", None).get_nameid() == \
        "alice@example.com"
    backend.tokens["tok-1"] = "alice"  # even if CIC accepted it again, the STS remembers it
    replay = app.test_client().post(LAUNCH, data={"target": "inbox", "token": "tok-1"}, **HTTPS)
    assert replay.status_code == 403
    assert "SAMLResponse" not in replay.text
    unknown = app.test_client().post(LAUNCH, data={"target": "inbox", "token": "nope"}, **HTTPS)
    assert unknown.status_code == 403 and "already used" in unknown.text


def test_a_token_launch_does_not_replace_the_browsers_session(
        launch_app: tuple[Flask, TokenDirectory], sp: Sp) -> None:
    app, backend = launch_app
    backend.upsert(CicUser("mallory", "Mallory", "mallory@evil.example"))
    client = app.test_client()
    log_on(client, client.get(LAUNCH, query_string={"target": "collaborate"}, **HTTPS).text)
    backend.tokens["evil"] = "mallory"  # a token another site POSTs through this browser
    forced = client.post(LAUNCH, data={"target": "inbox", "token": "evil"}, **HTTPS)
    assert sp.check(hidden(forced.text, "SAMLResponse") or "", None).get_nameid() == \
        "mallory@evil.example"
    after = client.get(LAUNCH, query_string={"target": "inbox"}, **HTTPS)
    assert sp.check(hidden(after.text, "SAMLResponse") or "", None).get_nameid() == \
        "alice@example.com"


@pytest.mark.parametrize("target", ["https://evil.example/", "../admin", "", "ADMIN"])
def test_launch_target_must_be_on_the_allow_list(launch_app: tuple[Flask, TokenDirectory],
                                                 target: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    client = launch_app[0].test_client()
    answer = client.get(LAUNCH, query_string={"target": target, "RelayState": "x"}, **HTTPS)
    assert answer.status_code == 400
    assert "launch target" in refusal(answer, caplog)
    assert "SAMLResponse" not in answer.text


def test_relay_state_from_the_caller_is_ignored(launch_app: tuple[Flask, TokenDirectory]) -> None:
    client = launch_app[0].test_client()
    log_on(client, client.get(LAUNCH, query_string={"target": "admin"}, **HTTPS).text)
    answer = client.get(LAUNCH, query_string={"target": "admin",
                                              "RelayState": "https://evil.example/"}, **HTTPS)
    assert hidden(answer.text, "RelayState") is None
    assert "evil.example" not in answer.text


def sp_logout_request(sp: Sp, name_id: str) -> tuple[str, str]:
    """(request ID, deflated+base64 LogoutRequest) from python3-saml."""
    request = OneLogin_Saml2_Logout_Request(OneLogin_Saml2_Settings(sp.settings),
                                            name_id=name_id)
    return request.id, request.get_request()


def test_single_logout_redirect_binding(client: FlaskClient, sp: Sp) -> None:
    page = client.get("/ICNotifierIDP/login",
                      query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    log_on(client, page.text)
    request_id, encoded = sp_logout_request(sp, "alice@example.com")
    answer = client.get(LOGOUT, query_string={"SAMLRequest": encoded, "RelayState": "bye"},
                        **HTTPS)
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert location.startswith(f"{SP_BASE}/sls?")
    query = query_of(location)
    assert query["RelayState"] == "bye"
    xml = zlib.decompress(base64.b64decode(query["SAMLResponse"]), -15)
    assert etree.fromstring(xml).get("InResponseTo") == request_id
    auth = OneLogin_Saml2_Auth({"https": "on", "http_host": urlsplit(SP_BASE).hostname,
                                "server_port": 443, "script_name": "/sls", "get_data": query,
                                "post_data": {}}, sp.settings)
    auth.process_slo(request_id=request_id, keep_local_session=True)
    assert auth.get_errors() == [], auth.get_last_error_reason()  # signature checked too
    again = client.get("/ICNotifierIDP/login",
                       query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    assert 'name="password"' in again.text  # the STS session is gone


def test_single_logout_signature_is_checked_by_the_sp(client: FlaskClient, sp: Sp) -> None:
    request_id, encoded = sp_logout_request(sp, "alice@example.com")
    answer = client.get(LOGOUT, query_string={"SAMLRequest": encoded}, **HTTPS)
    query = query_of(answer.headers["Location"])
    query["Signature"] = base64.b64encode(b"\0" * 256).decode()
    auth = OneLogin_Saml2_Auth({"https": "on", "http_host": urlsplit(SP_BASE).hostname,
                                "server_port": 443, "script_name": "/sls", "get_data": query,
                                "post_data": {}}, sp.settings)
    auth.process_slo(request_id=request_id, keep_local_session=True)
    assert auth.get_errors() != []


def test_logout_request_from_an_unknown_sp_is_refused(client: FlaskClient, sp: Sp) -> None:
    _, encoded = sp_logout_request(sp, "alice@example.com")
    xml = zlib.decompress(base64.b64decode(encoded), -15).replace(
        f"{SP_BASE}/metadata".encode(), b"urn:stranger")
    forged = base64.b64encode(zlib.compress(xml)[2:-4]).decode()
    answer = client.get(LOGOUT, query_string={"SAMLRequest": forged}, **HTTPS)
    assert answer.status_code == 403
    assert "Location" not in answer.headers


def test_user_can_log_off_from_an_sts_page(client: FlaskClient, sp: Sp) -> None:
    page = client.get("/ICNotifierIDP/login",
                      query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    log_on(client, page.text)
    logoff = client.get(LOGOUT, **HTTPS)
    assert "Logged on as alice" in logoff.text
    refused = client.post(LOGOUT, data={}, **HTTPS)
    assert refused.status_code == 400  # no CSRF token
    done = client.post(LOGOUT, data={"csrf": hidden(logoff.text, "csrf")}, **HTTPS)
    # The SP of the session is asked to log off too (tests/test_slo.py follows the chain).
    assert done.status_code == 302 and done.headers["Location"].startswith(f"{SP_BASE}/sls?")
    waiting = client.get(LOGOUT, **HTTPS)  # the SP never answered: carry on without it
    assert "did not answer" in waiting.text
    skipped = client.post(LOGOUT, data={"csrf": hidden(waiting.text, "csrf"),
                                        "intent": "skip"}, **HTTPS)
    assert skipped.status_code == 200 and "did not confirm" in skipped.text
    assert "not logged on" in client.get(LOGOUT, **HTTPS).text


def test_repeated_failures_are_throttled_without_asking_the_backend(
        config: Config, sp: Sp, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = LocalDirectory(config.directory.database, hasher=CHEAP_HASHER)
    app = create_app(config, backend=backend)
    client = app.test_client()
    calls: list[str] = []
    original = backend.authenticate

    def counted(user_id: str, password: str) -> CicUser:
        calls.append(user_id)
        return original(user_id, password)

    monkeypatch.setattr(backend, "authenticate", counted)
    page = client.get("/ICNotifierIDP/login",
                      query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    for _ in range(config.state.max_failed_logons):
        assert log_on(client, page.text, password="wrong").status_code == 401
    blocked = log_on(client, page.text)  # even the right password waits now
    assert blocked.status_code == 429
    assert text_of(blocked.text, "error") == (  # locked, as `users unlock` says
        "Your account is locked. Wait a while and try again, or ask your PureConnect "
        "administrator to unlock it.")
    assert len(calls) == config.state.max_failed_logons
    assert "SAMLResponse" not in blocked.text


def test_session_cookie_is_encrypted_and_tamper_proof(client: FlaskClient, sp: Sp) -> None:
    page = client.get("/ICNotifierIDP/login",
                      query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    log_on(client, page.text)
    cookie = client.get_cookie("cicsts_session", domain="localhost")
    assert cookie is not None
    raw = base64.urlsafe_b64decode(cookie.value + "=" * (-len(cookie.value) % 4))
    assert b"alice" not in raw  # not readable by the browser
    flipped = cookie.value[:-2] + ("A" if cookie.value[-2] != "A" else "B") + cookie.value[-1]
    client.set_cookie("cicsts_session", flipped, domain="localhost")
    again = client.get("/ICNotifierIDP/login",
                       query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    assert 'name="password"' in again.text  # a tampered cookie is no session


def test_another_server_with_the_same_secret_continues_the_session(config: Config,
                                                                   sp: Sp) -> None:
    first = create_app(config, backend=LocalDirectory(config.directory.database,
                                                      hasher=CHEAP_HASHER)).test_client()
    second_app = create_app(config, backend=LocalDirectory(config.directory.database,
                                                           hasher=CHEAP_HASHER))
    page = first.get("/ICNotifierIDP/login",
                     query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    second = second_app.test_client()
    for cookie in ("cicsts_session",):
        value = first.get_cookie(cookie, domain="localhost")
        assert value is not None
        second.set_cookie(cookie, value.value, domain="localhost")
    answer = log_on(second, page.text)  # logon page from one server, POST to the other
    assert "SAMLResponse" in answer.text
    session_cookie = second.get_cookie("cicsts_session", domain="localhost")
    assert session_cookie is not None
    first.set_cookie("cicsts_session", session_cookie.value, domain="localhost")
    again = first.get("/ICNotifierIDP/login",
                      query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    assert "SAMLResponse" in again.text and 'name="password"' not in again.text


def test_redis_going_away_is_a_clear_503(tmp_path: Path, key_dir: Path, sp: Sp) -> None:
    from redis import Redis

    from tests.servers import free_port, redis_server

    with redis_server(free_port(), tmp_path / "redis.log") as url:
        config = load_config(write_config(tmp_path, key_dir, extra=(
            f'\n[state]\nbackend = "redis"\nredis_url = "{url}"\n')))
        seed_users(config.directory.database)
        app = create_app(config, backend=LocalDirectory(config.directory.database,
                                                        hasher=CHEAP_HASHER))
        client = app.test_client()
        page = client.get("/ICNotifierIDP/login",
                          query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
        redis = Redis.from_url(url)
        [anonymous] = redis.keys("cic-sts:session:*")
        assert 0 < redis.ttl(anonymous) <= 900  # a visitor who never logs on is soon forgotten
        assert "SAMLResponse" in log_on(client, page.text).text
        [logged_on] = redis.keys("cic-sts:session:*")
        assert logged_on != anonymous  # a new session ID at logon
        assert redis.ttl(logged_on) > 900
        redis.close()
        assert (client.get("/readyz", **HTTPS).json or {})["checks"]["state"] is True
    # redis-server is stopped now: the session and the throttling counters cannot be read.
    again = client.get("/ICNotifierIDP/login",
                       query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    assert again.status_code == 503  # a server fault: a reference, no detail on the page
    assert "shared session store" in again.text and "Reference" in again.text
    assert "Redis" not in again.text and "SAMLResponse" not in again.text
    client.delete_cookie("cicsts_session", domain="localhost")
    fresh = client.get("/ICNotifierIDP/login",
                       query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    assert fresh.status_code == 200  # a logon page needs no shared state yet
    failed = log_on(client, fresh.text)
    assert failed.status_code == 503 and "SAMLResponse" not in failed.text
    ready = client.get("/readyz", **HTTPS)
    assert ready.status_code == 503 and (ready.json or {})["checks"]["state"] is False


def test_logons_while_cic_is_unavailable_do_not_count_as_attempts(config: Config, sp: Sp) -> None:
    from idp.errors import BackendUnavailable

    class Flaky(LocalDirectory):
        down = True

        def authenticate(self, user_id: str, password: str) -> CicUser:
            if self.down:
                raise BackendUnavailable("CIC is switching over")
            return super().authenticate(user_id, password)

    backend = Flaky(config.directory.database, hasher=CHEAP_HASHER)
    client = create_app(config, backend=backend).test_client()
    page = client.get("/ICNotifierIDP/login",
                      query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    for _ in range(config.state.max_failed_logons + 2):
        assert log_on(client, page.text).status_code == 503
    backend.down = False
    assert "SAMLResponse" in log_on(client, page.text).text  # not throttled afterwards


@pytest.mark.parametrize("kind", ["memory", "redis"])
def test_store_counts_and_takes_back(tmp_path: Path, kind: str) -> None:
    from redis import Redis

    from idp.web.store import MemoryStore, RedisStore, Store
    from tests.servers import free_port, redis_server

    def exercise(store: Store) -> None:
        assert store.hit("k", 60) == 1 and store.hit("k", 60) == 2
        store.unhit("k")
        assert store.count("k") == 1
        store.clear("k")
        store.unhit("k")  # nothing to take back: stays at zero
        assert store.count("k") == 0
        assert store.add_once("t", 60) and not store.add_once("t", 60)

    if kind == "memory":
        exercise(MemoryStore())
        return
    with redis_server(free_port(), tmp_path / "redis.log") as url:
        client = Redis.from_url(url)
        exercise(RedisStore(client))
        client.close()
