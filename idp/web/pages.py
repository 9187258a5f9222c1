"""The pages every blueprint shares: the auto-submitting form that carries a SAML message, the
logon page, message pages, and the error pages of the one taxonomy (`idp.errors`).

Every page is in the reader's language (`idp.web.i18n`) and says in plain words what happened
and what to do. An error page shows a reference; what went wrong technically (the error's own
message, a traceback for what no code anticipated) goes only to the log, under that reference:

- a `ClientError` is answered with its `http_status` (4xx) and its `page_message`;
- anything else is a server fault: 5xx, a `ServerError`'s `page_message` or "server_error".
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from urllib.parse import urlsplit

from flask import g, make_response, render_template, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from idp.errors import ClientError, ServerError, StsError, WebError
from idp.saml.metadata import SSO_PATH
from idp.web import i18n, monitoring
from idp.web.context import sts
from idp.web.csp import content_security_policy
from idp.web.state import PendingLogon, csrf_token

log = logging.getLogger(__name__)

#: The texts of the logon page that switch in the page when another language is chosen.
LOGON_TEXTS = ("page_title", "heading", "user_id", "password", "show_password", "log_on",
               "language", "change_language", "help_link")
#: Logon errors about what was typed: both fields are marked invalid and described by it.
FIELD_ERRORS = frozenset({"bad_credentials"})


def post_page(url: str, message: str, relay_state: str | None,
              field: str = "SAMLResponse") -> Response:
    """The auto-submitting form that carries a SAML message (a Response to the SP's ACS, or a
    LogoutRequest / LogoutResponse by the HTTP-POST binding) in `field`."""
    lang = i18n.choose_language()
    branding = sts().branding
    shell = _post_page_shell(lang, relay_state is not None, field, bool(branding.logo),
                             branding.help_url)
    html = "".join(_fill(shell, {_ACS: url, _SAML_RESPONSE: message,
                                 _RELAY_STATE: relay_state or "", _NONCE: g.nonce,
                                 _BASE: g.remap.base_url}))
    response = make_response(html)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    response.headers["Content-Security-Policy"] = content_security_policy(g.nonce, origin)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


# The post page is on the path of every signed Response. Its template is rendered once per
# language (and branding) with these markers in place of the values, and each answer fills the
# markers in, escaped as the template would have escaped them: the same page, without Jinja.
_ACS, _SAML_RESPONSE, _RELAY_STATE, _NONCE, _BASE = (f"\x00{n}\x00" for n in range(5))
_MARKER = re.compile("(\x00\\d\x00)")


@functools.cache
def _post_page_shell(lang: str, with_relay_state: bool, field: str, has_logo: bool,
                     help_url: str) -> tuple[str, ...]:
    html = render_template("post.html", t=i18n.Translator(lang), acs=_ACS,
                           saml_response=_SAML_RESPONSE, field=field,
                           relay_state=_RELAY_STATE if with_relay_state else None, nonce=_NONCE,
                           base=_BASE, has_logo=has_logo, help_url=help_url)
    return tuple(_MARKER.split(html))


def _fill(shell: tuple[str, ...], values: dict[str, str]) -> list[str]:
    # split() with a group puts the markers at the odd positions.
    return [str(escape(values[part])) if i % 2 else part for i, part in enumerate(shell)]


def logon_page(pending: PendingLogon, error: str | None = None, user_id: str = "",
               status: int = 200) -> Response:
    """The logon form; `error` (a catalog key) above it, `user_id` as typed. With a user ID
    already there, the password field has the focus."""
    ctx = sts()
    lang = i18n.choose_language()
    t = i18n.Translator(lang)
    sp = ctx.registry.get(pending.sp)
    html = render_template(
        "logon.html", t=t, lang=lang, languages=t.choices(), sp_name=sp.name,
        action=g.remap.base_url + SSO_PATH, ctx=ctx.pending.dumps(pending), csrf=csrf_token(),
        error=error, field_error=error in FIELD_ERRORS, user_id=user_id,
        base=g.remap.base_url, nonce=g.nonce, texts=_logon_texts(sp.name, error))
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = content_security_policy(g.nonce)
    response.set_cookie(i18n.COOKIE, lang, max_age=365 * 86400, secure=True, httponly=True,
                        samesite="Lax")
    return response


@functools.lru_cache(maxsize=64)
def _logon_texts(sp_name: str, error: str | None) -> dict[str, dict[str, str]]:
    """Every language's texts of the logon page, for switching language in the page (no
    reload, so nothing typed is lost)."""
    texts = {}
    for code in i18n.catalogs():
        t = i18n.Translator(code)
        texts[code] = {key: t(key) for key in LOGON_TEXTS}
        texts[code]["intro"] = t("intro", sp=sp_name)
        if error:
            texts[code][error] = t(error)
    return texts


def message_page(title: str, message: str, status: int,
                 reference: str | None = None) -> Response:
    """A page with a title and a message, both keys of the page catalogs."""
    t = i18n.Translator(i18n.choose_language())
    base = g.remap.base_url if "remap" in g else ""
    html = render_template("message.html", t=t, title=t(title), message=t(message),
                           reference=reference, base=base)
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


def unavailable_page(error: ServerError) -> Response:
    """CIC (or Redis) cannot be asked: a 503 page that names no server."""
    return error_page(error)


def error_page(error: BaseException, status: int | None = None) -> Response:
    """The answer to an error that reached the web layer, with a reference that is also in the
    log. `status` overrides the client error's code (413 for a body refused unread)."""
    reference = secrets.token_hex(4)
    where = f"{request.method} {request.path}"
    if isinstance(error, ClientError):
        code = status or error.http_status
        log.warning("refused request %s [ref %s]: %s", where, reference, error)
    elif isinstance(error, StsError):  # a known fault of the server (a DirectoryError, ...)
        code = error.http_status if isinstance(error, ServerError) else 500
        log.error("%s in %s [ref %s]: %s", type(error).__name__, where, reference, error)
    else:  # what no code anticipated: the traceback belongs in the log, and only there
        code = 500
        log.error("unexpected error in %s [ref %s]", where, reference, exc_info=error)
    monitoring.refused(error, reference, code)
    message = error.page_message if isinstance(error, WebError) else "server_error"
    return message_page("error_title", message, code, reference)


def http_error_page(error: HTTPException) -> Response:
    """HTTP's own refusals (no such page, a method the page does not take, a malformed
    request), branded and in the reader's language like every other page."""
    code = error.code or 500
    if code == 404:
        return message_page("not_found_title", "not_found", 404)
    if code == 405:
        response = message_page("error_title", "method_not_allowed", 405)
        allow = dict(error.get_headers()).get("Allow")
        if allow:
            response.headers["Allow"] = allow
        return response
    detail = f"HTTP {code}: {error.description}"
    if code < 500:
        return error_page(ClientError(detail), status=code)
    return error_page(ServerError(detail))
