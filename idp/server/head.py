"""Strict reading of an HTTP/1.x request head (RFC 9112), before gevent's pywsgi sees it.

pywsgi hands the header lines to the standard library's e-mail parser, which stops at the first
line it cannot read and leaves the rest in the stream: `Bad Header: 1` would end the headers
there and turn what follows (the body) into a second request, a request smuggled past a proxy
that read the head differently. Every line is therefore checked here, and a head that is not
well formed is refused as a whole (400), never read in part.

What is refused, beyond what h11 (the reference these rules are tested against) refuses too:
- obsolete line folding (a header line that starts with a space or a tab);
- control characters in a header value (tab excepted);
- an HTTP version other than 1.0 and 1.1 (pywsgi would also serve HTTP/0.9);
- framing that two readers could take differently: Transfer-Encoding with Content-Length,
  Transfer-Encoding in an HTTP/1.0 request, Content-Length given more than once.

Bare LF line ends are accepted (RFC 9112 section 2.2 allows it, and h11 does the same).
"""

from __future__ import annotations

import re

# RFC 9110 section 5.6.2: tchar
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(rf"({_TOKEN}) ([\x21-\x7e]+) (HTTP/1\.[01])\r?\n")
# field-name ":" OWS field-value OWS: visible ASCII, obs-text, spaces and tabs (one character
# class, so that a line is one fast scan; the spaces around the value are stripped after).
_FIELD_LINE = re.compile(rf"({_TOKEN}):([\t\x20-\x7e\x80-\xff]*)\r?\n")
_DIGITS = re.compile(r"[0-9]+")
#: Shown in a refusal: enough to recognise the line, not a whole hostile one.
_SHOWN = 80


class MalformedHead(ValueError):
    """The request head is not well formed: the client gets 400 and the connection closes.

    A ValueError, which is what pywsgi's `read_request` raises for a client's mistake (answered
    400, logged as one line, no traceback)."""


def _shown(text: str) -> str:
    return repr(text[:_SHOWN] + ("..." if len(text) > _SHOWN else ""))


def request_line(line: str) -> tuple[str, str, str]:
    """Method, request target and version of a complete request line (latin-1 text, line end
    included), or MalformedHead."""
    match = _REQUEST_LINE.fullmatch(line)
    if match is None:
        raise MalformedHead(f"malformed request line {_shown(line)}")
    method, target, version = match.groups()
    return method, target, version


def header_fields(lines: list[str], version: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of the header lines (each with its line end, the blank line that
    ends the head not included), checked one by one and then for their framing of the body."""
    fields = []
    for line in lines:
        match = _FIELD_LINE.fullmatch(line)
        if match is None:
            if line[:1] in (" ", "\t"):
                raise MalformedHead(f"folded header line {_shown(line)}")
            raise MalformedHead(f"malformed header line {_shown(line)}")
        fields.append((match.group(1), match.group(2).strip(" \t")))
    _check_framing(fields, version)
    return fields


def _check_framing(fields: list[tuple[str, str]], version: str) -> None:
    def values(name: str) -> list[str]:
        return [value for key, value in fields if key.lower() == name]

    hosts = values("host")
    if len(hosts) > 1 or (version == "HTTP/1.1" and not hosts):
        raise MalformedHead("an HTTP/1.1 request needs exactly one Host header")
    lengths = values("content-length")
    codings = values("transfer-encoding")
    if len(lengths) > 1:
        raise MalformedHead("Content-Length given more than once")
    if lengths and not _DIGITS.fullmatch(lengths[0]):
        raise MalformedHead(f"invalid Content-Length {_shown(lengths[0])}")
    if codings:
        if len(codings) > 1 or codings[0].lower() != "chunked":
            raise MalformedHead("the only transfer coding accepted is one 'chunked'")
        if lengths:
            raise MalformedHead("both Transfer-Encoding and Content-Length")
        if version == "HTTP/1.0":
            raise MalformedHead("Transfer-Encoding in an HTTP/1.0 request")
