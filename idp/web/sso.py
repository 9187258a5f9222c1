"""Single Sign-On: `/ICNotifierIDP/login?loginType=saml`, the Target URL Genesys Cloud uses.

GET carries an AuthnRequest by HTTP-Redirect, POST carries one by HTTP-POST or the logon form.
A valid STS session answers at once; otherwise the PureConnect logon page is shown. A request
this IdP cannot satisfy (IsPassive without a session, a NameID format or authentication context
it does not offer) is answered at the SP's registered ACS with a signed error status.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from dataclasses import replace

from flask import Blueprint, g, request
from werkzeug.wrappers import Response

from idp.auth.hashing import TooManyLogons
from idp.errors import (
    AccountLocked,
    AuthenticationFailed,
    BackendUnavailable,
    PasswordExpired,
    SamlRequestError,
    SamlStatusError,
)
from idp.saml import authn_context
from idp.saml.constants import (
    NAMEID_EMAIL,
    NAMEID_PERSISTENT,
    NAMEID_TRANSIENT,
    STATUS_INVALID_NAMEID_POLICY,
    STATUS_NO_PASSIVE,
    STATUS_REQUESTER,
)
from idp.saml.metadata import SSO_PATH
from idp.saml.nameid import choose_format, name_id
from idp.saml.registry import ServiceProvider
from idp.saml.request import parse_authn_request
from idp.saml.response import (
    NameId,
    ResponseParams,
    Subject,
    build_error_response,
    build_response,
    encode_for_post,
)
from idp.users import CicUser
from idp.web import monitoring
from idp.web.context import sts
from idp.web.inbound import carried, receive_message
from idp.web.pages import logon_page, message_page, post_page
from idp.web.state import (
    LogonSession,
    Participant,
    PendingLogon,
    add_participant,
    csrf_ok,
    current_session,
    participant,
    start_session,
)
from idp.web.store import throttle_key

bp = Blueprint("sso", __name__)
log = logging.getLogger(__name__)


@bp.route("/ICNotifierIDP/login", methods=["GET", "POST"])
def login() -> Response:
    if g.remap.refused:
        raise SamlRequestError(g.remap.refused, page_message="proxy_refused")
    if carried("SAMLRequest") is not None:  # also refuses a protocol parameter given twice
        return _authn_request()
    if request.method == "POST" and "ctx" in request.form:
        return _logon_form()
    raise SamlRequestError("no SAML request: open this page from Genesys Cloud or another "
                           "registered application", page_message="no_saml_request")


def _authn_request() -> Response:
    ctx = sts()
    received = receive_message("SAMLRequest", parse_authn_request, SSO_PATH,
                               require_signature=lambda sp: sp.requests_signed)
    authn, sp = received.message, received.sp
    acs = sp.resolve_acs(authn)
    pending = PendingLogon(sp=sp.entity_id, acs=acs.location, request_id=authn.id,
                           relay_state=received.relay_state, service_name=sp.service_name,
                           binding=received.binding)
    try:
        authn_context.check(authn.authn_context)
        pending = replace(pending, nameid_format=choose_format(sp, authn),
                          allow_create=authn.allow_create is not False)
    except SamlStatusError as refusal:
        return status_response(pending, refusal)
    existing = None if authn.force_authn else current_session(ctx.config.idp.session_lifetime)
    if existing is not None:
        user = ctx.backend.lookup(existing.user_id)
        if user is not None:
            return issue_response(pending, user, existing)
    if authn.is_passive:
        return status_response(pending, SamlStatusError(STATUS_NO_PASSIVE,
                                                        "the user is not logged on"))
    return logon_page(pending)


def status_response(pending: PendingLogon, refusal: SamlStatusError) -> Response:
    """A signed Response with the error status of `refusal`, to the registered ACS."""
    ctx = sts()
    log.info("answered %r with status %s: %s", pending.sp, refusal.saml_status, refusal)
    xml = build_error_response(ctx.config.entity_id, pending.acs, pending.request_id,
                               refusal.saml_status, str(refusal), ctx.clock(),
                               ctx.signer, top=refusal.top)
    return post_page(pending.acs, encode_for_post(xml), pending.relay_state)


def _address_key(client: str) -> str:
    """The failed-logon counter of a client address; an IPv6 address counts by its /64, the
    block one subscriber gets, so that one attacker cannot spread over 2^64 counters."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return f"failed-logons:address:{client[:64]}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"failed-logons:address:{address.ipv4_mapped}"
        return f"failed-logons:address:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"failed-logons:address:{address}"


def _logon_form() -> Response:
    ctx = sts()
    user_id = request.form.get("user_id", "").strip()
    password = request.form.get("password", "")
    limits = ctx.config.state
    user_key = throttle_key(user_id)
    address_key = _address_key(g.client_address)
    # Read a counter first: with Redis down this is the clear 503, where a CSRF token that
    # could not be stored would otherwise show as an expired form.
    address_throttled = ctx.store.count(address_key) >= limits.max_failed_logons * 5
    if not csrf_ok(request.form.get("csrf")):
        raise SamlRequestError("the logon form has expired or was not issued by this server "
                               "(CSRF token missing or wrong)", page_message="form_expired")
    pending = ctx.pending.loads(request.form["ctx"])
    if request.form.get("intent") == "language":  # the no-JavaScript language switch
        return logon_page(pending, user_id=user_id)
    # An address that is throttled is refused before anything is counted for the user ID it
    # names: its attempts must not lock out a user it does not own. Attempts per user ID are
    # counted before the backend is asked, so that parallel attempts cannot all pass the
    # check; a successful logon clears the count.
    user_throttled = not address_throttled and ctx.store.hit(
        user_key, limits.failed_logon_window) > limits.max_failed_logons
    if address_throttled or user_throttled:
        # Refused without asking the backend, for known and unknown user IDs alike. A user ID
        # with too many failures is locked until the window passes or `users unlock`: the
        # page says so, as it does for an account CIC reports locked.
        log.warning("logon for user ID %r from %s refused: too many failed logons (%s)",
                    user_id[:128], g.client_address,
                    "from the address" if address_throttled else "for the user ID")
        monitoring.logon_failed("throttled", user_id)
        return logon_page(pending, error="account_locked" if user_throttled
                          else "too_many_attempts", user_id=user_id, status=429)
    try:
        if not user_id or not password:
            raise AuthenticationFailed("user ID and password are required")
        user = ctx.backend.authenticate(user_id, password)
    except AuthenticationFailed:
        log.info("logon failed for user ID %r from %s", user_id[:128], g.client_address)
        ctx.store.hit(address_key, limits.failed_logon_window)
        monitoring.logon_failed("wrong_password", user_id)
        return logon_page(pending, error="bad_credentials", user_id=user_id, status=401)
    except TooManyLogons as exc:  # every hashing slot busy for a while: a burst of logons
        log.warning("logon for user ID %r from %s turned away: %s", user_id[:128],
                    g.client_address, exc)
        ctx.store.unhit(user_key)  # no password was checked: not an attempt
        monitoring.logon_failed("busy", user_id)
        return logon_page(pending, error="too_many_logons", user_id=user_id, status=503)
    except (PasswordExpired, AccountLocked) as exc:  # the backend logged what it was told
        log.info("logon refused for user ID %r from %s: %s", user_id[:128], g.client_address,
                 exc)
        ctx.store.unhit(user_key)  # the password may well have been right: no failure
        monitoring.logon_failed(exc.page_message, user_id)
        return logon_page(pending, error=exc.page_message, user_id=user_id,
                          status=exc.http_status)
    except BackendUnavailable as exc:
        log.error("authentication backend unavailable: %s", exc)
        ctx.store.unhit(user_key)  # CIC was not asked: not an attempt to hold against the user
        monitoring.logon_failed("cic_unavailable", user_id)
        return logon_page(pending, error="backend_unavailable", user_id=user_id, status=503)
    ctx.store.clear(user_key)
    if not user.email and _format(pending) == NAMEID_EMAIL:
        log.info("user %r logged on but has no business e-mail; no assertion issued", user_id)
        monitoring.logon_failed("no_email", user.user_id)
        return message_page("no_email_title", "no_email", status=403)
    log.info("user %r logged on from %s", user.user_id, g.client_address)
    monitoring.logon_succeeded(user.user_id)
    return issue_response(pending, user, start_session(user.user_id))


def _format(pending: PendingLogon) -> str:
    return pending.nameid_format or sts().registry.get(pending.sp).nameid_formats[0]


def _name_id(pending: PendingLogon, sp: ServiceProvider, user: CicUser,
             known: Participant | None) -> NameId:
    """The NameID `sp` gets: the format chosen when the request came, its value for this user;
    the transient one this SP already has in this session (`known`), if any."""
    ctx = sts()
    fmt = _format(pending)
    transient = known.name_id if known and known.format == NAMEID_TRANSIENT else None
    if fmt == NAMEID_PERSISTENT and not pending.allow_create and \
            not ctx.issued_name_ids.known(sp.entity_id, user.user_id):
        raise SamlStatusError(STATUS_INVALID_NAMEID_POLICY,
                              "AllowCreate is false and no persistent NameID was issued to "
                              "this service provider for this user before",
                              top=STATUS_REQUESTER)
    issued = name_id(fmt, user.email, user.user_id, ctx.config.entity_id, sp.entity_id,
                     ctx.persistent_key, transient)
    if fmt == NAMEID_PERSISTENT:
        ctx.issued_name_ids.record(sp.entity_id, user.user_id)
    return issued


def issue_response(pending: PendingLogon, user: CicUser, session: LogonSession) -> Response:
    ctx = sts()
    sp = ctx.registry.get(pending.sp)
    if not user.email and _format(pending) == NAMEID_EMAIL:
        return message_page("no_email_title", "no_email", status=403)
    known = participant(sp.entity_id) if session.kept else None
    try:
        subject = _name_id(pending, sp, user, known)
    except SamlStatusError as refusal:
        return status_response(pending, refusal)
    attributes = {"email": user.email} if user.email else {}
    if sp.organization_name:
        attributes["OrganizationName"] = sp.organization_name
    if pending.service_name:
        attributes["ServiceName"] = pending.service_name
    session_index = (add_participant(sp.entity_id, subject, known).session_index
                     if session.kept else session.session_index)
    idp = ctx.config.idp
    xml = build_response(
        ResponseParams(
            issuer=ctx.config.entity_id, audience=sp.entity_id, acs_url=pending.acs,
            in_response_to=pending.request_id, session_index=session_index,
            authn_instant=dt.datetime.fromtimestamp(session.auth_time, dt.UTC),
            now=ctx.clock(), lifetime=idp.assertion_lifetime, skew=idp.clock_skew,
            sign_assertion=sp.sign_assertion),
        Subject(user.email, attributes, subject), ctx.signer)
    log.info("issued assertion for %r to %r at %s", user.user_id, sp.entity_id, pending.acs)
    monitoring.assertion_issued(sp.entity_id, user.user_id, subject.value, session_index,
                                pending.acs, pending.binding, xml, pending.request_id)
    return post_page(pending.acs, encode_for_post(xml), pending.relay_state)
