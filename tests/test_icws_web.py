"""The STS with the ``icws`` backend, through Flask's test client, against the ICWS test pair:
CIC credentials log on; CIC being unreachable is a clear 503 page, never a 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp.auth.icws import IcwsBackend
from idp.config import Config, load_config
from idp.web import create_app
from idp.web.i18n import Translator, catalogs
from idp.web.store import throttle_key
from tests.conftest import (
    SP_BASE,
    Sp,
    form_action,
    hidden,
    input_value,
    reference_of,
    text_of,
    write_config,
)
from tests.icws_server import CicDirectory, IcwsPair, IcwsUser, running_pair, use_icws
from tests.test_sso_flow import log_on, start

CIC_PASSWORD = "cic-web-1"
SERVICE = ("svc-sts", "service-secret-1")
UNAVAILABLE = "PureConnect cannot check your credentials right now."
#: Users CIC refuses once their password is checked, with these errorIds: the defaults of
#: icws.password_expired_error_ids and icws.account_locked_error_ids, and one of neither.
REFUSED = {"erin": "error.request.connection.passwordExpired",
           "frank": "error.request.connection.accountLocked",
           "gina": "error.custom.mustChangePassword"}


@pytest.fixture(scope="module")
def running(key_dir: Path) -> Iterator[IcwsPair]:
    directory = CicDirectory()
    directory.add(IcwsUser("carol", CIC_PASSWORD, "Carol Agent", "carol@example.com"),
                  IcwsUser(*SERVICE),
                  *(IcwsUser(user_id, CIC_PASSWORD, email=f"{user_id}@example.com",
                             refusal=error_id) for user_id, error_id in REFUSED.items()))
    with running_pair(directory, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        yield pair


@pytest.fixture
def pair(running: IcwsPair) -> IcwsPair:
    running.reset()
    return running


@pytest.fixture
def icws_settings() -> dict[str, int | list[str]]:
    """More [icws] settings for one test (it overrides this fixture)."""
    return {}


@pytest.fixture
def config(tmp_path: Path, key_dir: Path, pair: IcwsPair,
           icws_settings: dict[str, int | list[str]]) -> Config:
    path = write_config(tmp_path, key_dir)
    # cache_ttl = 0: every lookup asks CIC, so an STS session meets CIC being down.
    use_icws(path, pair, key_dir / "tls.crt", SERVICE, timeout=1, failover_timeout=2,
             cache_ttl=0, **icws_settings)
    return load_config(path)


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    app = create_app(config)  # the backend comes from the configuration
    app.testing = True
    yield app
    backend = app.extensions["cic_sts"].backend
    assert isinstance(backend, IcwsBackend)
    backend.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_logon_with_cic_credentials(client: FlaskClient, sp: Sp, pair: IcwsPair) -> None:
    request_id, page = start(client, sp, "redirect")
    answer = log_on(client, page.text, "carol", CIC_PASSWORD)
    assert answer.status_code == 200
    assert form_action(answer.text, "saml") == f"{SP_BASE}/acs"
    auth = sp.check(hidden(answer.text, "SAMLResponse") or "", request_id)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.get_nameid() == "carol@example.com"
    # The user's own ICWS session was closed; the service account's stays open for lookups.
    assert len(pair.primary.sessions) == 1
    assert client.get("/readyz").status_code == 200


def test_wrong_cic_password_is_an_ordinary_failed_logon(client: FlaskClient, sp: Sp) -> None:
    _, page = start(client, sp, "redirect")
    answer = log_on(client, page.text, "carol", "wrong")
    assert answer.status_code == 401
    assert "The user ID or password is incorrect." in answer.text


def test_cic_down_at_logon_is_a_clear_503(client: FlaskClient, sp: Sp, pair: IcwsPair,
                                           caplog: pytest.LogCaptureFixture) -> None:
    _, page = start(client, sp, "redirect")
    for server in pair.servers:
        server.stop()
    answer = log_on(client, page.text, "carol", CIC_PASSWORD)
    assert answer.status_code == 503
    assert UNAVAILABLE in answer.text
    assert 'name="password"' in answer.text  # the form stays, to try again
    assert "127.0.0" not in answer.text and CIC_PASSWORD not in answer.text
    assert any(r.levelname == "ERROR" and "127.0.0.2" in r.getMessage() for r in caplog.records)
    assert CIC_PASSWORD not in caplog.text


def test_cic_down_during_an_sts_session_is_a_clear_503(
        client: FlaskClient, sp: Sp, pair: IcwsPair, caplog: pytest.LogCaptureFixture) -> None:
    _, page = start(client, sp, "redirect")
    assert log_on(client, page.text, "carol", CIC_PASSWORD).status_code == 200
    for server in pair.servers:
        server.stop()
    with caplog.at_level(logging.ERROR):
        _, again = start(client, sp, "post")  # the session needs a lookup, which needs CIC
    assert again.status_code == 503
    assert UNAVAILABLE in again.text and "127.0.0" not in again.text
    reference = reference_of(again.text)  # the page points at the log line with the details
    assert any(f"[ref {reference}]" in r.getMessage() for r in caplog.records)
    assert client.get("/readyz").status_code == 503


def test_cic_answering_garbage_is_a_503_not_a_500(client: FlaskClient, sp: Sp,
                                                  pair: IcwsPair) -> None:
    pair.primary.answer = (200, ["not", "a", "connection"])
    _, page = start(client, sp, "redirect")
    answer = log_on(client, page.text, "carol", CIC_PASSWORD)
    assert answer.status_code == 503 and UNAVAILABLE in answer.text


@pytest.mark.parametrize(("user_id", "page_message"), [("erin", "password_expired"),
                                                      ("frank", "account_locked")])
@pytest.mark.parametrize("lang", list(catalogs()))
def test_an_expired_password_or_locked_account_says_so_not_503(
        client: FlaskClient, sp: Sp, app: Flask, user_id: str, page_message: str, lang: str,
        caplog: pytest.LogCaptureFixture) -> None:
    """Issue 13: CIC's errorId for an expired password or a locked account (the defaults of
    the settings) gives the page that says so, in the reader's language, with the User ID kept;
    what CIC sent is in the log; nothing is counted against the user."""
    _, page = start(client, sp, "redirect", **{"Accept-Language": lang})
    with caplog.at_level(logging.INFO):
        answer = log_on(client, page.text, user_id, CIC_PASSWORD)
    assert answer.status_code == 403
    assert text_of(answer.text, "error") == Translator(lang)(page_message)
    assert input_value(answer.text, "user_id") == user_id
    assert "SAMLResponse" not in answer.text and REFUSED[user_id] not in answer.text
    assert REFUSED[user_id] in caplog.text  # what CIC sent, for the administrator
    assert app.extensions["cic_sts"].store.count(throttle_key(user_id)) == 0
    wrong = log_on(client, page.text, user_id, "wrong")  # CIC checks the password first
    assert wrong.status_code == 401
    assert text_of(wrong.text, "error") == Translator(lang)("bad_credentials")


@pytest.mark.parametrize("icws_settings", [{
    "password_expired_error_ids": [REFUSED["gina"]],
    "account_locked_error_ids": []}])
def test_the_error_ids_are_settings(client: FlaskClient, sp: Sp,
                                    caplog: pytest.LogCaptureFixture) -> None:
    _, page = start(client, sp, "redirect")
    expired = log_on(client, page.text, "gina", CIC_PASSWORD)
    assert expired.status_code == 403
    assert text_of(expired.text, "error") == Translator("en")("password_expired")
    # an errorId no setting names is CIC refusing for a reason we do not know: the 503 page,
    # with the errorId in the log so that it can be put in a setting
    with caplog.at_level(logging.ERROR):
        unknown = log_on(client, page.text, "frank", CIC_PASSWORD)
    assert unknown.status_code == 503 and UNAVAILABLE in unknown.text
    assert REFUSED["frank"] in caplog.text
