"""A small service provider that plays Genesys Cloud's role for `make run` and the browser tests.

It uses OneLogin's python3-saml, an SP implementation independent of ours, in strict mode: the
Response must be signed by the IdP certificate, addressed to this ACS, for this audience, in
response to the request this SP sent, and within its validity window.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, redirect, render_template, request, session
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from werkzeug.wrappers import Response

from idp.demo.identity import DEMO_SP_ORGANIZATION
from idp.saml.constants import BINDING_POST, BINDING_REDIRECT, NAMEID_EMAIL


@dataclass(frozen=True)
class DemoIdp:
    entity_id: str
    sso_url: str
    certificate_pem: str
    slo_url: str = ""


def saml_settings(base_url: str, idp: DemoIdp) -> dict[str, Any]:
    cert = "".join(line for line in idp.certificate_pem.splitlines() if "-----" not in line)
    return {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": f"{base_url}/metadata",
            "assertionConsumerService": {"url": f"{base_url}/acs", "binding": BINDING_POST},
            "singleLogoutService": {"url": f"{base_url}/sls", "binding": BINDING_REDIRECT},
            "NameIDFormat": NAMEID_EMAIL,
        },
        "idp": {
            "entityId": idp.entity_id,
            "singleSignOnService": {"url": idp.sso_url, "binding": BINDING_REDIRECT},
            "singleLogoutService": {"url": idp.slo_url or idp.sso_url.split("/login")[0]
                                    + "/logout", "binding": BINDING_REDIRECT},
            "x509cert": cert,
        },
        "organization": {"en-US": {"name": "demo-sp", "displayname": "Demo service provider",
                                   "url": base_url}},
        "security": {
            "wantMessagesSigned": True,
            "wantAssertionsSigned": False,
            "wantNameId": True,
            "requestedAuthnContext": False,
            "signatureAlgorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "digestAlgorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
            "rejectDeprecatedAlgorithm": True,
        },
    }


def sp_metadata(base_url: str, idp: DemoIdp, demo: bool = False) -> bytes:
    """The SP's metadata; `demo` marks it as the demo's, which `serve` refuses to register."""
    values = saml_settings(base_url, idp)
    if demo:
        values["organization"]["en-US"]["name"] = DEMO_SP_ORGANIZATION
    settings = OneLogin_Saml2_Settings(values, sp_validation_only=True)
    metadata = settings.get_sp_metadata()
    return metadata if isinstance(metadata, bytes) else metadata.encode()


def create_demo_sp(base_url: str, idp: DemoIdp, secret_key: str | None = None) -> Flask:
    app = Flask(__name__, template_folder="templates")
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_hex(32),
        SESSION_COOKIE_NAME="demo_sp_session",
        SESSION_COOKIE_SECURE=True,
        # The ACS is reached by a cross-site POST from the IdP; the cookie that remembers the
        # AuthnRequest ID must come along.
        SESSION_COOKIE_SAMESITE="None",
    )
    settings = saml_settings(base_url, idp)

    def auth() -> OneLogin_Saml2_Auth:
        parts = urlsplit(base_url)
        return OneLogin_Saml2_Auth({
            "https": "on" if parts.scheme == "https" else "off",
            "http_host": parts.hostname,
            "server_port": parts.port or (443 if parts.scheme == "https" else 80),
            "script_name": request.path,
            "get_data": request.args.copy(),
            "post_data": request.form.copy(),
        }, settings)

    @app.get("/")
    def home() -> str:
        return render_template("home.html", login=session.get("login"), idp=idp,
                               logged_out=session.pop("logged_out", False))

    @app.get("/login")
    def login() -> Response | str:
        relay_state = request.args.get("relay_state", "demo-relay-state")
        if request.args.get("binding") == "post":
            authn = OneLogin_Saml2_Authn_Request(OneLogin_Saml2_Settings(settings))
            session["request_id"] = authn.get_id()
            encoded = base64.b64encode(authn.get_xml().encode()).decode()
            return render_template("post.html", action=idp.sso_url, saml_request=encoded,
                                   relay_state=relay_state)
        saml = auth()
        url = saml.login(return_to=relay_state)
        session["request_id"] = saml.get_last_request_id()
        return redirect(url)

    @app.post("/acs")
    def acs() -> Response | tuple[str, int]:
        saml = auth()
        saml.process_response(request_id=session.pop("request_id", None))
        errors = saml.get_errors()
        if errors or not saml.is_authenticated():
            return render_template("error.html", errors=errors,
                                   reason=saml.get_last_error_reason()), 400
        session["login"] = {
            "name_id": saml.get_nameid(),
            "name_id_format": saml.get_nameid_format(),
            "attributes": saml.get_attributes(),
            "session_index": saml.get_session_index(),
            "relay_state": request.form.get("RelayState"),
            "response_id": saml.get_last_message_id(),
        }
        return redirect(f"{base_url}/")

    @app.get("/logout")
    def logout() -> Response:
        session.clear()
        return redirect(f"{base_url}/")

    @app.get("/slo")
    def single_logout() -> Response:
        """SP-initiated Single Logout: ask the IdP to end its session too."""
        login = session.get("login") or {}
        saml = auth()
        url = saml.logout(return_to="demo-logout", name_id=login.get("name_id"),
                          session_index=login.get("session_index"),
                          name_id_format=login.get("name_id_format"))
        session["logout_request_id"] = saml.get_last_request_id()
        return redirect(url)

    @app.get("/sls")
    def single_logout_service() -> Response | tuple[str, int]:
        """The IdP's LogoutResponse to our logout, or its LogoutRequest when a logout started
        elsewhere (answered with a LogoutResponse back to the IdP)."""
        saml = auth()
        answer = saml.process_slo(request_id=session.pop("logout_request_id", None),
                                  delete_session_cb=session.clear)
        errors = saml.get_errors()
        if errors:
            return render_template("error.html", errors=errors,
                                   reason=saml.get_last_error_reason()), 400
        session.clear()
        session["logged_out"] = True
        return redirect(answer or f"{base_url}/")

    @app.get("/metadata")
    def metadata() -> Response:
        return Response(sp_metadata(base_url, idp), mimetype="application/samlmetadata+xml")

    return app
