"""The gunicorn worker (`idp.server.worker`), served for real.

Deadlines are shown by who ends a connection, not by how long it took: the client side waits far
longer than the server's deadline and fails the test if the server has not closed by then; where
two server rules could both close a connection, the other one is set far out of reach (a 30 s
keep-alive, a 60 s graceful timeout). The deadline rules themselves are tested with an
injectable clock in tests/test_server_units.py."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from idp.config import load_config
from idp.saml.metadata import SSO_PATH
from tests.conftest import hidden, now_instant, seed_users, write_config
from tests.helpers import authn_request_xml, redirect_encode
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


def read_until_closed(conn: ssl.SSLSocket, limit: float) -> bytes:
    """Everything the server sends until it closes the connection; TimeoutError if it has not
    closed it within `limit` seconds (far beyond any server deadline the test relies on)."""
    data = b""
    conn.settimeout(limit)
    while True:
        try:
            chunk = conn.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            chunk = b""
        if not chunk:
            return data
        data += chunk


def answers(data: bytes) -> list[bytes]:
    """The status lines of the HTTP answers in `data`."""
    return re.findall(rb"HTTP/1\.1 \d{3}[^\r]*", data)


def test_idle_keep_alive_connection_is_closed(server: Server) -> None:
    with tls_connection(server) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: sts\r\n\r\n")
        assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: sts\r\n\r\n")  # kept alive
        data = read_until_closed(conn, limit=8)  # then closed by the server (--keep-alive 1)
    assert answers(data) == [b"HTTP/1.1 200 OK"]


def test_an_answer_leaves_in_one_send_head_and_body(server: Server) -> None:
    """A server stopped between two sends (SIGSTOP, a crash) would leave the proxy a head
    without its body, which it can neither pass on nor retry elsewhere. One TLS record carries
    up to 16 KB, and a TLS socket's recv returns one record at most: so the first recv holds
    the whole of a metadata answer (a few KB) only if the server wrote head and body at once."""
    with tls_connection(server) as conn:
        conn.sendall(b"GET /ICNotifierIDP/metadata HTTP/1.1\r\nHost: sts\r\n"
                     b"Connection: close\r\n\r\n")
        first = conn.recv(65536)
        rest = read_until_closed(conn, limit=8)
    head, _, body = first.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
    assert head.startswith(b"HTTP/1.1 200") and 1000 < length < 15000
    assert len(body) == length and rest == b"", (len(body), length, len(rest))


def test_a_request_head_that_never_ends_is_cut_off(server: Server) -> None:
    with tls_connection(server) as conn:
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: st")  # and nothing more
        data = read_until_closed(conn, limit=8)
    assert data == b"" or data.startswith(b"HTTP/1.1 400")


def test_a_head_sent_byte_by_byte_is_cut_off(server: Server) -> None:
    # 0.1 s between bytes, well inside the deadline of a read, 5 s for the whole head: the
    # server must close before the head is complete (--keep-alive 1 for the whole head).
    head = b"GET /healthz HTTP/1.1\r\nHost: sts\r\nX-Padding: " + b"a" * 10 + b"\r\n\r\n"
    sent = 0
    with tls_connection(server) as conn:
        try:
            for byte in head:
                conn.sendall(bytes([byte]))
                sent += 1
                time.sleep(0.1)
            data = read_until_closed(conn, limit=8)
        except OSError:
            data = b""
    assert not data.startswith(b"HTTP/1.1 200")
    assert sent < len(head) or data == b"", "the whole head went in and was answered"


def test_a_connection_that_never_starts_tls_is_closed(server: Server) -> None:
    with socket.create_connection((server.host, server.port), timeout=10) as raw:
        raw.settimeout(8)  # a TimeoutError if the server kept it
        assert raw.recv(100) == b""


def test_a_header_line_with_an_invalid_name_is_refused_as_a_whole(server: Server) -> None:
    """The standard library's header parser stops at such a line: what follows it, here a
    body holding a second request, must not be read as a request."""
    smuggled = b"GET /ICNotifierIDP/metadata HTTP/1.1\r\nHost: sts\r\n\r\n"
    with tls_connection(server) as conn:
        conn.sendall(b"POST /healthz HTTP/1.1\r\nHost: sts\r\nBad Header: 1\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(smuggled) + smuggled)
        data = read_until_closed(conn, limit=8)
    assert answers(data) == [b"HTTP/1.1 400 Bad Request"]
    assert b"EntityDescriptor" not in data


@pytest.mark.parametrize("head", [
    b"GET /healthz HTTP/1.1\r\nHost: sts\r\nX-Folded: a\r\n b\r\n\r\n",
    b"POST /healthz HTTP/1.1\r\nHost: sts\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /healthz HTTP/1.1\r\nHost: sts\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\n\r\n",
    b"GET /healthz\r\n\r\n",
], ids=["folded", "length-and-chunked", "other-coding", "no-host", "http-0.9"])
def test_malformed_heads_are_refused(server: Server, head: bytes) -> None:
    with tls_connection(server) as conn:
        conn.sendall(head)
        data = read_until_closed(conn, limit=8)
    assert answers(data) == [b"HTTP/1.1 400 Bad Request"]


def test_a_body_that_trickles_is_cut_at_its_deadline(server: Server) -> None:
    """Each byte well inside the deadline of one read: only the deadline on the whole body
    (--keep-alive 1) ends it, with 408, after which the connection is closed."""
    data = b""
    with tls_connection(server) as conn:
        conn.sendall(b"POST /ICNotifierIDP/login HTTP/1.1\r\nHost: sts\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 200\r\n\r\n")
        conn.settimeout(0.2)
        for _ in range(100):  # 20 s of body at most, the deadline is 1 s
            try:
                conn.sendall(b"a")
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        data += read_until_closed(conn, limit=8)
    assert answers(data) == [b"HTTP/1.1 408 REQUEST TIMEOUT"]


def test_a_wrong_password_writes_no_traceback(server: Server) -> None:
    base = f"https://{server.host}:{server.port}"
    xml = authn_request_xml(destination=f"{base}{SSO_PATH}", issue_instant=now_instant())
    with httpx.Client(verify=False) as client:
        page = client.get(f"{base}{SSO_PATH}", params={"SAMLRequest": redirect_encode(xml)})
        assert page.status_code == 200, page.text
        form = {"ctx": hidden(page.text, "ctx"), "csrf": hidden(page.text, "csrf"),
                "user_id": "alice", "password": "not the password"}
        answer = client.post(f"{base}{SSO_PATH}", data=form)
    assert answer.status_code < 500 and "SAMLResponse" not in answer.text
    deadline = time.monotonic() + 5
    while '"POST /ICNotifierIDP/login"' not in server.log.read_text():
        assert time.monotonic() < deadline, "no access log line"
        time.sleep(0.05)
    log = server.log.read_text()
    assert "Traceback" not in log and "VerifyMismatchError" not in log


def test_a_huge_request_head_is_refused(server: Server) -> None:
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"b" * 4000) for n in range(12))
    with tls_connection(server) as conn:
        try:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: sts\r\n" + headers + b"\r\n")
        except OSError:
            pass  # the server may stop reading before all of it is sent
        data = read_until_closed(conn, limit=8)
    assert data.startswith(b"HTTP/1.1 400")


def test_clients_that_vanish_leave_no_traceback(server: Server) -> None:
    for _ in range(20):
        conn = tls_connection(server)
        conn.sendall(b"GET /ICNotifierIDP/metadata HTTP/1.1\r\nHost: sts\r\n\r\n")
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # a reset, without reading the answer
    for _ in range(5):  # a head cut off by the client, in the headers and in the request line
        for cut in (b"GET /healthz HTTP/1.1\r\nHost: st", b"GET /heal"):
            with tls_connection(server) as conn:
                conn.sendall(cut)
    for line in (b"GET /healthz HTTP/1", b"GET /healthz HTTP/1.1\r\n" + b"X-A: b\r\n" * 120):
        with tls_connection(server) as conn:
            conn.sendall(line + b"\r\n\r\n")
            data = read_until_closed(conn, limit=8)
        assert data.startswith(b"HTTP/1.1 400")
    with socket.create_connection((server.host, server.port)) as raw:  # not TLS at all
        raw.sendall(b"GET / HTTP/1.1\r\nHost: sts\r\n\r\n")
        raw.settimeout(8)
        try:
            raw.recv(100)
        except ConnectionResetError:
            pass
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
def one_worker_server(folder: Path, key_dir: Path, stop_drain: int = 0
                      ) -> Iterator[tuple[subprocess.Popen[bytes], Server]]:
    """An STS with one worker and the default keep-alive (30 s), and a graceful timeout (60 s)
    that no test waits for: a connection it closes was closed by another rule."""
    port = free_port()
    path = write_config(folder, key_dir, machine="127.0.0.1", port=port, stop_drain=stop_drain)
    with sts_server(path, f"127.0.0.1:{port}", folder / "sts.log",
                    gunicorn_args="--workers 1 --graceful-timeout 60") as process:
        yield process, Server("127.0.0.1", port, folder / "sts.log")


def test_an_unread_body_ends_the_connection_instead_of_being_drained(tmp_path: Path,
                                                                    key_dir: Path) -> None:
    with one_worker_server(tmp_path, key_dir) as (_, target):
        with tls_connection(target) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: sts\r\n"
                         b"Content-Length: 100000000\r\n\r\nonly the first bytes")
            data = read_until_closed(conn, limit=8)  # well before the 30 s deadline
    assert answers(data) == [b"HTTP/1.1 200 OK"]


def test_a_stop_closes_idle_keep_alive_connections_at_once(tmp_path: Path,
                                                          key_dir: Path) -> None:
    """A proxy's idle connections must not hold a stopping worker for gunicorn's whole
    graceful timeout, nor keep it receiving requests meanwhile."""
    with one_worker_server(tmp_path, key_dir) as (process, target):
        conn = tls_connection(target)
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: sts\r\n\r\n")
        answer = b""
        while b'"ok"' not in answer:
            answer += conn.recv(65536)
        os.killpg(process.pid, signal.SIGTERM)
        # closed by the stop's linger (2 s), not by the keep-alive (30 s) nor the graceful
        # timeout (60 s): either would be a TimeoutError here
        rest = read_until_closed(conn, limit=20)
        process.wait(timeout=20)  # and the worker is done
        conn.close()
    assert rest == b""


def test_a_request_line_begun_before_a_stop_is_still_answered(tmp_path: Path,
                                                               key_dir: Path) -> None:
    with one_worker_server(tmp_path, key_dir) as (process, target):
        conn = tls_connection(target)
        conn.sendall(b"GET /hea")
        time.sleep(0.3)
        os.killpg(process.pid, signal.SIGTERM)
        time.sleep(3.5)  # past the 2 s in which idle connections may still bring a request
        conn.sendall(b"lthz HTTP/1.1\r\nHost: sts\r\n\r\n")
        data = read_until_closed(conn, limit=10)
        conn.close()
        process.wait(timeout=20)
    assert data.startswith(b"HTTP/1.1 200") and b"Connection: close" in data


@dataclass
class BusyClient:
    served_before_stop: int = 0
    served_after_stop: int = 0
    outcome: str = "running"


def test_a_stop_loses_no_request_of_busy_keep_alive_clients(tmp_path: Path,
                                                             key_dir: Path) -> None:
    """Clients that send their next request the moment an answer arrives, as a busy proxy does:
    a stop must answer every request they sent (the last ones with Connection: close), never
    close a connection under a request. Every client must be busy when the stop comes (it has
    been answered before it), or the test would prove nothing."""
    clients = [BusyClient() for _ in range(8)]
    all_busy = threading.Barrier(len(clients) + 1)
    stopping = threading.Event()

    def client(server: Server, me: BusyClient) -> None:
        conn = tls_connection(server)
        conn.settimeout(15)
        buffer = b""
        while me.outcome == "running":
            try:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: sts\r\n\r\n")
            except OSError:
                me.outcome = "closed before the request"  # nothing sent, nothing lost
                break
            while b'"ok"' not in buffer:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    me.outcome = "dropped after send"
                    break
                buffer += chunk
            else:
                head, _, buffer = buffer.partition(b'"ok"}\n')
                if stopping.is_set():
                    me.served_after_stop += 1
                else:
                    me.served_before_stop += 1
                    if me.served_before_stop == 20:
                        all_busy.wait(timeout=20)
                if b"Connection: close" in head:
                    me.outcome = "told to close"
        conn.close()

    with one_worker_server(tmp_path, key_dir) as (process, target):
        threads = [threading.Thread(target=client, args=(target, me)) for me in clients]
        for thread in threads:
            thread.start()
        all_busy.wait(timeout=20)  # every client has had 20 answers and goes on
        stopping.set()
        os.killpg(process.pid, signal.SIGTERM)
        for thread in threads:
            thread.join(timeout=30)
        process.wait(timeout=20)
    outcomes = [me.outcome for me in clients]
    assert all(me.served_before_stop >= 20 for me in clients), clients
    assert "dropped after send" not in outcomes and "running" not in outcomes, clients
    assert "told to close" in outcomes, clients  # the stop came while requests were answered


def request_once(conn: ssl.SSLSocket, path: str) -> tuple[bytes, bytes]:
    """(head, body) of one answer on `conn`, read to the end of its Content-Length."""
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: sts\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, "closed without an answer"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += conn.recv(65536)
    return head, body


def test_a_stopping_worker_drains_before_it_refuses_connections(tmp_path: Path,
                                                                key_dir: Path) -> None:
    """server.stop_drain: after SIGTERM the worker still accepts and answers, but /readyz says
    503 (serving: false) and every answer says Connection: close, so that a proxy takes the
    server out; only then are connections refused."""
    with one_worker_server(tmp_path, key_dir, stop_drain=2) as (process, target):
        kept = tls_connection(target)
        head, _ = request_once(kept, "/healthz")
        assert b"Connection: close" not in head
        os.killpg(process.pid, signal.SIGTERM)
        readiness: list[tuple[int, bool, bool]] = []  # (status, serving, Connection: close)
        kept_answer = b""
        while True:
            try:
                conn = tls_connection(target)
            except ConnectionRefusedError:
                break
            except (OSError, ssl.SSLError):
                continue  # accepted just as the listener closed
            with conn:
                try:
                    head, body = request_once(conn, "/readyz")
                except (OSError, AssertionError):
                    continue
            status = int(head.split()[1])
            readiness.append((status, b'"serving":true' in body.replace(b" ", b""),
                              b"Connection: close" in head))
            if status == 503 and not kept_answer:
                kept_answer, _ = request_once(kept, "/healthz")  # an existing connection
            time.sleep(0.1)
        kept.close()
        process.wait(timeout=20)
    draining = [entry for entry in readiness if entry[0] == 503]
    assert len(draining) >= 5, readiness  # two seconds of it, polled every 0.1 s
    assert all(not serving and close for _, serving, close in draining), readiness
    # before the drain (the worker notices SIGTERM within a second) it was ready; never after
    first = readiness.index(draining[0])
    assert all(status == 200 for status, _, _ in readiness[:first])
    assert all(status == 503 for status, _, _ in readiness[first:])
    assert kept_answer.startswith(b"HTTP/1.1 200") and b"Connection: close" in kept_answer
