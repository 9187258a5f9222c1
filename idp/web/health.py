"""IdP metadata and the liveness/readiness probes."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, make_response
from werkzeug.wrappers import Response

from idp.saml.metadata import METADATA_PATH, idp_metadata
from idp.web.context import sts

bp = Blueprint("health", __name__)


@bp.route(METADATA_PATH)
def metadata() -> Response:
    ctx = sts()
    # Endpoints follow the public base the caller came through; the entity ID never does.
    body = idp_metadata(ctx.config.entity_id, g.remap.base_url, ctx.certificate_bodies)
    response = make_response(body)
    response.headers["Content-Type"] = "application/samlmetadata+xml"
    return response


@bp.route("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz() -> tuple[Response, int]:
    ctx = sts()
    checks = {"signing_key": True, "backend": bool(ctx.backend.ready()),
              "state": ctx.store.ready()}
    ready = all(checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503
