"""A stand-in for the part of Genesys Cloud that `genesys-settings --apply` talks to, faithful to
docs/facts.md#sso-provider-api (the Platform API's GenericSAML model): ``POST /oauth/token``
(client credentials, Basic auth) and ``GET`` / ``PUT /api/v2/identityproviders/generic`` with a
bearer token, the permission ``sso:provider:edit`` (403 ``missing.permissions`` without it), 404
while no provider exists, a PUT that creates or replaces it, and the limits it enforces
(required fields, at most five certificates, a logo of at most 25 KB)."""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.wrappers import Response

REQUIRED = ("name", "issuerURI", "ssoTargetURI", "relyingPartyIdentifier")


@dataclass
class GenericSso:
    client_id: str = "apply-client"
    client_secret: str = "apply-secret"
    permissions: set[str] = field(default_factory=lambda: {"sso:provider:edit"})
    provider: dict[str, Any] | None = None
    puts: list[dict[str, Any]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Flask:
        app = Flask(__name__)

        @app.post("/oauth/token")
        def token() -> tuple[Response, int]:
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode())
            if (request.headers.get("Authorization", "") != f"Basic {expected.decode()}"
                    or request.form.get("grant_type") != "client_credentials"):
                return jsonify(error="invalid_client", description="client not found"), 401
            value = secrets.token_urlsafe(16)
            with self.lock:
                self.tokens.add(value)
            return jsonify(access_token=value, token_type="bearer", expires_in=86400), 200

        @app.route("/api/v2/identityproviders/generic", methods=["GET", "PUT"])
        def generic() -> tuple[Response, int]:
            bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if bearer not in self.tokens:
                return _error(401, "bad.credentials", "Invalid login credentials.")
            if "sso:provider:edit" not in self.permissions:
                return _error(403, "missing.permissions", "You are missing the following "
                              "permission(s): sso:provider:edit")
            if request.method == "GET":
                if self.provider is None:
                    return _error(404, "not.found", "The requested resource was not found.")
                return jsonify(self.provider), 200
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return _error(400, "bad.request", "The request could not be understood.")
            missing = [key for key in REQUIRED if not body.get(key)]
            certificates = body.get("certificates") or []
            if missing or not certificates:
                missing = missing or ["certificates"]
                return _error(400, "bad.request", f"Missing: {', '.join(missing)}")
            if len(certificates) > 5:
                return _error(400, "bad.request", "At most 5 certificates are allowed")
            if len(base64.b64decode(body.get("logoImageData", ""))) > 25 * 1024:
                return _error(400, "bad.request", "The logo must not exceed 25 KB")
            with self.lock:
                self.puts.append(body)
                stored = {**body, "id": "a1b2c3", "certificate": certificates[0],
                          "selfUri": "/api/v2/identityproviders/generic"}
                self.provider = stored
            return jsonify(stored), 200

        return app


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(message=message, code=code, status=status, messageParams={},
                   contextId=secrets.token_hex(8), details=[], errors=[]), status
