"""The embedded CIC user directory: a SQLite file of CIC users and their argon2id password hashes.

This is the default backend when cic-sts does not ask CIC itself. One row per CIC user; the user
ID is compared case-insensitively (``COLLATE NOCASE``, which folds ASCII letters only), like CIC
compares user IDs. A user whose password hash is NULL exists (SAML attributes, lookups) but cannot
log on.

Each OS thread keeps its own connection (a gevent worker's greenlets share theirs; see
`idp.concurrency`), so one `LocalDirectory` serves a whole gunicorn worker; the database runs in
WAL mode so readers never wait for a writer.
Passwords are hashed with argon2id, with the configured profile (`idp.auth.hashing`: OWASP's
19 MiB, 2 passes, 1 lane by default), at most `HashLimit.at_once` at a time; a hash made with other
parameters is replaced at the next successful logon.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from idp.auth.base import AuthBackend
from idp.auth.hashing import HashLimit, Slots, hasher_for
from idp.concurrency import off_loop, os_thread_local
from idp.config import DirectorySettings
from idp.errors import AUTH_FAILED_MESSAGE, AuthenticationFailed, DirectoryError
from idp.sqlite import migrate, transaction
from idp.timestamps import utc_now
from idp.users import PHONE_FIELDS, CicUser, email_problem, user_id_problem

log = logging.getLogger(__name__)

#: Bumped, with a migration step in `_migrate`, whenever the table layout changes.
SCHEMA_VERSION = 1

# Written out, not derived from PHONE_FIELDS: the stored layout only changes with a migration.
_PHONE_COLUMNS = ("phone_business", "phone_business2", "phone_mobile", "phone_home", "phone_fax")
assert _PHONE_COLUMNS == tuple(f"phone_{name}" for name in PHONE_FIELDS)

_SCHEMA = ("""
CREATE TABLE IF NOT EXISTS users (
    user_id         TEXT NOT NULL COLLATE NOCASE PRIMARY KEY,
    display_name    TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    phone_business  TEXT NOT NULL DEFAULT '',
    phone_business2 TEXT NOT NULL DEFAULT '',
    phone_mobile    TEXT NOT NULL DEFAULT '',
    phone_home      TEXT NOT NULL DEFAULT '',
    phone_fax       TEXT NOT NULL DEFAULT '',
    password_hash   TEXT,  -- argon2id, PHC string format, NULL: no logon
    created         TEXT NOT NULL,  -- ISO 8601 UTC
    updated         TEXT NOT NULL
)""", """
CREATE INDEX IF NOT EXISTS users_email ON users (email COLLATE NOCASE)""")

_COLUMNS = ("user_id", "display_name", "email", *_PHONE_COLUMNS, "password_hash", "created",
            "updated")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM users"
_INSERT = f"INSERT INTO users ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_UPSERT = (  # an existing user keeps created, and the password hash unless a new one is given
    f"{_INSERT} ON CONFLICT (user_id) DO UPDATE SET "
    + "".join(f"{column} = excluded.{column}, " for column in _COLUMNS[:-3])
    + "password_hash = coalesce(excluded.password_hash, users.password_hash), "
    "updated = excluded.updated")


@dataclass(frozen=True)
class DirectoryEntry:
    """A user as stored, with what `CicUser` does not carry. Never holds the hash itself."""

    user: CicUser
    has_password: bool
    created: str  # ISO 8601, UTC
    updated: str


class LocalDirectory(AuthBackend):
    """CIC users in a SQLite file; see the module documentation."""

    def __init__(self, path: str | os.PathLike[str], hasher: PasswordHasher | None = None,
                 limit: HashLimit | None = None) -> None:
        self.path = Path(path)
        self._hasher = hasher or hasher_for(DirectorySettings())  # the default profile
        self._slots = Slots(limit or HashLimit())
        self._lock = threading.Lock()
        self._schema_ready = False
        self._dummy_hash: str | None = None
        self._local = os_thread_local()

    # -- AuthBackend -------------------------------------------------------------------------

    def authenticate(self, user_id: str, password: str) -> CicUser:
        with self._connect() as conn:
            row = conn.execute(f"{_SELECT} WHERE user_id = ?", (user_id,)).fetchone()
        stored = row["password_hash"] if row is not None else None
        if stored is None or not password:
            # Spend the time of a real check, so the answer time does not reveal who exists.
            self._verify(self._dummy(), password)
            raise AuthenticationFailed(AUTH_FAILED_MESSAGE)
        if not self._verify(stored, password):
            raise AuthenticationFailed(AUTH_FAILED_MESSAGE)
        if self._needs_rehash(stored):
            self._rehash(row["user_id"], stored, password)
        return _user(row)

    def lookup(self, user_id: str) -> CicUser | None:
        with self._connect() as conn:
            row = conn.execute(f"{_SELECT} WHERE user_id = ?", (user_id,)).fetchone()
        return None if row is None else _user(row)

    def ready(self) -> bool:
        try:
            with self._connect() as conn:
                conn.execute("SELECT 1 FROM users LIMIT 1").fetchall()
        except DirectoryError as exc:
            log.warning("local user directory not ready: %s", exc)
            return False
        return True

    # -- administration ----------------------------------------------------------------------

    def upsert(self, user: CicUser, password: str | None = None) -> None:
        """Create the user or replace its fields. The password hash is only changed when
        `password` is given; otherwise an existing user keeps theirs and a new one has none."""
        self.upsert_many([(user, password)])

    def upsert_many(self, items: Iterable[tuple[CicUser, str | None]]) -> int:
        """`upsert` for many users in one transaction (all or none); returns how many."""
        now = utc_now()
        records = []
        for user, password in items:  # validate and hash before the write lock is taken
            records.append((*_fields(user), self._hash(password) if password is not None else None,
                            now, now))
        with self._connect() as conn, transaction(conn):
            conn.executemany(_UPSERT, records)
        return len(records)

    def add(self, user: CicUser, password: str | None = None) -> None:
        """Create a new user; `DirectoryError` if the user ID (in any case) already exists."""
        now = utc_now()
        record = (*_fields(user), self._hash(password) if password is not None else None, now, now)
        with self._connect() as conn, transaction(conn):
            existing = conn.execute("SELECT user_id FROM users WHERE user_id = ?",
                                    (user.user_id,)).fetchone()
            if existing is not None:
                raise DirectoryError(f"user {existing['user_id']!r} already exists")
            conn.execute(_INSERT, record)

    def set_password(self, user_id: str, password: str) -> None:
        """Set (replace) a user's password; `DirectoryError` if there is no such user."""
        password_hash = self._hash(password)
        with self._connect() as conn, transaction(conn):
            changed = conn.execute(
                "UPDATE users SET password_hash = ?, updated = ? WHERE user_id = ?",
                (password_hash, utc_now(), user_id)).rowcount
        if not changed:
            raise DirectoryError(f"no user {user_id!r} in the local directory {self.path}")

    def delete(self, user_id: str) -> None:
        """Remove a user; `DirectoryError` if there is no such user."""
        with self._connect() as conn, transaction(conn):
            changed = conn.execute("DELETE FROM users WHERE user_id = ?", (user_id,)).rowcount
        if not changed:
            raise DirectoryError(f"no user {user_id!r} in the local directory {self.path}")

    def list_users(self) -> list[CicUser]:
        return [entry.user for entry in self.entries()]

    def entries(self) -> list[DirectoryEntry]:
        """Every user with password status and timestamps, ordered by user ID."""
        with self._connect() as conn:
            rows = conn.execute(f"{_SELECT} ORDER BY user_id").fetchall()
        return [DirectoryEntry(_user(row), row["password_hash"] is not None, row["created"],
                               row["updated"]) for row in rows]

    # -- passwords ---------------------------------------------------------------------------

    def _hash(self, password: str) -> str:
        if not password:
            raise DirectoryError("the password must not be empty")
        return str(self._slots.run(self._hasher.hash, password))

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return bool(self._slots.run(self._hasher.verify, stored, password))
        except (VerificationError, InvalidHashError):  # mismatch, or a damaged hash
            return False

    def _needs_rehash(self, stored: str) -> bool:
        try:
            return bool(self._hasher.check_needs_rehash(stored))
        except (InvalidHashError, ValueError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:  # a race only computes it twice
            self._dummy_hash = str(self._slots.run(self._hasher.hash, secrets.token_urlsafe(24)))
        return self._dummy_hash

    def _rehash(self, user_id: str, stored: str, password: str) -> None:
        """Store a hash with the current parameters; a failure must not fail the logon."""
        try:
            # The write runs off the event loop too: SQLite waits for a writer that holds the
            # database (an import, say) by sleeping, which would stall a whole gevent worker.
            off_loop(self._store_hash, user_id, stored, self._hash(password))
        except DirectoryError as exc:
            log.warning("could not upgrade the password hash of %s: %s", user_id, exc)

    def _store_hash(self, user_id: str, stored: str, new_hash: str) -> None:
        with self._connect() as conn, transaction(conn):
            conn.execute(  # only if nobody changed the password meanwhile
                "UPDATE users SET password_hash = ? WHERE user_id = ? AND password_hash = ?",
                (new_hash, user_id, stored))

    # -- database ----------------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection; sqlite errors become `DirectoryError`.

        Connections are kept per thread rather than opened per call: opening one and mapping
        the WAL index costs several times the lookup itself, and a lookup runs on every SSO.
        """
        self._ensure_schema()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        try:
            yield conn
        except sqlite3.Error as exc:
            raise DirectoryError(f"local user directory {self.path}: {exc}") from None

    def close(self) -> None:
        """Close the calling thread's connection (others close when their thread ends)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _open(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA secure_delete = ON")  # overwrite old hashes on change
            return conn
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise DirectoryError(f"cannot open the local user directory {self.path}: {exc}") \
                from None

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._lock:
            if self._schema_ready:
                return
            if not self.path.exists():
                self._create_file()
            conn = self._open()
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                with transaction(conn):
                    migrate(conn, latest=SCHEMA_VERSION, create=_create, upgrades={},
                            newer=self._newer)
            except sqlite3.Error as exc:
                raise DirectoryError(
                    f"cannot open the local user directory {self.path}: {exc}") from None
            finally:
                conn.close()
            self._schema_ready = True

    def _create_file(self) -> None:
        """Create the database file readable by its owner only: it holds password hashes.
        SQLite gives the -wal and -shm files the same permissions."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DirectoryError(
                f"cannot create the local user directory {self.path}: {exc.strerror}") from None
        os.close(fd)

    def _newer(self, version: int) -> DirectoryError:
        return DirectoryError(f"local user directory {self.path} has schema version {version}, "
                              f"newer than this cic-sts understands ({SCHEMA_VERSION}); "
                              "upgrade cic-sts")


def _create(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA:
        conn.execute(statement)
    # Later versions: an upgrade step for each, `upgrades={2: ...}` above.


def _fields(user: CicUser) -> tuple[str, ...]:
    """The stored column values of `user`, validated and trimmed."""
    user_id = user.user_id
    problem = user_id_problem(user_id)
    email = user.email.strip()
    problem = problem or email_problem(email)
    unknown = set(user.phones) - set(PHONE_FIELDS)
    if unknown:
        problem = problem or (f"unknown phone field {sorted(unknown)[0]!r} "
                              f"(known: {', '.join(PHONE_FIELDS)})")
    if problem:
        raise DirectoryError(problem)
    return (user_id, user.display_name.strip(), email,
            *(user.phones.get(name, "").strip() for name in PHONE_FIELDS))


def _user(row: sqlite3.Row) -> CicUser:
    phones = {name: row[column] for name, column in zip(PHONE_FIELDS, _PHONE_COLUMNS, strict=True)
              if row[column]}
    return CicUser(user_id=row["user_id"], display_name=row["display_name"], email=row["email"],
                   phones=phones)
