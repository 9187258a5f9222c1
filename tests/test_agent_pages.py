"""Every page an agent can reach, in every shipped language (issue 13, part 2): a broken or
expired link from Genesys Cloud, an application that is not registered, the CIC client buttons
not set up, CIC down, too many logons at once, too many attempts, a server fault, no such page;
and the front page. Each is in the browser's language only, says what to do, and shows a
reference whose log line carries the technical detail the page does not show."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from idp.auth.hashing import TooManyLogons
from idp.auth.local import LocalDirectory
from idp.config import Config, load_config
from idp.errors import BackendUnavailable, StsError, WebError
from idp.users import CicUser
from idp.web import create_app
from idp.web.context import Sts
from idp.web.i18n import DEFAULT, Translator, catalogs
from tests.conftest import (
    CHEAP_HASHER,
    PASSWORD,
    Sp,
    hidden,
    input_value,
    logged_under_reference,
    parse_html,
    redirect_query,
    refusal,
    text_of,
    write_config,
)

HTTPS = {"base_url": "https://localhost:8043"}
LOGIN = "/ICNotifierIDP/login"
LANGUAGES = list(catalogs())
IDP_SOURCE = Path(__file__).resolve().parent.parent / "idp"


class FailingDirectory(LocalDirectory):
    """The local directory, except that a logon meets `failure` (CIC down, a bug)."""

    failure: Exception | None = None

    def authenticate(self, user_id: str, password: str) -> CicUser:
        if self.failure is not None:
            raise self.failure
        return super().authenticate(user_id, password)


@dataclass
class Agent:
    """A browser with an Accept-Language, against the STS."""

    client: FlaskClient
    backend: FailingDirectory
    sp: Sp
    lang: str

    def get(self, url: str, **query: str) -> TestResponse:
        return self.client.get(url, query_string=query, headers=self.headers, **HTTPS)

    @property
    def headers(self) -> dict[str, str]:
        return {"Accept-Language": f"{self.lang};q=1.0, en;q=0.1"}

    def logon_page(self) -> TestResponse:
        page = self.get(LOGIN, **redirect_query(self.sp.authn_request()[1]))
        assert input_value(page.text, "password") is not None
        return page

    def log_on(self, password: str = PASSWORD, **form: str) -> TestResponse:
        page = self.logon_page().text
        fields = {"ctx": hidden(page, "ctx") or "", "csrf": hidden(page, "csrf") or "",
                  "user_id": "alice", "password": password, **form}
        return self.client.post(f"{LOGIN}?loginType=saml", data=fields, headers=self.headers,
                                **HTTPS)


@pytest.fixture(params=LANGUAGES)
def agent(request: pytest.FixtureRequest, config: Config, sp: Sp) -> Agent:
    backend = FailingDirectory(config.directory.database, hasher=CHEAP_HASHER)
    app = create_app(config, backend=backend)
    return Agent(app.test_client(), backend, sp, request.param)


def sts_of(client: FlaskClient) -> Sts:
    return client.application.extensions["cic_sts"]  # type: ignore[no-any-return]


def assert_in_language(answer: TestResponse, lang: str) -> None:
    """The page is in `lang`, all of it: its lang attribute, and no sentence of the English
    catalog where the language has its own."""
    document = parse_html(answer.text)
    assert document.get("lang") == lang
    if lang == DEFAULT:
        return
    english, own = catalogs()[DEFAULT], catalogs()[lang]
    for script in document.xpath("//script"):  # the logon page's texts for switching in it
        script.drop_tree()
    text = " ".join(document.text_content().split())
    leaked = [key for key, value in english.items()
              if value != own[key] and len(value) > 12 and value in text]
    assert leaked == [], f"English on the {lang} page: {leaked}"


def assert_error_page(answer: TestResponse, lang: str, status: int, title: str,
                      message: str) -> None:
    t = Translator(lang)
    assert answer.status_code == status
    assert_in_language(answer, lang)
    assert text_of(answer.text, "message") == t(message)
    assert parse_html(answer.text).findtext(".//h1") == t(title)
    assert answer.headers["Content-Type"].startswith("text/html")


def reachable(agent: Agent, caplog: pytest.LogCaptureFixture, status: int, message: str,
              answer: TestResponse, detail: str) -> None:
    """An error page with a reference: its log line has `detail`, the page does not."""
    assert_error_page(answer, agent.lang, status, "error_title", message)
    assert detail in refusal(answer, caplog)
    assert detail not in answer.text


# -- the error pages -------------------------------------------------------------------------

def test_a_link_that_is_not_a_saml_request(agent: Agent,
                                           caplog: pytest.LogCaptureFixture) -> None:
    answer = agent.get(LOGIN, SAMLRequest="not-base64!")
    reachable(agent, caplog, 400, "saml_link_broken", answer, "not valid base64")


def test_an_expired_saml_request(agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    now = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    sts_of(agent.client).clock = lambda: now  # the STS's clock stands still
    _, xml = agent.sp.authn_request()
    issued = (now - dt.timedelta(seconds=900)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = re.sub(r'IssueInstant="[^"]+"', f'IssueInstant="{issued}"', xml, count=1)
    answer = agent.get(LOGIN, **redirect_query(stale))
    reachable(agent, caplog, 400, "saml_link_broken", answer, "issued 900 seconds ago")


def test_an_application_that_is_not_registered(agent: Agent,
                                               caplog: pytest.LogCaptureFixture) -> None:
    _, xml = agent.sp.authn_request()
    unknown = xml.replace(f"{agent.sp.base}/metadata</saml:Issuer>",
                          "urn:who-knows</saml:Issuer>")
    answer = agent.get(LOGIN, **redirect_query(unknown))
    reachable(agent, caplog, 403, "unknown_sp", answer, "urn:who-knows")


def test_the_login_page_opened_by_hand(agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    reachable(agent, caplog, 400, "no_saml_request", agent.get(LOGIN), "no SAML request")


def test_a_logon_form_that_expired(agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    reachable(agent, caplog, 400, "form_expired", agent.log_on(csrf="stale"), "CSRF")


def test_a_client_button_not_on_the_list(agent: Agent,
                                         caplog: pytest.LogCaptureFixture) -> None:
    answer = agent.get("/ICNotifierIDP/launch", target="https://evil.example/")
    reachable(agent, caplog, 400, "launch_unknown", answer, "evil.example")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_client_buttons_not_set_up(tmp_path: Path, key_dir: Path, lang: str,
                                       caplog: pytest.LogCaptureFixture) -> None:
    path = write_config(tmp_path, key_dir)
    text = path.read_text()  # neither [genesys] nor launch.service_provider
    path.write_text(text[:text.index("[genesys]")] + text[text.index("[[service_providers]]"):])
    client = create_app(load_config(path)).test_client()
    with caplog.at_level(logging.ERROR):
        answer = client.get("/ICNotifierIDP/launch", query_string={"target": "collaborate"},
                            headers={"Accept-Language": lang}, **HTTPS)
    assert_error_page(answer, lang, 500, "error_title", "launch_misconfigured")
    assert "launch.service_provider" in refusal(answer, caplog)


@pytest.mark.parametrize("failure", [
    RuntimeError("boom in /var/lib/cic-sts/cic-users.db"),
    StsError("the directory at /var/lib/cic-sts/cic-users.db is unreadable"),
])
def test_a_server_fault(agent: Agent, caplog: pytest.LogCaptureFixture,
                        failure: Exception) -> None:
    agent.backend.failure = failure
    with caplog.at_level(logging.ERROR):
        answer = agent.log_on()
    assert_error_page(answer, agent.lang, 500, "error_title", "server_error")
    assert "cic-users.db" not in answer.text and "Traceback" not in answer.text
    logged = logged_under_reference(caplog, answer.text)
    record = next(r for r in caplog.records if r.getMessage() == logged)
    if record.exc_info:  # the unforeseen: the detail is in its traceback, in the log only
        assert "cic-users.db" in caplog.text
    else:
        assert "cic-users.db" in logged


def test_no_such_page_and_a_method_the_page_does_not_take(agent: Agent) -> None:
    missing = agent.get("/no/such/page")
    assert_error_page(missing, agent.lang, 404, "not_found_title", "not_found")
    assert "Not Found" not in missing.text  # not Flask's own page
    wrong = agent.client.delete(LOGIN, headers=agent.headers, **HTTPS)
    assert_error_page(wrong, agent.lang, 405, "error_title", "method_not_allowed")


def test_the_front_page_says_what_this_is_and_nothing_else(agent: Agent, config: Config) -> None:
    front = agent.get("/")
    assert_error_page(front, agent.lang, 200, "home_title", "home")
    from importlib.metadata import version

    shown = parse_html(front.text).text_content()
    assert version("cic-sts") not in shown
    assert "localhost" not in shown and "8043" not in shown  # no address, no configuration
    assert parse_html(front.text).xpath("//form | //input | //script") == []


# -- the logon page's own errors: the form stays, with what was typed ------------------------

def logon_error(agent: Agent, answer: TestResponse, status: int, message: str) -> None:
    assert answer.status_code == status
    assert_in_language(answer, agent.lang)
    assert text_of(answer.text, "error") == Translator(agent.lang)(message)
    assert input_value(answer.text, "user_id") == "alice"
    assert "SAMLResponse" not in answer.text


def test_cic_down(agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    agent.backend.failure = BackendUnavailable("no CIC server accepted the connection "
                                               "(tried cic1.example.com:8019)")
    with caplog.at_level(logging.ERROR):
        answer = agent.log_on()
    logon_error(agent, answer, 503, "backend_unavailable")
    assert "cic1.example.com" not in answer.text and "cic1.example.com" in caplog.text


def test_too_many_logons_at_once(agent: Agent) -> None:
    agent.backend.failure = TooManyLogons("every hashing slot busy for 5 s")
    answer = agent.log_on()
    logon_error(agent, answer, 503, "too_many_logons")
    assert "hashing slot" not in answer.text


def test_too_many_attempts_from_one_address(agent: Agent, config: Config) -> None:
    for n in range(config.state.max_failed_logons * 5):  # distinct user IDs, one address
        agent.log_on(user_id=f"guess{n}", password="x")
    logon_error(agent, agent.log_on(), 429, "too_many_attempts")


def test_a_user_id_locked_by_failed_logons(agent: Agent, config: Config) -> None:
    for _ in range(config.state.max_failed_logons):
        assert agent.log_on(password="wrong").status_code == 401
    logon_error(agent, agent.log_on(), 429, "account_locked")


def test_a_wrong_password(agent: Agent) -> None:
    logon_error(agent, agent.log_on(password="wrong"), 401, "bad_credentials")


# -- every key a page can name is in every catalog -------------------------------------------

def page_messages() -> set[str]:
    """Every catalog key an error can name: the classes' and the raise sites' own."""
    keys: set[str] = set()
    pending: list[type] = [WebError]
    while pending:
        cls = pending.pop()
        keys.add(cls.page_message)  # type: ignore[attr-defined]
        pending.extend(cls.__subclasses__())
    for source in IDP_SOURCE.rglob("*.py"):
        keys.update(re.findall(r'page_message="(\w+)"', source.read_text(encoding="utf-8")))
    return keys


def test_every_page_message_is_in_every_catalog() -> None:
    import idp.auth.hashing  # noqa: F401  (its TooManyLogons names a key too)
    import idp.cic.errors  # noqa: F401

    keys = page_messages()
    assert {"saml_link_broken", "unknown_sp", "launch_misconfigured", "too_many_logons",
            "password_expired", "account_locked", "form_expired"} <= keys
    for lang, messages in catalogs().items():
        assert keys <= set(messages), f"{lang} lacks {sorted(keys - set(messages))}"


def test_without_branding_no_logo_and_no_help_link(client: FlaskClient, sp: Sp) -> None:
    page = client.get(LOGIN, query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    document = parse_html(page.text)
    assert document.xpath("//img") == [] and document.xpath("//*[@id='help_link']") == []
    assert document.xpath("//*[@class='brand-name']/text()") == ["PureConnect"]
    assert client.get("/ICNotifierIDP/logo", **HTTPS).status_code == 404
