"""The ``[icws]`` settings, the backend choice, server names and the ICWS user-record mapping."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from idp.auth.factory import build_backend
from idp.auth.icws import IcwsBackend
from idp.auth.local import LocalDirectory
from idp.cic.hosts import Server, parse_server
from idp.cic.users import USER_SELECT, phone_text, user_from_icws
from idp.config import Config, load_config
from idp.errors import ConfigError
from idp.sync.sources.icws import IcwsSource


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "cic-sts.toml"
    path.write_text('[server]\nmachine_names = ["sts.test"]\n' + text, encoding="utf-8")
    return load_config(path)


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return str(info.value)


ICWS = '[directory]\nbackend = "icws"\n[icws]\nservers = ["cic1.example.com", "cic2:8020"]\n'


def test_local_directory_is_the_default(tmp_path: Path) -> None:
    config = load(tmp_path, "")
    assert config.directory.backend == "local"
    assert config.icws.servers == [] and config.icws.scheme == "https"
    assert isinstance(build_backend(config), LocalDirectory)


def test_icws_backend_from_the_configuration(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICWS_PW", "s3cret")
    config = load(tmp_path, ICWS + 'service_user = "svc"\n'
                  'service_password = { env = "ICWS_PW" }\ncache_ttl = 30\n')
    backend = build_backend(config)
    assert isinstance(backend, IcwsBackend)
    try:
        assert backend.client.servers == [Server("cic1.example.com", 8019), Server("cic2", 8020)]
        assert backend.service is not None and backend.service.user_id == "svc"
        assert backend.cache.ttl == 30
    finally:
        backend.close()


def test_missing_service_password_stops_the_start(tmp_path: Path) -> None:
    config = load(tmp_path, ICWS + 'service_user = "svc"\n'
                  'service_password = { env = "CIC_STS_TEST_UNSET_VARIABLE" }\n')
    with pytest.raises(ConfigError, match="CIC_STS_TEST_UNSET_VARIABLE"):
        build_backend(config)


def test_http_needs_allow_plain_http_uses_port_8018_and_warns(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert "icws.allow_plain_http = true" in refused(tmp_path, ICWS + 'scheme = "http"\n')
    config = load(tmp_path, ICWS + 'scheme = "http"\nallow_plain_http = true\n')
    with caplog.at_level(logging.WARNING, logger="idp.cic.icws"):
        backend = build_backend(config)
    assert isinstance(backend, IcwsBackend)
    assert backend.client.servers[0].port == 8018
    backend.close()
    assert "unencrypted" in caplog.text and "cic1.example.com:8018" in caplog.text
    https = load(tmp_path, ICWS + "allow_plain_http = true\n")  # allowed, not used: no warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="idp.cic.icws"):
        quiet = build_backend(https)
    assert isinstance(quiet, IcwsBackend)
    quiet.close()
    assert caplog.text == ""


@pytest.mark.parametrize("text, expected", [
    ('[directory]\nbackend = "cic"\n', "'cic' is not a choice (known: local, icws)"),
    ('[directory]\nbackend = "icws"\n', "icws.servers: required"),
    (ICWS.replace("cic2:8020", "cic2:99999"), "icws.servers: 'cic2:99999': the port"),
    (ICWS.replace("cic2:8020", "http://cic2"), "icws.servers"),
    (ICWS + 'scheme = "ftp"\n', "icws.scheme: 'ftp' is not a choice (known: https, http)"),
    (ICWS + 'service_user = "svc"\n', "set both or neither"),
    (ICWS + 'service_password = "literal"\n', "never written in the configuration"),
    (ICWS + "timeout = 10\nfailover_timeout = 5\n", "failover_timeout must be at least timeout"),
    (ICWS + 'timeout = "5"\n', "remove the quotes"),
    (ICWS + 'application_name = " "\n', "icws.application_name: must not be empty"),
    ('[sync]\nsource = "icws"\n', "the sync reads CIC users with a service account"),
])
def test_bad_icws_settings_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(tmp_path, text)


def test_sync_source_needs_a_service_account(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICWS_PW", "s3cret")
    config = load(tmp_path, '[sync]\nsource = "icws"\n[icws]\nservers = ["cic1"]\n'
                  'service_user = "svc"\nservice_password = { env = "ICWS_PW" }\n')
    source = IcwsSource.from_settings(config.icws)
    assert source.description == "CIC over ICWS (cic1:8019)"
    source.close()
    with pytest.raises(ConfigError, match="service account"):
        IcwsSource.from_settings(load(tmp_path, ICWS).icws)


@pytest.mark.parametrize("text, server", [
    ("cic1", Server("cic1", 8019)),
    ("cic1.example.com:8018", Server("cic1.example.com", 8018)),
    ("10.0.0.5", Server("10.0.0.5", 8019)),
    ("[fd00::5]:9000", Server("fd00::5", 9000)),
    ("fd00::5", Server("fd00::5", 8019)),
])
def test_server_names(text: str, server: Server) -> None:
    assert parse_server(text, 8019) == server


@pytest.mark.parametrize("text", ["", "cic 1", "cic1:", "cic1:0", "cic1:x", "-cic", "[cic1]",
                                  "https://cic1", "cic1/icws", "[fd00::5"])
def test_bad_server_names(text: str) -> None:
    with pytest.raises(ValueError):
        parse_server(text, 8019)


def test_ipv6_server_in_urls() -> None:
    assert Server("fd00::5", 8019).base_url("https") == "https://[fd00::5]:8019"
    assert Server("cic1.", 8019).same_host("CIC1")


def test_user_record_mapping() -> None:
    user = user_from_icws({
        "configurationId": {"id": "alice", "displayName": " Alice ", "uri": "/x"},
        "personalInformationProperties": {
            "emailAddress": "alice@example.com",
            "phoneNumberOfMobile": {"number": "+491701234567", "extension": "",
                                    "dialExtensionAutomatically": False},
            "phoneNumberOfFax": {"extension": "12"},
        }})
    assert (user.user_id, user.display_name, user.email) == ("alice", "Alice",
                                                             "alice@example.com")
    assert user.phones == {"mobile": "+491701234567"}
    assert phone_text({"number": "+13175550101", "extension": "105"}) == "+13175550101;ext=105"
    assert phone_text(None) == phone_text("x") == ""
    assert USER_SELECT.split(",")[0] == "personalInformationProperties.emailAddress"
