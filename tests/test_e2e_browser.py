"""The whole flow in headless Chromium against the STS served by real gunicorn over TLS.

The demo SP (python3-saml, strict) plays Genesys Cloud: the browser goes SP -> STS logon page ->
POST to the SP's ACS -> the SP shows who logged in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request

from idp.config import load_config
from idp.demo.sp import create_demo_sp, sp_metadata
from idp.saml.metadata import SSO_PATH
from tests.conftest import ADMIN_URL, INBOX_URL, PASSWORD, launch_settings, seed_users, write_config
from tests.servers import flask_server, free_port, sts_server

pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    sts: str
    sp: str
    sp2: str  # a second demo SP, on another host name (its own cookies), for Single Logout


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, key_dir: Path) -> Iterator[Stack]:
    from idp.commands.demo import demo_idp

    folder = tmp_path_factory.mktemp("e2e")
    sts_port, sp_port, sp2_port = free_port(), free_port(), free_port()
    sp_base, sp2_base = f"https://127.0.0.1:{sp_port}", f"https://localhost:{sp2_port}"
    path = write_config(folder, key_dir, sp_base=sp_base, machine="127.0.0.1", port=sts_port,
                        extra=launch_settings(sp_base))
    config = load_config(path)
    (folder / "sp2.xml").write_bytes(sp_metadata(sp2_base, demo_idp(config)))
    path.write_text(path.read_text() + '\n[[service_providers]]\nmetadata = "sp2.xml"\n')
    config = load_config(path)
    seed_users(config.directory.database)
    sp_app = create_demo_sp(sp_base, demo_idp(config))
    sp2_app = create_demo_sp(sp2_base, demo_idp(config))
    certs = folder / "certs"
    with sts_server(path, f"127.0.0.1:{sts_port}", folder / "sts.log"), \
            flask_server(sp_app, "127.0.0.1", sp_port, certs / "tls.crt", certs / "tls.key"), \
            flask_server(sp2_app, "localhost", sp2_port, certs / "tls.crt", certs / "tls.key"):
        yield Stack(sts=config.public_base_url, sp=sp_base, sp2=sp2_base)


@dataclass
class Tab:
    page: Page
    requests: list[Request] = field(default_factory=list)

    def posted_passwords(self) -> int:
        return sum(1 for r in self.requests if r.method == "POST" and "password=" in
                   (r.post_data or ""))


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    tab = Tab(page)
    page.on("request", lambda request: tab.requests.append(request))
    yield tab
    context.close()


def test_browser_logon_then_single_sign_on(stack: Stack, tab: Tab) -> None:
    page = tab.page
    page.goto(stack.sp + "/")
    page.click("#login_redirect")
    page.wait_for_selector("#user_id")
    assert page.url.startswith(stack.sts + "/ICNotifierIDP/login")
    page.fill("#user_id", "alice")
    page.fill("#password", PASSWORD)
    page.click("#log_on")
    page.wait_for_url(stack.sp + "/")
    assert page.inner_text("#email") == "alice@example.com"
    assert page.inner_text("#relay_state") == "demo-relay-state"
    acs_posts = [r for r in tab.requests if r.url == stack.sp + "/acs"]
    assert len(acs_posts) == 1 and acs_posts[0].method == "POST"

    # Forget the SP's own login; the STS session must answer the next request (POST binding)
    # without asking for the password again.
    page.goto(stack.sp + "/logout")
    assert "Not logged in" in page.inner_text("#status")
    page.click("#login_post")
    page.wait_for_url(stack.sp + "/")
    assert page.inner_text("#email") == "alice@example.com"
    assert tab.posted_passwords() == 1
    assert sum(1 for r in tab.requests if r.url == stack.sp + "/acs") == 2


def test_wrong_password_shows_the_error_and_issues_nothing(stack: Stack, tab: Tab) -> None:
    page = tab.page
    page.goto(stack.sp + "/login")
    page.wait_for_selector("#user_id")
    page.fill("#user_id", "alice")
    page.fill("#password", "not the password")
    page.click("#log_on")
    page.wait_for_selector("#error")
    assert page.inner_text("#error") == "The user ID or password is incorrect."
    assert page.url.startswith(stack.sts + SSO_PATH.split("?")[0])
    assert not any(r.url.startswith(stack.sp + "/acs") for r in tab.requests)


def log_on_through_sp(stack: Stack, page: Page) -> None:
    page.goto(stack.sp + "/login")
    page.wait_for_selector("#user_id")
    page.fill("#user_id", "alice")
    page.fill("#password", PASSWORD)
    page.click("#log_on")
    page.wait_for_url(stack.sp + "/")


@pytest.mark.parametrize(("target", "service_name"), [
    ("collaborate", "directory"),
    ("inbox", INBOX_URL),
    ("admin", ADMIN_URL),
])
def test_cic_client_buttons_launch_with_the_session(stack: Stack, tab: Tab, target: str,
                                                    service_name: str) -> None:
    page = tab.page
    log_on_through_sp(stack, page)
    page.goto(stack.sp + "/logout")  # forget the SP's login; the STS session stays
    page.goto(f"{stack.sts}/ICNotifierIDP/launch?target={target}")
    page.wait_for_url(stack.sp + "/")
    assert page.inner_text("#email") == "alice@example.com"
    assert page.inner_text('.attribute[data-name="ServiceName"]') == service_name
    assert tab.posted_passwords() == 1


def test_launch_without_session_asks_for_the_password_first(stack: Stack, tab: Tab) -> None:
    page = tab.page
    page.goto(f"{stack.sts}/ICNotifierIDP/launch?target=collaborate")
    page.fill("#user_id", "alice")
    page.fill("#password", PASSWORD)
    page.click("#log_on")
    page.wait_for_url(stack.sp + "/")
    assert page.inner_text('.attribute[data-name="ServiceName"]') == "directory"


def test_launch_target_not_on_the_allow_list_is_refused(stack: Stack, tab: Tab) -> None:
    response = tab.page.goto(f"{stack.sts}/ICNotifierIDP/launch?target=https://evil.example/")
    assert response is not None and response.status == 400
    assert "launch target" in tab.page.inner_text("#message")


def test_single_logout_ends_the_sts_session(stack: Stack, tab: Tab) -> None:
    page = tab.page
    log_on_through_sp(stack, page)
    page.click("#single_logout")
    page.wait_for_selector("#slo_done")
    assert "Not logged in" in page.inner_text("#status")
    page.click("#login_redirect")
    page.wait_for_selector("#password")  # the next AuthnRequest needs the password again


def test_single_logout_reaches_every_sp_of_the_session(stack: Stack, tab: Tab) -> None:
    """Issue 12, item 6: logged on to two SPs, a logout from one ends the other's session too,
    through the browser: SP1 -> STS -> SP2's logout service -> STS -> SP1."""
    page = tab.page
    log_on_through_sp(stack, page)
    page.goto(stack.sp2 + "/login")  # the STS session answers: no password
    page.wait_for_url(stack.sp2 + "/")
    assert page.inner_text("#email") == "alice@example.com"
    page.goto(stack.sp + "/")
    page.click("#single_logout")
    page.wait_for_selector("#slo_done")  # SP1 got the STS's signed LogoutResponse: Success
    assert any(r.url.startswith(stack.sp2 + "/sls?SAMLRequest=") for r in tab.requests)
    assert any(r.url.startswith(stack.sts + "/ICNotifierIDP/logout?SAMLResponse=")
               for r in tab.requests)
    page.goto(stack.sp2 + "/")
    assert "Not logged in" in page.inner_text("#status")  # SP2 ended its own session
    assert tab.posted_passwords() == 1
