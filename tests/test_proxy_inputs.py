"""Inputs of the proxy generator (idp.proxy.validate) and the `cic-sts proxy` command.

Every bad input gets one error naming the option (or the configuration key) it came from, and
nothing a user types can reach the configuration as more than one bare token.
"""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from idp.cli import cli
from idp.commands.sso_form import sso_form_values
from idp.config import load_config
from idp.errors import ProxyConfigError
from idp.proxy.model import ProxyInputs, Upstream, Validated
from idp.proxy.render import render
from idp.proxy.sources import from_config, from_options, from_settings
from idp.proxy.validate import validate
from idp.proxy.verify import _Links, authn_request_query, under
from idp.proxy.write import stamp
from idp.saml.request import parse_authn_request
from tests.conftest import write_config
from tests.servers import free_port

SEED = ["--server", "10.1.2.3", "--server", "10.1.2.4", "--public-host", "appserver.xyzcorp.com"]


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No configuration file unless a test writes one; relative paths resolve in tmp_path."""
    monkeypatch.delenv("CIC_STS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def tls(key_dir: Path) -> dict[str, Any]:
    return {"tls_certificate": str(key_dir / "tls.crt"), "tls_key": str(key_dir / "tls.key")}


def options(**values: Any) -> Validated:
    """Validate as if typed on the command line (the seed's servers and host by default)."""
    given: dict[str, Any] = {"servers": ("10.1.2.3", "10.1.2.4"),
                             "public_host": "appserver.xyzcorp.com"}
    given.update(values)
    return validate(from_options(given, Path.cwd()))


def refused(**values: Any) -> str:
    with pytest.raises(ProxyConfigError) as info:
        options(**values)
    return str(info.value)


# -- each validation error names its option ------------------------------------------------------


@pytest.mark.parametrize(("values", "message"), [
    ({"servers": ()}, "--server: the STS servers of the switchover pair are required"),
    ({"servers": ("10.1.2.300",)}, "--server: '10.1.2.300' is not a valid IP address"),
    ({"servers": ("10.1.2.3:0",)}, "--server (10.1.2.3:0): port 0 is out of range (1-65535)"),
    ({"servers": ("10.1.2.3:65536",)}, "port 65536 is out of range (1-65535)"),
    ({"servers": ("cic1:https",)}, "--server: 'cic1:https': the port after ':' must be a number"),
    ({"servers": ("10.1.2.3", "10.1.2.3:8043")}, "--server: 10.1.2.3:8043 is listed twice"),
    ({"servers": ("-cic1.xyzcorp.com",)}, "is not a valid host name"),
    ({"servers": ("cic1_xyzcorp",)}, "it contains '_'"),
    ({"servers": ("fd00::4%eth0",)}, "it contains '%'"),
    ({"public_host": None}, "--public-host: required"),
    ({"public_host": "app server"}, "--public-host: 'app server' is not a host name or IP "
                                    "address (it contains a space)"),
    ({"public_port": 0}, "--public-port: port 0 is out of range (1-65535)"),
    ({"public_port": 70000}, "--public-port: port 70000 is out of range (1-65535)"),
    ({"friendly_path": "Pure Connect"},
     "--friendly-path: 'Pure Connect': only letters, digits and . _ ~ - are allowed in the "
     "friendly path, not a space"),
    ({"friendly_path": 'Pure"Connect'}, "not a double quote"),
    ({"friendly_path": "Pure'Connect"}, "not a single quote"),
    ({"friendly_path": "Pure{Connect}"}, "not a brace"),
    ({"friendly_path": "Pure;Connect"}, "not a semicolon"),
    ({"friendly_path": "$host"}, "not a dollar sign"),
    ({"friendly_path": "Pure\nConnect"}, "not a line break"),
    ({"friendly_path": "Pure#Connect"}, "not a hash sign"),
    ({"friendly_path": "Pure\\Connect"}, "not a backslash"),
    ({"friendly_path": "Pure%20Connect"}, "not '%'"),
    ({"friendly_path": "Püre"}, "not 'ü'"),
    ({"friendly_path": "../etc"}, "--friendly-path: '../etc': '.' and '..' segments are not "
                                  "allowed"),
    ({"friendly_path": "a/../b"}, "'.' and '..' segments are not allowed"),
    ({"friendly_path": "a//b"}, "--friendly-path: 'a//b' has an empty segment"),
    ({"listen_address": "localhost"}, "--listen-address: 'localhost' is not an IP address"),
    ({"tls_certificate": None}, "--tls-cert: required"),
    ({"stickiness": "least_conn"}, "--stickiness: one of ip_hash, sticky-cookie, none, "
                                   "got 'least_conn'"),
    ({"log_dir": "logs"}, "--log-dir: 'logs': give an absolute path"),
    ({"log_dir": "/var/log/my logs"}, "--log-dir: '/var/log/my logs': a path in the proxy "
                                      "configuration may only contain"),
    ({"redirect_http": True, "public_port": 80}, "--redirect-http: the public port is already 80"),
])
def test_each_bad_input_gets_one_error_naming_its_option(values: dict[str, Any], message: str,
                                                         tls: dict[str, Any]) -> None:
    assert message in refused(**{**tls, **values})


def test_missing_certificate_here_is_an_error_that_suggests_cert_on_target(
        tls: dict[str, Any]) -> None:
    message = refused(**{**tls, "tls_certificate": "proxy.crt"})
    assert message.startswith("--tls-cert: ")
    assert str(Path.cwd() / "proxy.crt") in message  # relative to the working directory
    assert "no such file (if it is a path on the proxy machine, add --cert-on-target)" in message


def test_certificates_on_the_proxy_machine_are_warnings_but_must_be_absolute(
        tls: dict[str, Any]) -> None:
    validated = options(tls_certificate="/etc/nginx/proxy.crt", tls_key="/etc/nginx/proxy.key",
                        certificates_on_target=True)
    assert validated.inputs.tls_certificate == "/etc/nginx/proxy.crt"
    assert [w for w in validated.warnings if "not on this machine" in w] == [
        "--tls-cert: /etc/nginx/proxy.crt is not on this machine; it must exist on the proxy "
        "machine",
        "--tls-key: /etc/nginx/proxy.key is not on this machine; it must exist on the proxy "
        "machine"]
    message = refused(tls_certificate="proxy.crt", tls_key="/etc/nginx/proxy.key",
                      certificates_on_target=True)
    assert message == ("--tls-cert: 'proxy.crt': with the files on the proxy machine "
                       "(--cert-on-target), give their absolute path there")


def test_certificate_files_must_be_pem(tmp_path: Path, tls: dict[str, Any]) -> None:
    der = tmp_path / "proxy.cer"
    der.write_bytes(b"\x30\x82\x01\x0a")
    assert "--tls-cert: " in refused(**{**tls, "tls_certificate": str(der)})
    assert "is not a PEM certificate" in refused(**{**tls, "tls_certificate": str(der)})
    assert "--tls-key: " in refused(**{**tls, "tls_key": tls["tls_certificate"]})
    assert "is not a PEM private key" in refused(**{**tls, "tls_key": tls["tls_certificate"]})


def test_certificate_that_does_not_name_the_public_host_is_a_warning(
        tls: dict[str, Any]) -> None:
    validated = options(**tls)
    assert any("does not name appserver.xyzcorp.com" in w and "localhost" in w
               for w in validated.warnings)
    assert not any("does not name" in w for w in
                   options(**tls, public_host="127.0.0.2").warnings)


@pytest.mark.parametrize(("values", "message"), [
    ({"upstream_ca": "CA"}, "--upstream-ca: needs --upstream-name too"),
    ({"upstream_name": "sts.xyzcorp.local"}, "--upstream-name: only used together with "
                                             "--upstream-ca"),
    ({"upstream_ca": "CA", "upstream_name": "10.1.2.3"}, "--upstream-name: '10.1.2.3': nginx "
                                                          "checks a host name"),
    ({"upstream_ca": "CA", "upstream_name": "sts;x"}, "--upstream-name: 'sts;x' is not a host"),
    ({"upstream_ca": "CA", "verify_upstream": False}, "--no-verify-upstream contradicts "
                                                      "--upstream-ca"),
    ({"upstream_ca": "missing.pem", "upstream_name": "sts"}, "--upstream-ca: "),
])
def test_upstream_verification_needs_a_ca_and_a_name(values: dict[str, Any], message: str,
                                                      tls: dict[str, Any]) -> None:
    if values.get("upstream_ca") == "CA":
        values = {**values, "upstream_ca": tls["tls_certificate"]}
    assert message in refused(**{**tls, **values})


def test_upstream_verification_off_is_a_warning(tls: dict[str, Any]) -> None:
    default = options(**tls)
    assert default.inputs.upstream_ca is None
    assert any("not verified" in w and "--upstream-ca FILE --upstream-name NAME" in w
               for w in default.warnings)
    explicit = options(**tls, verify_upstream=False)
    assert any(w.startswith("--no-verify-upstream: ") for w in explicit.warnings)
    verified = options(**tls, upstream_ca=tls["tls_certificate"], upstream_name="localhost")
    assert verified.inputs.upstream_ca == tls["tls_certificate"]
    assert verified.inputs.upstream_name == "localhost"
    assert not any("not verified" in w for w in verified.warnings)


def test_one_server_is_a_warning_and_ports_default_to_8043(tls: dict[str, Any]) -> None:
    validated = options(**tls, servers=("CIC1.xyzcorp.com",))
    assert validated.inputs.servers == (Upstream("cic1.xyzcorp.com", 8043),)
    assert any("only one server" in w for w in validated.warnings)
    pair = options(**tls, servers=("[fd00::3]:9443", "fd00::4", "10.1.2.3:8044")).inputs
    assert [s.address for s in pair.servers] == ["[fd00::3]:9443", "[fd00::4]:8043",
                                                 "10.1.2.3:8044"]


def test_friendly_path_forms(tls: dict[str, Any]) -> None:
    assert options(**tls, friendly_path="/PureConnect/").inputs.friendly_path == "PureConnect"
    assert options(**tls, friendly_path="sso/Pure.Connect~1-x_y").inputs.friendly_path == \
        "sso/Pure.Connect~1-x_y"
    at_root = options(**tls, friendly_path="").inputs
    assert at_root.friendly_path == ""
    assert at_root.target_url == ("https://appserver.xyzcorp.com/ICNotifierIDP/login"
                                  "?loginType=saml")
    assert options(**tls).inputs.friendly_path == "PureConnect"


def test_genesys_values_follow_the_public_address(tls: dict[str, Any]) -> None:
    seed = options(**tls).inputs
    assert seed.target_url == ("https://appserver.xyzcorp.com/PureConnect/ICNotifierIDP/login"
                               "?loginType=saml")
    assert seed.issuer == "https://appserver.xyzcorp.com"
    other_port = options(**tls, public_port=8443, public_host="FD00::1").inputs
    assert other_port.target_url == ("https://[fd00::1]:8443/PureConnect/ICNotifierIDP/login"
                                     "?loginType=saml")
    assert other_port.issuer == "https://[fd00::1]"


# -- nothing typed can inject a directive --------------------------------------------------------

PAYLOADS = [";", "; include /etc/shadow;", "x}\nserver {", "x #", "$host", '"', "'", "\n",
            "\r\n", "x y", "\\", "{", "`", "\t", "x\x00"]
TEXT_INPUTS = ["servers", "public_host", "friendly_path", "listen_address", "tls_certificate",
               "tls_key", "upstream_name", "log_dir", "stickiness"]


@pytest.mark.parametrize("key", TEXT_INPUTS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_attempts_are_refused(key: str, payload: str, tls: dict[str, Any]) -> None:
    values: dict[str, Any] = {**tls, "upstream_ca": tls["tls_certificate"],
                              "upstream_name": "localhost"}
    legal = {"servers": "10.1.2.3", "public_host": "appserver.xyzcorp.com",
             "friendly_path": "PureConnect", "listen_address": "192.0.2.1",
             "tls_certificate": tls["tls_certificate"], "tls_key": tls["tls_key"],
             "upstream_name": "localhost", "log_dir": "/var/log/nginx", "stickiness": "none"}
    for text in (payload, legal[key] + payload, payload + legal[key]):
        values[key] = (text, "10.1.2.4") if key == "servers" else text
        with pytest.raises(ProxyConfigError) as info:
            options(**values)
        assert str(info.value).startswith(f"--{key.replace('_', '-')}".replace(
            "--servers", "--server").replace("--tls-certificate", "--tls-cert"))


def test_render_refuses_unvalidated_values() -> None:
    """A second line of defence: inputs that skipped validation do not render."""
    evil = ProxyInputs(servers=(Upstream("10.1.2.3", 8043),), public_host="x;\n include y",
                       tls_certificate="/a.crt", tls_key="/a.key")
    with pytest.raises(ProxyConfigError, match="refusing to render public_host"):
        render(evil)


# -- where values come from ----------------------------------------------------------------------


def test_settings_from_the_configuration_and_options_that_override_them(
        tmp_path: Path, key_dir: Path) -> None:
    path = write_config(tmp_path, key_dir)
    text = path.read_text().replace("[server]\n", '[server]\npublic_base_url = '
                                    '"https://sso.xyzcorp.com:8443/cic/sts"\n')
    path.write_text(text + """
[proxy]
servers = ["10.1.2.3", "10.1.2.4"]
tls_certificate = "certs/tls.crt"
tls_key = "certs/tls.key"
stickiness = "none"
""")
    config = load_config(path)
    from_file = validate(from_config(config)).inputs
    assert from_file.public_host == "sso.xyzcorp.com"  # from server.public_base_url
    assert from_file.public_port == 8443
    assert from_file.friendly_path == "cic/sts"
    assert from_file.tls_certificate == str(tmp_path / "certs" / "tls.crt")  # relative to file
    assert from_file.stickiness == "none"
    given = from_config(config)
    given.update(from_options({"stickiness": "ip_hash", "friendly_path": "", "servers": (),
                               "public_port": None}, tmp_path))
    overridden = validate(given).inputs
    assert (overridden.stickiness, overridden.friendly_path) == ("ip_hash", "")
    assert overridden.public_port == 8443 and len(overridden.servers) == 2

    bad = from_config(config)
    bad.update(from_settings({"friendly_path": "a b"}, tmp_path))
    with pytest.raises(ProxyConfigError, match=r"^proxy\.friendly_path: "):
        validate(bad)
    with pytest.raises(ProxyConfigError, match=r"^proxy\.colour: unknown setting"):
        from_settings({"colour": "blue"}, tmp_path)
    with pytest.raises(ProxyConfigError, match=r"^proxy\.servers: expected a list"):
        validate(from_settings({"servers": "10.1.2.3"}, tmp_path))
    with pytest.raises(ProxyConfigError, match=r"^proxy\.redirect_http: expected true or false"):
        validate({**from_config(config), **from_settings({"redirect_http": "yes"}, tmp_path)})


def test_switchover_timing_inputs(tls: dict[str, Any]) -> None:
    default = options(**tls).inputs
    assert (default.quick_timeout, default.logon_timeout) == (3, 30)
    assert default.stickiness == "none" and default.pid_file is None
    tuned = options(**tls, quick_timeout="5", logon_timeout=40, pid_file="run/./nginx.pid")
    assert (tuned.inputs.quick_timeout, tuned.inputs.logon_timeout) == (5, 40)
    assert tuned.inputs.pid_file == "run/nginx.pid"  # relative: under nginx's prefix
    assert refused(**tls, quick_timeout=0) == "--quick-timeout: 0 is out of range (1-60 s)"
    assert refused(**tls, logon_timeout="soon") == \
        "--logon-timeout: expected a number of seconds, got 'soon'"
    assert refused(**tls, quick_timeout=10, logon_timeout=5) == (
        "--logon-timeout: 5 s is shorter than --quick-timeout (10 s): a logon may wait on CIC, "
        "a GET never does")
    assert "not a semicolon" in refused(**tls, pid_file="/run/x;y.pid")


def test_stickiness_other_than_none_warns_with_nginx_only(tmp_path: Path,
                                                         tls: dict[str, Any]) -> None:
    warned = options(**tls, stickiness="ip_hash").warnings
    assert any(w.startswith("--stickiness: ip_hash: nginx cannot combine it with the backup "
                            "servers") for w in warned)
    assert not any("--stickiness" in w for w in options(**tls).warnings)
    pem = tmp_path / "proxy.pem"  # HAProxy: certificate and key in one file
    pem.write_text(Path(tls["tls_certificate"]).read_text() + Path(tls["tls_key"]).read_text())
    given = from_options({"servers": ("10.1.2.3", "10.1.2.4"), "public_host": "sts.example",
                          "stickiness": "ip_hash", "tls_certificate": str(pem),
                          "tls_key": str(pem)}, Path.cwd())
    assert not any("--stickiness" in w for w in validate(given, "haproxy").warnings)


def test_the_proxy_must_wait_longer_for_a_logon_than_the_sts_waits_for_cic(
        tmp_path: Path, key_dir: Path, tls: dict[str, Any]) -> None:
    path = write_config(tmp_path, key_dir, extra=(
        '\n[icws]\nservers = ["cic1"]\ntimeout = 10\nfailover_timeout = 15\n'))
    path.write_text(path.read_text().replace("[directory]\n", '[directory]\nbackend = "icws"\n'))
    result = run("--config", str(path), "proxy", "nginx", *SEED, "--tls-cert",
                 tls["tls_certificate"], "--tls-key", tls["tls_key"], "--format", "json")
    assert result.exit_code == 0, result.output
    assert any("a logon may wait 35 s on CIC" in w and "raise proxy.logon_timeout" in w
               for w in json.loads(result.stdout)["warnings"])
    longer = run("--config", str(path), "proxy", "nginx", *SEED, "--tls-cert",
                 tls["tls_certificate"], "--tls-key", tls["tls_key"], "--logon-timeout", "40",
                 "--format", "json")
    assert not any("on CIC" in w for w in json.loads(longer.stdout)["warnings"])


def test_wait_ready_names_the_server_that_is_not_ready(tmp_path: Path) -> None:
    nothing = run("proxy", "wait-ready", "--insecure")
    assert nothing.exit_code == 2 and "--server: name the STS servers" in nothing.stderr
    unverified = run("proxy", "wait-ready", "--server", "127.0.0.1")
    assert unverified.exit_code == 2 and "--upstream-ca" in unverified.stderr
    port = free_port()  # nothing listens there
    result = run("proxy", "wait-ready", "--server", f"127.0.0.1:{port}", "--insecure",
                 "--timeout", "0.3")
    assert result.exit_code == 1
    assert result.stdout.startswith(f"127.0.0.1:{port}: no answer (ConnectError")
    assert "not every server was ready within 0.3 s" in result.stderr


# -- the command ---------------------------------------------------------------------------------


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_nginx_prints_the_config_on_stdout_and_the_genesys_values_on_stderr(
        tls: dict[str, Any]) -> None:
    result = run("proxy", "nginx", *SEED, "--tls-cert", tls["tls_certificate"],
                 "--tls-key", tls["tls_key"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# cic-sts generated sha256=")
    assert "location /PureConnect/ {" in result.stdout
    assert "Genesys" not in result.stdout.split("\n", 1)[0]
    assert ("Target URL: https://appserver.xyzcorp.com/PureConnect/ICNotifierIDP/login"
            "?loginType=saml") in result.stderr
    assert "Provider's Issuer URI: https://appserver.xyzcorp.com" in result.stderr
    assert "warning: the STS servers' certificates are not verified" in result.stderr


def test_nginx_writes_a_file_and_then_prints_the_values_on_stdout(
        tmp_path: Path, tls: dict[str, Any]) -> None:
    out = tmp_path / "cic-sts.conf"
    args = ["proxy", "nginx", *SEED, "--tls-cert", tls["tls_certificate"], "--tls-key",
            tls["tls_key"], "--snippet", "--output", str(out)]
    first = run(*args)
    assert first.exit_code == 0, first.output
    assert f"created {out} (conf.d snippet)" in first.stdout
    assert "Target URL: https://appserver.xyzcorp.com/PureConnect/" in first.stdout
    assert out.read_text().startswith("# cic-sts generated sha256=")
    assert "upstream pureconnect_servers {" in out.read_text()
    assert f"unchanged {out}" in run(*args).stdout
    assert f"replaced {out}" in run(*args, "--stickiness", "ip_hash").stdout

    out.write_text(out.read_text() + "# a hand edit\n")
    refused = run(*args)
    assert refused.exit_code == 2
    assert "has been edited since; use --force" in refused.stderr
    assert out.read_text().endswith("# a hand edit\n")
    forced = run(*args, "--force")
    assert forced.exit_code == 0 and f"forced {out}" in forced.stdout
    assert not out.read_text().endswith("# a hand edit\n")


def test_nginx_json_for_automation(tls: dict[str, Any]) -> None:
    result = run("proxy", "nginx", *SEED, "--tls-cert", tls["tls_certificate"], "--tls-key",
                 tls["tls_key"], "--friendly-path", "", "--public-port", "8443",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["genesys"] == {
        "Target URL": "https://appserver.xyzcorp.com:8443/ICNotifierIDP/login?loginType=saml",
        "Provider's Issuer URI": "https://appserver.xyzcorp.com"}
    assert data["config"].startswith("# cic-sts generated sha256=")
    assert data["kind"] == "nginx.conf" and data["output"] is None and data["check"] is None
    assert data["sts_settings"]["server.public_base_url"] == "https://appserver.xyzcorp.com:8443"
    assert any("not verified" in w for w in data["warnings"])
    assert result.stderr == ""


def test_nginx_check_reports_nginx_error_and_line_and_writes_nothing(
        tmp_path: Path, tls: dict[str, Any]) -> None:
    out = tmp_path / "nginx.conf"
    result = run("proxy", "nginx", *SEED, "--tls-cert", tls["tls_certificate"], "--tls-key",
                 tls["tls_key"], "--stickiness", "sticky-cookie", "--check", "--output", str(out))
    assert result.exit_code == 2
    assert not out.exists()
    lines = render(options(**{"tls_certificate": tls["tls_certificate"],
                              "tls_key": tls["tls_key"], "stickiness": "sticky-cookie"}).inputs
                   ).text.split("\n")
    number = 1 + next(i for i, line in enumerate(lines) if line.strip().startswith("sticky "))
    assert f'nginx: [emerg] unknown directive "sticky" in {out}:{number}' in result.stderr
    assert f"line {number} of {out}: sticky cookie srv_id expires=1h;" in result.stderr


def test_nginx_check_passes_and_says_so(tmp_path: Path, tls: dict[str, Any]) -> None:
    result = run("proxy", "nginx", *SEED, "--tls-cert", tls["tls_certificate"], "--tls-key",
                 tls["tls_key"], "--check", "--format", "json")
    assert result.exit_code == 0, result.output
    check = json.loads(result.stdout)["check"]
    assert "test is successful" in check["output"]


def test_nginx_bad_option_is_one_line_exit_2(tls: dict[str, Any]) -> None:
    result = run("proxy", "nginx", *SEED, "--tls-cert", tls["tls_certificate"], "--tls-key",
                 tls["tls_key"], "--friendly-path", "Pure;Connect")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "Error: --friendly-path: 'Pure;Connect': only letters, digits and . _ ~ - are allowed "
        "in the friendly path, not a semicolon"]
    assert result.stdout == ""


def test_nginx_values_agree_with_genesys_settings_reading_the_same_config(
        tmp_path: Path, key_dir: Path) -> None:
    path = write_config(tmp_path, key_dir)
    text = path.read_text().replace(
        "[server]\n", '[server]\npublic_base_url = "https://appserver.xyzcorp.com/PureConnect"\n'
    ).replace("[idp]\n", '[idp]\nentity_id = "https://appserver.xyzcorp.com"\n')
    path.write_text(text + '\n[proxy]\nservers = ["10.1.2.3", "10.1.2.4"]\n'
                    'tls_certificate = "certs/tls.crt"\ntls_key = "certs/tls.key"\n')
    result = run("--config", str(path), "proxy", "nginx", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    sts = sso_form_values(load_config(path))
    assert data["genesys"] == {key: sts[key] for key in ("Target URL", "Provider's Issuer URI")}
    assert not any("the STS reports" in w or "issues assertions" in w for w in data["warnings"])


def test_nginx_warns_when_the_sts_would_report_other_values(tmp_path: Path,
                                                            key_dir: Path) -> None:
    path = write_config(tmp_path, key_dir)  # no public_base_url, entity ID of the machine
    result = run("--config", str(path), "proxy", "nginx", *SEED, "--tls-cert",
                 str(key_dir / "tls.crt"), "--tls-key", str(key_dir / "tls.key"),
                 "--format", "json")
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    assert any("the STS reports Target URL https://localhost:8043/ICNotifierIDP/login" in w and
               'server.public_base_url = "https://appserver.xyzcorp.com/PureConnect"' in w
               for w in warnings)
    assert any('idp.entity_id = "https://appserver.xyzcorp.com"' in w for w in warnings)


def test_a_named_configuration_file_must_exist(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "missing.toml"), "proxy", "nginx", *SEED)
    assert result.exit_code == 2
    assert "no configuration file" in result.stderr


# -- verify helpers (the live probe is in test_proxy_e2e.py) -------------------------------------


@pytest.mark.parametrize(("url", "base", "expected"), [
    ("https://app.x/PureConnect/ICNotifierIDP/login", "https://app.x/PureConnect", True),
    ("https://APP.x:443/PureConnect/a", "https://app.x/PureConnect", True),
    ("https://app.x/PureConnect", "https://app.x/PureConnect", True),
    ("https://app.x/PureConnectX/a", "https://app.x/PureConnect", False),
    ("https://app.x/ICNotifierIDP/login", "https://app.x/PureConnect", False),
    ("https://10.1.2.3:8043/ICNotifierIDP/login", "https://app.x/PureConnect", False),
    ("http://app.x/PureConnect/a", "https://app.x/PureConnect", False),
    ("https://app.x:8443/PureConnect/a", "https://app.x/PureConnect", False),
    ("https://app.x/anything", "https://app.x", True),
])
def test_under_the_public_base(url: str, base: str, expected: bool) -> None:
    assert under(url, base) is expected


def test_links_of_a_logon_page() -> None:
    page = _Links()
    page.feed('<link rel="stylesheet" href="https://a/P/ICNotifierIDP/static/sts.css">'
              '<form method="post" action="https://a/P/ICNotifierIDP/login" id="logon">'
              '<img src="/logo.svg"><p class="message" id="message">no SAML request</p>')
    assert page.sts and page.logon_form
    assert page.links == [("<link href>", "https://a/P/ICNotifierIDP/static/sts.css"),
                          ("<form action>", "https://a/P/ICNotifierIDP/login"),
                          ("<img src>", "/logo.svg")]
    assert page.message == ["no SAML request"]


def test_verify_sends_a_minimal_authn_request_the_sts_accepts() -> None:
    query = authn_request_query("urn:genesys:org & co", "https://a/P/ICNotifierIDP/login")
    assert query["loginType"] == "saml"
    xml = zlib.decompress(base64.b64decode(query["SAMLRequest"]), -zlib.MAX_WBITS)
    request = parse_authn_request(xml, 65536)
    assert request.issuer == "urn:genesys:org & co"
    assert request.acs_url is None and request.destination == "https://a/P/ICNotifierIDP/login"


def test_stamp_is_the_first_line_of_every_output(tls: dict[str, Any]) -> None:
    body = render(options(**tls).inputs).text.split("\n", 1)[1]
    assert render(options(**tls).inputs).text == stamp(body)
