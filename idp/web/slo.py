"""Single Logout propagation, front channel, by a redirect chain through the browser.

When a session ends (a LogoutRequest from one SP, or the user's own Log Off), every other SP
that received an assertion in it (`idp.web.state.participants`) is sent a signed LogoutRequest
naming the NameID and session index it got, one after the other: the browser goes to the SP's
logout endpoint (HTTP-Redirect preferred, saml2int SDP-IDP24; HTTP-POST otherwise) and comes
back with its LogoutResponse, which must answer the request sent. Then:

- an SP-initiated logout is answered with Success when every SP confirmed, and with Success /
  PartialLogout otherwise, after a page that shows which did not;
- the Log Off page, or an SP that asked for no answer (the Asynchronous extension), ends on a
  page that lists every SP and whether it confirmed.

A redirect chain rather than iframes: it needs no third-party cookies and works with SPs that
refuse to be framed. An SP that never answers leaves the browser on its page; the STS's logout
page then offers to carry on without it (it counts as not confirmed). The chain's state lives
in the session (`slo`), already ended, for at most `MAX_AGE` seconds.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import g, make_response, redirect, render_template, session
from werkzeug.wrappers import Response

from idp.errors import SamlRequestError, UnknownServiceProvider
from idp.saml.algorithms import RSA_SHA256
from idp.saml.constants import BINDING_POST, BINDING_REDIRECT, STATUS_PARTIAL_LOGOUT, STATUS_SUCCESS
from idp.saml.metadata import LOGOUT_PATH
from idp.saml.registry import Endpoint, ServiceProvider
from idp.saml.request import parse_logout_response
from idp.saml.response import (
    build_logout_request,
    build_logout_response,
    encode_for_post,
    encode_for_redirect,
    new_id,
)
from idp.web import i18n
from idp.web.context import sts
from idp.web.csp import content_security_policy
from idp.web.inbound import receive_message
from idp.web.pages import post_page
from idp.web.state import Participant

log = logging.getLogger(__name__)
MAX_AGE = 600
REQUEST_LIFETIME = 300  # NotOnOrAfter of the LogoutRequests sent


def begin(initiator: dict[str, Any] | None, others: list[Participant]) -> Response:
    """Start propagating to `others`; `initiator` ({sp, id, rs, async}) is the SP whose
    LogoutRequest started it, None for the Log Off page."""
    session["slo"] = {"back": initiator, "todo": [p.dump() for p in others], "done": [],
                      "wait": None, "t": time.time()}
    return advance()


def current() -> dict[str, Any] | None:
    """The logout in progress in this browser, if any (and not expired)."""
    state = session.get("slo")
    if not isinstance(state, dict) or time.time() - float(state.get("t", 0)) > MAX_AGE:
        return None
    return state


def advance() -> Response:
    """Send the next LogoutRequest, or finish when every SP has had its turn."""
    ctx = sts()
    state = current()
    if state is None:
        raise SamlRequestError("this browser is not logging off (or took too long)",
                               page_message="logout_failed")
    while state["todo"]:
        other = Participant.load(state["todo"].pop(0))
        if other is None:
            continue
        try:
            sp = ctx.registry.get(other.sp)
        except UnknownServiceProvider:  # no longer registered: nobody to ask
            state["done"].append([other.sp, other.sp, False])
            continue
        found = endpoint(sp, BINDING_REDIRECT)
        if found is None:
            log.info("logout not propagated to %r: it has no SingleLogoutService", sp.entity_id)
            state["done"].append([sp.entity_id, sp.name, False])
            continue
        request_id = new_id()
        state["wait"] = [sp.entity_id, sp.name, request_id]
        session["slo"] = state
        log.info("propagating logout to %r at %s", sp.entity_id, found.location)
        xml = build_logout_request(
            ctx.config.entity_id, found.location, request_id,
            other.full_name_id(ctx.config.entity_id), other.session_index,
            ctx.clock(), REQUEST_LIFETIME,
            ctx.signer if found.binding == BINDING_POST else None)
        return deliver(_message(found.binding, found.location, "SAMLRequest", xml, None))
    session.pop("slo", None)
    return _finish(state)


def skip() -> Response:
    """Carry on without the SP the chain waits for (it never answered)."""
    state = current()
    if state is not None and state.get("wait"):
        sp, name, _ = state["wait"]
        state["done"].append([sp, name, False])
        state["wait"] = None
        session["slo"] = state
        log.info("logout: %r did not answer; carrying on without it", sp)
    return advance()


def response_received() -> Response:
    """The LogoutResponse of the SP the chain waits for."""
    state = current()
    wait = state.get("wait") if state else None
    if state is None or not wait:
        raise SamlRequestError("a LogoutResponse arrived, but this browser is not logging off",
                               page_message="logout_failed")
    received = receive_message("SAMLResponse", parse_logout_response, LOGOUT_PATH)
    answer = received.message
    if received.sp.entity_id != wait[0] or answer.in_response_to != wait[2]:
        raise SamlRequestError("the LogoutResponse does not answer the LogoutRequest sent",
                               page_message="logout_failed")
    confirmed = answer.status == STATUS_SUCCESS
    log.info("logout propagated to %r: %s", wait[0], answer.status)
    state["done"].append([wait[0], wait[1], confirmed])
    state["wait"] = None
    session["slo"] = state
    return advance()


def _finish(state: dict[str, Any]) -> Response:
    done = [(name, bool(ok)) for _, name, ok in state["done"]]
    complete = all(ok for _, ok in done)
    back = state.get("back")
    if back is None or back.get("async"):
        return _results(done, None)
    sp = sts().registry.get(back["sp"])
    answer = answer_logout(sp, back["id"], back.get("rs"),
                           None if complete else STATUS_PARTIAL_LOGOUT)
    return deliver(answer) if complete else _results(done, (sp.name, answer))


@dataclass(frozen=True)
class Delivery:
    """A SAML message on its way to an SP: a URL whose query carries it, signed (Redirect),
    or a form's action and fields (POST, the XML signed)."""

    binding: str
    url: str
    fields: tuple[tuple[str, str], ...] = ()


def answer_logout(sp: ServiceProvider, in_response_to: str, relay_state: str | None,
                  second: str | None, top: str = STATUS_SUCCESS) -> Delivery:
    """The signed LogoutResponse to `sp` at its logout endpoint, by HTTP-Redirect when it has
    one (saml2int SDP-IDP28), with status `top` (and `second`)."""
    ctx = sts()
    found = endpoint(sp, BINDING_REDIRECT)
    if found is None:
        raise SamlRequestError(f"service provider {sp.entity_id!r} has no SingleLogoutService "
                               "registered, so its logout cannot be answered",
                               page_message="logout_failed")
    destination = found.response_location or found.location
    xml = build_logout_response(ctx.config.entity_id, destination, in_response_to,
                                ctx.clock(),
                                ctx.signer if found.binding == BINDING_POST else None,
                                top, second)
    return _message(found.binding, destination, "SAMLResponse", xml, relay_state)


def _message(binding: str, destination: str, field: str, xml: bytes,
             relay_state: str | None) -> Delivery:
    if binding == BINDING_POST:
        fields = [(field, encode_for_post(xml))]
        if relay_state is not None:
            fields.append(("RelayState", relay_state))
        return Delivery(BINDING_POST, destination, tuple(fields))
    pairs = [(field, encode_for_redirect(xml))]
    if relay_state is not None:
        pairs.append(("RelayState", relay_state))
    pairs.append(("SigAlg", RSA_SHA256))
    query = urlencode(pairs)
    signed = f"{query}&{urlencode([('Signature', sts().signer.sign_query(query))])}"
    separator = "&" if "?" in destination else "?"
    return Delivery(BINDING_REDIRECT, f"{destination}{separator}{signed}")


def deliver(delivery: Delivery) -> Response:
    if delivery.binding == BINDING_POST:
        fields = dict(delivery.fields)
        field = next(iter(fields))
        return post_page(delivery.url, fields[field], fields.get("RelayState"), field=field)
    response = redirect(delivery.url, code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


def endpoint(sp: ServiceProvider, binding: str) -> Endpoint | None:
    """The SP's logout endpoint, preferring `binding`."""
    usable = [e for e in sp.slo if e.binding in (BINDING_REDIRECT, BINDING_POST)]
    return next((e for e in usable if e.binding == binding), usable[0] if usable else None)


def _results(done: list[tuple[str, bool]], then: tuple[str, Delivery] | None) -> Response:
    """The page that lists each SP and whether it confirmed; with `then` (the initiating SP's
    name and its answer), a Continue button that delivers the answer."""
    t = i18n.Translator(i18n.choose_language())
    html = render_template("logged_off.html", t=t, done=done,
                           complete=all(ok for _, ok in done),
                           target=then[1] if then else None, target_name=then[0] if then
                           else "", post=BINDING_POST, base=g.remap.base_url)
    response = make_response(html, 200)
    response.headers["Cache-Control"] = "no-store"
    if then is not None:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(then[1].url))
        response.headers["Content-Security-Policy"] = content_security_policy(
            form_action=origin)
    return response
