"""Running CPU-heavy calls off gevent's loop, and per-thread storage under gevent
(`idp.concurrency`), each in a monkey-patched Python of its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Counts how often another greenlet gets to run while the script's main greenlet works.
TICKER = """
ticks = 0
def ticker():
    global ticks
    while True:
        gevent.sleep(0.005); ticks += 1
gevent.spawn(ticker); gevent.sleep(0.02)
"""

OFF_LOOP_SCRIPT = """
from gevent import monkey; monkey.patch_all()
import gevent, sys
from argon2 import PasswordHasher
from idp.concurrency import off_loop
""" + TICKER + """
hasher = PasswordHasher(time_cost=4, memory_cost=131072, parallelism=1)
before = ticks
if sys.argv[1] == "off":
    off_loop(hasher.hash, "password")
else:
    hasher.hash("password")
print(ticks - before)
"""


def ticks_during_a_hash(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", OFF_LOOP_SCRIPT, mode], capture_output=True,
                         text=True, check=True, timeout=60)
    return int(out.stdout)


def test_a_password_hash_does_not_stall_the_other_connections() -> None:
    # The argon2 hash takes a few hundred milliseconds: run on gevent's loop, no other greenlet
    # moves meanwhile; through off_loop, the others keep going.
    assert ticks_during_a_hash("inline") <= 1
    assert ticks_during_a_hash("off") >= 5


SHARED_CONNECTION_SCRIPT = """
from gevent import monkey; monkey.patch_all()
import gevent, sys
from idp.auth.local import LocalDirectory

directory = LocalDirectory(sys.argv[1])
def connection():
    directory.lookup("nobody")
    return id(directory._local.conn)
print(len({g.value for g in gevent.joinall([gevent.spawn(connection) for _ in range(20)])}))
"""


def test_greenlets_of_a_worker_share_one_directory_connection(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SHARED_CONNECTION_SCRIPT,
                          str(tmp_path / "users.db")], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "1"


REHASH_SCRIPT = """
from gevent import monkey; monkey.patch_all()
import gevent, subprocess, sys, time
from argon2 import PasswordHasher
from idp.auth.local import LocalDirectory
from tests.conftest import ALICE

db = sys.argv[1]
LocalDirectory(db, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)).upsert(
    ALICE, password="pw")
directory = LocalDirectory(db, hasher=PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
directory.lookup("warm-up")
holder = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys, time; "
    "c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE'); "
    "print('locked', flush=True); time.sleep(1); c.execute('COMMIT')", db],
    stdout=subprocess.PIPE)
holder.stdout.readline()
""" + TICKER + """
before = ticks
directory.authenticate(ALICE.user_id, "pw")  # the hash is upgraded: a write, which must wait
print(ticks - before)
"""


def test_a_hash_upgrade_waiting_for_the_database_does_not_stall_the_worker(
        tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", REHASH_SCRIPT, str(tmp_path / "users.db")],
                         capture_output=True, text=True, check=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[1])
    assert int(out.stdout) >= 40  # the other greenlet kept running while the write waited 1 s


def test_off_loop_calls_directly_without_gevent() -> None:
    from idp.concurrency import off_loop

    assert off_loop(sum, [1, 2, 3]) == 6
