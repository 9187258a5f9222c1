"""One error taxonomy (issue 12, item 10): client errors are 4xx with their message shown; server
faults are 5xx with a reference, and their detail (a file path, a traceback) only in the log
under that reference; Genesys Cloud's answer code can never become ours."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp.auth.base import CicUser
from idp.auth.local import LocalDirectory
from idp.config import Config, load_config
from idp.errors import ClientError, DirectoryError, ScimError, ServerError, StsError
from idp.web import create_app
from idp.web.i18n import Translator
from tests.conftest import (
    CHEAP_HASHER,
    PASSWORD,
    Sp,
    hidden,
    redirect_query,
    reference_of,
    refusal,
    text_of,
    write_config,
)

HTTPS = {"base_url": "https://localhost:8043"}
LOGIN = "/ICNotifierIDP/login"


def logon_page(client: FlaskClient, sp: Sp) -> str:
    page = client.get(LOGIN, query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    assert 'name="password"' in page.text
    return page.text


def submit(client: FlaskClient, page: str) -> Any:
    return client.post(f"{LOGIN}?loginType=saml", data={
        "ctx": hidden(page, "ctx"), "csrf": hidden(page, "csrf"), "user_id": "alice",
        "password": PASSWORD}, **HTTPS)


class BrokenDirectory(LocalDirectory):
    """The directory's SQLite file fails at the logon, as a full disk or a lock would."""

    failure: Exception

    def authenticate(self, user_id: str, password: str) -> CicUser:
        raise self.failure


@pytest.fixture
def broken(config: Config) -> tuple[Flask, BrokenDirectory]:
    backend = BrokenDirectory(config.directory.database, hasher=CHEAP_HASHER)
    return create_app(config, backend=backend), backend


@pytest.mark.parametrize("failure", [
    DirectoryError("cannot open the local user directory /var/lib/cic-sts/cic-users.db: "
                   "database is locked"),
    RuntimeError("something no code expected, in /var/lib/cic-sts/cic-users.db"),
])
def test_a_server_fault_at_logon_is_a_500_with_a_reference_and_no_detail(
        broken: tuple[Flask, BrokenDirectory], sp: Sp, failure: Exception,
        caplog: pytest.LogCaptureFixture) -> None:
    app, backend = broken
    backend.failure = failure
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        answer = submit(client, logon_page(client, sp))
    assert answer.status_code == 500
    text = answer.text
    assert "/var/lib" not in text and "cic-users.db" not in text and "Traceback" not in text
    assert "Something went wrong on the logon service" in text
    ref = reference_of(text)
    logged = [r for r in caplog.records if ref in r.getMessage()]
    assert logged and "cic-users.db" in (logged[0].getMessage() + caplog.text)
    if isinstance(failure, RuntimeError):  # the unforeseen: its traceback, in the log only
        assert logged[0].exc_info is not None


def test_a_client_error_is_a_4xx_in_plain_words_with_its_detail_in_the_log(
        client: FlaskClient, sp: Sp, caplog: pytest.LogCaptureFixture) -> None:
    _, xml = sp.authn_request()
    answer = client.get(LOGIN, query_string=redirect_query(
        xml.replace(f"{sp.base}/metadata</saml:Issuer>", "urn:who-knows</saml:Issuer>")),
        **HTTPS)
    assert answer.status_code == 403 and "urn:who-knows" not in answer.text
    assert text_of(answer.text, "message") == Translator("en")("unknown_sp")
    assert "urn:who-knows" in refusal(answer, caplog)


def test_genesys_clouds_answer_code_never_becomes_ours(app: Flask) -> None:
    from idp.web.pages import error_page

    error = ScimError("Genesys Cloud refused the user: HTTP 404", 404)
    assert error.genesys_status == 404 and not hasattr(error, "status")
    with app.test_request_context("/"):
        from flask import g

        g.nonce = "n"
        assert error_page(error).status_code == 500


def test_the_two_kinds() -> None:
    from idp.errors import (
        BackendUnavailable,
        SamlRequestError,
        StateUnavailable,
        UnknownServiceProvider,
        UnusableUserRecord,
    )

    for client_error, code in ((SamlRequestError, 400), (UnknownServiceProvider, 403)):
        assert issubclass(client_error, ClientError) and client_error.http_status == code
    for server_error in (BackendUnavailable, StateUnavailable, UnusableUserRecord):
        assert issubclass(server_error, ServerError) and server_error.http_status >= 500
    assert not issubclass(DirectoryError, ClientError) and issubclass(DirectoryError, StsError)


def test_a_launch_without_a_launch_sp_is_a_server_fault(tmp_path: Path, key_dir: Path) -> None:
    path = write_config(tmp_path, key_dir)
    text = path.read_text()
    path.write_text(text[:text.index("[genesys]")] + text[text.index("[[service_providers]]"):])
    client = create_app(load_config(path)).test_client()
    answer = client.get("/ICNotifierIDP/launch", query_string={"target": "collaborate"},
                        **HTTPS)
    assert answer.status_code == 500 and "launch.service_provider" not in answer.text
    assert text_of(answer.text, "message") == Translator("en")("launch_misconfigured")


def test_https_own_refusals_keep_their_codes(client: FlaskClient) -> None:
    """HTTP's own answers (404, 405) keep their codes, on the branded pages."""
    missing = client.get("/nothing-here", **HTTPS)
    assert missing.status_code == 404 and text_of(missing.text, "message") == \
        Translator("en")("not_found")
    wrong = client.put(LOGIN, **HTTPS)
    assert wrong.status_code == 405 and set(wrong.headers["Allow"].split(", ")) >= {"GET", "POST"}
