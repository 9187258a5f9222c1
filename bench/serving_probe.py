"""What each way of serving does with hostile or broken clients (docs/design.md, "Serving").

    .venv/bin/python bench/serving_probe.py [--serving idp.server,gevent+yield]

For each variant of bench/serving_conf.py (one worker, keep-alive 2 s): a header line with an
invalid name carrying a second request in its body, a body sent one byte every 0.4 s, a body
left unread, a TCP connection that never starts TLS, and plain HTTP sent to the TLS port; then
whether the server's log holds a traceback. Loopback only, about 30 s per variant.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serving import variant_server  # noqa: E402
from idp.config import load_config  # noqa: E402
from idp.keys import generate_secret, generate_signing_pair, generate_tls_pair  # noqa: E402
from tests.conftest import seed_users, write_config  # noqa: E402
from tests.servers import free_port, insecure_context  # noqa: E402


def first_line(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0].decode("latin-1") if data else "nothing"


def exchange(port: int, data: bytes, trickle: bytes = b"", limit: float = 6.0) -> str:
    """Send `data` (then `trickle` a byte every 0.4 s); what came back, and when it ended."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=limit)
    conn = insecure_context().wrap_socket(raw)
    started, answer = time.monotonic(), b""
    conn.sendall(data)
    conn.settimeout(0.4 if trickle else limit)
    pending = list(trickle)
    while True:
        try:
            if pending:
                conn.sendall(bytes([pending.pop(0)]))
            chunk = conn.recv(65536)
        except TimeoutError:
            if pending:
                continue
            break
        except OSError:
            break
        if not chunk:
            break
        answer += chunk
    conn.close()
    statuses = answer.count(b"HTTP/1.1 ")
    return f"{first_line(answer)} ({statuses} answer(s), {time.monotonic() - started:.1f} s)"


def silent(port: int, payload: bytes, limit: float = 8.0) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=limit) as raw:
        raw.sendall(payload)
        started = time.monotonic()
        try:
            raw.recv(100)  # b"" (or a reset): the server closed it
        except TimeoutError:
            return f"still open after {limit:.0f} s"
        except ConnectionResetError:
            pass
        return f"closed after {time.monotonic() - started:.1f} s"


def probe(port: int) -> dict[str, str]:
    smuggled = b"GET /ICNotifierIDP/metadata HTTP/1.1\r\nHost: sts\r\n\r\n"
    return {
        "Bad Header: 1, a request in the body": exchange(port, (
            b"POST /healthz HTTP/1.1\r\nHost: sts\r\nBad Header: 1\r\nContent-Length: %d\r\n\r\n"
            % len(smuggled)) + smuggled),
        "body, a byte every 0.4 s (16 s)": exchange(port, (
            b"POST /ICNotifierIDP/login HTTP/1.1\r\nHost: sts\r\nContent-Length: 100\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"), trickle=b"a" * 40),
        "body left unread": exchange(port, b"GET /healthz HTTP/1.1\r\nHost: sts\r\n"
                                           b"Content-Length: 100000000\r\n\r\nonly this"),
        "TCP, never TLS": silent(port, b""),
        "plain HTTP to the TLS port": silent(port, b"GET / HTTP/1.1\r\nHost: sts\r\n\r\n"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serving", default="idp.server,gevent+yield")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cic-sts-probe-"))
    keys = folder / "keys"
    generate_signing_pair(keys / "saml-signing.key", keys / "saml-signing.crt",
                          "https://127.0.0.1", force=False)
    generate_tls_pair(keys / "tls.key", keys / "tls.crt", ["127.0.0.1"], force=False)
    generate_secret(keys / "session.secret", force=False)
    config = write_config(folder, keys, machine="127.0.0.1", port=free_port())
    seed_users(load_config(config).directory.database)
    for name in args.serving.split(","):
        log = folder / f"{name}.log"
        with variant_server(name, config, log, "--workers 1 --keep-alive 2") as variant:
            found = probe(int(variant.bind.rsplit(":", 1)[1]))
        found["traceback in the log"] = "yes" if "Traceback" in log.read_text() else "no"
        print(f"{name}:")
        for what, outcome in found.items():
            print(f"  {what:<38} {outcome}")


if __name__ == "__main__":
    main()
