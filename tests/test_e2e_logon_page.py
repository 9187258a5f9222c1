"""The logon page and its error pages as an agent meets them (issue 13, part 2), in headless
Chromium against the STS under real gunicorn over TLS, with a logo and a help link configured:
the language switch keeps what was typed, focus and errors for assistive technology, the
show-password toggle, the signing-in page, localized error pages, and axe-core's WCAG 2.1 AA
rules plus our own contrast and label checks on every page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest
from playwright.sync_api import Browser, Page, Route

from idp.web.i18n import Translator, catalogs
from tests.browser_stack import (
    Stack,
    Tab,
    axe_violations,
    low_contrast,
    new_tab,
    reference_on,
    running_stack,
    unlabelled_inputs,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.e2e

LOGO = Path(__file__).resolve().parent / "testdata" / "acme-logo.svg"
HELP = "https://help.example.com/logon"
LANGUAGES = list(catalogs())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, key_dir: Path) -> Iterator[Stack]:
    branding = f'\n[branding]\nlogo = "{LOGO}"\nhelp_url = "{HELP}"\n'
    with running_stack(tmp_path_factory.mktemp("logon-page"), key_dir, branding) as running:
        yield running


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    with new_tab(browser, locale="en-US") as opened:
        yield opened


def open_logon_page(stack: Stack, page: Page) -> None:
    page.goto(stack.sp + "/login")  # the demo SP sends an AuthnRequest (HTTP-Redirect)
    page.wait_for_selector("#user_id")


def focused(page: Page) -> str:
    return str(page.evaluate("() => document.activeElement.id"))


# -- 1. the language switch ------------------------------------------------------------------

def test_an_arrow_key_on_the_language_list_reloads_nothing_and_the_button_switches_in_the_page(
        stack: Stack, tab: Tab) -> None:
    page = tab.page
    open_logon_page(stack, page)
    page.fill("#user_id", "alice")
    page.fill("#password", "typed, not sent")
    loads = len(tab.documents())
    page.evaluate("() => { window.stillThisPage = true; }")  # gone if the page is replaced
    page.focus("#lang")
    page.keyboard.press("ArrowDown")  # English -> Español (the list is sorted by code)
    page.keyboard.press("ArrowDown")  # -> Français
    assert page.input_value("#lang") == "fr"  # the keys did change the selection
    page.wait_for_timeout(500)  # time a submission on `change` would take to start loading
    assert len(tab.documents()) == loads and page.evaluate("() => window.stillThisPage")
    assert page.get_attribute("html", "lang") == "en"  # and nothing switched yet

    page.keyboard.press("Tab")  # to the explicit button
    assert focused(page) == "change_language"
    page.keyboard.press("Enter")
    french = Translator("fr")
    page.wait_for_function("() => document.documentElement.lang === 'fr'")
    assert page.inner_text("h1") == french("heading")
    assert page.inner_text("label[for=password]") == french("password")
    assert page.inner_text("#log_on") == french("log_on")
    assert page.title() == french("page_title")
    assert page.inner_text("#help_link") == french("help_link")
    assert page.input_value("#user_id") == "alice"
    assert page.input_value("#password") == "typed, not sent"
    assert len(tab.documents()) == loads and page.evaluate("() => window.stillThisPage")

    page.fill("#password", "wrong")  # the language chosen in the page goes with the form
    page.click("#log_on")
    page.wait_for_selector("#error")
    assert page.get_attribute("html", "lang") == "fr"
    assert page.inner_text("#error") == french("bad_credentials")


def test_without_javascript_the_language_button_reloads_and_keeps_the_user_id(
        stack: Stack, browser: Browser) -> None:
    with new_tab(browser, locale="en-US", java_script_enabled=False) as tab:
        page = tab.page
        open_logon_page(stack, page)
        assert not page.is_visible("#show_password")  # it needs JavaScript: not offered
        page.fill("#user_id", "alice")
        page.select_option("#lang", "de")
        page.click("#change_language")
        page.wait_for_function("() => document.documentElement.lang === 'de'")
        german = Translator("de")
        assert page.inner_text("h1") == german("heading")
        assert page.input_value("#user_id") == "alice"
        assert page.get_attribute("#password", "autofocus") is not None  # focus: what is left
        assert page.get_attribute("#user_id", "autofocus") is None
        assert page.is_visible("#error") is False  # no error for a language change


# -- 4. focus and errors tied to the fields --------------------------------------------------

def test_after_a_wrong_password_focus_is_on_password_and_the_error_is_tied_to_both_fields(
        stack: Stack, tab: Tab) -> None:
    page = tab.page
    open_logon_page(stack, page)
    assert focused(page) == "user_id"
    assert page.get_attribute("#user_id", "aria-invalid") is None
    page.fill("#user_id", "alice")
    page.fill("#password", "not the password")
    page.click("#log_on")
    page.wait_for_selector("#error")
    assert page.input_value("#user_id") == "alice"  # kept
    assert page.input_value("#password") == ""
    assert focused(page) == "password"
    for field in ("#user_id", "#password"):
        assert page.get_attribute(field, "aria-invalid") == "true"
        assert page.get_attribute(field, "aria-describedby") == "error"
    assert page.get_attribute("#error", "role") == "alert"
    # what a screen reader announces on the focused field: its name, then the error
    described = page.evaluate("""() => document.getElementById(
        document.activeElement.getAttribute('aria-describedby')).textContent""")
    assert described == Translator("en")("bad_credentials")


# -- 7. the show-password toggle, the logo and the help link ---------------------------------

def test_the_show_password_toggle_is_a_pressed_button_and_never_sends_the_field_shown(
        stack: Stack, tab: Tab) -> None:
    page = tab.page
    open_logon_page(stack, page)
    toggle = "#show_password"
    assert page.is_visible(toggle)
    assert page.evaluate("() => document.getElementById('show_password').type") == "button"
    assert page.get_attribute(toggle, "aria-pressed") == "false"
    assert page.get_attribute(toggle, "aria-controls") == "password"
    page.fill("#password", PASSWORD)
    page.focus(toggle)
    page.keyboard.press("Space")
    assert page.get_attribute("#password", "type") == "text"
    assert page.get_attribute(toggle, "aria-pressed") == "true"
    page.keyboard.press("Enter")
    assert page.get_attribute("#password", "type") == "password"
    assert page.get_attribute(toggle, "aria-pressed") == "false"
    assert len([r for r in tab.requests if r.method == "POST"]) == 0  # the toggle posts nothing
    page.click(toggle)
    page.fill("#user_id", "alice")
    page.click("#log_on")  # shown at the moment it is sent: put back first
    page.wait_for_url(stack.sp + "/")
    assert page.inner_text("#email") == "alice@example.com"


def test_the_configured_logo_and_help_link_are_on_every_page(stack: Stack, tab: Tab) -> None:
    page = tab.page
    for url in (stack.sp + "/login", f"{stack.sts}/ICNotifierIDP/login", stack.sts + "/"):
        page.goto(url)
        assert page.evaluate("() => document.querySelector('img.logo').naturalWidth") > 0
        link = page.locator("#help_link")
        assert link.get_attribute("href") == HELP
        assert link.get_attribute("target") == "_blank"
        assert "noopener" in (link.get_attribute("rel") or "")
    answer = page.request.get(f"{stack.sts}/ICNotifierIDP/logo")
    assert answer.status == 200 and answer.headers["content-type"] == "image/svg+xml"
    assert answer.body() == LOGO.read_bytes()
    assert "sandbox" in answer.headers["content-security-policy"]


# -- 5. the signing-in page ------------------------------------------------------------------

def test_the_signing_in_page_is_styled_and_shows_the_manual_way_only_without_javascript(
        stack: Stack, browser: Browser) -> None:
    with new_tab(browser, locale="en-US", java_script_enabled=False) as tab:
        page = tab.page
        open_logon_page(stack, page)
        page.fill("#user_id", "alice")
        page.fill("#password", PASSWORD)
        page.click("#log_on")
        page.wait_for_selector("#continue")
        assert page.inner_text("h1") == Translator("en")("redirecting_title")
        assert_styled(page)
        assert page.is_visible("#continue") and page.is_visible("#manual")
        assert not page.is_visible(".spinner")  # nothing spins where nothing will happen
        page.click("#continue")
        page.wait_for_url(stack.sp + "/")
        assert page.inner_text("#email") == "alice@example.com"

    with new_tab(browser, locale="en-US") as tab:
        page = tab.page
        posted: list[str] = []

        def no_content(route: Route) -> None:  # the browser stays on the signing-in page
            posted.append(route.request.post_data or "")
            route.fulfill(status=204)

        page.route(stack.sp + "/acs", no_content)
        open_logon_page(stack, page)
        page.fill("#user_id", "alice")
        page.fill("#password", PASSWORD)
        page.click("#log_on")
        page.wait_for_function("() => document.documentElement.className === 'js'")
        page.wait_for_function("() => !!document.getElementById('saml')")
        while not posted:
            page.wait_for_timeout(50)
        assert posted[0].startswith("SAMLResponse=")  # it went by itself, with JavaScript
        assert_styled(page)
        assert page.is_visible("h1") and page.is_visible(".spinner")
        # the manual way is hidden while the form goes by itself; it shows after 4 s
        later = page.evaluate("""() => [...document.querySelectorAll('.later')].map((e) => {
            const s = getComputedStyle(e);
            return [s.visibility, s.animationName, s.animationDelay]; })""")
        assert later == [["hidden", "reveal", "4s"]] * 2


def assert_styled(page: Page) -> None:
    """The STS's stylesheet applies: the card on its grey page. Checked once the page has loaded
    (its stylesheet included: a stylesheet refused by the CSP still leaves it unstyled)."""
    page.wait_for_function("() => document.readyState === 'complete'")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == \
        "rgb(238, 241, 244)"
    assert page.evaluate("() => getComputedStyle(document.querySelector('.card'))"
                         ".backgroundColor") == "rgb(255, 255, 255)"


# -- 2, 3. localized error pages, the front page, 404 ----------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
def test_error_pages_in_chromium_are_in_the_browsers_language(stack: Stack, browser: Browser,
                                                              lang: str) -> None:
    t = Translator(lang)
    with new_tab(browser, locale=lang) as tab:
        page = tab.page
        response = page.goto(f"{stack.sts}/ICNotifierIDP/login?SAMLRequest=not-base64!")
        assert response is not None and response.status == 400
        assert page.get_attribute("html", "lang") == lang
        assert page.inner_text("h1") == t("error_title")
        assert page.inner_text("#message") == t("saml_link_broken")
        assert "not valid base64" in stack.logged(reference_on(page))
        assert "base64" not in page.content()
        assert_styled(page)

        response = page.goto(f"{stack.sts}/no/such/page")
        assert response is not None and response.status == 404
        assert page.inner_text("h1") == t("not_found_title")
        assert page.inner_text("#message") == t("not_found")
        assert_styled(page)

        response = page.goto(stack.sts + "/")
        assert response is not None and response.status == 200
        assert page.inner_text("h1") == t("home_title")
        assert page.inner_text("#message") == t("home")
        assert "0.1.0" not in page.content() and "127.0.0.1" not in page.inner_text("body")


# -- axe-core, contrast and labels on every page ---------------------------------------------

def check_accessibility(page: Page) -> None:
    assert axe_violations(page) == []
    assert low_contrast(page) == []
    assert unlabelled_inputs(page) == []
    brand = page.evaluate("""() => {
        const s = getComputedStyle(document.querySelector('.brand-name'));
        return [s.color, s.visibility]; }""")
    assert brand == ["rgb(199, 58, 12)", "visible"]  # #c73a0c: 5.2:1 on white


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_logon_page_and_its_error_pass_axe_and_our_checks(stack: Stack, browser: Browser,
                                                             lang: str) -> None:
    with new_tab(browser, locale=lang) as tab:
        page = tab.page
        open_logon_page(stack, page)
        check_accessibility(page)
        page.fill("#user_id", "alice")
        page.fill("#password", "wrong")
        page.click("#log_on")
        page.wait_for_selector("#error")
        check_accessibility(page)
        page.goto(f"{stack.sts}/ICNotifierIDP/login?SAMLRequest=x")
        check_accessibility(page)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_other_pages_pass_axe_and_our_checks(stack: Stack, browser: Browser,
                                                 width: int) -> None:
    with new_tab(browser, locale="en-US", viewport={"width": width, "height": 800}) as tab:
        page = tab.page
        for url in (stack.sts + "/", stack.sts + "/nothing-here",
                    f"{stack.sts}/ICNotifierIDP/launch?target=nothing",
                    f"{stack.sts}/ICNotifierIDP/logout", f"{stack.sts}/ICNotifierIDP/error"):
            page.goto(url)
            check_accessibility(page)
        # The logon and signing-in pages as a browser without JavaScript draws them. axe-core
        # itself needs JavaScript (its checks wait on timers, which a context without
        # JavaScript never fires), so the STS's answers reach the page without their scripts.
        logon = f"{stack.sts}/ICNotifierIDP/login"
        page.route(lambda url: url.startswith(logon), without_scripts)
        # A route sees no request a redirect made: the SP's redirect is followed here instead
        # (the context's cookies, so the SP knows its request when the Response comes).
        redirect = page.request.get(stack.sp + "/login", max_redirects=0)
        page.goto(redirect.headers["location"])
        assert not page.is_visible("#show_password")
        check_accessibility(page)
        page.fill("#user_id", "alice")
        page.fill("#password", PASSWORD)
        page.click("#log_on")
        page.wait_for_selector("#continue")  # the signing-in page, its manual way shown
        assert page.is_visible("#continue") and not page.is_visible(".spinner")
        check_accessibility(page)


def without_scripts(route: Route) -> None:
    """The STS's answer, with its <script> elements taken out."""
    answer = route.fetch()
    if "text/html" not in answer.headers.get("content-type", ""):
        route.fulfill(response=answer)
        return
    document = lxml.html.document_fromstring(answer.text())
    for script in document.xpath("//script"):
        script.drop_tree()
    route.fulfill(response=answer, body=lxml.html.tostring(document, doctype="<!doctype html>"))
