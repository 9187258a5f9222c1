"""IdP-initiated logons for the CIC client buttons: Collaborate, Inbox and Genesys Cloud Admin.

`/ICNotifierIDP/launch?target=collaborate|inbox|admin` answers with an unsolicited signed Response
to the launch SP (Genesys Cloud by default) whose ServiceName says where to land. The caller
proves who the user is with the STS session (otherwise the logon page comes first) or with a
single-use CIC auth token POSTed as `token` (which proves this one launch only: it starts no
STS session). Targets are names from an allow-list, resolved from
the configuration: nothing the caller sends becomes a URL, and RelayState is never taken from it.
"""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, g, request
from werkzeug.wrappers import Response

from idp.config import Config
from idp.errors import AuthenticationFailed, BackendUnavailable, Misconfigured, SamlRequestError
from idp.regions import region_domain
from idp.web import monitoring
from idp.web.context import sts
from idp.web.pages import logon_page, message_page, unavailable_page
from idp.web.sso import issue_response
from idp.web.state import PendingLogon, current_session, one_time_session

bp = Blueprint("launch", __name__)
log = logging.getLogger(__name__)

LAUNCH_PATH = "/ICNotifierIDP/launch"
TARGETS = ("collaborate", "inbox", "admin")
TOKEN_REPLAY_TTL = 300  # longer than any CIC token lives


def launch_targets(config: Config) -> dict[str, str]:
    """Target name -> ServiceName, with the documented defaults filled in."""
    apps = f"https://apps.{region_domain(config.genesys.region)}" if config.genesys else ""
    defaults = {
        "collaborate": "directory",
        "inbox": f"{apps}/directory/#/analytics/performance/me" if apps else "",
        "admin": f"{apps}/directory/#/admin" if apps else "",
    }
    return {name: getattr(config.launch, name) or defaults[name] for name in TARGETS}


@bp.route(LAUNCH_PATH, methods=["GET", "POST"])
def launch() -> Response:
    if g.remap.refused:
        raise SamlRequestError(g.remap.refused, page_message="proxy_refused")
    ctx = sts()
    target = request.values.get("target", "")
    service_name = launch_targets(ctx.config).get(target)
    if not service_name:
        raise SamlRequestError(f"unknown or unconfigured launch target {target[:40]!r}; "
                               f"use one of: {', '.join(TARGETS)}", page_message="launch_unknown")
    sp_id = ctx.config.launch.service_provider or (
        ctx.config.genesys.relying_party_identifier if ctx.config.genesys else "")
    if not sp_id:  # the configuration's fault, not the caller's: a 500 with a reference
        raise Misconfigured("launches need [genesys] or launch.service_provider",
                            page_message="launch_misconfigured")
    sp = ctx.registry.get(sp_id)
    pending = PendingLogon(sp=sp.entity_id, acs=sp.default_acs().location, request_id=None,
                           relay_state=None, service_name=service_name)
    token = request.form.get("token") if request.method == "POST" else None
    if token:
        return _with_token(pending, token)
    existing = current_session(ctx.config.idp.session_lifetime)
    if existing is not None:
        user = ctx.backend.lookup(existing.user_id)
        if user is not None:
            log.info("launch %s for %r from the STS session", target, user.user_id)
            monitoring.launched(target, user.user_id, "sts_session")
            return issue_response(pending, user, existing)
    return logon_page(pending)


def _with_token(pending: PendingLogon, token: str) -> Response:
    ctx = sts()
    # CIC makes its tokens single-use; remember the accepted ones anyway, so a token replayed
    # to this STS is refused even before CIC is asked (shared across servers with
    # state.backend = redis). Tokens CIC refused are not remembered: a flood of made-up ones
    # must not fill the store that holds the real ones.
    key = f"launch-token:{hashlib.sha256(token.encode()).hexdigest()}"
    if ctx.store.count(key):
        log.warning("launch refused: replayed CIC auth token from %s", g.client_address)
        return message_page("error_title", "token_refused", status=403)
    try:
        user = ctx.backend.authenticate_token(token)
    except AuthenticationFailed:
        log.warning("launch refused: CIC auth token rejected (from %s)", g.client_address)
        return message_page("error_title", "token_refused", status=403)
    except BackendUnavailable as exc:
        return unavailable_page(exc)
    if not ctx.store.add_once(key, TOKEN_REPLAY_TTL):  # the same token, twice at once
        log.warning("launch refused: replayed CIC auth token from %s", g.client_address)
        return message_page("error_title", "token_refused", status=403)
    log.info("launch for %r with a CIC auth token", user.user_id)
    monitoring.launched(request.values.get("target", ""), user.user_id, "cic_token")
    # The token proves who this one launch is for, not who uses this browser: a token POSTed
    # from another site must not replace the STS session the browser has, so none is stored.
    return issue_response(pending, user, one_time_session(user.user_id))
