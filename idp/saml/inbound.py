"""Receiving a SAML message from an SP, without the web framework: decode it, parse it, find the
registered SP that sent it, check its signature, where it was sent to, when, and that it was not
seen before.

The caller hands in the raw query string and the POSTed form; nothing else of the HTTP request
is read. On the HTTP-Redirect binding every value comes from the raw query string, the part the
signature covers (a RelayState in the body of a query-signed request is never read); on the
HTTP-POST binding from the form.

Rules (SAML Core 3.2.1 and Bindings 3.4.5.2 / 3.5.5.2):
- a signature must verify with a certificate of the SP's metadata (`query_signature`,
  `xml_signature`), and one is required when the caller says so (AuthnRequestsSigned);
- `Destination` must be one of the addresses the message may be sent to, when present, and
  must be present on a signed message;
- `IssueInstant` must lie within `max_age` seconds in the past and `skew` in the future;
- a signed message is accepted once: its ID is remembered (`remember`) while it is fresh.
  Unsigned messages are not remembered: anyone could send a new one with a new ID anyway, and
  remembering them would let a flood of them fill the memory that holds the signed ones.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from urllib.parse import unquote_plus, urlsplit

from idp.errors import SamlRequestError
from idp.saml.constants import BINDING_POST, BINDING_REDIRECT
from idp.saml.query_signature import check_query_signature, raw_parameters
from idp.saml.registry import Registry, ServiceProvider
from idp.saml.request import check_relay_state, decode_message, parse_instant
from idp.saml.xml import parse_untrusted
from idp.saml.xml_signature import check_message_signature


class Message(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def issue_instant(self) -> str: ...
    @property
    def destination(self) -> str | None: ...


M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class Policy:
    """How to judge what arrives: sizes, the clock, and the addresses the IdP is reached at."""

    max_bytes: int
    now: dt.datetime
    destinations: Collection[str]  # the endpoint URL under every public base
    max_age: int = 300
    skew: int = 180
    #: Remember a key for `ttl` seconds; False when it was already remembered (a replay).
    remember: Callable[[str, int], bool] | None = None


@dataclass(frozen=True)
class Received(Generic[M]):
    message: M
    sp: ServiceProvider
    signed: bool
    relay_state: str | None
    binding: str


def binding_of(raw: Mapping[str, str], form: Mapping[str, str], parameter: str) -> str | None:
    """Which binding carries `parameter` (SAMLRequest or SAMLResponse), or None; `raw` is the
    query as `raw_parameters` reads it."""
    if parameter in raw:
        return BINDING_REDIRECT
    return BINDING_POST if parameter in form else None


def receive(raw_query: str, form: Mapping[str, str], parameter: str,
            parse: Callable[[bytes, int], M], registry: Registry, policy: Policy,
            require_signature: Callable[[ServiceProvider], bool] = lambda sp: False
            ) -> Received[M]:
    """The message in `parameter` (SAMLRequest or SAMLResponse), decoded and parsed with
    `parse`, from a registered SP, checked as the module says. Raises `SamlRequestError`
    (or `UnknownServiceProvider`) for anything that is not acceptable."""
    raw = raw_parameters(raw_query)  # also refuses a protocol parameter given twice
    binding = binding_of(raw, form, parameter)
    if binding is None:
        raise SamlRequestError(f"no {parameter} in the request")
    if binding == BINDING_REDIRECT:
        encoded = unquote_plus(raw[parameter])
        relay_state = unquote_plus(raw["RelayState"]) if "RelayState" in raw else None
    else:
        encoded, relay_state = form[parameter], form.get("RelayState")
    xml = decode_message(encoded, binding, policy.max_bytes)
    message = parse(xml, policy.max_bytes)
    sp = registry.get(message.issuer)
    if binding == BINDING_REDIRECT:
        signed = check_query_signature(raw_query, parameter, sp.certificates, raw)
    else:  # parsed a second time for the signature, on this less used binding
        signed = check_message_signature(parse_untrusted(xml, policy.max_bytes, "SAML message"),
                                         sp.certificates)
    if not signed and require_signature(sp):
        raise SamlRequestError(f"the metadata (or profile) of {sp.entity_id!r} says its "
                               "requests are signed, and this one is not (or cannot be "
                               "checked)")
    _check_destination(message, signed, policy.destinations)
    issued = _check_instant(message.issue_instant, policy)
    if signed and policy.remember is not None:
        key = hashlib.sha256(f"{sp.entity_id}\0{message.id}".encode()).hexdigest()
        left = issued + dt.timedelta(seconds=policy.max_age + 2 * policy.skew) - policy.now
        if not policy.remember(f"saml-message:{key}", max(1, int(left.total_seconds()) + 1)):
            raise SamlRequestError("this signed message was received before (a replay); start "
                                   "again from the application")
    return Received(message, sp, signed, check_relay_state(relay_state), binding)


def _check_destination(message: Message, signed: bool, destinations: Collection[str]) -> None:
    if message.destination is None:
        if signed:
            raise SamlRequestError("the signed message has no Destination, which the SAML "
                                   "bindings require of a signed message")
        return
    wanted = _endpoint(message.destination)
    if wanted is None or wanted not in {_endpoint(d) for d in destinations}:
        raise SamlRequestError(f"the message's Destination {message.destination[:200]!r} is "
                               "not this identity provider's address for it")


@functools.lru_cache(maxsize=512)  # the same few addresses, on every request
def _endpoint(url: str) -> tuple[str, str, int | None, str] | None:
    """What identifies an endpoint: scheme, host (any case), port (the default filled in) and
    path. The query is left out: SPs differ in whether they keep `?loginType=saml`."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    except ValueError:
        return None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path.rstrip("/")


def _check_instant(value: str, policy: Policy) -> dt.datetime:
    issued = parse_instant(value, "message's IssueInstant")
    age = (policy.now - issued).total_seconds()
    if age > policy.max_age + policy.skew:
        raise SamlRequestError(f"the message was issued {int(age)} seconds ago, longer than "
                               f"the {policy.max_age} seconds (plus {policy.skew} of clock "
                               "skew) a message stays valid; start again from the application")
    if -age > policy.skew:
        raise SamlRequestError(f"the message's IssueInstant lies {int(-age)} seconds in the "
                               "future: the clocks of the service provider and this server "
                               "differ too much", page_message="clock_skew")
    return issued
