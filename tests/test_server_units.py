"""The serving layer's rules in process: the strict request head (judged against h11, an
independent HTTP/1.1 parser), the body's deadline (with an injectable clock), and the list of
gevent's and gunicorn's private names the worker relies on."""

from __future__ import annotations

import ast
import inspect
import random
import re
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import gevent
import h11
import pytest

from idp.server import body, head, private
from idp.server.head import MalformedHead

VALID = (b"POST /ICNotifierIDP/login?loginType=saml HTTP/1.1\r\nHost: sts.example.com\r\n"
         b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 12\r\n"
         b"X-Forwarded-For: 192.0.2.7\r\n\r\n")


@dataclass
class Verdict:
    accepted: bool
    detail: str = ""


def ours(raw: bytes) -> Verdict | None:
    """Our reading of a complete head, split into lines the way the worker reads them;
    None when there is no complete head (pywsgi would wait for more, or close)."""
    lines = re.findall(rb"[^\n]*\n", raw)
    if lines and lines[0] in (b"\r\n", b"\n"):
        return Verdict(False, "blank line before the request line")  # pywsgi closes
    ends = [n for n, line in enumerate(lines) if line in (b"\r\n", b"\n")]
    if not ends:
        return None
    lines = lines[:ends[0] + 1]  # what follows the first blank line is a body
    try:
        _, _, version = head.request_line(lines[0].decode("latin-1"))
        head.header_fields([line.decode("latin-1") for line in lines[1:-1]], version)
    except MalformedHead as refusal:
        return Verdict(False, str(refusal))
    return Verdict(True)


def h11_reading(raw: bytes) -> tuple[Verdict, h11.Request | None]:
    connection = h11.Connection(h11.SERVER)
    connection.receive_data(raw)
    try:
        event = connection.next_event()
    except h11.RemoteProtocolError as refusal:
        return Verdict(False, str(refusal)), None
    assert isinstance(event, h11.Request), event
    return Verdict(True), event


def stricter_than_h11(raw: bytes, request: h11.Request) -> str | None:
    """Why we refuse a head that h11 accepts, when it is one of the documented reasons."""
    lines = raw.split(b"\n")
    lines = lines[:lines.index(b"\r") if b"\r" in lines else None]  # the head only
    lines = lines[:lines.index(b"") if b"" in lines else None]
    names = [name for name, _ in request.headers]
    if request.http_version not in (b"1.0", b"1.1"):
        return "version"
    if lines[0].strip() == b"":
        return "blank line first"
    if any(line[:1] in (b" ", b"\t") for line in lines[1:]):
        return "folding"
    if any(re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", value) for _, value in request.headers):
        return "control character"
    if b"transfer-encoding" in names and (b"content-length" in names
                                          or request.http_version == b"1.0"):
        return "framing"
    lengths = [line for line in lines if line.lower().startswith(b"content-length:")]
    if len(lengths) > 1 or any(b"," in line for line in lengths):
        return "repeated length"
    return None


CASES = {
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n": True,
    b"GET / HTTP/1.1\nHost: a\n\n": True,
    b"GET / HTTP/1.0\r\n\r\n": True,
    b"GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n": True,
    b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xe9  au lait \r\n\r\n": True,
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n": True,
    VALID: True,
    b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: 1\r\n\r\n": False,
    b"GET / HTTP/1.1\r\nHost : a\r\n\r\n": False,
    b"GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n": False,
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n": False,
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n": False,
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n": False,
    b"GET / HTTP/1.1\r\n Host: a\r\n\r\n": False,
    b"GET / HTTP/1.1\r\n\r\n": False,
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n": False,
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n":
        False,
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n": False,
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n": False,
    b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n": False,
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n": False,
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n": False,
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\n": False,
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n": False,
    b"GET /\r\n\r\n": False,
    b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n": False,
    b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n": False,
    b"GET / HTTP/1\r\nHost: a\r\n\r\n": False,
    b"GET / HTTP/2.0\r\nHost: a\r\n\r\n": False,
    b"GET / http/1.1\r\nHost: a\r\n\r\n": False,
    b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n": False,
    b"GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n": False,
    b"G\x1b[31mET / HTTP/1.1\r\nHost: a\r\n\r\n": False,
}


@pytest.mark.parametrize("raw", list(CASES), ids=[repr(c)[2:40] for c in CASES])
def test_a_head_is_read_as_the_table_says_and_never_more_leniently_than_h11(raw: bytes) -> None:
    verdict = ours(raw)
    assert verdict is not None
    assert verdict.accepted is CASES[raw], verdict.detail
    reference, request = h11_reading(raw)
    if not reference.accepted:
        assert not verdict.accepted, f"h11 refuses ({reference.detail}), we accept"
    elif not verdict.accepted:
        assert request is not None and stricter_than_h11(raw, request), verdict.detail


def mutations(seed: int, count: int) -> list[bytes]:
    """Heads made from VALID by a few random edits: a byte replaced, inserted or dropped,
    biased towards the bytes that matter to a parser."""
    rng = random.Random(seed)
    interesting = b" \t\r\n:\x00\x01\x7f\x80\xff,;=\"/Ha"
    found = []
    for _ in range(count):
        data = bytearray(VALID)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data) - 4)  # keep the final blank line
            choice = rng.random()
            byte = rng.choice(interesting) if rng.random() < 0.8 else rng.randrange(256)
            if choice < 0.4:
                data[at] = byte
            elif choice < 0.8:
                data.insert(at, byte)
            else:
                del data[at]
        found.append(bytes(data))
    return found


def test_mutated_heads_are_never_read_more_leniently_than_h11() -> None:
    compared = 0
    for raw in mutations(seed=1012, count=3000):
        verdict = ours(raw)
        if verdict is None:  # no complete head any more: nothing to compare
            continue
        reference, request = h11_reading(raw)
        compared += 1
        if not reference.accepted:
            assert not verdict.accepted, (raw, reference.detail)
        elif not verdict.accepted:
            assert request is not None and stricter_than_h11(raw, request), (raw, verdict)
    assert compared > 2000


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_body_reads_normally_until_its_deadline_and_never_after() -> None:
    clock = FakeClock()
    reader = body.BodyWithDeadline(BytesIO(b"user_id=alice\nrest"), deadline=130.0, clock=clock)
    assert reader.readline() == b"user_id=alice\n"
    clock.now = 129.9
    assert reader.read(2) == b"re"
    clock.now = 130.0
    with pytest.raises(body.BodyTooSlow) as refused:
        reader.read()
    assert refused.value.code == 408


def test_a_read_still_waiting_at_the_deadline_is_ended() -> None:
    class Stalled:
        def read(self, size: int | None = None) -> bytes:
            gevent.sleep(30)  # a client that stopped sending: waits on gevent's loop
            return b""

    clock = FakeClock()
    # 0.05 s left on the injected clock: gevent's timer ends the wait then.
    reader = body.BodyWithDeadline(Stalled(), deadline=clock.now + 0.05, clock=clock)
    with pytest.raises(body.BodyTooSlow):
        reader.read(10)


def test_every_private_name_the_worker_uses_exists_in_the_installed_versions() -> None:
    assert private.missing() == []


def test_a_vanished_name_stops_the_worker_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = private.Name("gevent.pywsgi", "WSGIHandler", "_no_such_hook", "override", "test")
    monkeypatch.setattr(private, "NAMES", (*private.NAMES, gone))
    with pytest.raises(RuntimeError, match=r"gevent\.pywsgi\.WSGIHandler\._no_such_hook"):
        private.verify()


# Methods and attributes of gevent's and gunicorn's classes that their documentation describes
# for subclasses (gevent's pywsgi.WSGIHandler and BaseServer API reference, e.g. max_accept),
# or that the worker sets itself (cfg): not private.
DOCUMENTED = {"handle_one_request", "read_requestline", "read_request", "get_environ",
              "start_response", "log_request", "close", "closed", "loop", "handle", "server",
              "max_accept", "cfg"}


def test_the_list_of_private_names_is_complete() -> None:
    """Each name the worker module overrides or uses from gevent's and gunicorn's classes is
    either documented API or listed in idp.server.private."""
    from idp.server import worker

    source = Path(inspect.getfile(worker)).read_text()
    tree = ast.parse(source)
    listed = {entry.name for entry in private.NAMES}
    ours_defined = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                    and isinstance(node.ctx, ast.Store)}
    ours_defined |= {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                     and not any(hasattr(cls.__mro__[1], node.name) for cls in
                                 (worker.StsHandler, worker.StsServer))}
    unlisted = set()
    for cls in (worker.StsHandler, worker.StsServer, worker.StsWorker):
        base = cls.__mro__[1]
        for name in vars(cls):
            if hasattr(base, name) and not name.startswith("__") and name not in DOCUMENTED:
                unlisted.add(name)  # an override of theirs
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            name = node.attr
            on_theirs = node.value.id in {"self", "body", "handler"}
            if name.startswith("_") and name not in ours_defined and not name.startswith("__"):
                unlisted.add(name)
            elif on_theirs and name not in DOCUMENTED and any(
                    hasattr(cls.__mro__[1], name) for cls in (worker.StsHandler,
                                                               worker.StsServer)):
                unlisted.add(name)
    assert unlisted - listed == set()
