"""Every name of gevent and gunicorn that `idp.server.worker` relies on beyond their documented
API, in one place.

The worker extends gunicorn's `gevent_pywsgi` worker, which is gevent's pywsgi server behind
gunicorn's process management. pyproject.toml pins both to the minor versions this list was
checked against. After an upgrade, `verify()` (run when the worker module is imported, and by
tests/test_server_units.py) names whatever has gone, so that the STS refuses to start with a
clear message instead of serving with a deadline or a stop rule silently lost. A name still
present may have changed meaning: read the upgrade's changes for each one below.
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass

#: The versions the names below were checked against (pyproject.toml pins the same minors).
TESTED = {"gevent": "26.9", "gunicorn": "27.0"}


@dataclass(frozen=True)
class Name:
    module: str
    owner: str  # a class in `module`, or "" for the module itself
    name: str
    kind: str  # "override": we replace it, "call": we call or read it, "attribute": set by them
    why: str


NAMES = (
    # gevent.pywsgi: the handler of one connection
    Name("gevent.pywsgi", "", "headers_factory", "call",
         "builds pywsgi's headers object from the header lines the worker has checked"),
    Name("gevent.pywsgi", "WSGIHandler", "_write_with_headers", "override",
         "sends the head and the body's first part: gathered into one send"),
    Name("gevent.pywsgi", "WSGIHandler", "_sendall", "call",
         "every send of an answer (it counts response_length); shadowed while the head and "
         "the first part are gathered"),
    Name("gevent.pywsgi", "WSGIHandler", "MessageClass", "override",
         "pywsgi reads the headers through it: bounded and checked here"),
    Name("gevent.pywsgi", "WSGIHandler", "_handle_client_error", "override",
         "a deadline, the stop or a vanished client closes quietly instead of a traceback"),
    Name("gevent.pywsgi", "WSGIHandler", "log_error", "override",
         "pywsgi's error lines quote the request line: its query string is removed"),
    Name("gevent.pywsgi", "WSGIHandler", "handle_error", "override",
         "a send that failed because the client left is not an error worth a traceback"),
    Name("gevent.pywsgi", "WSGIHandler", "wsgi_input", "attribute",
         "pywsgi calls _discard on it after each answer; replaced to close instead of draining"),
    Name("gevent.pywsgi", "Input", "_discard", "override",
         "the draining of an unread body that the worker replaces"),
    Name("gevent.pywsgi", "Input", "position", "call", "how much of the body has been read"),
    Name("gevent.pywsgi", "Input", "content_length", "call", "the body's declared length"),
    Name("gevent.pywsgi", "Input", "chunked_input", "call", "whether the body is chunked"),
    Name("gevent.pywsgi", "WSGIHandler", "rfile", "attribute",
         "peeked for the first byte of the next request (the idle state of the stop)"),
    Name("gevent.pywsgi", "WSGIHandler", "socket", "attribute",
         "its timeout is every read's and send's deadline; its fd is polled at the stop"),
    Name("gevent.pywsgi", "WSGIHandler", "status", "attribute", "written to the access log"),
    Name("gevent.pywsgi", "WSGIHandler", "response_length", "attribute",
         "written to the access log"),
    Name("gevent.pywsgi", "WSGIHandler", "close_connection", "attribute",
         "set to end the connection after the answer"),
    Name("gevent.pywsgi", "WSGIHandler", "client_address", "attribute",
         "written to the access log for a request refused before its head"),
    Name("gevent.pywsgi", "WSGIHandler", "requestline", "attribute",
         "its length counts against the head's bound"),
    Name("gevent.pywsgi", "WSGIHandler", "request_version", "attribute",
         "set by read_request before the headers are read; the framing rules depend on it"),
    # gevent.server: the listening server
    Name("gevent.server", "StreamServer", "wrap_socket_and_handle", "override",
         "the TLS handshake happens there: bounded as a whole, and ended at the stop"),
    Name("gevent.server", "StreamServer", "wrap_socket", "attribute",
         "the TLS wrapping the override calls"),
    Name("gevent.server", "StreamServer", "ssl_args", "attribute",
         "the arguments of that wrapping"),
    # gunicorn: the worker process around gevent's server
    Name("gunicorn.workers.ggevent", "", "GeventPyWSGIWorker", "call",
         "the worker extended (process, signals, graceful stop)"),
    Name("gunicorn.workers.ggevent", "", "PyWSGIHandler", "call", "the handler extended"),
    Name("gunicorn.workers.ggevent", "", "PyWSGIServer", "call",
         "the server extended; gunicorn constructs it with log= (its logger)"),
    Name("gunicorn.workers.ggevent", "GeventPyWSGIWorker", "server_class", "override",
         "where the worker's server class is named"),
    Name("gunicorn.workers.ggevent", "GeventPyWSGIWorker", "wsgi_handler", "override",
         "where the worker's handler class is named"),
    Name("gunicorn.glogging", "Logger", "access_log", "attribute",
         "the access log the worker writes its own line to"),
    Name("gunicorn.glogging", "Logger", "cfg", "attribute",
         "the settings (keepalive), reached through the logger gunicorn hands the server"),
)


def _present(entry: Name) -> bool:
    try:
        module = importlib.import_module(entry.module)
    except ImportError:
        return False
    owner = getattr(module, entry.owner, None) if entry.owner else module
    if owner is None:
        return False
    if hasattr(owner, entry.name):
        return True
    if entry.kind != "attribute" or not inspect.isclass(owner):
        return False
    # An attribute the library sets on its instances: look for the assignment in its source.
    assignment = re.compile(rf"\bself\.{re.escape(entry.name)}\s*=[^=]")
    return any(assignment.search(inspect.getsource(cls)) for cls in owner.__mro__
               if cls is not object and cls.__module__.startswith(entry.module.split(".")[0]))


def missing() -> list[str]:
    """The names above that the installed gevent and gunicorn no longer have."""
    return [f"{n.module}.{n.owner + '.' if n.owner else ''}{n.name}" for n in NAMES
            if not _present(n)]


def verify() -> None:
    gone = missing()
    if gone:
        raise RuntimeError(
            "idp.server.worker relies on names that the installed gevent/gunicorn lack: "
            f"{', '.join(gone)}; install the versions pyproject.toml pins "
            f"(tested: gevent {TESTED['gevent']}, gunicorn {TESTED['gunicorn']})")
