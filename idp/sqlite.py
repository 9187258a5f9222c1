"""The two SQLite habits both of cic-sts's databases share: a transaction that takes the write
lock at once, and a schema migrated step by step (``PRAGMA user_version``).

`BEGIN IMMEDIATE` rather than SQLite's default deferred transaction: a transaction that reads
first and writes later could meet another writer and fail with "database is locked" in the
middle; taking the lock up front makes it wait (the connection's busy timeout) instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

Step = Callable[[sqlite3.Connection], None]


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction on a connection opened with ``isolation_level=None``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back already (e.g. on SQLITE_FULL)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, *, latest: int, create: Step,
            upgrades: Mapping[int, Step], newer: Callable[[int], Exception]) -> int:
    """Bring the schema to version `latest`, inside the caller's transaction: `create` makes
    an empty database the latest at once; ``upgrades[n]`` takes version n - 1 to n. A file
    newer than `latest` is refused with ``newer(version)``. Returns the version found."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > latest:
        raise newer(found)
    if found == 0:
        create(conn)
    else:
        for version in range(found + 1, latest + 1):
            upgrades[version](conn)
    if found != latest:
        conn.execute(f"PRAGMA user_version = {latest}")
    return found
