"""The HAProxy renderer (`cic-sts proxy haproxy`): the same inputs as nginx's, its own templates.

Golden tests on the corpus of tests/test_proxy_render.py (each `NAME.toml` also renders as
`NAME.haproxy.cfg`, with the key beside the certificate as HAProxy wants it), the semantics read
back from the output section by section, the real `haproxy -c` on each, and real HAProxy in
front of a small HTTPS server for what a check cannot show (the friendly path stripped, the
public base header, GETs and POSTs to their backends). Regenerate the expected files with
``CIC_STS_UPDATE_GOLDEN=1``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import ssl
import subprocess
import time
import tomllib
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from flask import Flask, request

from idp.cli import cli
from idp.errors import ProxyConfigError
from idp.proxy.check import NginxRejected, proxy_check
from idp.proxy.model import CONNECT_TIMEOUT, ProxyInputs, Upstream
from idp.proxy.render import render
from idp.proxy.sources import from_settings
from idp.proxy.validate import validate
from tests.servers import flask_server, free_port

CORPUS = Path(__file__).resolve().parent / "testdata" / "proxy"
CASES = sorted(path.stem for path in CORPUS.glob("*.toml"))
UPDATE = os.environ.get("CIC_STS_UPDATE_GOLDEN") == "1"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
needs_haproxy = pytest.mark.skipif(not os.access(HAPROXY, os.X_OK),
                                   reason="haproxy is not installed")
Section = list[tuple[str, list[str]]]


def load_case(name: str) -> ProxyInputs:
    raw = tomllib.loads((CORPUS / f"{name}.toml").read_text(encoding="utf-8"))
    raw.pop("snippet", None)  # HAProxy has no conf.d: always a complete haproxy.cfg
    raw.pop("log_dir", None)  # HAProxy logs to syslog
    raw["tls_key"] = raw["tls_certificate"] + ".key"  # where HAProxy looks for it
    return validate(from_settings(raw, CORPUS, section=name), "haproxy").inputs


def golden(name: str) -> Path:
    return CORPUS / f"{name}.haproxy.cfg"


def sections(text: str) -> dict[str, Section]:
    """`global`, `defaults`, `frontend NAME`, `backend NAME` -> their (keyword, args) lines,
    comments dropped; a quoted argument stays one."""
    found: dict[str, Section] = {}
    current: Section = []
    for line in text.splitlines():
        words = re.findall(r'"(?:\\.|[^"\\])*"|[^\s#][^\s]*|#.*', line)
        words = words[:next((i for i, w in enumerate(words) if w.startswith("#")), len(words))]
        if not words:
            continue
        if not line[0].isspace():
            current = found.setdefault(" ".join(words), [])
        else:
            current.append((words[0], words[1:]))
    return found


def values(section: Section, keyword: str) -> list[list[str]]:
    return [args for key, args in section if key == keyword]


@pytest.mark.parametrize("name", CASES)
def test_golden_text(name: str) -> None:
    text = render(load_case(name), proxy="haproxy").text
    if UPDATE:
        golden(name).write_text(text, encoding="utf-8")
    assert golden(name).is_file(), f"no {golden(name).name}: run with CIC_STS_UPDATE_GOLDEN=1"
    assert text == golden(name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", CASES)
def test_golden_semantics(name: str) -> None:
    inputs = load_case(name)
    parsed = sections(golden(name).read_text(encoding="utf-8"))
    assert values(parsed["global"], "pidfile") == [["/run/haproxy.pid"]]
    assert values(parsed["global"], "user") == [["haproxy"]]
    defaults = parsed["defaults"]
    assert values(defaults, "timeout") == [
        ["connect", f"{CONNECT_TIMEOUT}s"], ["client", "30s"], ["http-request", "30s"],
        ["http-keep-alive", "30s"], ["server", f"{inputs.logon_timeout}s"], ["check", "1s"]]

    front = parsed["frontend pureconnect_sts"]
    assert [args[-3:] for args in values(front, "bind")] == [
        ["ssl", "crt", inputs.tls_certificate]] * len(inputs.listen_hosts)
    log_format = values(front, "log-format")[0][0]
    assert "%HPO" in log_format and "%HU" not in log_format  # never the query string
    friendly = inputs.friendly_path
    # the configured public base and host, never the client's own header or Host; an outer
    # proxy's header passes only from its addresses
    base_header = ["set-header", "ININ-REMAP-BASE-URL", inputs.public_base_url]
    if inputs.outer_proxies:
        base_header += ["unless", "from_outer_proxy", "{", "req.hdr(ININ-REMAP-BASE-URL)", "-m",
                        "reg", ".", "}"]
        assert values(front, "acl") == [["from_outer_proxy", "src", *inputs.outer_proxies]]
    else:
        assert values(front, "acl") == []
    assert [args for args in values(front, "http-request") if args[:1] == ["set-header"]] == [
        base_header, ["set-header", "Host", inputs.public_origin.removeprefix("https://")]]
    if friendly:
        assert ["deny", "deny_status", "404", "unless", "{", "path_beg", f"/{friendly}/", "}"] \
            in values(front, "http-request")
        assert ["replace-path", f"^/{re.escape(friendly)}/(.*)$", "/\\1"] \
            in values(front, "http-request")
    assert values(front, "use_backend") == [["pureconnect_logons", "unless", "METH_GET"]]
    assert values(front, "default_backend") == [["pureconnect_servers"]]

    gets, posts = parsed["backend pureconnect_servers"], parsed["backend pureconnect_logons"]
    addresses = [s.address for s in inputs.servers]
    names = [f"sts{i}" for i in range(1, len(addresses) + 1)]
    checked = [args[:2] for args in values(gets, "server") if "backup" not in args]
    assert checked == [[n, a] for n, a in zip(names, addresses, strict=True)]
    [defaults_of_gets] = values(gets, "default-server")
    assert defaults_of_gets[:11] == ["check", "inter", "500ms", "fastinter", "250ms",
                                     "downinter", "500ms", "rise", "1", "fall", "2"]
    assert values(gets, "option")[:1] == [["httpchk"]]
    assert values(gets, "http-check") == [
        ["send", "meth", "GET", "uri", "/readyz", "ver", "HTTP/1.1", "hdr", "Host",
         inputs.server_name], ["expect", "status", "200"]]
    assert values(gets, "timeout") == [["server", f"{inputs.quick_timeout}s"]]
    assert values(gets, "retry-on") == [["conn-failure", "empty-response", "response-timeout"]]
    # the logon backend: the servers' state tracked, a new connection for every request, and
    # a retry only when the connection failed (never a POST that was sent)
    assert [args[:4] for args in values(posts, "server") if "backup" not in args] == [
        [n, a, "track", f"pureconnect_servers/{n}"] for n, a in zip(names, addresses,
                                                                     strict=True)]
    assert ["http-server-close"] in values(posts, "option")
    assert values(posts, "retry-on") == [["conn-failure"]]
    assert values(posts, "timeout") == []  # defaults' timeout server: the logon timeout
    for backend in (gets, posts):
        # the fallback: the same servers again, used only while every one above is out
        fallbacks = [args for args in values(backend, "server") if "backup" in args]
        assert [args[:2] for args in fallbacks] == [[f"{n}-fallback", a] for n, a in
                                                    zip(names, addresses, strict=True)]
        assert ["allbackups"] in values(backend, "option")
        assert ["redispatch", "1"] in values(backend, "option")
        [server_defaults] = values(backend, "default-server")
        if inputs.upstream_ca:
            assert ["verify", "required"] == server_defaults[server_defaults.index("verify"):][:2]
            assert inputs.upstream_ca in server_defaults
        else:
            assert server_defaults[-3:] == ["ssl", "verify", "none"]
        balance = {"ip_hash": ["source"]}.get(inputs.stickiness, ["roundrobin"])
        assert values(backend, "balance") == [balance]
        assert bool(values(backend, "cookie")) == (inputs.stickiness == "sticky-cookie")


@needs_haproxy
@pytest.mark.parametrize("name", CASES)
def test_golden_passes_haproxy_c(name: str) -> None:
    inputs = load_case(name)
    assert render(inputs, proxy="haproxy").text == golden(name).read_text(encoding="utf-8")
    checked = proxy_check(inputs, "haproxy", executable=HAPROXY)
    assert "Configuration file is valid" in checked.output
    assert checked.stand_ins  # the corpus names files on a proxy machine, not here


@needs_haproxy
def test_haproxy_c_reports_its_message_and_the_line(tmp_path: Path) -> None:
    broken = tmp_path / "templates"
    shutil.copytree(CORPUS.parent.parent.parent / "proxy_templates", broken)
    template = broken / "haproxy.cfg.j2"
    template.write_text(template.read_text().replace("    option allbackups\n",
                                                     "    option all-backups\n"))
    inputs = load_case("seed_example")
    with pytest.raises(NginxRejected) as info:
        proxy_check(inputs, "haproxy", executable=HAPROXY, templates=broken)
    rendered = render(inputs, templates=broken, proxy="haproxy").text.split("\n")
    assert info.value.line is not None
    assert rendered[info.value.line - 1].strip() == "option all-backups"
    assert "haproxy -c rejected the generated configuration (haproxy.cfg)" in str(info.value)
    assert f"line {info.value.line} of haproxy.cfg: option all-backups" in str(info.value)


def test_haproxy_has_no_snippet() -> None:
    with pytest.raises(ProxyConfigError, match="HAProxy has no conf.d"):
        render(load_case("seed_example"), snippet=True, proxy="haproxy")


def echo_app() -> Flask:
    """Says what reached it: method, path, the public base header."""
    app = Flask("echo")

    @app.route("/<path:path>", methods=["GET", "POST"])
    def echo(path: str) -> dict[str, str]:
        return {"method": request.method, "path": "/" + path,
                "base": request.headers.get("ININ-REMAP-BASE-URL", "")}
    return app


@needs_haproxy
@pytest.mark.skipif(os.geteuid() != 0, reason="the generated haproxy.cfg drops to user haproxy")
def test_real_haproxy_strips_the_friendly_path_and_sets_the_public_base(
        tmp_path: Path, key_dir: Path) -> None:
    echo_port, port = free_port("127.0.0.2"), free_port()
    pem = tmp_path / "proxy.pem"
    pem.write_text((key_dir / "tls.crt").read_text() + (key_dir / "tls.key").read_text())
    inputs = replace(load_case("verified_upstream"), servers=(Upstream("127.0.0.2", echo_port),),
                     public_host="127.0.0.1", listen_address="127.0.0.1", public_port=port,
                     redirect_http=False, tls_certificate=str(pem), tls_key=str(pem),
                     upstream_ca=str(key_dir / "tls.crt"), upstream_name="localhost",
                     pid_file=str(tmp_path / "haproxy.pid"), outer_proxies=("127.0.0.3/32",))
    conf = tmp_path / "haproxy.cfg"
    conf.write_text(render(inputs, proxy="haproxy").text)
    base = f"https://127.0.0.1:{port}/sso/Pure.Connect"
    with flask_server(echo_app(), "127.0.0.2", echo_port, key_dir / "tls.crt",
                      key_dir / "tls.key"):
        haproxy = subprocess.Popen([HAPROXY, "-db", "-f", str(conf)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        try:
            trust = ssl.create_default_context(cafile=str(key_dir / "tls.crt"))
            with httpx.Client(verify=trust, timeout=5) as browser:
                for _ in range(100):
                    try:
                        answer = browser.get(f"{base}/ICNotifierIDP/metadata")
                        if answer.status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    time.sleep(0.05)
                assert answer.json() == {"method": "GET", "path": "/ICNotifierIDP/metadata",
                                         "base": base}
                # a browser's own header is replaced by the public base ...
                posted = browser.post(f"{base}/ICNotifierIDP/login", data={"a": "b"},
                                      headers={"ININ-REMAP-BASE-URL": "https://evil/x"})
                assert posted.json() == {"method": "POST", "path": "/ICNotifierIDP/login",
                                         "base": base}
            # ... an outer proxy's (from its address) is passed on
            outer = httpx.HTTPTransport(verify=trust, local_address="127.0.0.3")
            with httpx.Client(transport=outer, timeout=5) as proxy_in_front:
                posted = proxy_in_front.post(f"{base}/ICNotifierIDP/login", data={"a": "b"},
                                             headers={"ININ-REMAP-BASE-URL": "https://outer/x"})
                assert posted.json() == {"method": "POST", "path": "/ICNotifierIDP/login",
                                         "base": "https://outer/x"}
            with httpx.Client(verify=trust, timeout=5) as browser:
                assert browser.get(f"https://127.0.0.1:{port}/elsewhere").status_code == 404
                assert browser.get(f"https://127.0.0.1:{port}/sso/PurexConnect/"
                                   "ICNotifierIDP/metadata").status_code == 404
        finally:
            haproxy.terminate()
            haproxy.wait(timeout=10)


# -- the command ---------------------------------------------------------------------------------

SEED = ["--server", "10.1.2.3", "--server", "10.1.2.4", "--public-host", "appserver.xyzcorp.com"]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def pem(tmp_path: Path, key_dir: Path) -> str:
    combined = tmp_path / "proxy.pem"
    combined.write_text((key_dir / "tls.crt").read_text() + (key_dir / "tls.key").read_text())
    return str(combined)


def test_haproxy_prints_the_config_and_the_genesys_values(pem: str) -> None:
    result = run("proxy", "haproxy", *SEED, "--tls-cert", pem, "--tls-key", pem)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# cic-sts generated sha256=")
    assert "backend pureconnect_servers" in result.stdout
    assert ("Target URL: https://appserver.xyzcorp.com/PureConnect/ICNotifierIDP/login"
            "?loginType=saml") in result.stderr
    assert "warning: the STS servers' certificates are not verified" in result.stderr


@needs_haproxy
def test_haproxy_check_passes_and_writes_the_file(tmp_path: Path, pem: str) -> None:
    out = tmp_path / "haproxy.cfg"
    result = run("proxy", "haproxy", *SEED, "--tls-cert", pem, "--tls-key", pem, "--check",
                 "--output", str(out), "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["kind"] == "haproxy.cfg" and data["written"] == "created"
    assert "Configuration file is valid" in data["check"]["output"]
    assert out.read_text() == data["config"]


def test_haproxy_wants_the_key_where_it_reads_it(tmp_path: Path, key_dir: Path,
                                                 pem: str) -> None:
    certificate, key = str(key_dir / "tls.crt"), str(key_dir / "tls.key")
    result = run("proxy", "haproxy", *SEED, "--tls-cert", certificate, "--tls-key", key)
    assert result.exit_code == 2
    assert (f"Error: --tls-key: {key}: HAProxy reads the private key from the certificate's "
            f"file or from {certificate}.key") in result.stderr
    beside = tmp_path / "proxy.pem.key"
    beside.write_text(Path(key).read_text())
    ok = run("proxy", "haproxy", *SEED, "--tls-cert", pem, "--tls-key", str(beside),
             "--log-dir", "/var/log/x")
    assert ok.exit_code == 0, ok.output
    assert "warning: --log-dir: not used: HAProxy logs to syslog" in ok.stderr
    snippet = run("proxy", "haproxy", *SEED, "--tls-cert", pem, "--tls-key", pem, "--snippet")
    assert snippet.exit_code == 2 and "No such option '--snippet'" in snippet.stderr
