"""The object and presence settings: what is refused, with a message that names the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.config import load_config
from idp.errors import ConfigError
from tests.sync.conftest import SyncSetup


@pytest.mark.parametrize(("sync", "message"), [
    ("skill_stars = [20, 40, 60]", "sync.skill_stars: four rising"),
    ("skill_stars = [40, 20, 60, 80]", "sync.skill_stars: four rising"),
    ("skill_stars = [20, 40, 60, 100]", "sync.skill_stars: four rising"),
    ('skill_stars = ["20", "40", "60", "80"]', "expected a list of whole numbers"),
    ("platform_objects = true", "sync.objects_dir: required"),
    ("presence = true", "icws.servers / icws.service_user: required when sync.presence"),
    ("presence_batch_size = 0", "sync.presence_batch_size: must be 1-1000"),
    ("presence_poll_ms = 10", "sync.presence_poll_ms: must be 50-60000"),
    ('presence_source = " "', "sync.presence_source"),
])
def test_bad_settings_are_refused(setup: SyncSetup, sync: str, message: str) -> None:
    setup.configure(sync=sync)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(setup.config_path)


def test_a_presence_the_organization_lacks_stops_the_presence_sync(setup: SyncSetup,
                                                                   key_dir: Path) -> None:
    from tests.icws_server import CicDirectory, IcwsUser, running_pair, use_icws

    rules = setup.folder / "rules.toml"
    rules.write_text('[[rule]]\npresence = "Coffee"\nwhen = [{ status = ["Coffee"] }]\n')
    cic = CicDirectory()
    cic.add(IcwsUser("svc", "pw"))
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        setup.configure(sync='source = "icws"\npresence = true\npresence_rules = "rules.toml"')
        use_icws(setup.config_path, pair, key_dir / "tls.crt", ("svc", "pw"), timeout=2)
        result = setup.run("sync", "presence")
        assert result.exit_code == 2, result.output
        assert "presence 'Coffee'" in result.output and "no such presence definition" in \
            result.output
        rules.write_text("[[rule]]\n")  # not even a rule: refused before anything starts
        result = setup.run("sync", "run", "--passes", "1")
        assert result.exit_code == 2 and "sync.presence_rules" in result.output
