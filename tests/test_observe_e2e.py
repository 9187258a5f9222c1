"""Observing a running STS: the audit log of browser logons (Chromium through the demo SP, two
gunicorn workers, the log in a file) with every field checked and no secret in it, and /metrics
scraped over many connections and parsed with prometheus_client's own parser: the counts of
both workers added up."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page
from prometheus_client.parser import text_string_to_metric_families

from idp.config import load_config
from idp.demo.sp import create_demo_sp
from idp.observe.audit import TYPED_USER_ID_LIMIT
from tests.conftest import PASSWORD, seed_users, write_config
from tests.servers import flask_server, free_port, sts_server

pytestmark = pytest.mark.e2e

LOOKS_LIKE_A_PASSWORD = "Winter-2026!pw"
WRONG_PASSWORD = "not the password 7x"
BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"


@dataclass
class Stack:
    sts: str
    sp: str
    sp_entity: str
    audit: Path
    metrics_dir: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, key_dir: Path) -> Iterator[Stack]:
    from idp.commands.demo import demo_idp

    folder = tmp_path_factory.mktemp("observe")
    sts_port, sp_port = free_port(), free_port()
    sp_base = f"https://127.0.0.1:{sp_port}"
    path = write_config(folder, key_dir, sp_base=sp_base, machine="127.0.0.1", port=sts_port,
                        extra='\n[monitoring]\naudit_log = "audit.log"\n')
    config = load_config(path)
    assert config.server.workers == 2
    seed_users(config.directory.database)
    metrics_dir = folder / "metrics"
    sp_app = create_demo_sp(sp_base, demo_idp(config))
    certs = folder / "certs"
    with sts_server(path, f"127.0.0.1:{sts_port}", folder / "sts.log",
                    env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}), \
            flask_server(sp_app, "127.0.0.1", sp_port, certs / "tls.crt", certs / "tls.key"):
        yield Stack(config.public_base_url, sp_base, f"{sp_base}/metadata", folder / "audit.log",
                    metrics_dir)


@dataclass
class Seen:
    """What the browser held that must never reach the audit log."""

    secrets: list[str]


def log_on(page: Page, stack: Stack, user_id: str, password: str) -> None:
    page.goto(stack.sp + "/login")
    page.wait_for_selector("#user_id")
    page.fill("#user_id", user_id)
    page.fill("#password", password)
    page.click("#log_on")


@pytest.fixture(scope="module")
def session(stack: Stack, browser: Browser) -> Iterator[Seen]:
    """One browser session: a password typed as user ID, a wrong password, a logon, a refused
    request, a Single Logout."""
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.post_data or "") if r.method == "POST" else None)
    log_on(page, stack, LOOKS_LIKE_A_PASSWORD, WRONG_PASSWORD)
    page.wait_for_selector("#error")
    log_on(page, stack, "alice", WRONG_PASSWORD)
    page.wait_for_selector("#error")
    log_on(page, stack, "alice", PASSWORD)
    page.wait_for_url(stack.sp + "/")
    cookies = [c["value"] for c in context.cookies() if c["name"] == "cicsts_session"]
    page.goto(stack.sts + "/ICNotifierIDP/login?loginType=saml")  # no SAMLRequest: refused
    reference = page.inner_text("#reference")
    page.goto(stack.sp + "/")
    page.click("#single_logout")
    page.wait_for_selector("#slo_done")
    context.close()
    saml = [value for body in posted for value in re.findall(r"SAMLResponse=([^&]+)", body)]
    csrf = [value for body in posted for value in re.findall(r"csrf=([^&]+)", body)]
    assert saml and cookies and csrf
    yield Seen([PASSWORD, WRONG_PASSWORD, LOOKS_LIKE_A_PASSWORD, *cookies, *saml, *csrf,
                reference + "-not-a-secret"])


def audit_lines(stack: Stack) -> list[dict[str, object]]:
    return [json.loads(line) for line in stack.audit.read_text().splitlines()]


def one(events: list[dict[str, object]], name: str, **match: object) -> dict[str, object]:
    found = [e for e in events if e["event"] == name
             and all(e.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (name, match, events)
    return found[0]


COMMON = {"time", "event", "schema", "client", "base_url"}


def test_the_audit_log_records_each_event_with_every_field(stack: Stack, session: Seen) -> None:
    events = audit_lines(stack)
    for event in events:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(event["time"]))
        assert event["schema"] == 1
    loaded = [e for e in events if e["event"] == "configuration_loaded"]
    assert len(loaded) == 2  # one per worker
    assert set(loaded[0]) == {"time", "event", "schema", "file", "entity_id",
                              "service_providers", "backend", "state", "certificates"}
    assert loaded[0]["entity_id"] == "https://127.0.0.1" and loaded[0]["backend"] == "local"
    certificates = loaded[0]["certificates"]
    assert isinstance(certificates, dict) and set(certificates) == {"saml_signing", "tls"}

    withheld = one(events, "logon_failed", user_id=None)
    assert set(withheld) == COMMON | {"reason", "user_id", "user_id_withheld"}
    assert withheld["reason"] == "wrong_password"
    assert withheld["user_id_withheld"] == "looks like a password"
    assert withheld["client"] == "127.0.0.1" and withheld["base_url"] == stack.sts

    failed = one(events, "logon_failed", user_id="alice")
    assert set(failed) == COMMON | {"reason", "user_id"} and failed["reason"] == "wrong_password"

    logon = one(events, "logon")
    assert set(logon) == COMMON | {"user_id"} and logon["user_id"] == "alice"

    issued = one(events, "assertion_issued")
    assert set(issued) == COMMON | {"sp", "user_id", "name_id", "session_index", "response_id",
                                    "in_response_to", "acs", "binding"}
    assert issued["sp"] == stack.sp_entity and issued["user_id"] == "alice"
    assert issued["name_id"] == "alice@example.com" and issued["acs"] == stack.sp + "/acs"
    assert issued["binding"] == BINDING_REDIRECT
    assert str(issued["response_id"]).startswith("_") and str(issued["session_index"])
    assert str(issued["in_response_to"]).startswith("ONELOGIN_")

    refused = one(events, "request_refused")
    assert set(refused) == COMMON | {"reason", "status", "reference", "method", "path"}
    assert refused["reason"] == "SamlRequestError" and refused["status"] == 400
    assert refused["path"] == "/ICNotifierIDP/login"

    logout = one(events, "logout")
    assert set(logout) == COMMON | {"user_id", "sp"}
    assert logout["user_id"] == "alice" and logout["sp"] == stack.sp_entity
    names = [e["event"] for e in events if e["event"] != "configuration_loaded"]
    assert names == ["logon_failed", "logon_failed", "logon", "assertion_issued",
                     "request_refused", "logout"]


def test_the_audit_log_holds_no_secret(stack: Stack, session: Seen) -> None:
    text = stack.audit.read_text()
    for secret in session.secrets[:-1]:
        assert secret not in text
    assert session.secrets[-1].removesuffix("-not-a-secret") in text  # the reference is
    for never in ("SAMLResponse", "SAMLRequest", '"password":', "Signature", "cicsts_session"):
        assert never not in text
    assert len(LOOKS_LIKE_A_PASSWORD) <= TYPED_USER_ID_LIMIT


def scrape(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with httpx.Client(verify=False) as client:  # a new connection: any worker may answer
        answer = client.get(stack.sts + "/metrics")
    assert answer.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_metrics_add_up_both_workers(stack: Stack, session: Seen) -> None:
    for _ in range(20):
        with httpx.Client(verify=False) as client:
            assert client.get(stack.sts + "/healthz").status_code == 200
    pids = {path.stem.rsplit("_", 1)[-1] for path in stack.metrics_dir.glob("*.db")}
    assert len(pids) >= 2, "both workers must have answered"
    scrapes = [scrape(stack) for _ in range(8)]
    for samples in scrapes:  # whichever worker answered, the same totals
        assert samples[("cic_sts_logons_total", (("backend", "local"),
                                                 ("outcome", "wrong_password")))] == 2
        assert samples[("cic_sts_logons_total", (("backend", "local"),
                                                 ("outcome", "success")))] == 1
        assert samples[("cic_sts_assertions_total", (("sp", stack.sp_entity),))] == 1
        assert samples[("cic_sts_logouts_total", (("sp", stack.sp_entity),))] == 1
        assert samples[("cic_sts_refused_requests_total",
                        (("reason", "SamlRequestError"),))] == 1
        assert samples[("cic_sts_request_duration_seconds_count",
                        (("endpoint", "health.healthz"),))] >= 20
        assert samples[("cic_sts_signing_duration_seconds_count", ())] >= 2
        tls = samples[("cic_sts_certificate_expiry_seconds", (("certificate", "tls"),))]
        assert 800 * 86400 < tls < 826 * 86400
    healthz = [s[("cic_sts_request_duration_seconds_count", (("endpoint", "health.healthz"),))]
               for s in scrapes]
    assert healthz == sorted(healthz)  # cumulative, never per worker


def test_metrics_are_refused_through_a_proxy(stack: Stack) -> None:
    with httpx.Client(verify=False) as client:
        for header in ({"X-Forwarded-For": "203.0.113.9"},
                       {"ININ-REMAP-BASE-URL": "https://sts.example.com"}):
            assert client.get(stack.sts + "/metrics", headers=header).status_code == 404
