"""Real servers for end-to-end tests: the STS under gunicorn, the demo SP, polled until ready."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-quic",
                 "--disable-sync"]


#: The loopback addresses of the two STS servers of a switchover pair in tests and benches.
PAIR = ("127.0.0.2", "127.0.0.3")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def pair_port(addresses: tuple[str, ...], tries: int = 50) -> int:
    """A port free on every one of `addresses` (the servers of a switchover pair listen on one
    port, each on its own loopback address), chosen at run time."""
    for _ in range(tries):
        port = free_port(addresses[0])
        try:
            for address in addresses[1:]:
                with socket.socket() as probe:
                    probe.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no port free on all of {', '.join(addresses)}")


def pair_proxy_section(port: int, nginx_prefix: Path | None = None) -> str:
    """The ``[proxy]`` section for a proxy on this machine in front of `PAIR` on `port`, with
    the test keys' TLS certificate both ways. With `nginx_prefix`, for an nginx of its own: its
    logs there, its pid file under its prefix (not Debian's /run/nginx.pid)."""
    section = f"""
[proxy]
servers = ["{PAIR[0]}:{port}", "{PAIR[1]}:{port}"]
listen_address = "127.0.0.1"
tls_certificate = "certs/tls.crt"
tls_key = "certs/tls.key"
upstream_ca = "certs/tls.crt"
upstream_name = "localhost"
"""
    if nginx_prefix is not None:
        section += f'log_dir = "{nginx_prefix / "logs"}"\npid_file = "nginx.pid"\n'
    return section


def insecure_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def wait_until_responds(url: str, timeout: float = 20.0, process: subprocess.Popen[bytes] |
                        None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=insecure_context()) as answer:
                if answer.status < 500:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout} s")
        time.sleep(0.1)


@contextmanager
def sts_server(config: Path, bind: str, log: Path, gunicorn_args: str = "",
               env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`cic-sts serve` (real gunicorn over TLS) on `bind`, stopped at the end; `gunicorn_args`
    override settings the way an operator would, through $GUNICORN_CMD_ARGS."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "GUNICORN_CMD_ARGS": gunicorn_args,
           **(env or {})}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "idp", "--config", str(config), "serve", "--bind", bind],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        wait_until_responds(f"https://{bind}/healthz", process=process)
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def flask_server(app: Flask, host: str, port: int, cert: Path, key: Path) -> Iterator[str]:
    """Serve `app` over HTTPS from a thread; yields its base URL."""
    server = make_server(host, port, app, threaded=True, ssl_context=(str(cert), str(key)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://{host}:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def redis_server(port: int, log: Path) -> Iterator[str]:
    """A throwaway redis-server on 127.0.0.1 (no persistence); yields its URL."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
             "--appendonly", "no", "--protected-mode", "yes"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


@contextmanager
def nginx_running(conf: Path, prefix: Path, url: str) -> Iterator[subprocess.Popen[bytes]]:
    """Real nginx in the foreground (`daemon off`), pid and startup log in `prefix`; stopped
    (fast shutdown, then SIGKILL to its process group) whatever happens.

    A generated nginx.conf names its pid file (/run/nginx.pid unless proxy.pid_file says
    otherwise): a test must never take the pid file of an nginx already on the machine, so
    one outside `prefix` is refused, and a configuration without one gets one in `prefix`."""
    from idp.proxy.check import find_nginx

    named = re.findall(r"^\s*pid\s+([^;\s]+)\s*;", conf.read_text(), flags=re.MULTILINE)
    pid = Path(named[0]) if named else None
    if pid is not None and not (pid if pid.is_absolute() else prefix / pid).resolve() \
            .is_relative_to(prefix.resolve()):
        raise AssertionError(f"{conf} names pid file {pid}, outside the test's {prefix}: "
                             "render it with proxy.pid_file (or --pid-file) under the prefix")
    directives = "daemon off;" if named else f"daemon off; pid {prefix}/nginx.pid;"
    executable = find_nginx()
    log = (prefix / "nginx.out").open("wb")
    process = subprocess.Popen(
        [executable, "-p", f"{prefix}/", "-c", str(conf), "-e", str(prefix / "error.log"),
         "-g", directives],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_responds(url, timeout=15, process=process)
        yield process
    finally:
        stop(process)
        log.close()
