"""Sessions survive switchover: two real STS servers (gunicorn over TLS on 127.0.0.2 and
127.0.0.3), the logon page from one, the POST to the other, then the first one stopped and the
session still valid on the second. Once with the default (encrypted cookie) state, once with
Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from idp.config import load_config
from tests.conftest import PASSWORD, Sp, hidden, redirect_query, seed_users, write_config
from tests.servers import free_port, redis_server, stop, sts_server

pytestmark = pytest.mark.e2e
LOGIN = "/ICNotifierIDP/login"


@pytest.fixture(params=["cookie", "redis"])
def state_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "cookie":
        yield '\n[state]\nbackend = "cookie"\n'
        return
    with redis_server(free_port(), tmp_path / "redis.log") as url:
        yield f'\n[state]\nbackend = "redis"\nredis_url = "{url}"\n'


def jar(cookies: dict[str, str]) -> dict[str, str]:
    """The cookies a browser would send: carried by hand, the two servers being two hosts."""
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


def test_logon_continues_on_the_other_server(tmp_path: Path, key_dir: Path, state_backend: str,
                                             sp: Sp) -> None:
    port = free_port("127.0.0.2")
    (tmp_path / "pair").mkdir()
    path = write_config(tmp_path / "pair", key_dir, extra=state_backend)
    seed_users(load_config(path).directory.database)
    one, two = f"https://127.0.0.2:{port}", f"https://127.0.0.3:{port}"
    with sts_server(path, f"127.0.0.2:{port}", tmp_path / "one.log") as first, \
            sts_server(path, f"127.0.0.3:{port}", tmp_path / "two.log"), \
            httpx.Client(verify=False, timeout=10) as browser:
        # The browser's cookies go to whichever server answers, as behind a proxy.
        request_id, xml = sp.authn_request()
        page = browser.get(one + LOGIN, params=redirect_query(xml))
        assert 'name="password"' in page.text
        cookies = dict(browser.cookies)
        browser.cookies.clear()
        answer = browser.post(f"{two}{LOGIN}?loginType=saml", headers=jar(cookies), data={
            "ctx": hidden(page.text, "ctx"), "csrf": hidden(page.text, "csrf"),
            "user_id": "alice", "password": PASSWORD})
        auth = sp.check(hidden(answer.text, "SAMLResponse") or "", request_id)
        assert auth.get_errors() == [], auth.get_last_error_reason()
        session = dict(answer.cookies) or cookies
        assert "cicsts_session" in session
        if 'backend = "redis"' in state_backend:  # only a random ID; the session is in Redis
            assert len(session["cicsts_session"]) < 64
        else:  # the session itself, encrypted
            assert len(session["cicsts_session"]) > 100

        request_id, xml = sp.authn_request()
        again = browser.get(one + LOGIN, params=redirect_query(xml), headers=jar(session))
        assert 'name="password"' not in again.text  # the first server knows the session too

        stop(first)  # switchover: the server that showed the logon page is gone
        browser.cookies.clear()
        request_id, xml = sp.authn_request()
        after = browser.get(two + LOGIN, params=redirect_query(xml), headers=jar(session))
        assert 'name="password"' not in after.text
        auth = sp.check(hidden(after.text, "SAMLResponse") or "", request_id)
        assert auth.get_errors() == [], auth.get_last_error_reason()
        assert auth.get_nameid() == "alice@example.com"
