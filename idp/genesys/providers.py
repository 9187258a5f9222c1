"""Genesys Cloud's Generic SSO provider through the Platform API:
``GET`` / ``PUT /api/v2/identityproviders/generic`` (permission ``sso:provider:edit``, OAuth
client credentials: the sync's client). A PUT creates the provider when there is none.

Facts: docs/facts.md#sso-provider-api.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

from idp.config import Config
from idp.errors import GenesysError, GenesysUnavailable
from idp.genesys.oauth import ClientCredentials

PATH = "/api/v2/identityproviders/generic"
PERMISSION = "sso:provider:edit"
#: Fields the API adds or derives: never part of a difference.
SERVER_FIELDS = frozenset({"id", "selfUri", "certificate"})


class GenericProviderClient:
    def __init__(self, config: Config, http: httpx.Client | None = None) -> None:
        g = config.genesys
        if g is None or not g.client_id or g.client_secret is None:
            raise GenesysError("genesys-settings --apply needs genesys.client_id and "
                               "genesys.client_secret (an OAuth client-credentials client with "
                               f"the permission {PERMISSION})")
        self._http = http or httpx.Client(timeout=30)
        self._url = config.genesys_api_base + PATH
        self._tokens = ClientCredentials(config.genesys_login_base, g.client_id,
                                         g.client_secret.reveal(), self._http)

    def get(self) -> dict[str, Any] | None:
        """The provider as Genesys Cloud has it, or None when there is none yet."""
        answer = self._send("GET")
        if answer.status_code == 404:
            return None
        return self._json(answer)

    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._json(self._send("PUT", json=body))

    def _send(self, method: str, **kwargs: Any) -> httpx.Response:
        token = self._tokens.token()
        try:
            answer = self._http.request(method, self._url, headers={
                "Authorization": f"Bearer {token}", "Accept": "application/json"}, **kwargs)
        except httpx.TransportError as exc:
            raise GenesysUnavailable(f"{method} {self._url}: {type(exc).__name__}") from None
        if answer.status_code in (401, 403):
            raise GenesysError(
                f"Genesys Cloud refused {method} {PATH} (HTTP {answer.status_code}): "
                f"{_message(answer)}; the OAuth client {self._tokens.client_id!r} needs the "
                f"permission {PERMISSION} (Admin > Roles / Permissions)")
        if answer.status_code >= 400 and answer.status_code != 404:
            raise GenesysError(f"Genesys Cloud answered {method} {PATH} with HTTP "
                               f"{answer.status_code}: {_message(answer)}")
        return answer

    @staticmethod
    def _json(answer: httpx.Response) -> dict[str, Any]:
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise GenesysError(f"Genesys Cloud answered {PATH} with something that is not a "
                               "JSON object")
        return body

    def close(self) -> None:
        self._http.close()


def _message(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200] or f"HTTP {answer.status_code}"
    if isinstance(body, dict):
        return str(body.get("message") or body.get("code") or body)[:300]
    return str(body)[:300]


def differences(current: dict[str, Any] | None, wanted: dict[str, Any]) -> list[str]:
    """What a PUT of `wanted` changes, one line per field (certificates by position)."""
    if current is None:
        return [f"{key}: (none) -> {_show(key, value)}" for key, value in wanted.items()]
    lines = []
    for key, value in wanted.items():
        have = current.get(key)
        if key == "certificates":
            have = [c.replace("\n", "").strip() for c in (have or [])]
            if not have and current.get("certificate"):
                have = [str(current["certificate"]).replace("\n", "").strip()]
        if have != value:
            lines.append(f"{key}: {_show(key, have)} -> {_show(key, value)}")
    return lines


def _show(key: str, value: Any) -> str:
    if key == "logoImageData" and isinstance(value, str):
        return f"<SVG, {len(value) * 3 // 4} bytes>"
    if key == "certificates" and isinstance(value, list):
        return "[" + ", ".join(_fingerprint(str(c)) for c in value) + "]"
    return repr(value)


def _fingerprint(body: str) -> str:
    try:
        digest = hashlib.sha256(base64.b64decode(body, validate=False)).hexdigest().upper()
    except ValueError:
        return "(not base64)"
    return "SHA-256 " + ":".join(digest[i:i + 2] for i in range(0, 16, 2)) + ":..."
