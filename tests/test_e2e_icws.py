"""Headless Chromium logs on with CIC credentials: the STS under real gunicorn uses the ``icws``
backend against the ICWS test server pair (127.0.0.2 / 127.0.0.3, TLS verified against the test
CA); the demo SP (python3-saml, strict) plays Genesys Cloud."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from idp.config import load_config
from idp.demo.sp import create_demo_sp
from tests.conftest import ADMIN_URL, INBOX_URL, launch_settings, write_config
from tests.icws_server import (
    CicDirectory,
    FakeClock,
    IcwsPair,
    IcwsUser,
    phone,
    running_pair,
    use_icws,
)
from tests.servers import flask_server, free_port, sts_server

pytestmark = pytest.mark.e2e

CIC_PASSWORD = "cic-browser-1"
SERVICE = ("svc-sts", "service-secret-1")


@dataclass
class Stack:
    sts: str
    sp: str
    pair: IcwsPair
    directory: CicDirectory
    clock: FakeClock


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, key_dir: Path) -> Iterator[Stack]:
    from idp.commands.demo import demo_idp

    folder = tmp_path_factory.mktemp("e2e-icws")
    clock = FakeClock()  # auth tokens age only when a test says so
    directory = CicDirectory(clock=clock)
    directory.add(IcwsUser("dave", CIC_PASSWORD, "Dave Agent", "dave@example.com",
                           {"phoneNumberOfBusiness1": phone("+13175550199", "199")}),
                  IcwsUser(*SERVICE))
    sts_port, sp_port = free_port(), free_port()
    sp_base = f"https://127.0.0.1:{sp_port}"
    path = write_config(folder, key_dir, sp_base=sp_base, machine="127.0.0.1", port=sts_port,
                        extra=launch_settings(sp_base))
    certs = folder / "certs"
    with running_pair(directory, tls=(certs / "tls.crt", certs / "tls.key")) as pair:
        use_icws(path, pair, certs / "tls.crt", SERVICE, timeout=2, failover_timeout=4)
        config = load_config(path)
        sp_app = create_demo_sp(sp_base, demo_idp(config))
        with sts_server(path, f"127.0.0.1:{sts_port}", folder / "sts.log"), \
                flask_server(sp_app, "127.0.0.1", sp_port, certs / "tls.crt", certs / "tls.key"):
            yield Stack(sts=config.public_base_url, sp=sp_base, pair=pair, directory=directory,
                        clock=clock)


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    stack.pair.reset()
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def log_on(page: Page, stack: Stack, user_id: str, password: str) -> int:
    """From the SP to the STS logon page and submit it; the status of the form's answer."""
    page.goto(stack.sp + "/")
    page.click("#login_redirect")
    page.wait_for_selector("#user_id")
    assert page.url.startswith(stack.sts + "/ICNotifierIDP/login")
    page.fill("#user_id", user_id)
    page.fill("#password", password)
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.startswith(stack.sts)) as answer:
        page.click("#log_on")
    return answer.value.status


def test_browser_logon_with_cic_credentials(stack: Stack, page: Page) -> None:
    assert log_on(page, stack, "Dave", CIC_PASSWORD) == 200
    page.wait_for_url(stack.sp + "/")
    assert page.inner_text("#email") == "dave@example.com"
    primary = stack.pair.primary
    assert any(r.body and r.body.get("userID") == "Dave" and r.status == 201
               for r in primary.requests("POST", "/icws/connection"))
    assert primary.requests("DELETE")  # the user's ICWS session was closed


def test_browser_logon_while_cic_switches_over(stack: Stack, page: Page) -> None:
    stack.pair.switchover()
    assert log_on(page, stack, "dave", CIC_PASSWORD) == 200
    page.wait_for_url(stack.sp + "/")
    assert page.inner_text("#email") == "dave@example.com"
    assert any(r.status == 503 for r in stack.pair.primary.requests("POST"))
    assert any(r.body and r.body.get("userID") == "dave" and r.status == 201
               for r in stack.pair.backup.requests("POST"))


def test_browser_wrong_cic_password(stack: Stack, page: Page) -> None:
    assert log_on(page, stack, "dave", "not the password") == 401
    assert page.inner_text("#error") == "The user ID or password is incorrect."


def test_browser_cic_unavailable_page(stack: Stack, page: Page) -> None:
    for server in stack.pair.servers:
        server.stop()
    assert log_on(page, stack, "dave", CIC_PASSWORD) == 503
    assert page.inner_text("#error") == ("PureConnect cannot check your credentials right now. "
                                         "Try again in a few minutes.")
    assert not any(server.host in page.content() for server in stack.pair.servers)


def launch_with_token(page: Page, stack: Stack, target: str, token: str) -> int:
    """What a CIC client does: open a window that POSTs the token to the launch endpoint."""
    page.goto(stack.sp + "/")  # any page of ours to start from; the form goes cross-site
    with page.expect_response(lambda r: "/ICNotifierIDP/launch" in r.url) as answer:
        page.evaluate("""([action, target, token]) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = action;
            for (const [name, value] of [["target", target], ["token", token]]) {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = name; input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
        }""", [stack.sts + "/ICNotifierIDP/launch", target, token])
    return answer.value.status


@pytest.mark.parametrize(("target", "service_name"), [
    ("collaborate", "directory"),
    ("inbox", INBOX_URL),
    ("admin", ADMIN_URL),
])
def test_browser_launch_with_a_cic_auth_token(stack: Stack, page: Page, target: str,
                                              service_name: str) -> None:
    token = stack.directory.issue_token("dave")
    assert launch_with_token(page, stack, target, token) == 200
    page.wait_for_url(stack.sp + "/")
    assert page.inner_text("#email") == "dave@example.com"
    assert page.inner_text('.attribute[data-name="ServiceName"]') == service_name
    assert not page.query_selector("#password")


def test_browser_launch_with_a_replayed_token_is_refused(stack: Stack, page: Page,
                                                         browser: Browser) -> None:
    token = stack.directory.issue_token("dave")
    assert launch_with_token(page, stack, "collaborate", token) == 200
    page.wait_for_url(stack.sp + "/")
    other = browser.new_context(ignore_https_errors=True).new_page()
    try:
        assert launch_with_token(other, stack, "collaborate", token) == 403
        assert "already used" in other.inner_text("#message")
        assert "SAMLResponse" not in other.content()
    finally:
        other.context.close()


def test_browser_launch_with_an_expired_token_is_refused(stack: Stack, page: Page) -> None:
    token = stack.directory.issue_token("dave")
    stack.clock.advance(8)  # CIC's tokens live 7 seconds
    assert launch_with_token(page, stack, "inbox", token) == 403
    assert "expired" in page.inner_text("#message")
    assert "SAMLResponse" not in page.content()
