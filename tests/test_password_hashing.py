"""Password hashes of the local directory: the OWASP profile by default, stored hashes upgraded
at the next logon, settings below OWASP's minimum refused, and a bound on hashes at once that
turns a burst away with a clear 503 instead of growing without end."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.low_level import Type
from flask.testing import FlaskClient

from idp.auth.hashing import HashLimit, Slots, TooManyLogons, hasher_for
from idp.auth.local import LocalDirectory
from idp.config import DirectorySettings, load_config
from idp.errors import ConfigError
from idp.users import CicUser
from idp.web import create_app
from tests.conftest import ALICE, CHEAP_HASHER, PASSWORD, Sp, write_config
from tests.test_sso_flow import log_on, start


def stored_hash(directory: LocalDirectory, user_id: str) -> str:
    with directory._connect() as conn:  # the test reads what the file holds
        row = conn.execute("SELECT password_hash FROM users WHERE user_id = ?",
                           (user_id,)).fetchone()
    return str(row["password_hash"])


def test_the_default_profile_is_owasps_argon2id_19_mib_2_passes() -> None:
    hasher = hasher_for(DirectorySettings())
    assert (hasher.memory_cost, hasher.time_cost, hasher.parallelism, hasher.type) == (
        19456, 2, 1, Type.ID)
    assert "$argon2id$v=19$m=19456,t=2,p=1$" in LocalDirectory(
        ":memory:")._hasher.hash("x")  # and what a directory built without one uses


def test_a_hash_made_with_other_parameters_is_replaced_at_the_next_logon(
        tmp_path: Path) -> None:
    database = tmp_path / "users.db"
    old = LocalDirectory(database, hasher=PasswordHasher())  # argon2-cffi's 64 MiB defaults
    old.upsert(CicUser("jdoe", "J", "j@example.com"), password="a long passphrase 9")
    before = stored_hash(old, "jdoe")
    assert "m=65536,t=3,p=4" in before
    current = LocalDirectory(database, hasher=hasher_for(DirectorySettings()))
    assert current.authenticate("jdoe", "a long passphrase 9").user_id == "jdoe"
    after = stored_hash(current, "jdoe")
    assert "$argon2id$" in after and "m=19456,t=2,p=1" in after
    assert current.authenticate("jdoe", "a long passphrase 9").user_id == "jdoe"  # still works
    assert stored_hash(current, "jdoe") == after  # and is not replaced again


@pytest.mark.parametrize(("settings", "expected"), [
    ("argon2_memory_kib = 7168\nargon2_time_cost = 4\n", "below OWASP's minimum"),
    ("argon2_memory_kib = 4096\nargon2_time_cost = 10\n", "must be 7168-1048576"),
    ("argon2_parallelism = 0\n", "must be 1-16"),
])
def test_profiles_below_owasps_minimum_are_refused(tmp_path: Path, key_dir: Path,
                                                   settings: str, expected: str) -> None:
    path = write_config(tmp_path, key_dir)
    path.write_text(path.read_text().replace("[directory]\n", "[directory]\n" + settings, 1))
    with pytest.raises(ConfigError, match=expected):
        load_config(path)
    path.write_text(path.read_text().replace(settings, "argon2_memory_kib = 7168\n"
                                                       "argon2_time_cost = 5\n"))
    assert load_config(path).directory.argon2_memory_kib == 7168  # OWASP's 7 MiB x 5


class Blocking:
    """A hasher whose verify waits until the test lets it go (a hash that holds its slot)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def verify(self, stored: str, password: str) -> bool:
        self.entered.set()
        self.release.wait(10)
        return True


def test_no_more_hashes_at_once_than_the_limit() -> None:
    slots = Slots(HashLimit(at_once=1, wait=0.05))
    slow = Blocking()
    holder = threading.Thread(target=slots.run, args=(slow.verify, "h", "p"))
    holder.start()
    assert slow.entered.wait(10)
    with pytest.raises(TooManyLogons, match="too many logons at once"):
        slots.run(lambda: True)
    slow.release.set()
    holder.join(10)
    assert slots.run(lambda: "free again") == "free again"


def test_a_logon_turned_away_gets_a_clear_503_page(
        tmp_path: Path, key_dir: Path, sp: Sp) -> None:
    config = load_config(write_config(tmp_path, key_dir))
    directory = LocalDirectory(config.directory.database, hasher=CHEAP_HASHER,
                               limit=HashLimit(at_once=1, wait=0.05))
    directory.upsert(ALICE, password=PASSWORD)
    app = create_app(config, backend=directory)
    app.testing = True
    client: FlaskClient = app.test_client()
    slow = Blocking()
    holder = threading.Thread(target=directory._slots.run, args=(slow.verify, "h", "p"))
    holder.start()
    try:
        assert slow.entered.wait(10)
        _, page = start(client, sp, "redirect")
        busy = log_on(client, page.text)
        assert busy.status_code == 503
        assert "Too many people are logging on at this moment." in busy.text
        assert "SAMLResponse" not in busy.text
    finally:
        slow.release.set()
        holder.join(10)
    _, page = start(client, sp, "redirect")
    assert "SAMLResponse" in log_on(client, page.text).text  # the next try goes through
