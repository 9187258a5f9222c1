"""The Flask application: `create_app(config)` wires keys, SPs and the backend to the blueprints."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import replace
from typing import Any

from flask import Flask, g, request, session
from flask.sessions import SessionInterface
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from idp.auth.base import AuthBackend
from idp.auth.factory import build_backend
from idp.config import Config
from idp.config.checks import nameid_format
from idp.errors import ConfigError, SamlError, StateUnavailable
from idp.keys import certificate_body, read_pem
from idp.observe import metrics
from idp.observe.certificates import certificates
from idp.saml.constants import NAMEID_PERSISTENT
from idp.saml.metadata import Description
from idp.saml.registry import (
    NAMEID_FORMATS,
    Registry,
    ServiceProvider,
    certificates_from_metadata,
    genesys_provider,
    providers_from_metadata,
)
from idp.saml.signing import Signer
from idp.web.branding import Branding
from idp.web.context import Sts
from idp.web.csp import content_security_policy
from idp.web.nameids import IssuedNameIds
from idp.web.remap import HEADER, RemapPolicy
from idp.web.sessions import EncryptedCookieSessionInterface, RedisSessionInterface
from idp.web.state import PendingCodec
from idp.web.store import MemoryStore, RedisStore

log = logging.getLogger(__name__)

#: Sent with every answer unless the view set its own (pages with scripts set their own CSP).
SECURITY_HEADERS = (
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Strict-Transport-Security", "max-age=31536000"),
    ("Content-Security-Policy", content_security_policy()),
)


def genesys_certificates(config: Config) -> tuple[str, ...]:
    """Genesys Cloud's SP signing certificates, from genesys.sp_certificate / sp_metadata."""
    assert config.genesys is not None
    found: list[str] = []
    if config.genesys.sp_certificate is not None:
        found.append(certificate_body(read_pem(config.genesys.sp_certificate,
                                               "Genesys Cloud SP certificate")))
    if config.genesys.sp_metadata is not None:
        found.extend(certificates_from_metadata(config.genesys.sp_metadata))
    return tuple(found)


def build_registry(config: Config, persistent: bool = True) -> Registry:
    """Every SP; without a persistent-ID key (`persistent` False), the persistent format is
    taken from those that would get it by default, and refused for those configured for it."""
    providers: list[ServiceProvider] = []
    if config.genesys is not None:
        providers.append(genesys_provider(
            config.genesys.relying_party_identifier, config.genesys.organization,
            config.genesys_login_base, config.genesys.service_name,
            genesys_certificates(config)))
    for i, sp in enumerate(config.service_providers):
        configured = tuple(f for f in (nameid_format(v) for v in sp.nameid_formats) if f)
        if configured and NAMEID_PERSISTENT in configured and not persistent:
            raise ConfigError(f"service_providers[{i}].nameid_formats: persistent needs "
                              f"idp.persistent_id_secret ({config.idp.persistent_id_secret!r} "
                              "cannot be read; `cic-sts init` writes it)")
        for provider in providers_from_metadata(sp.metadata, sp.organization_name, configured):
            formats = tuple(f for f in provider.nameid_formats
                            if persistent or f != NAMEID_PERSISTENT)
            if not formats:
                raise ConfigError(f"{sp.metadata}: {provider.entity_id!r} takes only "
                                  "persistent NameIDs, which need idp.persistent_id_secret")
            providers.append(replace(provider, nameid_formats=formats))
    return Registry(providers)


def persistent_key(config: Config) -> bytes | None:
    """The key of persistent NameIDs, or None when it is not there (they are then not offered)."""
    secret = config.idp.persistent_id_secret
    if secret.file is not None and not secret.file.exists():
        log.warning("persistent NameIDs are not offered: %s does not exist (`cic-sts init` "
                    "writes it)", secret.file)
        return None
    value = secret.reveal()
    return value.encode() if value else None


def build_sts(config: Config, backend: AuthBackend | None = None) -> Sts:
    idp = config.idp
    cert_pem = read_pem(idp.signing_certificate, "SAML signing certificate")
    passphrase = idp.signing_key_passphrase.reveal() if idp.signing_key_passphrase else None
    signer = TimedSigner(read_pem(idp.signing_key, "SAML signing key"), cert_pem, passphrase)
    key = persistent_key(config)
    registry = build_registry(config, persistent=key is not None)
    return Sts(
        config=config,
        signer=signer,
        certificate_bodies=published_certificates(config, cert_pem),
        registry=registry,
        backend=backend or build_backend(config),
        pending=PendingCodec(idp.session_secret.reveal()),
        remap=RemapPolicy(config),
        store=RedisStore(redis_client(config)) if config.state.backend == "redis"
        else MemoryStore(protect_from=config.state.max_failed_logons),
        issued_name_ids=IssuedNameIds(idp.nameid_database),
        persistent_key=key,
        description=Description(
            display_name=idp.display_name, technical_contact=idp.technical_contact,
            error_url=idp.error_url,
            nameid_formats=tuple(f for f in NAMEID_FORMATS
                                 if any(f in sp.nameid_formats for sp in registry))),
        certificates=certificates(config),
        branding=Branding.from_settings(config.branding),
    )


class TimedSigner(Signer):
    """Observes each RSA signature's time in cic_sts_signing_duration_seconds."""

    def _rsa_sha256(self, data: bytes) -> str:
        with metrics.SIGNING_SECONDS.time():
            return super()._rsa_sha256(data)


def published_certificates(config: Config, current_pem: bytes) -> list[str]:
    """The certificates metadata lists: the signing one, and the next one during a rollover."""
    bodies = [certificate_body(current_pem)]
    if config.next_signing_certificate is not None:
        bodies.append(certificate_body(read_pem(config.next_signing_certificate,
                                                "next signing certificate")))
    return bodies


def redis_client(config: Config) -> Any:
    import redis

    password = config.state.redis_password.reveal() if config.state.redis_password else None
    return redis.Redis.from_url(config.state.redis_url, password=password, socket_timeout=2,
                                socket_connect_timeout=2)


def session_interface(config: Config, context: Sts) -> SessionInterface:
    if isinstance(context.store, RedisStore):
        return RedisSessionInterface(redis_client(config))
    return EncryptedCookieSessionInterface(config.idp.session_secret.reveal())


def create_app(config: Config, backend: AuthBackend | None = None) -> Flask:
    from idp.web import health, launch, logout, monitoring, pages, sso

    app = Flask(__name__, static_url_path="/ICNotifierIDP/static")
    context = build_sts(config, backend)
    app.extensions["cic_sts"] = context
    app.config.update(
        SECRET_KEY=config.idp.session_secret.reveal(),
        SESSION_COOKIE_NAME="cicsts_session",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        # SAML's HTTP-POST binding arrives as a cross-site POST: with Lax the browser would drop
        # the session cookie there and a logged-on user would be asked again. None + Secure +
        # a CSRF token on our own form is the combination that works for both bindings.
        SESSION_COOKIE_SAMESITE="None",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(seconds=config.idp.session_lifetime),
        # The session lasts session_lifetime from logon, not from the last request; not
        # re-signing the cookie on every answer also saves work on the hot SSO path.
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=config.idp.max_message_bytes * 2 + 16384,
    )
    app.session_interface = session_interface(config, context)
    app.register_blueprint(sso.bp)
    app.register_blueprint(launch.bp)
    app.register_blueprint(logout.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(monitoring.bp)
    monitoring.install(app, config, context.certificates)

    @app.before_request
    def resolve_base_url() -> None:
        g.nonce = secrets.token_urlsafe(16)
        g.remap = context.remap.resolve(request.headers.get(HEADER), request.remote_addr)
        g.client_address = context.remap.client_address(request.remote_addr,
                                                        request.headers.get("X-Forwarded-For"))
        if getattr(session, "unavailable", False):  # after the above: the page needs them
            raise StateUnavailable("the shared session store (Redis) is unavailable")

    @app.context_processor
    def branding() -> dict[str, Any]:
        return context.branding.template_values()

    @app.after_request
    def security_headers(response: Response) -> Response:
        # One pass over the headers the view set, rather than a lookup per default.
        present = {name.lower() for name, _ in response.headers.items()}
        response.headers.extend([(name, value) for name, value in SECURITY_HEADERS
                                 if name.lower() not in present])
        return response

    @app.errorhandler(Exception)
    def any_error(error: Exception) -> Response | HTTPException:
        if isinstance(error, HTTPException):
            if error.code is None or error.code < 400:  # the redirects of Flask's routing
                return error
            return pages.http_error_page(error)  # 404, 405, ...: branded, localized
        return pages.error_page(error)  # the taxonomy of idp.errors; 5xx for the unforeseen

    @app.errorhandler(413)
    def too_large(_: Exception) -> Response:
        return pages.error_page(SamlError("the request is too large",
                                          page_message="request_too_large"), status=413)

    @app.errorhandler(408)
    def too_slow(_: Exception) -> Response:  # the body's deadline (idp.server.body)
        return pages.error_page(SamlError("the request did not arrive in time",
                                          page_message="request_too_slow"), status=408)

    return app
