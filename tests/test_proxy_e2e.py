"""The generated nginx configuration in front of a real switchover pair, end to end.

Two STS instances (real gunicorn over TLS) on 127.0.0.2 and 127.0.0.3 (one port, chosen at run
time) share one configuration and one set of keys, like the two CIC servers of a pair.
`cic-sts proxy nginx` renders the configuration from that file's `[proxy]` section, real nginx
runs it on 127.0.0.1 (a temporary prefix; logs and pid inside it), and headless Chromium logs on
to the demo SP through it. Then one instance is stopped, and the next logon and 50 more
requests must still succeed, through the other one (tests/test_switchover_e2e.py measures every
switchover event under load). nginx must reuse its connections to the
pair (upstream keepalive), not open one per request. All traffic stays on loopback.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, Request, Response

from idp.cli import cli
from idp.commands.sso_form import sso_form_values
from idp.config import Config, load_config
from idp.demo.sp import DemoIdp, create_demo_sp
from idp.proxy.check import with_temp_paths
from idp.proxy.verify import authn_request_query
from idp.saml.metadata import METADATA_PATH, SSO_PATH
from tests.conftest import PASSWORD, hidden, seed_users, write_config
from tests.servers import (
    PAIR,
    flask_server,
    free_port,
    nginx_running,
    pair_port,
    pair_proxy_section,
    stop,
    sts_server,
)

pytestmark = pytest.mark.e2e



@dataclass
class Proxied:
    config: Config
    base: str  # the public base: https://127.0.0.1:<nginx port>/PureConnect
    sp: str
    ca_file: Path  # the self-signed certificate nginx shows (and the STS instances too)
    generated: dict[str, Any]  # what `cic-sts proxy nginx --format json` printed
    sts: dict[str, subprocess.Popen[bytes]]  # address -> its gunicorn
    sts_logs: dict[str, Path]
    nginx_log: Path
    sts_port: int  # both servers of the pair listen on it, each on its own address

    def served_logons(self, address: str) -> int:
        """Logon-page requests in one instance's own access log (gunicorn's)."""
        return self.sts_logs[address].read_text().count('"GET /ICNotifierIDP/login"')


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory, key_dir: Path) -> Iterator[Proxied]:
    sts_port = pair_port(PAIR)
    folder = tmp_path_factory.mktemp("proxy-e2e")
    nginx_port, sp_port = free_port(), free_port()
    base = f"https://127.0.0.1:{nginx_port}/PureConnect"
    sp_base = f"https://127.0.0.1:{sp_port}"
    prefix = folder / "nginx"
    (prefix / "logs").mkdir(parents=True)

    path = write_config(folder, key_dir, sp_base=sp_base, machine="127.0.0.1", port=sts_port,
                        stop_drain=3)  # a stop as in production (server.stop_drain's default)
    text = path.read_text().replace("[server]\n", f'[server]\npublic_base_url = "{base}"\n', 1)
    path.write_text(text + pair_proxy_section(sts_port, prefix))
    config = load_config(path)
    seed_users(config.directory.database)

    conf = prefix / "nginx.conf"
    result = CliRunner().invoke(cli, ["--config", str(path), "proxy", "nginx", "--output",
                                      str(conf), "--check", "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    generated = json.loads(result.stdout)
    if os.geteuid() != 0:  # the compiled-in temporary folders need root
        conf.write_text(with_temp_paths(conf.read_text(), prefix))

    certs = folder / "certs"
    idp = DemoIdp(config.entity_id, config.public_base_url + SSO_PATH,
                  (certs / "saml-signing.crt").read_text())
    logs = {address: folder / f"sts-{address}.log" for address in PAIR}
    with ExitStack() as stack:
        processes = {address: stack.enter_context(
            sts_server(path, f"{address}:{sts_port}", logs[address])) for address in PAIR}
        stack.enter_context(nginx_running(conf, prefix, f"{base}/healthz"))
        stack.enter_context(flask_server(create_demo_sp(sp_base, idp), "127.0.0.1", sp_port,
                                         certs / "tls.crt", certs / "tls.key"))
        yield Proxied(config, base, sp_base, certs / "tls.crt", generated, processes, logs,
                      prefix / "logs" / "cic-sts-access.log", sts_port)


@dataclass
class Visit:
    """One browser context, and every request it made and answer it got."""

    page: Page
    requests: list[Request] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)


@contextmanager
def visit(browser: Browser) -> Iterator[Visit]:
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.set_default_timeout(15000)
    seen = Visit(page)
    page.on("request", lambda request: seen.requests.append(request))
    page.on("response", lambda response: seen.responses.append(response))
    try:
        yield seen
    finally:
        context.close()


def log_on(proxied: Proxied, seen: Visit) -> None:
    """The SP sends the browser to the Target URL; the user logs on; the SP shows who it is."""
    page = seen.page
    page.goto(proxied.sp + "/")
    page.click("#login_redirect")
    page.wait_for_selector("#user_id")
    assert page.url.startswith(proxied.base + "/ICNotifierIDP/login?")
    page.fill("#user_id", "alice")
    page.fill("#password", PASSWORD)
    page.click("#log_on")
    page.wait_for_url(proxied.sp + "/")
    assert page.inner_text("#email") == "alice@example.com"


def assert_stayed_under_the_public_base(proxied: Proxied, seen: Visit) -> None:
    # The browser's own guess at a site icon is not a URL anything sent it to.
    sts_requests = [r for r in seen.requests if not r.url.startswith(proxied.sp + "/")
                    and not r.url.endswith("/favicon.ico")]
    assert sts_requests, "the browser never reached the STS"
    for request in sts_requests:
        assert request.url.startswith(proxied.base + "/"), request.url
    urls = " ".join(r.url for r in seen.requests)
    assert not any(f"{address}" in urls for address in PAIR)
    assert f":{proxied.sts_port}" not in urls
    posts = [r for r in sts_requests if r.method == "POST"]
    assert [r.url for r in posts] == [proxied.base + SSO_PATH]  # the logon form's action
    for response in seen.responses:
        if response.url.endswith("/favicon.ico"):
            continue
        assert response.status < 400, f"{response.status} for {response.url}"
        location = response.headers.get("location")
        if location and not location.startswith(proxied.sp):
            assert location.startswith(proxied.base + "/"), location


def test_printed_genesys_values_are_what_the_sts_reports(proxied: Proxied) -> None:
    sts = sso_form_values(proxied.config)
    assert proxied.generated["genesys"] == {
        "Target URL": sts["Target URL"],
        "Provider's Issuer URI": sts["Provider's Issuer URI"]}
    assert proxied.generated["genesys"]["Target URL"] == proxied.base + SSO_PATH
    assert "test is successful" in proxied.generated["check"]["output"]
    assert not any("not verified" in w for w in proxied.generated["warnings"])


def test_proxy_verify_passes_through_the_proxy_and_fails_beside_it(proxied: Proxied) -> None:
    runner = CliRunner()
    sp_entity = f"{proxied.sp}/metadata"
    good = runner.invoke(cli, ["--config", str(proxied.config.path), "proxy", "verify",
                               proxied.base + "/", "--ca-file", str(proxied.ca_file),
                               "--sp-entity-id", sp_entity, "--format", "json"])
    assert good.exit_code == 0, good.output
    report = json.loads(good.stdout)
    checks = {f["check"]: f["status"] for f in report["findings"]}
    assert checks == {"TLS": "ok", "metadata": "ok", "logon page": "ok", "stylesheet": "ok"}

    bare = runner.invoke(cli, ["proxy", "verify", proxied.base, "--insecure"])
    assert bare.exit_code == 0, bare.output
    assert "reaches the STS" in bare.stdout

    # Straight to one server of the pair: TLS is fine, but what the STS shows is under the
    # public base, not under the address used; and a wrong friendly path finds nothing.
    beside = runner.invoke(cli, ["proxy", "verify", f"https://{PAIR[0]}:{proxied.sts_port}",
                                 "--ca-file", str(proxied.ca_file), "--sp-entity-id", sp_entity])
    assert beside.exit_code == 1
    assert f"is not under https://127.0.0.2:{proxied.sts_port}" in beside.stdout
    wrong = runner.invoke(cli, ["proxy", "verify", proxied.base.replace("PureConnect", "Pure"),
                                "--insecure"])
    assert wrong.exit_code == 1 and "404" in wrong.stdout


def connections_with_the_pair(port: int) -> set[tuple[str, str]]:
    """Every TCP connection with an STS of the pair that the kernel still knows of, open or
    closed less than a minute ago (TIME-WAIT), as (STS end, other end), each "address:port".
    Read from /proc/net/tcp: only nginx (and this test's direct probes) connect to the pair."""
    sts = {f"{address}:{port}" for address in PAIR}

    def end(text: str) -> str:  # "0200007F:1F63": the address as a native-order number
        address, port = text.split(":")
        return f"{socket.inet_ntoa(struct.pack('=I', int(address, 16)))}:{int(port, 16)}"

    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        if state == "0A":  # LISTEN
            continue
        ends = (end(local), end(remote))
        if ends[0] in sts:
            found.add(ends)
        elif ends[1] in sts:
            found.add((ends[1], ends[0]))
    return found


def test_the_proxy_reuses_its_connections_to_the_sts(proxied: Proxied) -> None:
    """nginx keeps its connections to the STS open (upstream keepalive): 30 requests through
    the proxy open hardly any new connection to the pair, where nginx without keepalive would
    open one per request (each then visible in TIME-WAIT for a minute)."""
    requests = 30
    before = connections_with_the_pair(proxied.sts_port)
    answered = sum(log.read_text().count('"GET /healthz"') for log in proxied.sts_logs.values())
    trust = ssl.create_default_context(cafile=str(proxied.ca_file))
    with httpx.Client(verify=trust, timeout=10) as client:  # one connection, one nginx worker
        for i in range(requests):
            response = client.get(proxied.base + "/healthz")
            assert response.status_code == 200, f"request {i}: {response.status_code}"
    opened = connections_with_the_pair(proxied.sts_port) - before

    # every request did reach an STS of the pair (each writes its line after answering)
    deadline = time.monotonic() + 5
    while sum(log.read_text().count('"GET /healthz"') for log in proxied.sts_logs.values()) \
            < answered + requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sum(log.read_text().count('"GET /healthz"')
               for log in proxied.sts_logs.values()) == answered + requests
    # the worker that served them had at most one connection to open (none if it kept one
    # from an earlier test); a little slack, still far below one per request
    assert len(opened) <= 3, f"{len(opened)} new connections to the STS for {requests} " \
                             f"requests: {sorted(opened)}"


def test_a_wrong_password_through_the_proxy_shows_the_form_again_under_the_public_base(
        proxied: Proxied) -> None:
    """POSTs take the other location and upstream (a new connection each): the public base
    still reaches the STS, and the page it answers leads back through the proxy."""
    trust = ssl.create_default_context(cafile=str(proxied.ca_file))
    with httpx.Client(verify=trust, timeout=10) as client:
        page = client.get(proxied.base + "/ICNotifierIDP/login", params=authn_request_query(
            f"{proxied.sp}/metadata", proxied.base + SSO_PATH))
        assert page.status_code == 200 and 'name="password"' in page.text
        answer = client.post(proxied.base + SSO_PATH, data={
            "ctx": hidden(page.text, "ctx"), "csrf": hidden(page.text, "csrf"),
            "user_id": "alice", "password": "not the password"})
    assert answer.status_code == 401
    assert f'action="{proxied.base}/ICNotifierIDP/login' in answer.text
    deadline = time.monotonic() + 5  # nginx writes the line once the answer is sent
    while '"POST /ICNotifierIDP/login" 401' not in proxied.nginx_log.read_text():
        assert time.monotonic() < deadline, "no access log line for the POST"
        time.sleep(0.05)


def test_logon_through_the_proxy_survives_a_switchover(proxied: Proxied,
                                                       browser: Browser) -> None:
    before = {address: proxied.served_logons(address) for address in PAIR}
    trust = ssl.create_default_context(cafile=str(proxied.ca_file))
    for attempt in range(6):  # round robin: logons until both servers have served one
        with visit(browser) as seen:
            log_on(proxied, seen)
            assert_stayed_under_the_public_base(proxied, seen)
        if all(proxied.served_logons(a) > before[a] for a in PAIR):
            break
        # A logon is a few GETs (page, stylesheet, script) that alternate between the servers:
        # 1, 2, 3, ... more GETs shift the alternation whatever their number per logon.
        for _ in range(attempt + 1):
            httpx.get(proxied.base + "/healthz", verify=trust, timeout=10)
    else:
        raise AssertionError("six logons, and one server of the pair served none")

    served, other = PAIR
    stop(proxied.sts[served])  # drains 3 s (still answering), then refuses connections
    before_other = proxied.served_logons(other)

    with visit(browser) as seen:  # a new browser: no STS session, the password is asked again
        log_on(proxied, seen)
        assert_stayed_under_the_public_base(proxied, seen)
    assert proxied.served_logons(other) > before_other

    trust = ssl.create_default_context(cafile=str(proxied.ca_file))
    with httpx.Client(verify=trust, timeout=10) as client:
        for i in range(50):
            path = METADATA_PATH if i % 2 else "/healthz"
            response = client.get(proxied.base + path)
            assert response.status_code == 200, f"request {i}: {response.status_code}"
            if path == METADATA_PATH:
                assert f'Location="{proxied.base}/ICNotifierIDP/login' in response.text

    # nginx tried the stopped server first, then the other, inside one request
    access = proxied.nginx_log.read_text()
    assert f"upstream={served}:{proxied.sts_port}, {other}:{proxied.sts_port}" in access
    statuses = re.findall(r'^\S+ \[[^]]+\] "[A-Z]+ \S+" (\d{3}) ', access, re.MULTILINE)
    assert len(statuses) >= 50 and not [s for s in statuses if s.startswith("5")]
