"""Single Sign-On: `/ICNotifierIDP/login?loginType=saml`, the Target URL Genesys Cloud uses.

GET carries an AuthnRequest by HTTP-Redirect, POST carries one by HTTP-POST or the logon form.
A valid STS session answers at once; otherwise the PureConnect logon page is shown.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import secrets
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, g, make_response, render_template, request
from markupsafe import escape
from werkzeug.wrappers import Response

from idp.auth.hashing import TooManyLogons
from idp.errors import AuthenticationFailed, BackendUnavailable, SamlError, SamlRequestError
from idp.saml.constants import BINDING_POST, BINDING_REDIRECT, STATUS_NO_PASSIVE
from idp.saml.metadata import SSO_PATH
from idp.saml.query_signature import check_query_signature, raw_parameters
from idp.saml.registry import ServiceProvider
from idp.saml.request import (
    AuthnRequest,
    LogoutRequest,
    check_relay_state,
    decode_message,
    parse_authn_request,
)
from idp.saml.response import (
    ResponseParams,
    Subject,
    build_error_response,
    build_response,
    encode_for_post,
)
from idp.saml.xml import parse_untrusted
from idp.saml.xml_signature import check_message_signature
from idp.users import CicUser
from idp.web import i18n, monitoring
from idp.web.context import sts
from idp.web.state import (
    PendingLogon,
    StsSession,
    csrf_ok,
    csrf_token,
    current_session,
    start_session,
)
from idp.web.store import throttle_key

bp = Blueprint("sso", __name__)
log = logging.getLogger(__name__)


@bp.route("/ICNotifierIDP/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    if g.remap.refused:
        raise SamlRequestError(g.remap.refused)
    raw_parameters(request.query_string.decode("ascii", "replace"))  # no smuggled copies
    if "SAMLRequest" in request.args:
        return _authn_request(request.args["SAMLRequest"], request.args.get("RelayState"),
                              BINDING_REDIRECT)
    if request.method == "POST" and "SAMLRequest" in request.form:
        return _authn_request(request.form["SAMLRequest"], request.form.get("RelayState"),
                              BINDING_POST)
    if request.method == "POST" and "ctx" in request.form:
        return _logon_form()
    raise SamlRequestError("no SAML request: open this page from Genesys Cloud or another "
                           "registered application")


Message = TypeVar("Message", AuthnRequest, LogoutRequest)


def received_request(encoded: str, binding: str, parse: Callable[[bytes, int], Message]
                     ) -> tuple[Message, ServiceProvider, bool]:
    """A SAMLRequest (for SSO or SLO) decoded and parsed with `parse`, the registered SP that
    sent it, and whether it was signed. A signature must verify with the SP's certificate, or
    `SamlRequestError` is raised: on the query string for HTTP-Redirect, inside the XML for
    HTTP-POST (parsed a second time for that, on this less used binding)."""
    ctx = sts()
    max_bytes = ctx.config.idp.max_message_bytes
    xml = decode_message(encoded, binding, max_bytes)
    message = parse(xml, max_bytes)
    sp = ctx.registry.get(message.issuer)
    if binding == BINDING_REDIRECT:
        signed = check_query_signature(request.query_string.decode("ascii", "replace"),
                                       "SAMLRequest", sp.certificates)
    else:
        signed = check_message_signature(parse_untrusted(xml, max_bytes, "SAML request"),
                                         sp.certificates)
    return message, sp, signed


def _authn_request(encoded: str, relay_state: str | None, binding: str) -> Response:
    ctx = sts()
    authn, sp, signed = received_request(encoded, binding, parse_authn_request)
    if sp.requests_signed and not signed:
        raise SamlRequestError(f"the metadata of {sp.entity_id!r} says its AuthnRequests are "
                               "signed, and this one is not (or cannot be checked)")
    acs = sp.resolve_acs(authn)
    pending = PendingLogon(sp=sp.entity_id, acs=acs.location, request_id=authn.id,
                           relay_state=check_relay_state(relay_state),
                           service_name=sp.service_name, binding=binding)
    existing = None if authn.force_authn else current_session(ctx.config.idp.session_lifetime)
    if existing is not None:
        user = ctx.backend.lookup(existing.user_id)
        if user is not None:
            return issue_response(pending, user, existing)
    if authn.is_passive:
        xml = build_error_response(ctx.config.entity_id, acs.location, authn.id,
                                   STATUS_NO_PASSIVE, "the user is not logged on",
                                   dt.datetime.now(dt.UTC), ctx.signer)
        return post_page(acs.location, encode_for_post(xml), pending.relay_state)
    return logon_page(pending)


def _logon_form() -> Response:
    ctx = sts()
    user_id = request.form.get("user_id", "").strip()
    password = request.form.get("password", "")
    limits = ctx.config.state
    user_key = throttle_key(user_id)
    address_key = f"failed-logons:address:{g.client}"
    # Read a counter first: with Redis down this is the clear 503, where a CSRF token that
    # could not be stored would otherwise show as an expired form.
    address_throttled = ctx.store.count(address_key) >= limits.max_failed_logons * 5
    if not csrf_ok(request.form.get("csrf")):
        raise SamlRequestError("the logon form has expired or was not issued by this server "
                               "(CSRF token missing or wrong)")
    pending = ctx.pending.loads(request.form["ctx"])
    if request.form.get("intent") == "language":
        return logon_page(pending)
    # Attempts per user ID are counted before the backend is asked, so that parallel attempts
    # cannot all pass the check; a successful logon clears the count.
    attempts = ctx.store.hit(user_key, limits.failed_logon_window)
    if address_throttled or attempts > limits.max_failed_logons:
        # Refused without asking the backend, for known and unknown user IDs alike.
        log.warning("logon for user ID %r from %s refused: too many failed logons",
                    user_id[:128], g.client)
        monitoring.logon_failed("throttled", user_id)
        return logon_page(pending, error="too_many_attempts", user_id=user_id, status=429)
    try:
        if not user_id or not password:
            raise AuthenticationFailed("user ID and password are required")
        user = ctx.backend.authenticate(user_id, password)
    except AuthenticationFailed:
        log.info("logon failed for user ID %r from %s", user_id[:128], g.client)
        ctx.store.hit(address_key, limits.failed_logon_window)
        monitoring.logon_failed("wrong_password", user_id)
        return logon_page(pending, error="bad_credentials", user_id=user_id, status=401)
    except TooManyLogons as exc:  # every hashing slot busy for a while: a burst of logons
        log.warning("logon for user ID %r from %s turned away: %s", user_id[:128], g.client,
                    exc)
        ctx.store.unhit(user_key)  # no password was checked: not an attempt
        monitoring.logon_failed("busy", user_id)
        return logon_page(pending, error="too_many_logons", user_id=user_id, status=503)
    except BackendUnavailable as exc:
        log.error("authentication backend unavailable: %s", exc)
        ctx.store.unhit(user_key)  # CIC was not asked: not an attempt to hold against the user
        monitoring.logon_failed("cic_unavailable", user_id)
        return logon_page(pending, error="backend_unavailable", user_id=user_id, status=503)
    ctx.store.clear(user_key)
    if not user.email:
        log.info("user %r logged on but has no business e-mail; no assertion issued", user_id)
        monitoring.logon_failed("no_email", user.user_id)
        return message_page("no_email_title", "no_email", status=403)
    log.info("user %r logged on from %s", user.user_id, g.client)
    monitoring.logon_succeeded(user.user_id)
    return issue_response(pending, user, start_session(user.user_id))


def issue_response(pending: PendingLogon, user: CicUser, session: StsSession) -> Response:
    ctx = sts()
    if not user.email:
        return message_page("no_email_title", "no_email", status=403)
    sp = ctx.registry.get(pending.sp)
    attributes = {"email": user.email}
    if sp.organization_name:
        attributes["OrganizationName"] = sp.organization_name
    if pending.service_name:
        attributes["ServiceName"] = pending.service_name
    idp = ctx.config.idp
    now = dt.datetime.now(dt.UTC)
    xml = build_response(
        ResponseParams(
            issuer=ctx.config.entity_id, audience=sp.entity_id, acs_url=pending.acs,
            in_response_to=pending.request_id, session_index=session.session_index,
            authn_instant=dt.datetime.fromtimestamp(session.auth_time, dt.UTC), now=now,
            lifetime=idp.assertion_lifetime, skew=idp.clock_skew,
            sign_assertion=sp.sign_assertion),
        Subject(user.email, attributes), ctx.signer)
    log.info("issued assertion for %r to %r at %s", user.user_id, sp.entity_id, pending.acs)
    monitoring.assertion_issued(sp.entity_id, user.user_id, user.email, session.session_index,
                                pending.acs, pending.binding, xml, pending.request_id)
    return post_page(pending.acs, encode_for_post(xml), pending.relay_state)


def post_page(acs: str, saml_response: str, relay_state: str | None) -> Response:
    """The auto-submitting form that carries the Response to the SP's ACS."""
    lang = i18n.choose_language()
    html = "".join(_fill(_post_page_shell(lang, relay_state is not None), {
        _ACS: acs, _SAML_RESPONSE: saml_response, _RELAY_STATE: relay_state or "",
        _NONCE: g.nonce}))
    response = make_response(html)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(acs))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{g.nonce}'; style-src 'self'; "
        f"form-action {origin}; frame-ancestors 'none'; base-uri 'none'")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


# The post page is on the path of every signed Response. Its template is rendered once per
# language with these markers in place of the values, and each answer fills the markers in,
# escaped as the template would have escaped them: the same page, without a Jinja pass.
_ACS, _SAML_RESPONSE, _RELAY_STATE, _NONCE = (f"\x00{n}\x00" for n in range(4))
_MARKER = re.compile("(\x00\\d\x00)")


@functools.cache
def _post_page_shell(lang: str, with_relay_state: bool) -> tuple[str, ...]:
    html = render_template("post.html", t=i18n.Translator(lang), acs=_ACS,
                           saml_response=_SAML_RESPONSE,
                           relay_state=_RELAY_STATE if with_relay_state else None, nonce=_NONCE)
    return tuple(_MARKER.split(html))


def _fill(shell: tuple[str, ...], values: dict[str, str]) -> list[str]:
    # split() with a group puts the markers at the odd positions.
    return [str(escape(values[part])) if i % 2 else part for i, part in enumerate(shell)]


def logon_page(pending: PendingLogon, error: str | None = None, user_id: str = "",
                status: int = 200) -> Response:
    ctx = sts()
    lang = i18n.choose_language()
    t = i18n.Translator(lang)
    sp = ctx.registry.get(pending.sp)
    html = render_template(
        "logon.html", t=t, lang=lang, languages=t.choices(), sp_name=sp.name,
        action=g.remap.base_url + SSO_PATH, ctx=ctx.pending.dumps(pending), csrf=csrf_token(),
        error=t(error) if error else None, user_id=user_id, base=g.remap.base_url,
        nonce=g.nonce)
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{g.nonce}'; style-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, secure=True, httponly=True,
                        samesite="Lax")
    return response


def message_page(title: str, message: str, status: int,
                 reference: str | None = None) -> Response:
    t = i18n.Translator(i18n.choose_language())
    html = render_template("message.html", t=t, title=t(title), message=t(message),
                           reference=reference, base=g.remap.base_url)
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def unavailable_page(error: BackendUnavailable) -> Response:
    """CIC cannot be asked: a 503 page that names no server, with a reference to the log line
    that has the details."""
    reference = secrets.token_hex(4)
    log.error("authentication backend unavailable (%s %s) [ref %s]: %s", request.method,
              request.path, reference, error)
    monitoring.refused(error, reference, 503)
    return message_page("error_title", "backend_unavailable", status=503, reference=reference)


def error_page(error: SamlError | Exception, status: int | None = None) -> tuple[str, int]:
    """A clear page for a refused request, with a reference that is also in the log."""
    reference = secrets.token_hex(4)
    code = status or int(getattr(error, "status", 400))
    log.warning("refused request %s %s [ref %s]: %s", request.method, request.path, reference,
                error)
    monitoring.refused(error, reference, code)
    t = i18n.Translator(i18n.choose_language())
    base = g.remap.base_url if "remap" in g else ""
    return render_template("message.html", t=t, title=t("error_title"), message=str(error),
                           reference=reference, base=base), code
