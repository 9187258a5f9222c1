"""The pages every blueprint shares: the auto-submitting form that carries a SAML message, the
logon page, message pages, and the error pages of the one taxonomy (`idp.errors`):

- a `ClientError` is answered with its `http_status` (4xx) and its message;
- anything else is a server fault: 5xx, a plain sentence and a reference; the detail (and a
  traceback, for what no code anticipated) goes only to the log, under that reference.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from urllib.parse import urlsplit

from flask import g, make_response, render_template, request
from markupsafe import escape
from werkzeug.wrappers import Response

from idp.errors import ClientError, ServerError, StsError
from idp.saml.metadata import SSO_PATH
from idp.web import i18n, monitoring
from idp.web.context import sts
from idp.web.state import PendingLogon, csrf_token

log = logging.getLogger(__name__)


def post_page(url: str, message: str, relay_state: str | None,
              field: str = "SAMLResponse") -> Response:
    """The auto-submitting form that carries a SAML message (a Response to the SP's ACS, or a
    LogoutRequest / LogoutResponse by the HTTP-POST binding) in `field`."""
    lang = i18n.choose_language()
    html = "".join(_fill(_post_page_shell(lang, relay_state is not None, field), {
        _ACS: url, _SAML_RESPONSE: message, _RELAY_STATE: relay_state or "",
        _NONCE: g.nonce}))
    response = make_response(html)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
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
def _post_page_shell(lang: str, with_relay_state: bool, field: str) -> tuple[str, ...]:
    html = render_template("post.html", t=i18n.Translator(lang), acs=_ACS,
                           saml_response=_SAML_RESPONSE, field=field,
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
    """A page with a title and a message, both keys of the page catalogs."""
    t = i18n.Translator(i18n.choose_language())
    return _page(t(title), t(message), status, reference)


def _page(title: str, message: str, status: int, reference: str | None) -> Response:
    t = i18n.Translator(i18n.choose_language())
    base = g.remap.base_url if "remap" in g else ""
    html = render_template("message.html", t=t, title=title, message=message,
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
    t = i18n.Translator(i18n.choose_language())
    where = f"{request.method} {request.path}"
    if isinstance(error, ClientError):
        code = status or error.http_status
        log.warning("refused request %s [ref %s]: %s", where, reference, error)
        monitoring.refused(error, reference, code)
        return _page(t("error_title"), str(error), code, reference)
    if isinstance(error, StsError):  # a known fault of the server (a DirectoryError, ...)
        code, message = ((error.http_status, error.page_message)
                         if isinstance(error, ServerError) else (500, "server_error"))
        log.error("%s in %s [ref %s]: %s", type(error).__name__, where, reference, error)
    else:  # what no code anticipated: the traceback belongs in the log, and only there
        code, message = 500, "server_error"
        log.error("unexpected error in %s [ref %s]", where, reference, exc_info=error)
    monitoring.refused(error, reference, code)
    return _page(t("error_title"), t(message), code, reference)
