"""IdP metadata, the help page its errorURL names, the front page, the configured logo, and the
liveness/readiness probes."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

from flask import Blueprint, abort, g, jsonify, make_response, request
from werkzeug.wrappers import Response

from idp.observe.certificates import expiry_warnings
from idp.saml.metadata import ERROR_PATH, METADATA_PATH, idp_metadata
from idp.web.branding import LOGO_PATH, LOGO_POLICY
from idp.web.context import sts
from idp.web.pages import message_page
from idp.web.remap import HEADER

bp = Blueprint("health", __name__)


@bp.route(METADATA_PATH)
def metadata() -> Response:
    ctx = sts()
    # Endpoints follow the public base the caller came through; the entity ID never does.
    body = idp_metadata(ctx.config.entity_id, g.remap.base_url, ctx.certificate_bodies,
                        ctx.description)
    response = make_response(body)
    response.headers["Content-Type"] = "application/samlmetadata+xml"
    host = re.sub(r"[^A-Za-z0-9.-]", "_", urlsplit(ctx.config.entity_id).hostname or "cic-sts")
    response.headers["Content-Disposition"] = f'attachment; filename="{host}-idp-metadata.xml"'
    # The endpoints follow the base the proxy sends: a shared cache must key on that header,
    # and keep a copy only briefly (a key rollover shows within the hour).
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Vary"] = HEADER
    return response


@bp.route(ERROR_PATH)
def help_page() -> Response:
    """The page the metadata's errorURL names: where an SP sends a user it turned away."""
    return message_page("help_title", "help", status=200)


@bp.route("/")
def home() -> Response:
    """What someone who opens the STS's address sees: what this is, and nothing about how it is
    set up (no version, no configuration)."""
    return message_page("home_title", "home", status=200)


@bp.route(LOGO_PATH)
def logo() -> Response:
    branding = sts().branding
    if not branding.logo:
        abort(404)
    response = make_response(branding.logo)
    response.headers["Content-Type"] = branding.logo_type
    response.headers["Content-Security-Policy"] = LOGO_POLICY
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.route("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


#: What the serving worker (idp.server.worker) puts in the environ while it stops: it still
#: answers, but a proxy should send this server nothing new.
STOPPING = "idp.stopping"


@bp.route("/readyz")
def readyz() -> tuple[Response, int]:
    ctx = sts()
    checks = {"serving": not request.environ.get(STOPPING, False), "signing_key": True,
              "backend": bool(ctx.backend.ready()), "state": ctx.store.ready()}
    ready = all(checks.values())
    now = dt.datetime.now(dt.UTC)
    # An expiring certificate is a warning, not unreadiness: the server still works today.
    return jsonify(status="ready" if ready else "not ready", checks=checks,
                   certificates={c.name: c.as_json(now) for c in ctx.certificates},
                   warnings=expiry_warnings(ctx.config, ctx.certificates, now)), \
        200 if ready else 503
