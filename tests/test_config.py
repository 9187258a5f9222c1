"""The TOML configuration: defaults, validation messages, secrets (idp.config)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from idp.config import (
    Config,
    Secret,
    base_url_problem,
    documented_settings,
    load_config,
    reference,
)
from idp.config.loading import _coerce
from idp.errors import ConfigError

SETTINGS_DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


@pytest.fixture(autouse=True)
def fixed_fqdn(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default machine name is this machine's FQDN; make it predictable."""
    monkeypatch.setattr("idp.config.loading.socket.getfqdn", lambda: "sts.test")


def load(tmp_path: Path, text: str, name: str = "cic-sts.toml") -> Config:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return str(info.value)


# -- defaults ------------------------------------------------------------------------------------


def test_minimal_config_loads_with_defaults(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    config = load(folder, "")
    assert config.path == (folder / "cic-sts.toml").resolve()
    assert config.server.machine_names == ["sts.test"]
    assert config.server.port == 8043
    assert config.server.bind == "0.0.0.0"
    assert config.server.trusted_proxies == ["127.0.0.0/8", "::1/128"]
    assert config.public_base_url == "https://sts.test:8043"
    assert config.entity_id == "https://sts.test"
    assert config.idp.assertion_lifetime == 300
    assert config.idp.clock_skew == 30
    assert config.idp.signing_key_passphrase is None
    assert config.genesys is None
    assert config.service_providers == []
    # default paths are relative to the configuration file's folder, not the working directory
    base = folder.resolve()
    assert config.server.tls_certificate == base / "certs" / "tls.crt"
    assert config.server.tls_key == base / "certs" / "tls.key"
    assert config.idp.signing_certificate == base / "certs" / "saml-signing.crt"
    assert config.idp.signing_key == base / "certs" / "saml-signing.key"
    assert config.idp.session_secret == Secret(file=base / "certs" / "session.secret")
    assert config.directory.database == base / "cic-users.db"


def test_set_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = load(tmp_path, '[idp]\nsigning_key = "keys/k.pem"\n'
                            '[directory]\ndatabase = "/var/lib/cic/users.db"\n')
    assert config.idp.signing_key == tmp_path.resolve() / "keys" / "k.pem"
    assert config.directory.database == Path("/var/lib/cic/users.db")


def test_ipv6_machine_name_is_bracketed_in_the_base_url(tmp_path: Path) -> None:
    config = load(tmp_path, '[server]\nmachine_names = ["fd00::5"]\nport = 9443\n')
    assert config.public_base_url == "https://[fd00::5]:9443"


def test_public_base_url_setting_wins_without_trailing_slash(tmp_path: Path) -> None:
    config = load(tmp_path, '[server]\npublic_base_url = "https://proxy.example.com/sts/"\n')
    assert config.public_base_url == "https://proxy.example.com/sts"


# -- unknown names -------------------------------------------------------------------------------


def test_unknown_section(tmp_path: Path) -> None:
    message = refused(tmp_path, "[servr]\nport = 8043\n")
    assert message.startswith("servr: unknown section")
    assert "server" in message


def test_unknown_key_names_section_and_key(tmp_path: Path) -> None:
    message = refused(tmp_path, "[server]\nprot = 8043\n")
    assert "server.prot" in message
    assert "unknown setting" in message


def test_unknown_key_in_a_service_provider_names_its_position(tmp_path: Path) -> None:
    message = refused(tmp_path, '[[service_providers]]\nmetadata = "sp.xml"\ncolour = "red"\n')
    assert "service_providers[0].colour" in message


# -- types ---------------------------------------------------------------------------------------


def test_quoted_number_says_remove_the_quotes(tmp_path: Path) -> None:
    message = refused(tmp_path, '[server]\nport = "8043"\n')
    assert "server.port" in message
    assert "whole number" in message
    assert "remove the quotes" in message


def test_quoted_word_is_not_told_to_remove_quotes(tmp_path: Path) -> None:
    message = refused(tmp_path, '[server]\nport = "https"\n')
    assert "server.port" in message
    assert "remove the quotes" not in message


def test_bool_given_as_string_says_remove_the_quotes(tmp_path: Path) -> None:
    # No current setting is a bool, so exercise the coercion the registry applies to one.
    with pytest.raises(ConfigError, match=r"x\.flag: expected true or false.*remove the quotes"):
        _coerce("x.flag", bool, "true", tmp_path)
    assert _coerce("x.flag", bool, False, tmp_path) is False


def test_bool_is_not_a_number(tmp_path: Path) -> None:
    message = refused(tmp_path, "[server]\nworkers = true\n")
    assert "server.workers" in message
    assert "whole number" in message


def test_list_of_strings_expected(tmp_path: Path) -> None:
    message = refused(tmp_path, '[server]\nmachine_names = "sts.example.com"\n')
    assert "server.machine_names" in message
    assert "list of strings" in message


@pytest.mark.parametrize("port", [0, 65536, 100000, -1])
def test_port_out_of_range(tmp_path: Path, port: int) -> None:
    message = refused(tmp_path, f"[server]\nport = {port}\n")
    assert "server.port" in message


def test_bad_trusted_proxy_cidr(tmp_path: Path) -> None:
    message = refused(tmp_path, '[server]\ntrusted_proxies = ["10.0.0.0/33"]\n')
    assert "server.trusted_proxies" in message
    assert "10.0.0.0/33" in message


def test_bad_log_level(tmp_path: Path) -> None:
    assert "server.log_level" in refused(tmp_path, '[server]\nlog_level = "loud"\n')


def test_bad_machine_name(tmp_path: Path) -> None:
    message = refused(tmp_path, '[server]\nmachine_names = ["sts.example.com/x"]\n')
    assert "server.machine_names" in message


@pytest.mark.parametrize("url, problem", [
    ("https://sts.example.com/?next=1", "query"),
    ("https://sts.example.com/#top", "fragment"),
    ("https://admin:pw@sts.example.com", "credentials"),
    ("ftp://sts.example.com", "https://"),
    ("javascript:alert(1)", "https://"),
    ("https://sts.example.com/my path", "spaces"),
    ("https://sts.example.com/a/../b", ".."),
    ("https:///nohost", "host"),
])
def test_bad_public_base_url(tmp_path: Path, url: str, problem: str) -> None:
    message = refused(tmp_path, f'[server]\npublic_base_url = "{url}"\n')
    assert "server.public_base_url" in message
    assert problem in message


@pytest.mark.parametrize("url", [
    "https://sts.example.com", "https://sts.example.com:8443/sts", "http://[::1]:8043",
    "https://10.0.0.5:8043/a/b/",
])
def test_good_base_urls(url: str) -> None:
    assert base_url_problem(url) is None


def test_remap_allowed_bases_are_checked_too(tmp_path: Path) -> None:
    message = refused(tmp_path, '[server]\nremap_allowed_bases = ["https://u:p@proxy"]\n')
    assert "remap_allowed_bases" in message
    assert "credentials" in message


# -- secrets -------------------------------------------------------------------------------------


def test_literal_secret_is_refused_with_the_env_hint(tmp_path: Path) -> None:
    message = refused(tmp_path, '[idp]\nsigning_key_passphrase = "hunter2"\n')
    assert "idp.signing_key_passphrase" in message
    assert '{ env = "VARIABLE" }' in message
    assert "hunter2" not in message  # the error does not echo the secret


def test_secret_table_with_other_keys_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, '[idp]\nsession_secret = { value = "hunter2" }\n')
    assert "idp.session_secret" in message
    assert "hunter2" not in message


def test_secret_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIC_TEST_PASSPHRASE", "open sesame")
    config = load(tmp_path, '[idp]\nsigning_key_passphrase = { env = "CIC_TEST_PASSPHRASE" }\n')
    secret = config.idp.signing_key_passphrase
    assert secret == Secret(env="CIC_TEST_PASSPHRASE")
    assert secret.reveal() == "open sesame"
    assert "open sesame" not in repr(secret)


def test_secret_from_file_relative_to_config(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "session").write_text("  c0ffee  \n", encoding="utf-8")
    config = load(tmp_path, '[idp]\nsession_secret = { file = "secrets/session" }\n')
    assert config.idp.session_secret.file == tmp_path.resolve() / "secrets" / "session"
    assert config.idp.session_secret.reveal() == "c0ffee"
    assert "c0ffee" not in repr(config.idp.session_secret)


def test_missing_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIC_TEST_UNSET", raising=False)
    config = load(tmp_path, '[idp]\nsigning_key_passphrase = { env = "CIC_TEST_UNSET" }\n')
    with pytest.raises(ConfigError, match="environment variable CIC_TEST_UNSET is not set"):
        config.idp.signing_key_passphrase.reveal()  # type: ignore[union-attr]


def test_missing_secret_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read secret file"):
        Secret(file=tmp_path / "absent").reveal()


# -- [genesys] -----------------------------------------------------------------------------------

GENESYS = """
[genesys]
region = "{region}"
relying_party_identifier = "{rpi}"
organization = "acme"
"""


def test_genesys_bad_region(tmp_path: Path) -> None:
    message = refused(tmp_path, GENESYS.format(region="mars-north-1", rpi="urn:test"))
    assert message.startswith("genesys.region:")
    assert "mars-north-1" in message
    assert "eu-west-1" in message  # lists what is accepted


def test_genesys_missing_relying_party_identifier(tmp_path: Path) -> None:
    message = refused(tmp_path, '[genesys]\nregion = "eu-west-1"\norganization = "acme"\n')
    assert "genesys.relying_party_identifier" in message
    assert "required" in message


@pytest.mark.parametrize("region", ["eu-west-1", "mypurecloud.ie", "EU-West-1"])
def test_genesys_region_code_or_domain(tmp_path: Path, region: str) -> None:
    config = load(tmp_path, GENESYS.format(region=region, rpi="urn:test"))
    assert config.genesys is not None
    assert config.genesys.relying_party_identifier == "urn:test"
    assert config.genesys_login_base == "https://login.mypurecloud.ie"


def test_genesys_login_base_override(tmp_path: Path) -> None:
    text = GENESYS.format(region="eu-west-1", rpi="urn:test")
    config = load(tmp_path, text + 'login_base_url = "https://login.genesys.test/"\n')
    assert config.genesys_login_base == "https://login.genesys.test"


# -- the file ------------------------------------------------------------------------------------


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[server\nport = 8043\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path.resolve()) in str(info.value)
    assert "not valid TOML" in str(info.value)


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cic-sts init"):
        load_config(tmp_path / "nothing.toml")


def test_config_errors_exit_with_code_2() -> None:
    assert ConfigError("x").exit_code == 2


# -- documentation -------------------------------------------------------------------------------


def test_documented_settings_cover_every_section_with_help() -> None:
    rows = documented_settings()
    keys = [key for key, _, _ in rows]
    assert len(keys) == len(set(keys))
    assert {"server.port", "idp.session_secret", "genesys.region",
            "service_providers.metadata"} <= set(keys)
    assert all(re.fullmatch(r"[a-z_]+\.[a-z][a-z0-9_]*", key) for key in keys)
    assert all(help_text.strip() for _, _, help_text in rows)


def test_the_settings_reference_is_the_one_generated_from_the_registry() -> None:
    committed = SETTINGS_DOC.read_text(encoding="utf-8")
    assert committed == reference.render(), \
        "docs/settings.md is out of date with idp/config/sections.py: run `make docs`"
    for key, _, _ in documented_settings():  # every setting has its row
        assert f"| `{key}` |" in committed, key


def test_the_reference_shows_choices_ranges_and_secret_defaults() -> None:
    text = reference.render()
    assert "| `server.log_level` | `\"info\"` | `debug`, `info`, `warning`, `error` |" in text
    assert "| `server.port` | `8043` | 1-65535 |" in text
    assert '| `idp.session_secret` | `{ file = "certs/session.secret" }` |' in text
    assert "## `[[service_providers]]`" in text


@pytest.mark.parametrize(("text", "expected"), [
    ('[server]\nlog_level = "loud"\n',
     "server.log_level: 'loud' is not a choice (known: debug, info, warning, error)"),
    ("[server]\nport = 70000\n", "server.port: must be 1-65535, got 70000"),
    ("[idp]\nsession_lifetime = 0\n", "idp.session_lifetime: must be at least 1, got 0"),
    ('[state]\nbackend = "memcached"\n', "(known: cookie, redis)"),
    ('[proxy]\nstickiness = "cookie"\n', "(known: ip_hash, sticky-cookie, none)"),
    ("[sync]\npage_size = 5000\n", "sync.page_size: must be 1-1000, got 5000"),
])
def test_choices_and_ranges_come_from_the_registry(tmp_path: Path, text: str,
                                                   expected: str) -> None:
    assert expected in refused(tmp_path, text)


@pytest.mark.parametrize(("text", "expected"), [
    ('[idp]\nentity_id = "sts.example.com"', "absolute URI of at most 256"),  # saml2int SDP-G04
    (f'[idp]\nentity_id = "https://{"a" * 260}"', "absolute URI of at most 256"),
    ("[idp]\nrequest_max_age = 0", "idp.request_max_age: must be 1-3600"),
    ("[idp]\nrequest_clock_skew = 3600", "idp.request_clock_skew: must be 0-900"),
    ('[idp]\ntechnical_contact = "nobody"', "is not an e-mail address"),
    ('[idp]\nerror_url = "http://insecure.example/help"', "must be an https URL"),
])
def test_saml_settings_are_checked(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(tmp_path, text)


# -- [branding] ----------------------------------------------------------------------------------

LOGO = Path(__file__).resolve().parent / "testdata" / "acme-logo.svg"
SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'


def test_a_logo_and_a_help_link_load(tmp_path: Path) -> None:
    png = tmp_path / "logo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    config = load(tmp_path, f'[branding]\nlogo = "{LOGO}"\n'
                            'help_url = "https://help.example.com/logon?lang=de"\n')
    assert config.branding.logo == LOGO
    assert config.branding.help_url == "https://help.example.com/logon?lang=de"
    assert load(tmp_path, '[branding]\nlogo = "logo.png"\n').branding.logo == png


def test_no_branding_by_default(tmp_path: Path) -> None:
    config = load(tmp_path, "")
    assert config.branding.logo is None and config.branding.help_url == ""


@pytest.mark.parametrize(("svg", "expected"), [
    (SVG_OPEN + "<script>alert(1)</script></svg>", "<script> element"),
    (SVG_OPEN + '<rect onload="alert(1)"/></svg>', "event handler (onload"),
    (SVG_OPEN + "<foreignObject><p>hi</p></foreignObject></svg>", "<foreignObject>"),
    (SVG_OPEN + '<image xlink:href="https://tracker.example/x.png"/></svg>', "outside itself"),
    (SVG_OPEN + '<use href="other.svg#a"/></svg>', "outside itself"),
    (SVG_OPEN + '<rect style="fill: url(https://x.example/p)"/></svg>', "outside itself"),
    (SVG_OPEN + "<style>@import 'https://x.example/a.css';</style></svg>", "stylesheet"),
    ('<!DOCTYPE svg [<!ENTITY x "y">]>' + SVG_OPEN + "</svg>", "DTD or entities"),
    ("<html><body>not a logo</body></html>", "root element is not <svg>"),
    ("GIF89a...", "neither a PNG nor a well-formed SVG"),
])
def test_a_logo_that_could_do_more_than_show_is_refused(tmp_path: Path, svg: str,
                                                        expected: str) -> None:
    (tmp_path / "logo.svg").write_text(svg)
    problem = refused(tmp_path, '[branding]\nlogo = "logo.svg"\n')
    assert problem.startswith("branding.logo: ") and expected in problem


def test_a_logo_that_is_missing_or_too_large_is_refused(tmp_path: Path) -> None:
    assert "cannot read" in refused(tmp_path, '[branding]\nlogo = "nowhere.svg"\n')
    (tmp_path / "big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 300_000)
    assert "a logo may have at most 262144" in refused(tmp_path,
                                                       '[branding]\nlogo = "big.png"\n')


def test_an_svg_with_its_own_gradient_is_a_logo(tmp_path: Path) -> None:
    (tmp_path / "logo.svg").write_text(
        SVG_OPEN + '<defs><linearGradient id="g"/></defs><rect fill="url(#g)"/>'
        '<use xlink:href="#g"/></svg>')
    assert load(tmp_path, '[branding]\nlogo = "logo.svg"\n').branding.logo is not None


@pytest.mark.parametrize("url", ["http://help.example.com/", "javascript:alert(1)",
                                 'https://help.example.com/"onmouseover=x', "https://",
                                 "help.example.com"])
def test_the_help_link_must_be_a_plain_https_url(tmp_path: Path, url: str) -> None:
    problem = refused(tmp_path, f"[branding]\nhelp_url = '{url}'\n")
    assert problem.startswith("branding.help_url: ") and "must be an https URL" in problem


def test_the_icws_refusal_error_ids_are_lists_with_defaults(tmp_path: Path) -> None:
    icws = load(tmp_path, "").icws
    assert "error.request.connection.passwordExpired" in icws.password_expired_error_ids
    assert "error.request.connection.accountLocked" in icws.account_locked_error_ids
    custom = load(tmp_path, '[icws]\npassword_expired_error_ids = ["x.expired"]\n'
                            "account_locked_error_ids = []\n").icws
    assert custom.password_expired_error_ids == ["x.expired"]
    assert custom.account_locked_error_ids == []
