"""The one host[:port] grammar (idp.hosts) that the configuration, the ICWS client and the proxy
generator share: each refuses the same texts for the same reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.cic.hosts import parse_server
from idp.config import load_config
from idp.errors import ConfigError, ProxyConfigError
from idp.hosts import host_problem, normal_host, split_host_port
from idp.proxy.values import host as proxy_host


@pytest.mark.parametrize(("text", "normal"), [
    ("CIC1.XyzCorp.com", "cic1.xyzcorp.com"),
    ("cic1.example.com.", "cic1.example.com."),  # fully qualified
    ("10.1.2.3", "10.1.2.3"),
    ("fd00:0:0::3", "fd00::3"),
    ("[fd00::3]", "fd00::3"),
    ("localhost", "localhost"),
])
def test_hosts(text: str, normal: str) -> None:
    assert host_problem(text) is None
    assert normal_host(text) == normal


@pytest.mark.parametrize(("text", "problem"), [
    ("", "empty host name"),
    ("app server", "it contains a space"),
    ("evil;include", "it contains a semicolon"),
    ("10.1.2.300", "is not a valid IP address"),
    ("-cic1.example.com", "is not a valid host name"),
    ("a..b", "is not a valid host name"),
    ("x" * 64 + ".example.com", "is not a valid host name"),
])
def test_not_hosts(text: str, problem: str) -> None:
    found = host_problem(text)
    assert found is not None and problem in found
    # every user of the grammar refuses it, with the same reason
    with pytest.raises(ProxyConfigError, match=problem):
        proxy_host(text, "--public-host")
    with pytest.raises(ValueError, match=problem):
        parse_server(text, 8019)


@pytest.mark.parametrize(("text", "split"), [
    ("cic1:8019", ("cic1", "8019")),
    ("cic1", ("cic1", None)),
    ("[fd00::3]:8043", ("fd00::3", "8043")),
    ("[fd00::3]", ("fd00::3", None)),
    ("fd00::3", ("fd00::3", None)),
])
def test_split_host_port(text: str, split: tuple[str, str | None]) -> None:
    assert split_host_port(text) == split


@pytest.mark.parametrize("text", ["[fd00::3", "[fd00::3]x", "[cic1]:80", "fd00::3::x:80"])
def test_bad_brackets(text: str) -> None:
    with pytest.raises(ValueError):
        split_host_port(text)


def test_the_configuration_uses_it_for_machine_names(tmp_path: Path) -> None:
    path = tmp_path / "cic-sts.toml"
    path.write_text('[server]\nmachine_names = ["sts;evil"]\n')
    with pytest.raises(ConfigError, match="server.machine_names: 'sts;evil' is not a host name "
                                          "or IP address .it contains a semicolon."):
        load_config(path)
