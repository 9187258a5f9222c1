"""`cic-sts init` on an existing configuration: agreeing options pass, Genesys options merge
into a file without [genesys], anything else that differs is refused with the setting named;
and the layout `--state-dir` writes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from idp.cli import cli
from idp.config import load_config

NAMES = ["--machine-name", "sts.example.com"]
GENESYS = ["--genesys-region", "eu-west-1", "--relying-party-identifier", "urn:test",
           "--organization", "acme"]


@pytest.fixture(autouse=True)
def no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CIC_STS_CONFIG", raising=False)


def init(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), "init", *args])


def test_a_new_file_carries_a_commented_genesys_template_that_loads(tmp_path: Path) -> None:
    config_file = tmp_path / "cic-sts.toml"
    assert init(config_file, *NAMES).exit_code == 0
    text = config_file.read_text()
    assert "# [genesys]" in text and "# relying_party_identifier" in text
    assert load_config(config_file).genesys is None
    # uncommenting the template gives a configuration that loads
    uncommented = "\n".join(line[2:] if line.startswith(("# [genesys]", "# region",
                                                          "# relying", "# organization"))
                            else line for line in text.splitlines())
    config_file.write_text(uncommented)
    assert load_config(config_file).genesys is not None


def test_genesys_options_are_merged_into_an_existing_file(tmp_path: Path) -> None:
    config_file = tmp_path / "cic-sts.toml"
    assert init(config_file, *NAMES).exit_code == 0
    key = (tmp_path / "certs" / "saml-signing.key").read_bytes()
    result = init(config_file, *GENESYS)
    assert result.exit_code == 0, result.output
    assert f"added [genesys] to the existing configuration {config_file}" in result.output
    genesys = load_config(config_file).genesys
    assert genesys is not None and (genesys.region, genesys.relying_party_identifier,
                                    genesys.organization) == ("eu-west-1", "urn:test", "acme")
    assert (tmp_path / "certs" / "saml-signing.key").read_bytes() == key
    # the same options again: nothing to do
    again = init(config_file, *GENESYS, *NAMES)
    assert again.exit_code == 0 and "kept existing configuration" in again.output


@pytest.mark.parametrize(("option", "setting"), [
    (["--genesys-region", "us-east-1", "--relying-party-identifier", "urn:test",
      "--organization", "acme"], "genesys.region"),
    (["--machine-name", "other.example.com"], "server.machine_names"),
    (["--port", "9443"], "server.port"),
    (["--entity-id", "https://elsewhere.example.com"], "idp.entity_id"),
    (["--state-dir", "/var/lib/elsewhere"], "directory.database"),
])
def test_a_differing_option_is_refused_with_the_setting(tmp_path: Path, option: list[str],
                                                        setting: str) -> None:
    config_file = tmp_path / "cic-sts.toml"
    assert init(config_file, *NAMES, *GENESYS).exit_code == 0
    before = config_file.read_text()
    result = init(config_file, *option)
    assert result.exit_code == 2
    assert setting in result.stderr and "--force" in result.stderr
    assert config_file.read_text() == before


def test_state_dir_puts_every_writable_file_there(tmp_path: Path) -> None:
    config_file = tmp_path / "etc" / "cic-sts.toml"
    state = tmp_path / "state"
    assert init(config_file, *NAMES, "--state-dir", str(state)).exit_code == 0
    raw = tomllib.loads(config_file.read_text())
    assert raw["directory"]["database"] == str(state / "cic-users.db")
    assert raw["sync"]["state_database"] == str(state / "cic-sync.db")
    config = load_config(config_file)
    assert config.directory.database.parent == state
    assert config.sync.state_database.parent == state
    assert config.idp.nameid_database.parent == state
    assert config.idp.signing_key.parent == tmp_path / "etc" / "certs"
