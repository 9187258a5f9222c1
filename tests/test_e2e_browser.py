"""The whole flow in headless Chromium against the STS served by real gunicorn over TLS.

The demo SP (python3-saml, strict) plays Genesys Cloud: the browser goes SP -> STS logon page ->
POST to the SP's ACS -> the SP shows who logged in.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from idp.saml.metadata import SSO_PATH
from idp.web.i18n import Translator
from tests.browser_stack import Stack, Tab, new_tab, reference_on, running_stack
from tests.conftest import ADMIN_URL, INBOX_URL, PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, key_dir: Path) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("e2e"), key_dir) as running:
        yield running


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    with new_tab(browser) as opened:
        yield opened


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
    assert tab.page.inner_text("#message") == Translator("en")("launch_unknown")
    assert "launch target 'https://evil.example/'" in stack.logged(reference_on(tab.page))


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
