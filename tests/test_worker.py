"""The gunicorn worker (`idp.worker`) and running CPU-heavy calls off gevent's loop."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from idp.config import load_config
from tests.conftest import seed_users, write_config
from tests.servers import free_port, sts_server

pytestmark = pytest.mark.e2e


@dataclass
class Server:
    host: str
    port: int
    log: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, key_dir: Path) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("worker")
    port = free_port()
    path = write_config(folder, key_dir, machine="127.0.0.1", port=port)
    seed_users(load_config(path).directory.database)
    log = folder / "sts.log"
    with sts_server(path, f"127.0.0.1:{port}", log, gunicorn_args="--keep-alive 1 --workers 1"):
        yield Server("127.0.0.1", port, log)


def tls_connection(server: Server) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((server.host, server.port), timeout=10)
    return context.wrap_socket(raw)


def read_until_closed(conn: ssl.SSLSocket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took."""
    started, data = time.monotonic(), b""
    conn.settimeout(limit)
    while True:
        try:
            chunk = conn.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            chunk = b""
        if not chunk:
            return data, time.monotonic() - started
        data += chunk


def test_idle_keep_alive_connection_is_closed(server: Server) -> None:
    with tls_connection(server) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: sts\r\n\r\n")
        data, waited = read_until_closed(conn, limit=8)
    assert data.startswith(b"HTTP/1.1 200")
    assert 0.5 < waited < 6  # kept alive for a while, then closed after --keep-alive 1


def test_a_request_head_that_never_ends_is_cut_off(server: Server) -> None:
    with tls_connection(server) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: st")  # and nothing more
        data, waited = read_until_closed(conn, limit=8)
    assert waited < 6  # closed after --keep-alive 1, at most with a 400 first
    assert data == b"" or data.startswith(b"HTTP/1.1 400")


def test_a_head_sent_byte_by_byte_is_cut_off(server: Server) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: sts\r\nX-Padding: " + b"a" * 40 + b"\r\n\r\n"
    started = time.monotonic()
    with tls_connection(server) as conn:
        try:
            for byte in head:  # each byte well inside the socket timeout, the whole far beyond
                conn.sendall(bytes([byte]))
                time.sleep(0.1)
            data, _ = read_until_closed(conn, limit=8)
        except OSError:
            data = b""
    assert not data.startswith(b"HTTP/1.1 200")
    assert time.monotonic() - started < 4  # cut after about --keep-alive 1, not 7 s of bytes


def test_a_connection_that_never_starts_tls_is_closed(server: Server) -> None:
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        started = time.monotonic()
        raw.settimeout(8)
        assert raw.recv(100) == b""
        assert time.monotonic() - started < 6


def test_a_huge_request_head_is_refused(server: Server) -> None:
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"b" * 4000) for n in range(12))
    with tls_connection(server) as conn:
        try:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: sts\r\n" + headers + b"\r\n")
        except OSError:
            pass  # the server may stop reading before all of it is sent
        data, _ = read_until_closed(conn, limit=8)
    assert data.startswith(b"HTTP/1.1 400")


def test_an_unread_body_ends_the_connection_instead_of_being_drained(server: Server) -> None:
    with tls_connection(server) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: sts\r\nContent-Length: 100000000\r\n\r\n"
                     b"only the first bytes")
        data, waited = read_until_closed(conn, limit=8)
    assert data.startswith(b"HTTP/1.1 200") and waited < 0.9  # not after the 1 s deadline


def test_clients_that_vanish_leave_no_traceback(server: Server) -> None:
    for _ in range(20):
        conn = tls_connection(server)
        conn.sendall(b"GET /ICNotifierIDP/metadata HTTP/1.1\r\nHost: sts\r\n\r\n")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # a reset, without reading the answer
    for _ in range(5):  # a head cut off by the client
        with tls_connection(server) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: st")
    for line in (b"GET /healthz HTTP/1", b"GET /healthz HTTP/1.1\r\n" + b"X-A: b\r\n" * 120):
        with tls_connection(server) as conn:
            conn.sendall(line + b"\r\n\r\n")
            data, _ = read_until_closed(conn, limit=8)
        assert data.startswith(b"HTTP/1.1 400")
    time.sleep(0.5)
    assert "Traceback" not in server.log.read_text()


def test_access_log_names_the_path_but_never_the_query(server: Server) -> None:
    secret = "relay-state-that-must-not-be-logged"
    url = f"https://{server.host}:{server.port}/ICNotifierIDP/login"
    with httpx.Client(verify=False) as client:
        answer = client.get(url, params={"loginType": "saml", "SAMLRequest": "AAAA",
                                         "RelayState": secret})
    assert answer.status_code == 400
    deadline = time.monotonic() + 5
    while '"GET /ICNotifierIDP/login" 400' not in server.log.read_text():
        assert time.monotonic() < deadline, "no access log line"
        time.sleep(0.05)
    text = server.log.read_text()
    assert secret not in text and "SAMLRequest" not in text


def test_refused_request_lines_and_forged_paths_stay_harmless_in_the_log(
        server: Server) -> None:
    for line in (b"GET /ICNotifierIDP/login?SAMLRequest=leak-me&RelayState='leak-me' HTTP/9.9",
                 b"GET /healthz%0A10.9.9.9%20%22GET%20/forged%22%20200 HTTP/1.1",
                 b"G\x1b[31mET /healthz HTTP/1.1"):
        with tls_connection(server) as conn:
            conn.sendall(line + b"\r\nHost: sts\r\nConnection: close\r\n\r\n")
            read_until_closed(conn, limit=8)
    deadline = time.monotonic() + 5
    while "forged" not in server.log.read_text():
        assert time.monotonic() < deadline, "no log line for the forged path"
        time.sleep(0.05)
    text = server.log.read_text()
    assert "leak-me" not in text
    assert not any(line.startswith('10.9.9.9 "GET /forged"') for line in text.splitlines())
    assert '"GET /healthz\\x0a10.9.9.9 \\x22GET /forged\\x22 200"' in text
    assert "G\\x1b[31mET /healthz" in text and "\x1b" not in text


@contextmanager
def one_worker_server(folder: Path, key_dir: Path
                      ) -> Iterator[tuple[subprocess.Popen[bytes], Server]]:
    """An STS with one worker, for tests that stop it themselves."""
    port = free_port()
    path = write_config(folder, key_dir, machine="127.0.0.1", port=port)
    with sts_server(path, f"127.0.0.1:{port}", folder / "sts.log",
                    gunicorn_args="--workers 1") as process:
        yield process, Server("127.0.0.1", port, folder / "sts.log")


def test_a_stop_closes_idle_keep_alive_connections_at_once(tmp_path: Path,
                                                          key_dir: Path) -> None:
    """A proxy's idle connections must not hold a stopping worker for gunicorn's whole
    graceful timeout (10 s), nor keep it receiving requests meanwhile."""
    with one_worker_server(tmp_path, key_dir) as (process, target):
        conn = tls_connection(target)
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: sts\r\n\r\n")
        answer = b""
        while b'"ok"' not in answer:
            answer += conn.recv(65536)
        started = time.monotonic()
        os.killpg(process.pid, signal.SIGTERM)
        rest, _ = read_until_closed(conn, limit=20)
        closed_after = time.monotonic() - started
        process.wait(timeout=20)
        stopped_after = time.monotonic() - started
        conn.close()
    assert rest == b""
    assert closed_after < 4 and stopped_after < 6, (closed_after, stopped_after)


def test_a_request_line_begun_before_a_stop_is_still_answered(tmp_path: Path,
                                                               key_dir: Path) -> None:
    with one_worker_server(tmp_path, key_dir) as (process, target):
        conn = tls_connection(target)
        conn.sendall(b"GET /hea")
        time.sleep(0.3)
        os.killpg(process.pid, signal.SIGTERM)
        time.sleep(3.5)  # past the 2 s in which idle connections may still bring a request
        conn.sendall(b"lthz HTTP/1.1\r\nHost: sts\r\n\r\n")
        data, _ = read_until_closed(conn, limit=10)
        conn.close()
        process.wait(timeout=20)
    assert data.startswith(b"HTTP/1.1 200") and b"Connection: close" in data


def test_a_stop_loses_no_request_of_busy_keep_alive_clients(tmp_path: Path,
                                                             key_dir: Path) -> None:
    """Clients that send their next request the moment an answer arrives, as a busy proxy does:
    a stop must answer every request they sent (the last ones with Connection: close), never
    close a connection under a request."""
    outcomes: list[str] = []
    lock = threading.Lock()

    def client(server: Server) -> None:
        conn = tls_connection(server)
        conn.settimeout(15)
        buffer, outcome = b"", "running"
        while outcome == "running":
            try:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: sts\r\n\r\n")
            except OSError:
                outcome = "closed before the request"  # nothing sent, nothing lost
                break
            while b'"ok"' not in buffer:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    outcome = "dropped after send"
                    break
                buffer += chunk
            else:
                head, _, buffer = buffer.partition(b'"ok"}\n')
                if b"Connection: close" in head:
                    outcome = "told to close"
        conn.close()
        with lock:
            outcomes.append(outcome)

    with one_worker_server(tmp_path, key_dir) as (process, target):
        threads = [threading.Thread(target=client, args=(target,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        os.killpg(process.pid, signal.SIGTERM)
        for thread in threads:
            thread.join(timeout=30)
        process.wait(timeout=20)
    assert len(outcomes) == 8
    assert "dropped after send" not in outcomes, outcomes


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
