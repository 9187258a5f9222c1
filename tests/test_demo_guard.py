"""The demo cannot leak into production: `serve` refuses the demo SP and the demo user with the
published password (unless --allow-demo), and the sync never reads the demo user."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from idp.auth.local import LocalDirectory
from idp.cli import cli
from idp.commands.demo import demo_idp
from idp.config import load_config
from idp.demo.identity import DEMO_PASSWORD, DEMO_USER, demo_leftovers, is_demo_user
from idp.demo.sp import sp_metadata
from idp.sync.plan import Kind, Options, make_plan
from idp.sync.scope import Scope
from idp.sync.sources import DirectorySource
from idp.users import CicUser
from tests.conftest import ALICE, CHEAP_HASHER, PASSWORD, write_config
from tests.sync.test_mapping_plan import DictView


def serve_check(config_file: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config_file), "serve", "--check", *extra])
    return result.exit_code, result.stderr


def test_a_production_configuration_serves(tmp_path: Path, key_dir: Path) -> None:
    config_file = write_config(tmp_path, key_dir)  # the tests' SP: same code, not the demo's
    LocalDirectory(tmp_path / "users.db", hasher=CHEAP_HASHER).upsert(ALICE, PASSWORD)
    assert demo_leftovers(load_config(config_file)) == []
    assert serve_check(config_file)[0] == 0


def test_serve_refuses_the_demo_sp(tmp_path: Path, key_dir: Path) -> None:
    extra = '\n[[service_providers]]\nmetadata = "certs/demo-sp-metadata.xml"\n'
    config_file = write_config(tmp_path, key_dir, extra=extra)
    config = load_config(config_file)
    (tmp_path / "certs" / "demo-sp-metadata.xml").write_bytes(
        sp_metadata("https://localhost:8044", demo_idp(config), demo=True))
    code, error = serve_check(config_file)
    assert code == 2
    assert error.count("\n") == 1 and "the demo SP" in error and "--allow-demo" in error
    assert serve_check(config_file, "--allow-demo")[0] == 0


def test_serve_refuses_the_demo_user_with_the_published_password(tmp_path: Path,
                                                                 key_dir: Path) -> None:
    config_file = write_config(tmp_path, key_dir)
    directory = LocalDirectory(tmp_path / "users.db", hasher=CHEAP_HASHER)
    directory.upsert(DEMO_USER, DEMO_PASSWORD)
    code, error = serve_check(config_file)
    assert code == 2 and "the demo user 'demo' with the published password" in error
    assert serve_check(config_file, "--allow-demo")[0] == 0
    directory.set_password("demo", "a password nobody published")
    assert serve_check(config_file)[0] == 0


def test_the_sync_never_provisions_the_demo_user(tmp_path: Path) -> None:
    directory = LocalDirectory(tmp_path / "users.db", hasher=CHEAP_HASHER)
    directory.upsert(DEMO_USER, DEMO_PASSWORD)
    directory.upsert(ALICE, PASSWORD)
    snapshot = DirectorySource(tmp_path / "users.db").snapshot()
    plan = make_plan(snapshot, {}, lambda listed: DictView(), Options())
    assert [(a.kind, a.user_id) for a in plan.actions] == [(Kind.CREATE, "alice")]
    assert plan.out_of_scope == 1  # whatever the source: CSV and ICWS go through the same
    assert Scope().why_out(DEMO_USER) == \
        "out of scope: the demo's user (`make run`) is never synced"


@pytest.mark.parametrize(("user", "demo"), [
    (DEMO_USER, True),
    (CicUser("DEMO", email="Demo.Agent@example.com"), True),
    (CicUser("demo", email="demo@acme.example"), False),  # a real user called demo
    (CicUser("other", email=DEMO_USER.email), False),
])
def test_is_demo_user(user: CicUser, demo: bool) -> None:
    assert is_demo_user(user) is demo


def test_demo_refuses_a_config_option(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "prod.toml"), "demo",
                                      "--dir", str(tmp_path / "demo")])
    assert result.exit_code == 2 and "does not use --config" in result.stderr
    assert not (tmp_path / "prod.toml").exists() and not (tmp_path / "demo").exists()
