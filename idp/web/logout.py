"""Single Logout at `/ICNotifierIDP/logout`, and the user's own "Log off" page.

An SP-initiated LogoutRequest (HTTP-Redirect or HTTP-POST) must come from a registered SP; a
signature it carries must verify with that SP's certificate, on either binding (the query for
Redirect, the enveloped XML signature for POST), like an AuthnRequest's. It ends the STS session
only when it names this browser's session: the NameID that SP received in it (and one of its
session indexes, when it names any). An unsigned LogoutRequest is accepted (Genesys Cloud does
not sign its own), so a page the user visits could make the browser send one: what it can end
is that browser's own session, and only by naming the NameID the SP got, which is opaque for
the persistent and transient formats. One that names another principal is answered
UnknownPrincipal and ends nothing.

The logout then goes on to every other SP of the session (`idp.web.slo`) and is answered with
a signed LogoutResponse at the SP's registered logout endpoint (HTTP-Redirect when it has one,
as saml2int wants), Success or PartialLogout, unless the SP asked for none (the Asynchronous
extension).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, g, make_response, render_template, request, session
from werkzeug.wrappers import Response

from idp.errors import SamlRequestError
from idp.saml.constants import (
    BINDING_REDIRECT,
    NAMEID_EMAIL,
    STATUS_REQUESTER,
    STATUS_UNKNOWN_PRINCIPAL,
)
from idp.saml.metadata import LOGOUT_PATH
from idp.saml.request import LogoutRequest, parse_instant, parse_logout_request
from idp.web import i18n, monitoring, slo
from idp.web.context import sts
from idp.web.inbound import carried, receive_message
from idp.web.state import csrf_ok, csrf_token, current_session, participant, participants

bp = Blueprint("logout", __name__)
log = logging.getLogger(__name__)


@bp.route(LOGOUT_PATH, methods=["GET", "POST"])
def logout() -> Response:
    if carried("SAMLRequest") is not None or carried("SAMLResponse") is not None:
        if g.remap.refused:
            raise SamlRequestError(g.remap.refused, page_message="proxy_refused")
        if carried("SAMLRequest") is not None:
            return _logout_request()
        return slo.response_received()
    if request.method == "POST":
        if not csrf_ok(request.form.get("csrf")):
            raise SamlRequestError("the log-off form has expired or was not issued by this "
                                   "server (CSRF token missing or wrong)",
                                   page_message="logoff_form_expired")
        if request.form.get("intent") == "skip":
            return slo.skip()
        others = participants()
        _end_session("the user", "")
        return slo.begin(None, others)
    return _log_off_page()


def _end_session(by: str, sp: str) -> None:
    user_id = session.get("uid")
    session.clear()
    if user_id:
        log.info("STS session of %r ended by %s", user_id, by)
    monitoring.logged_out(user_id if isinstance(user_id, str) else None, sp)


def _names_this_session(message: LogoutRequest, sp: str) -> bool:
    """Whether `message` names this browser's session as `sp` knows it."""
    known = participant(sp)
    if known is None:
        # No record for this SP: nothing here to end when nobody is logged on; a session from
        # before SPs were recorded ("sps" absent) is taken at its word, once.
        return not isinstance(session.get("uid"), str) or "sps" not in session
    same = (message.name_id.casefold() == known.name_id.casefold()
            if known.format == NAMEID_EMAIL else message.name_id == known.name_id)
    return same and (not message.session_indexes or known.session_index in
                     message.session_indexes)


def _logout_request() -> Response:
    received = receive_message("SAMLRequest", parse_logout_request, LOGOUT_PATH)
    message, sp = received.message, received.sp
    if message.not_on_or_after is not None and parse_instant(
            message.not_on_or_after, "LogoutRequest's NotOnOrAfter") <= sts().clock():
        raise SamlRequestError("the LogoutRequest has expired (NotOnOrAfter)",
                               page_message="logout_failed")
    if not _names_this_session(message, sp.entity_id):
        log.warning("LogoutRequest from %r names another principal than this browser's "
                    "session; the session is kept", sp.entity_id)
        if message.asynchronous:
            return _log_off_page()
        return slo.deliver(slo.answer_logout(sp, message.id, received.relay_state,
                                             STATUS_UNKNOWN_PRINCIPAL, top=STATUS_REQUESTER))
    others = [p for p in participants() if p.sp != sp.entity_id]
    initiator: dict[str, Any] = {"sp": sp.entity_id, "id": message.id,
                                 "rs": received.relay_state, "async": message.asynchronous}
    if not message.asynchronous and slo.endpoint(sp, BINDING_REDIRECT) is None:
        raise SamlRequestError(f"service provider {sp.entity_id!r} has no SingleLogoutService "
                               "registered, so its logout cannot be answered",
                               page_message="logout_failed")
    _end_session(f"a LogoutRequest from {sp.entity_id!r}", sp.entity_id)
    return slo.begin(initiator, others)


def _log_off_page() -> Response:
    ctx = sts()
    t = i18n.Translator(i18n.choose_language())
    current = current_session(ctx.config.idp.session_lifetime)
    progress = slo.current()
    waiting = progress.get("wait") if progress else None
    html = render_template("logout.html", t=t, user_id=current.user_id if current else None,
                           action=g.remap.base_url + LOGOUT_PATH, csrf=csrf_token(),
                           waiting=waiting[1] if waiting else None, base=g.remap.base_url)
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    return response
