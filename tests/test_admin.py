"""Administration: `users edit`, `users unlock` and `sessions list/revoke` against a real Redis
and the STS app, the password policy, `users import --dry-run`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from idp.auth.local import LocalDirectory
from idp.cli import cli
from idp.config import load_config
from idp.web import create_app
from tests.conftest import CHEAP_HASHER, PASSWORD, Sp, redirect_query, seed_users, write_config
from tests.servers import free_port, redis_server
from tests.test_sso_flow import HTTPS, LOGIN, log_on


def run(config_file: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config_file), *args], input=input)


@pytest.fixture
def config_file(tmp_path: Path, key_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("idp.auth.local.PasswordHasher", lambda: CHEAP_HASHER)
    path = write_config(tmp_path, key_dir, extra='\n[monitoring]\naudit_log = ""\n')
    seed_users(load_config(path).directory.database)
    return path


def test_users_edit_changes_only_the_fields_given(config_file: Path) -> None:
    result = run(config_file, "users", "edit", "ALICE", "--display-name", "Alice A.",
                 "--mobile-phone", "+13175550199", "--business-phone", "")
    assert result.exit_code == 0, result.output
    assert "display name: 'Alice Agent' -> 'Alice A.'" in result.output
    directory = LocalDirectory(load_config(config_file).directory.database, hasher=CHEAP_HASHER)
    user = directory.authenticate("alice", PASSWORD)  # the password is kept
    assert (user.display_name, user.email, user.phones) == (
        "Alice A.", "alice@example.com", {"mobile": "+13175550199"})
    assert "nothing to change" in run(config_file, "users", "edit", "alice",
                                      "--display-name", "Alice A.").output
    bad = run(config_file, "users", "edit", "alice", "--email", "not an address")
    assert bad.exit_code == 1 and "not an e-mail address" in bad.stderr
    assert run(config_file, "users", "edit", "nobody", "--email", "").exit_code == 1


@pytest.mark.parametrize(("password", "problem"), [
    ("tiny-pw", "shorter than directory.password_min_length = 12"),
    ("jsmith-admin", None),
    ("JSMITH-ADMIN", None),
    ("Password1234!", "most common"),
    ("welcome20262026", "most common"),
    ("AcmeCorp2026!", "directory.password_denied"),
    ("a long and unusual passphrase", None),
])
def test_the_password_policy(config_file: Path, password: str, problem: str | None) -> None:
    config_file.write_text(config_file.read_text().replace(
        '[directory]\ndatabase = "users.db"',
        '[directory]\ndatabase = "users.db"\npassword_denied = ["acmecorp"]'))
    result = run(config_file, "users", "add", "jsmith", "--password-stdin",
                 input=password + "\n")
    if problem is None:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1 and problem in result.stderr
        assert password not in result.stderr
        assert "jsmith" not in run(config_file, "users", "list").stdout  # nothing created


def test_the_password_must_not_be_the_user_id(config_file: Path) -> None:
    result = run(config_file, "users", "add", "longer-user-id", "--password-stdin",
                 input="Longer-User-ID\n")
    assert result.exit_code == 1 and "must not be the user ID" in result.stderr
    result = run(config_file, "users", "set-password", "alice", "--password-stdin",
                 input="a-much-longer-password-for-alice\n")
    assert result.exit_code == 0


def test_import_dry_run_says_what_would_happen_and_writes_nothing(config_file: Path,
                                                                   tmp_path: Path) -> None:
    csv = tmp_path / "users.csv"
    csv.write_text("user_id,display_name,email,password\n"
                   "Alice,Alice Agent,alice@example.com,\n"
                   "bob,Bob,bob@example.com,a good long password\n"
                   "carol,Carol,carol@example.com,short\n"
                   "dave,Dave,dave@example.com,\n")
    def stored() -> str:
        return run(config_file, "users", "list", "--json").stdout  # with updated times

    before = stored()
    result = run(config_file, "users", "import", "--dry-run", str(csv))
    assert result.exit_code == 1  # carol's row would be skipped
    assert result.stdout.splitlines() == [
        "line 2: update Alice", "line 3: create bob, set password", "line 5: create dave",
        "dry run: would create 2 and update 1 users, skip 1 rows; nothing written"]
    assert "line 4: the password is shorter" in result.stderr
    assert stored() == before
    real = run(config_file, "users", "import", str(csv))
    assert "imported 3 users, skipped 1 rows" in real.stdout
    users = {u["user_id"] for u in json.loads(run(config_file, "users", "list",
                                                   "--json").stdout)}
    assert users == {"Alice", "bob", "dave", "nomail"}  # the file spells it so now


def test_unlock_needs_redis_to_reach_the_counters(config_file: Path) -> None:
    result = run(config_file, "users", "unlock", "alice")
    assert result.exit_code == 1 and "systemctl restart cic-sts" in result.stderr
    sessions = run(config_file, "sessions", "list")
    assert sessions.exit_code == 1 and "idp.session_secret" in sessions.stderr


@pytest.fixture
def redis_app(tmp_path: Path, key_dir: Path, monkeypatch: pytest.MonkeyPatch
              ) -> Iterator[tuple[Path, FlaskClient]]:
    monkeypatch.setattr("idp.auth.local.PasswordHasher", lambda: CHEAP_HASHER)
    folder = tmp_path / "with-redis"  # apart from the `config` fixture's files
    folder.mkdir()
    with redis_server(free_port(), tmp_path / "redis.log") as url:
        path = write_config(folder, key_dir, extra=(
            f'\n[state]\nbackend = "redis"\nredis_url = "{url}"\nmax_failed_logons = 3\n'
            '\n[monitoring]\naudit_log = ""\n'))
        config = load_config(path)
        seed_users(config.directory.database)
        app = create_app(config, backend=LocalDirectory(config.directory.database,
                                                        hasher=CHEAP_HASHER))
        yield path, app.test_client()


def test_unlock_clears_the_throttle_in_redis(redis_app: tuple[Path, FlaskClient],
                                             sp: Sp) -> None:
    path, client = redis_app
    page = client.get(LOGIN, query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    for _ in range(3):
        assert log_on(client, page.text, password="wrong").status_code == 401
    assert log_on(client, page.text).status_code == 429  # locked, even with the right one
    result = run(path, "users", "unlock", "Alice")
    assert result.exit_code == 0, result.output
    assert "unlocked Alice (4 failed logons" in result.output
    answer = log_on(client, page.text)
    assert answer.status_code == 200 and "SAMLResponse" in answer.text
    assert "nothing to unlock" in run(path, "users", "unlock", "alice").output


def test_sessions_list_and_revoke(redis_app: tuple[Path, FlaskClient], sp: Sp) -> None:
    path, client = redis_app
    page = client.get(LOGIN, query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    assert "SAMLResponse" in log_on(client, page.text).text
    listed = json.loads(run(path, "sessions", "list", "--json").stdout)
    assert [s["user_id"] for s in listed] == ["alice"]  # the visitor's session is not one
    assert len(listed[0]["handle"]) == 12 and 28000 < listed[0]["expires_in"] <= 28800
    cookie = client.get_cookie("cicsts_session", domain="localhost")
    assert cookie is not None
    table = run(path, "sessions", "list", "alice").stdout
    assert listed[0]["handle"] in table and cookie.value not in table
    assert run(path, "sessions", "list", "bob").stderr.strip() == "no STS sessions of bob"
    again = client.get(LOGIN, query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    assert "SAMLResponse" in again.text  # the session answers
    assert run(path, "sessions", "revoke").exit_code == 2
    assert "revoked 1 session(s) of ALICE" in run(path, "sessions", "revoke", "ALICE").output
    after = client.get(LOGIN, query_string=redirect_query(sp.authn_request()[1]), **HTTPS)
    assert 'name="password"' in after.text and "SAMLResponse" not in after.text
    assert json.loads(run(path, "sessions", "list", "--json").stdout) == []
    assert "revoked 0 session(s) of all users" in run(path, "sessions", "revoke",
                                                      "--all").output
