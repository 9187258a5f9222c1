"""`branding.logo`: an SVG or PNG the STS serves on its own origin, checked when it is loaded.

A logo shown with <img> can neither run scripts nor fetch anything (browsers draw SVG images in
a static mode), but the same file opened at its own URL is a document of the STS's origin: an SVG
with a script there would run as the STS. So the file is refused if it carries what only an
attack needs (scripts, event handlers, embedded HTML, references outside itself), and it is
served with a sandboxing Content-Security-Policy as well (`idp.web.branding`).
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from idp.errors import ConfigError

MAX_LOGO_BYTES = 256 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
#: Elements no logo needs and an attack would: scripts, embedded documents, SMIL that sets links.
_REFUSED_ELEMENTS = {"script", "foreignObject", "iframe", "object", "embed", "handler", "set",
                     "animate", "animateMotion", "animateTransform"}


def read_logo(path: Path) -> tuple[bytes, str]:
    """The logo's bytes and media type (image/png or image/svg+xml); `ConfigError` naming
    branding.logo when the file cannot be read or is not an acceptable logo."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"branding.logo: cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_LOGO_BYTES:
        raise ConfigError(f"branding.logo: {path} is {len(data)} bytes; a logo may have at most "
                          f"{MAX_LOGO_BYTES}")
    if data.startswith(PNG_SIGNATURE):
        return data, "image/png"
    problem = svg_problem(data)
    if problem:
        raise ConfigError(f"branding.logo: {path}: {problem}")
    return data, "image/svg+xml"


def svg_problem(data: bytes) -> str | None:
    """Why `data` is not an SVG logo this STS will serve, or None."""
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        return "an SVG with a DTD or entities is not accepted"
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError:
        return "neither a PNG nor a well-formed SVG file"
    if root.tag != f"{SVG}svg":
        return "neither a PNG nor an SVG file (the root element is not <svg>)"
    for element in root.iter():
        if not isinstance(element.tag, str):  # comments, processing instructions
            continue
        name = etree.QName(element).localname
        if name in _REFUSED_ELEMENTS:
            return f"the SVG contains a <{name}> element, which a logo does not need"
        for attribute, value in element.attrib.items():
            local = etree.QName(attribute).localname
            if local.lower().startswith("on"):
                return f"the SVG has an event handler ({local}=...), which a logo does not need"
            if (attribute in ("href", XLINK_HREF) and not value.startswith("#")) or \
                    "url(" in value.replace(" ", "").lower().replace("url(#", ""):
                return (f"the SVG refers to something outside itself ({local}="
                        f"{value[:60]!r}); embed it, or use a PNG")
        sheet = "".join(element.itertext()).lower() if name == "style" else ""
        if "url(" in sheet.replace("url(#", "") or "@import" in sheet:
            return "the SVG's stylesheet refers to something outside itself; use a PNG"
    return None
