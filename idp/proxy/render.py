"""Rendering validated inputs with the Jinja2 templates of `proxy_templates/`.

One context serves both proxies: nginx's templates (`nginx.conf.j2`, and `server.conf.j2` for a
conf.d snippet) and HAProxy's (`haproxy.cfg.j2`) differ in syntax only, and `header.j2` is
theirs in common. Autoescaping is off (this is not HTML) and undefined names are errors. Every
value handed to a template is checked once more here to be a bare token that cannot change the
structure of a configuration: `validate` checked them, and this guards against a template or a
new input bypassing that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from idp.datafiles import shared_folder
from idp.errors import ProxyConfigError
from idp.proxy import model
from idp.proxy.model import Proxy, ProxyInputs
from idp.proxy.write import stamp

UPSTREAM_NAME = "pureconnect_servers"
LOGON_UPSTREAM = "pureconnect_logons"
FULL_TEMPLATE = "nginx.conf.j2"
SNIPPET_TEMPLATE = "server.conf.j2"
TEMPLATES: dict[tuple[Proxy, bool], str] = {
    ("nginx", False): FULL_TEMPLATE, ("nginx", True): SNIPPET_TEMPLATE,
    ("haproxy", False): "haproxy.cfg.j2",
}
_TOKEN = re.compile(r"[A-Za-z0-9._~/+@=,:\[\]-]*")


def templates_dir() -> Path:
    """`proxy_templates/` of the checkout this package runs from, else the copy a wheel
    installed under <prefix>/share/cic-sts/."""
    folder, candidates = shared_folder("proxy_templates", FULL_TEMPLATE)
    if folder is None:
        raise ProxyConfigError("the proxy templates are missing (looked in "
                               f"{', '.join(str(c) for c in candidates)})")
    return folder


@dataclass(frozen=True)
class Rendered:
    text: str  # what is written: the ownership marker, then the configuration
    snippet: bool
    proxy: Proxy = "nginx"

    @property
    def kind(self) -> str:
        if self.proxy == "haproxy":
            return "haproxy.cfg"
        return "conf.d snippet" if self.snippet else "nginx.conf"


def render(inputs: ProxyInputs, snippet: bool = False, templates: Path | None = None,
           proxy: Proxy = "nginx") -> Rendered:
    """The complete configuration of `proxy`, or (nginx, `snippet`) the upstream and server
    blocks for conf.d/."""
    name = TEMPLATES.get((proxy, snippet))
    if name is None:
        raise ProxyConfigError("--snippet: HAProxy has no conf.d; cic-sts writes a complete "
                               "haproxy.cfg")
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates or templates_dir())),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["regex"] = lambda text: re.sub(r"([.\\^$|?*+()\[\]{}])", r"\\\1",
                                                       str(text))
    try:
        body = environment.get_template(name).render(template_context(inputs, proxy))
    except jinja2.TemplateError as exc:
        where = f"{getattr(exc, 'name', None) or name}"
        line = getattr(exc, "lineno", None)
        raise ProxyConfigError(f"template {where}{f' line {line}' if line else ''}: "
                               f"{exc}") from None
    return Rendered(stamp(body), snippet, proxy)


def template_context(inputs: ProxyInputs, proxy: Proxy = "nginx") -> dict[str, Any]:
    # nginx can keep a fallback to a server it has marked failed only with round robin; HAProxy
    # can with every balancing method.
    backups = proxy == "haproxy" or inputs.stickiness == "none"
    context: dict[str, Any] = {
        "proxy": proxy,
        "upstream_name": UPSTREAM_NAME,
        "logon_upstream": LOGON_UPSTREAM,
        "servers": [s.address for s in inputs.servers],
        "public_host": inputs.public_host,
        "server_name": inputs.server_name,
        "public_port": inputs.public_port,
        "public_origin": inputs.public_origin,
        "target_url": inputs.target_url,
        "public_base_url": inputs.public_base_url,
        "issuer": inputs.issuer,
        "listens": [_listen(host, inputs.public_port) for host in inputs.listen_hosts],
        "http_listens": [_listen(host, inputs.redirect_port) for host in inputs.listen_hosts],
        "friendly_path": inputs.friendly_path,
        "tls_certificate": inputs.tls_certificate,
        "tls_key": inputs.tls_key,
        "stickiness": inputs.stickiness,
        "upstream_ca": inputs.upstream_ca,
        "upstream_name_check": inputs.upstream_name,
        "redirect_http": inputs.redirect_http,
        "log_dir": inputs.log_dir.rstrip("/") or "/",
        "pid_file": inputs.pid_file or model.PID_FILES[proxy],
        "example_server": inputs.servers[0].address,
        "public_authority": inputs.public_origin.removeprefix("https://"),
        "outer_proxies": list(inputs.outer_proxies),
        "backups": backups,
        # every server once, and (with backups) once more as a backup
        "tries": len(inputs.servers) * (2 if backups else 1),
        "quick_timeout": inputs.quick_timeout,
        "logon_timeout": inputs.logon_timeout,
        "connect_timeout": model.CONNECT_TIMEOUT,
        "idle_timeout": model.IDLE_TIMEOUT,
        "fail_timeout": model.FAIL_TIMEOUT,
        "check_interval": model.CHECK_INTERVAL_MS,
        "check_fast": model.CHECK_FAST_MS,
        "check_rise": model.CHECK_RISE,
        "check_fall": model.CHECK_FALL,
    }
    for key, value in context.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and not (_TOKEN.fullmatch(item) or
                                              key == "target_url" and _safe_url(item)):
                raise ProxyConfigError(f"refusing to render {key} = {item!r}: not a plain token")
    return context


def _safe_url(url: str) -> bool:
    return bool(re.fullmatch(r"https://[A-Za-z0-9._~/:\[\]-]+\?loginType=saml", url))


def _listen(address: str | None, port: int) -> str:
    if address is None:
        return str(port)
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
