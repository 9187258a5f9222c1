"""The embedded SQLite user directory (idp.auth.local)."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from idp.auth.local import SCHEMA_VERSION, LocalDirectory
from idp.errors import AUTH_FAILED_MESSAGE, AuthenticationFailed, DirectoryError
from idp.users import CicUser

PASSWORD = "Corr3ct horse battery staple!"


class CountingHasher(PasswordHasher):
    """Cheap argon2id parameters, counting verify calls."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{"time_cost": 1, "memory_cost": 8, "parallelism": 1, **kwargs})
        self.verifications = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Any:
        self.verifications += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "users.db"


@pytest.fixture
def directory(db_path: Path, hasher: CountingHasher) -> LocalDirectory:
    d = LocalDirectory(db_path, hasher=hasher)
    d.upsert(CicUser("JSmith", "John Smith", "john.smith@example.com",
                     {"business": "+1 317 555 0100", "mobile": "+1 317 555 0199"}), PASSWORD)
    d.upsert(CicUser("nopass", "No Password", "nopass@example.com"))
    return d


def _stored_hash(path: Path, user_id: str) -> str | None:
    with closing(sqlite3.connect(path)) as conn:
        row = conn.execute("SELECT password_hash FROM users WHERE user_id = ?",
                           (user_id,)).fetchone()
    assert row is not None
    value: str | None = row[0]
    return value


def test_authenticate_success(directory: LocalDirectory) -> None:
    user = directory.authenticate("JSmith", PASSWORD)
    assert user == CicUser("JSmith", "John Smith", "john.smith@example.com",
                           {"business": "+1 317 555 0100", "mobile": "+1 317 555 0199"})


def test_user_id_is_case_insensitive(directory: LocalDirectory) -> None:
    assert directory.authenticate("jsmith", PASSWORD).user_id == "JSmith"
    assert directory.authenticate("JSMITH", PASSWORD).email == "john.smith@example.com"
    found = directory.lookup("jSmItH")
    assert found is not None and found.user_id == "JSmith"


@pytest.mark.parametrize(("user_id", "password"), [
    ("JSmith", "wrong password"),
    ("JSmith", PASSWORD.upper()),
    ("JSmith", ""),
    ("nobody", PASSWORD),
    ("nopass", ""),
    ("nopass", "anything"),
])
def test_failures_look_the_same(directory: LocalDirectory, hasher: CountingHasher,
                                user_id: str, password: str) -> None:
    before = hasher.verifications
    with pytest.raises(AuthenticationFailed) as info:
        directory.authenticate(user_id, password)
    assert type(info.value) is AuthenticationFailed
    assert str(info.value) == AUTH_FAILED_MESSAGE
    # Unknown users and users without a password cost one argon2 verify, like a wrong password.
    assert hasher.verifications == before + 1


def test_lookup(directory: LocalDirectory) -> None:
    assert directory.lookup("nobody") is None
    assert directory.lookup("nopass") == CicUser("nopass", "No Password", "nopass@example.com")


def test_upsert_updates_fields_and_keeps_password(directory: LocalDirectory) -> None:
    directory.upsert(CicUser("jsmith", "Johnny Smith", "  johnny@example.com ",
                             {"home": "+1 317 555 0111"}))
    user = directory.lookup("JSMITH")
    assert user == CicUser("jsmith", "Johnny Smith", "johnny@example.com",
                           {"home": "+1 317 555 0111"})
    assert directory.authenticate("jsmith", PASSWORD).display_name == "Johnny Smith"
    assert len(directory.list_users()) == 2


def test_upsert_with_password_replaces_it(directory: LocalDirectory) -> None:
    directory.upsert(CicUser("JSmith", "John Smith"), "new password")
    directory.authenticate("JSmith", "new password")
    with pytest.raises(AuthenticationFailed):
        directory.authenticate("JSmith", PASSWORD)


def test_upsert_rejects_bad_values(directory: LocalDirectory) -> None:
    with pytest.raises(DirectoryError, match="whitespace"):
        directory.upsert(CicUser("john smith"))
    with pytest.raises(DirectoryError, match="e-mail"):
        directory.upsert(CicUser("jdoe", email="not-an-address"))
    with pytest.raises(DirectoryError, match="phone field"):
        directory.upsert(CicUser("jdoe", phones={"pager": "1"}))
    with pytest.raises(DirectoryError, match="empty"):
        directory.upsert(CicUser("jdoe"), "")
    assert directory.lookup("jdoe") is None


def test_set_password(directory: LocalDirectory) -> None:
    directory.set_password("NOPASS", "finally")
    assert directory.authenticate("nopass", "finally").user_id == "nopass"


def test_set_password_unknown_user(directory: LocalDirectory) -> None:
    with pytest.raises(DirectoryError, match="no user 'nobody'"):
        directory.set_password("nobody", "secret")


def test_add_refuses_existing_user(directory: LocalDirectory) -> None:
    with pytest.raises(DirectoryError, match="already exists"):
        directory.add(CicUser("jsmith", "Someone Else"))
    directory.add(CicUser("jdoe", "Jane Doe"), "pw")
    assert directory.authenticate("JDOE", "pw").display_name == "Jane Doe"


def test_list_and_delete(directory: LocalDirectory) -> None:
    assert [u.user_id for u in directory.list_users()] == ["JSmith", "nopass"]
    entries = {e.user.user_id: e for e in directory.entries()}
    assert entries["JSmith"].has_password and not entries["nopass"].has_password
    assert entries["JSmith"].created.endswith("Z")
    directory.delete("JSMITH")
    assert directory.lookup("JSmith") is None
    with pytest.raises(DirectoryError, match="no user"):
        directory.delete("JSmith")
    with pytest.raises(AuthenticationFailed):
        directory.authenticate("JSmith", PASSWORD)


def test_argon2id_stored_and_no_plaintext(directory: LocalDirectory, db_path: Path) -> None:
    directory.set_password("nopass", "another secret 42")
    stored = _stored_hash(db_path, "JSmith")
    assert stored is not None and stored.startswith("$argon2id$")
    assert _stored_hash(db_path, "nopass") is not None
    data = b"".join(p.read_bytes() for p in db_path.parent.iterdir()
                    if p.name.startswith(db_path.name))
    assert b"$argon2id$" in data
    for secret in (PASSWORD, "another secret 42"):
        assert secret.encode() not in data
        assert secret.encode("utf-16-le") not in data


def test_default_hasher_is_argon2id(tmp_path: Path) -> None:
    d = LocalDirectory(tmp_path / "default.db")
    d.upsert(CicUser("u1"), "pw")
    stored = _stored_hash(tmp_path / "default.db", "u1")
    assert stored is not None and stored.startswith("$argon2id$")


def test_outdated_hash_is_upgraded(directory: LocalDirectory, db_path: Path) -> None:
    old = _stored_hash(db_path, "JSmith")
    stronger = LocalDirectory(db_path, hasher=CountingHasher(time_cost=2))
    stronger.authenticate("JSmith", PASSWORD)
    new = _stored_hash(db_path, "JSmith")
    assert new != old and new is not None and ",t=2," in new
    stronger.authenticate("JSmith", PASSWORD)
    assert _stored_hash(db_path, "JSmith") == new  # only once


def test_concurrent_authenticate(directory: LocalDirectory) -> None:
    errors: list[BaseException] = []
    results: list[str] = []
    lock = threading.Lock()

    def logon(n: int) -> None:
        try:
            for i in range(10):
                if (n + i) % 3:
                    user = directory.authenticate("jsmith", PASSWORD)
                    with lock:
                        results.append(user.user_id)
                else:
                    with pytest.raises(AuthenticationFailed):
                        directory.authenticate("jsmith", "wrong")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            with lock:
                errors.append(exc)

    def write() -> None:
        try:
            for i in range(10):
                directory.upsert(CicUser(f"writer{i}", "Writer"), "pw")
        except BaseException as exc:  # noqa: BLE001
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=logon, args=(n,)) for n in range(8)]
    threads.append(threading.Thread(target=write))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results and set(results) == {"JSmith"}
    assert len(directory.list_users()) == 12


def test_schema_version_wal_and_permissions(directory: LocalDirectory, db_path: Path) -> None:
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    if os.name == "posix":
        assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert directory.ready()


def test_newer_schema_is_refused(db_path: Path, hasher: CountingHasher) -> None:
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    d = LocalDirectory(db_path, hasher=hasher)
    with pytest.raises(DirectoryError, match="newer"):
        d.lookup("x")
    assert not d.ready()


def test_unopenable_database_names_path(tmp_path: Path, hasher: CountingHasher) -> None:
    missing = tmp_path / "no-such-dir" / "users.db"
    with pytest.raises(DirectoryError, match="no-such-dir"):
        LocalDirectory(missing, hasher=hasher).lookup("x")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a SQLite database, just some text" * 100)
    with pytest.raises(DirectoryError, match="garbage.db"):
        LocalDirectory(garbage, hasher=hasher).lookup("x")
    assert not LocalDirectory(garbage, hasher=hasher).ready()
