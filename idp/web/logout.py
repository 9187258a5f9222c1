"""Single Logout at `/ICNotifierIDP/logout`, and the user's own "Log off" page.

An SP-initiated LogoutRequest (HTTP-Redirect or HTTP-POST) ends the STS session and is answered
with a signed LogoutResponse at the SP's registered logout endpoint: in the query for the
Redirect binding, in the XML for the POST binding. A signed Redirect-binding LogoutRequest must
verify with the SP's certificate; XML signatures of POSTed ones are not checked: the worst a
forged one does is end a session, and the answer only goes to a registered URL.
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlencode

from flask import Blueprint, g, make_response, redirect, render_template, request, session
from werkzeug.wrappers import Response

from idp.errors import SamlRequestError
from idp.saml.constants import BINDING_POST, BINDING_REDIRECT
from idp.saml.metadata import LOGOUT_PATH
from idp.saml.query_signature import raw_parameters
from idp.saml.registry import Endpoint, ServiceProvider
from idp.saml.request import check_relay_state, parse_logout_request
from idp.saml.response import build_logout_response, encode_for_post, encode_for_redirect
from idp.saml.signing import SIG_ALG_RSA_SHA256
from idp.web import i18n, monitoring
from idp.web.context import sts
from idp.web.sso import message_page, post_page, received_request
from idp.web.state import csrf_ok, csrf_token, current_session

bp = Blueprint("logout", __name__)
log = logging.getLogger(__name__)


@bp.route(LOGOUT_PATH, methods=["GET", "POST"])
def logout() -> Response:
    if "SAMLRequest" in request.values:
        if g.remap.refused:
            raise SamlRequestError(g.remap.refused)
        raw_parameters(request.query_string.decode("ascii", "replace"))  # no smuggled copies
        binding = BINDING_REDIRECT if "SAMLRequest" in request.args else BINDING_POST
        return _logout_request(request.values["SAMLRequest"], request.values.get("RelayState"),
                               binding)
    if request.method == "POST":
        if not csrf_ok(request.form.get("csrf")):
            raise SamlRequestError("the log-off form has expired or was not issued by this "
                                   "server (CSRF token missing or wrong)")
        _end_session("the user", "")
        return message_page("logged_off_title", "logged_off", status=200)
    return _log_off_page()


def _end_session(by: str, sp: str) -> None:
    user_id = session.get("uid")
    session.clear()
    if user_id:
        log.info("STS session of %r ended by %s", user_id, by)
    monitoring.logged_out(user_id if isinstance(user_id, str) else None, sp)


def _logout_request(encoded: str, relay_state: str | None, binding: str) -> Response:
    ctx = sts()
    message, sp, _ = received_request(encoded, binding, parse_logout_request)
    endpoint = _logout_endpoint(sp, binding)
    destination = endpoint.response_location or endpoint.location
    relay_state = check_relay_state(relay_state)
    _end_session(f"a LogoutRequest from {sp.entity_id!r}", sp.entity_id)
    now = dt.datetime.now(dt.UTC)
    if endpoint.binding == BINDING_POST:
        xml = build_logout_response(ctx.config.entity_id, destination, message.id, now,
                                    ctx.signer)
        return post_page(destination, encode_for_post(xml), relay_state)
    xml = build_logout_response(ctx.config.entity_id, destination, message.id, now, None)
    fields = [("SAMLResponse", encode_for_redirect(xml))]
    if relay_state is not None:
        fields.append(("RelayState", relay_state))
    fields.append(("SigAlg", SIG_ALG_RSA_SHA256))
    query = urlencode(fields)
    signed = f"{query}&{urlencode([('Signature', ctx.signer.sign_query(query))])}"
    separator = "&" if "?" in destination else "?"
    response = redirect(f"{destination}{separator}{signed}", code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


def _logout_endpoint(sp: ServiceProvider, binding: str) -> Endpoint:
    """The SP's logout endpoint, preferring the binding the request came by."""
    usable = [e for e in sp.slo if e.binding in (BINDING_REDIRECT, BINDING_POST)]
    if not usable:
        raise SamlRequestError(f"service provider {sp.entity_id!r} has no SingleLogoutService "
                               "registered, so its logout cannot be answered")
    return next((e for e in usable if e.binding == binding), usable[0])


def _log_off_page() -> Response:
    ctx = sts()
    t = i18n.Translator(i18n.choose_language())
    current = current_session(ctx.config.idp.session_lifetime)
    html = render_template("logout.html", t=t, user_id=current.user_id if current else None,
                           action=g.remap.base_url + LOGOUT_PATH, csrf=csrf_token(),
                           base=g.remap.base_url)
    response = make_response(html)
    response.headers["Cache-Control"] = "no-store"
    return response
