"""`cic-sts proxy verify URL`: probe a live proxy the way a browser and Genesys Cloud would.

1. TLS: the certificate the proxy shows is trusted (system CAs, or ``--ca-file``) and names the
   host; its expiry is reported.
2. Metadata (``/ICNotifierIDP/metadata``) comes through, and its endpoints are under the public
   base: the STS honoured the proxy's ININ-REMAP-BASE-URL.
3. The logon page comes through. It needs an AuthnRequest from a service provider the STS
   knows: with ``--sp-entity-id`` (Genesys Cloud's relying party identifier, by default from
   the configuration) a minimal unsigned AuthnRequest is sent, as Genesys Cloud's redirect
   would, and the logon page itself is checked (form action, stylesheet, no caching). Without
   one, the Target URL is requested bare and must give the STS's own "no SAML request" page,
   which still shows whether the STS accepted the proxy's header.
4. Every URL those pages contain is under the public base, and the stylesheet loads.

Nothing is submitted and no one logs on.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import socket
import ssl
import zlib
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit
from xml.sax.saxutils import escape, quoteattr

import httpx
from cryptography import x509
from cryptography.x509.oid import NameOID

from idp.config import base_url_problem
from idp.errors import ProxyConfigError, SamlRequestError
from idp.saml.constants import SAML, SAMLP
from idp.saml.metadata import METADATA_PATH, SSO_PATH
from idp.saml.xml import parse_untrusted

Status = Literal["ok", "warning", "problem"]
MAX_BODY = 1_000_000
EXPIRY_WARNING = dt.timedelta(days=21)
LOGIN_PATH, _, LOGIN_QUERY = SSO_PATH.partition("?")


@dataclass(frozen=True)
class Finding:
    status: Status
    check: str
    detail: str


@dataclass
class Report:
    base: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(f.status == "problem" for f in self.findings)

    def add(self, status: Status, check: str, detail: str) -> None:
        self.findings.append(Finding(status, check, detail))

    def as_dict(self) -> dict[str, Any]:
        return {"base": self.base, "ok": self.ok,
                "findings": [asdict(f) for f in self.findings]}

    def as_text(self) -> str:
        lines = [f"cic-sts proxy verify {self.base}"]
        lines += [f"  {f.status:<8} {f.check}: {f.detail}" for f in self.findings]
        problems = sum(f.status == "problem" for f in self.findings)
        lines.append("result: OK" if self.ok else f"result: {problems} problem(s)")
        return "\n".join(lines)


def verify(url: str, *, ca_file: Path | None = None, insecure: bool = False,
           sp_entity_id: str | None = None, timeout: float = 10.0) -> Report:
    base = url.strip().rstrip("/")
    problem = base_url_problem(base)
    if problem:
        raise ProxyConfigError(f"URL: {url!r} {problem}")
    if ca_file is not None and not ca_file.is_file():
        raise ProxyConfigError(f"--ca-file: {ca_file}: no such file")
    report = Report(base)
    if urlsplit(base).scheme != "https":
        report.add("problem", "URL", "not https: browsers send passwords to this address")
        context: ssl.SSLContext | None = None
    else:
        context = _tls(report, base, ca_file, insecure, timeout)
        if context is None:
            return report
    verify_tls: ssl.SSLContext | bool = context if context is not None else False
    with httpx.Client(verify=verify_tls, timeout=timeout, follow_redirects=False,
                      headers={"User-Agent": "cic-sts proxy verify"}) as client:
        _metadata(report, client, base)
        stylesheet = _logon_page(report, client, base, sp_entity_id)
        if stylesheet is not None:
            _stylesheet(report, client, stylesheet)
    return report


# -- TLS -----------------------------------------------------------------------------------------


def _tls(report: Report, base: str, ca_file: Path | None, insecure: bool,
         timeout: float) -> ssl.SSLContext | None:
    """Check the certificate; the context the HTTP checks should use (None: cannot connect)."""
    parts = urlsplit(base)
    host, port = parts.hostname or "", parts.port or 443
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    try:
        der, version = _handshake(host, port, unverified if insecure else context, timeout)
    except ssl.SSLCertVerificationError as exc:
        report.add("problem", "TLS", f"the certificate is not trusted: {exc.verify_message}"
                   f"{'' if ca_file else ' (give --ca-file for a private CA)'}")
        try:
            der, version = _handshake(host, port, unverified, timeout)
        except OSError as again:
            report.add("problem", "TLS", f"cannot connect to {host}:{port}: {again}")
            return None
        report.add("warning", "TLS", _describe(der, version))
        return unverified
    except (OSError, ssl.SSLError) as exc:
        report.add("problem", "TLS", f"cannot connect to {host}:{port}: {exc}")
        return None
    certificate = x509.load_der_x509_certificate(der)
    left = certificate.not_valid_after_utc - dt.datetime.now(dt.UTC)
    if insecure:
        report.add("warning", "TLS", f"not verified (--insecure): {_describe(der, version)}")
        return unverified
    status: Status = "warning" if left < EXPIRY_WARNING else "ok"
    report.add(status, "TLS", _describe(der, version) + (
        f" (expires in {left.days} days)" if status == "warning" else ""))
    return context


def _handshake(host: str, port: int, context: ssl.SSLContext,
               timeout: float) -> tuple[bytes, str]:
    with socket.create_connection((host, port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True)
        if der is None:
            raise ssl.SSLError("the server sent no certificate")
        return der, tls.version() or "TLS"


def _describe(der: bytes, version: str) -> str:
    certificate = x509.load_der_x509_certificate(der)
    try:
        alt = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in alt]
    except x509.ExtensionNotFound:
        names = []
    common_names = certificate.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    issuer = common_names[0].value if common_names else certificate.issuer.rfc4514_string()
    if isinstance(issuer, bytes):
        issuer = issuer.decode(errors="replace")
    return (f"{version}, certificate for {', '.join(names) or '(no names)'}, issued by "
            f"{issuer}, valid until {certificate.not_valid_after_utc:%Y-%m-%d}")


# -- pages ---------------------------------------------------------------------------------------


def _get(report: Report, client: httpx.Client, check: str, url: str,
         params: dict[str, str] | None = None) -> httpx.Response | None:
    try:
        response = client.get(url, params=params)
    except httpx.HTTPError as exc:
        report.add("problem", check, f"{url}: {exc}")
        return None
    if response.is_redirect:
        location = response.headers.get("location", "")
        report.add("problem", check, f"redirected ({response.status_code}) to {location}")
        return None
    if response.status_code in (502, 503, 504):
        report.add("problem", check, f"the proxy answered {response.status_code}: it cannot "
                   "reach an STS server that answers")
        return None
    if response.status_code == 404:
        report.add("problem", check, f"404 for {url}: is the friendly path right?")
        return None
    if len(response.content) > MAX_BODY:
        report.add("problem", check, f"answer larger than {MAX_BODY} bytes")
        return None
    return response


def _metadata(report: Report, client: httpx.Client, base: str) -> None:
    response = _get(report, client, "metadata", base + METADATA_PATH)
    if response is None:
        return
    if response.status_code != 200:
        report.add("problem", "metadata", f"answered {response.status_code}")
        return
    try:
        root = parse_untrusted(response.content, MAX_BODY, "metadata")
    except SamlRequestError as exc:
        report.add("problem", "metadata", f"not usable SAML metadata: {exc}")
        return
    endpoints = [e.get("Location") or "" for e in root.iter() if e.get("Location") is not None]
    endpoints += [e.get("ResponseLocation") or "" for e in root.iter()
                  if e.get("ResponseLocation") is not None]
    outside = [u for u in endpoints if not under(u, base)]
    for url in outside:
        report.add("problem", "metadata", f"endpoint {url} is not under {base}: the STS did not "
                   "take the public base from the proxy (ININ-REMAP-BASE-URL)")
    if not endpoints:
        report.add("problem", "metadata", "no endpoints")
    elif not outside:
        report.add("ok", "metadata", f"entity ID {root.get('entityID')}; {len(endpoints)} "
                   f"endpoint(s), all under {base}")


def _logon_page(report: Report, client: httpx.Client, base: str,
                sp_entity_id: str | None) -> str | None:
    """Check the logon page (or the bare Target URL); the stylesheet URL it names, if any."""
    url = base + LOGIN_PATH
    before = len(report.findings)
    if sp_entity_id:
        check = "logon page"
        response = _get(report, client, check, url,
                        authn_request_query(sp_entity_id, base + SSO_PATH))
    else:
        check = "Target URL"
        response = _get(report, client, check, url, dict([LOGIN_QUERY.split("=", 1)]))
    if response is None:
        return None
    page = _Links()
    page.feed(response.text)
    message = " ".join(page.message).strip()
    if not page.sts:
        report.add("problem", check, f"answered {response.status_code} with a page that is not "
                   "the STS's")
        return None
    if "ININ-REMAP-BASE-URL" in message:
        report.add("problem", check, f"the STS refused the proxy's header: {message} (add the "
                   "address the proxy connects from to server.trusted_proxies)")
    elif sp_entity_id and response.status_code != 200:
        report.add("problem", check, f"answered {response.status_code}: {message}")
    elif sp_entity_id and not page.logon_form:
        report.add("problem", check, "answered 200 without the logon form")
    links = [(what, urljoin(str(response.url), link)) for what, link in page.links]
    outside = [(what, link) for what, link in links if not under(link, base)]
    for what, link in outside:
        report.add("problem", check, f"{what} {link} is not under {base}")
    if sp_entity_id and "no-store" not in response.headers.get("cache-control", ""):
        report.add("warning", check, "the logon page may be cached (no Cache-Control: no-store)")
    if not any(f.status == "problem" for f in report.findings[before:]):
        if sp_entity_id:
            report.add("ok", check, f"logon form for {sp_entity_id}; {len(links)} URL(s), all "
                       f"under {base}")
        else:
            report.add("ok", check, f"reaches the STS (its 'no SAML request' page, as expected "
                       f"without --sp-entity-id); {len(links)} URL(s), all under {base}")
    return next((urljoin(str(response.url), s) for s in page.stylesheets), None)


def _stylesheet(report: Report, client: httpx.Client, url: str) -> None:
    response = _get(report, client, "stylesheet", url)
    if response is None:
        return
    if response.status_code != 200 or "css" not in response.headers.get("content-type", ""):
        report.add("problem", "stylesheet", f"{url} answered {response.status_code} "
                   f"{response.headers.get('content-type', '')}")
    else:
        report.add("ok", "stylesheet", "loads through the proxy")


class _Links(HTMLParser):
    """URLs a browser would follow or submit to, and what identifies an STS page."""

    ATTRIBUTES = ("href", "src", "action", "formaction")

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self.stylesheets: list[str] = []
        self.message: list[str] = []
        self.logon_form = False
        self.sts = False
        self._in_message = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name in self.ATTRIBUTES:
            if values.get(name):
                self.links.append((f"<{tag} {name}>", values[name]))
        if tag == "link" and values.get("rel") == "stylesheet" and values.get("href"):
            self.stylesheets.append(values["href"])
            self.sts = self.sts or values["href"].endswith("/ICNotifierIDP/static/sts.css")
        if tag == "form" and values.get("id") == "logon":
            self.logon_form = True
        self._in_message = values.get("id") in ("message", "error")

    def handle_endtag(self, tag: str) -> None:
        self._in_message = False

    def handle_data(self, data: str) -> None:
        if self._in_message:
            self.message.append(data)


def under(url: str, base: str) -> bool:
    """Whether `url` is `base` or below it (same scheme, host and port; path prefix)."""
    def origin(parts: Any) -> tuple[str, str, int | None]:
        default = {"https": 443, "http": 80}.get(parts.scheme)
        return parts.scheme, (parts.hostname or "").lower(), parts.port or default
    try:
        u, b = urlsplit(url), urlsplit(base)
        if origin(u) != origin(b):
            return False
    except ValueError:
        return False
    prefix = b.path.rstrip("/")
    return u.path == prefix or u.path.startswith(prefix + "/")


def authn_request_query(sp_entity_id: str, destination: str) -> dict[str, str]:
    """Query parameters of a minimal, unsigned HTTP-Redirect AuthnRequest from `sp_entity_id`:
    no ACS URL, so the STS uses the SP's registered default and nothing is sent anywhere."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    xml = (f'<samlp:AuthnRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" '
           f'ID="_cicsts-verify-{secrets.token_hex(16)}" Version="2.0" IssueInstant="{now}" '
           f"Destination={quoteattr(destination)}>"
           f"<saml:Issuer>{escape(sp_entity_id)}</saml:Issuer></samlp:AuthnRequest>")
    deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = deflate.compress(xml.encode()) + deflate.flush()
    return {LOGIN_QUERY.split("=")[0]: LOGIN_QUERY.split("=")[1],
            "SAMLRequest": base64.b64encode(raw).decode()}
