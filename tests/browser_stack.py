"""What the Chromium tests share: the STS under real gunicorn over TLS with two demo SPs
(python3-saml, strict) playing Genesys Cloud, a browser tab that records its requests, and the
accessibility checks (axe-core, vendored by `make test`, plus checks of our own)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request

from idp.config import load_config
from idp.demo.sp import create_demo_sp, sp_metadata
from tests.conftest import launch_settings, seed_users, write_config
from tests.servers import flask_server, free_port, sts_server

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"


@dataclass
class Stack:
    sts: str
    sp: str
    sp2: str  # a second demo SP, on another host name (its own cookies), for Single Logout
    log: Path  # the STS's log (gunicorn's output)
    folder: Path

    def logged(self, reference: str) -> str:
        """The STS's log lines that carry `reference` (an error page's)."""
        lines = [line for line in self.log.read_text().splitlines()
                 if f"[ref {reference}]" in line]
        assert lines, f"nothing logged under reference {reference}"
        return "\n".join(lines)


@contextmanager
def running_stack(folder: Path, key_dir: Path, extra: str = "") -> Iterator[Stack]:
    """The STS with the test SP, the launch settings and `extra` (TOML) in its configuration."""
    from idp.commands.demo import demo_idp

    sts_port, sp_port, sp2_port = free_port(), free_port(), free_port()
    sp_base, sp2_base = f"https://127.0.0.1:{sp_port}", f"https://localhost:{sp2_port}"
    path = write_config(folder, key_dir, sp_base=sp_base, machine="127.0.0.1", port=sts_port,
                        extra=launch_settings(sp_base) + extra)
    config = load_config(path)
    (folder / "sp2.xml").write_bytes(sp_metadata(sp2_base, demo_idp(config)))
    path.write_text(path.read_text() + '\n[[service_providers]]\nmetadata = "sp2.xml"\n')
    config = load_config(path)
    seed_users(config.directory.database)
    sp_app = create_demo_sp(sp_base, demo_idp(config))
    sp2_app = create_demo_sp(sp2_base, demo_idp(config))
    certs = folder / "certs"
    log = folder / "sts.log"
    with sts_server(path, f"127.0.0.1:{sts_port}", log), \
            flask_server(sp_app, "127.0.0.1", sp_port, certs / "tls.crt", certs / "tls.key"), \
            flask_server(sp2_app, "localhost", sp2_port, certs / "tls.crt", certs / "tls.key"):
        yield Stack(sts=config.public_base_url, sp=sp_base, sp2=sp2_base, log=log,
                    folder=folder)


@dataclass
class Tab:
    page: Page
    requests: list[Request] = field(default_factory=list)

    def posted_passwords(self) -> int:
        return sum(1 for r in self.requests if r.method == "POST" and "password=" in
                   (r.post_data or ""))

    def documents(self) -> list[Request]:
        """The page loads (navigations) so far: what a reload or a form submission makes."""
        return [r for r in self.requests if r.resource_type == "document"]


@contextmanager
def new_tab(browser: Browser, **options: Any) -> Iterator[Tab]:
    """A fresh browser context (its own cookies) and page; `options` for the context (locale,
    java_script_enabled, viewport ...)."""
    context = browser.new_context(ignore_https_errors=True, **options)
    page = context.new_page()
    page.set_default_timeout(15000)
    tab = Tab(page)
    page.on("request", lambda request: tab.requests.append(request))
    try:
        yield tab
    finally:
        context.close()


# -- accessibility ----------------------------------------------------------------------------

def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core finds against WCAG 2.1 A and AA on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make test` fetches it (scripts/vendor-axe.sh)")
    # Evaluated by the browser's debugging protocol, not as a page script: the page's CSP
    # (scripts only with its nonce) stays in force for everything else.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""() => axe.run(document, {
        runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        resultTypes: ["violations"]})""")
    return [{"id": v["id"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]]} for v in result["violations"]]


#: In the page: every visible text's colour against the background it is drawn on (the first
#: ancestor with an opaque background), as WCAG computes the contrast ratio.
CONTRASTS = """() => {
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const channel = (c) => {
    c /= 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let e = element; e; e = e.parentElement) {
      const colour = rgb(getComputedStyle(e).backgroundColor);
      if (colour.length < 4 || colour[3] === 1) { return colour.slice(0, 3); }
    }
    return [255, 255, 255];
  };
  const found = [];
  for (const element of document.querySelectorAll("body *")) {
    const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(element);
    const shown = style.visibility === "visible" && element.getClientRects().length > 0;
    if (!own || !shown) { continue; }
    const [a, b] = [luminance(rgb(style.color)), luminance(background(element))];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    found.push({text: element.textContent.trim().slice(0, 40), ratio: ratio,
                id: element.id, cls: element.className});
  }
  return found;
}"""


def low_contrast(page: Page, minimum: float = 4.5) -> list[dict[str, Any]]:
    """Texts drawn below `minimum`:1 against their background."""
    return [c for c in page.evaluate(CONTRASTS) if c["ratio"] < minimum]


def unlabelled_inputs(page: Page) -> list[str]:
    """The form controls a screen reader could not name: no <label for>, no aria-label(ledby)."""
    return list(page.evaluate("""() => [...document.querySelectorAll(
        "input:not([type=hidden]), select, textarea")].filter((e) =>
        !(e.labels && e.labels.length) && !e.getAttribute("aria-label")
        && !e.getAttribute("aria-labelledby")).map((e) => e.id || e.name)"""))


def reference_on(page: Page) -> str:
    reference = page.inner_text("#reference").strip()
    assert re.fullmatch(r"[0-9a-f]{8}", reference), reference
    return reference
