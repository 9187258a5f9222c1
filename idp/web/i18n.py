"""The logon page's languages: only those shipped in `locales/`, chosen from the form, a cookie,
or Accept-Language, in that order. PureConnect has no Finnish or Thai, so neither is offered."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from importlib import resources

from flask import request
from werkzeug.datastructures import LanguageAccept
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_accept_header

DEFAULT = "en"
COOKIE = "cicsts_lang"


@cache
def catalogs() -> dict[str, dict[str, str]]:
    folder = resources.files("idp.web") / "locales"
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            found[entry.name.removesuffix(".json")] = json.loads(entry.read_text("utf-8"))
    return dict(sorted(found.items()))


def choose_language() -> str:
    available = catalogs()
    chosen = None
    if request.method == "POST":
        try:
            chosen = request.form.get("lang")
        except HTTPException:  # an error page for a body refused (413) or too slow (408)
            pass
    for candidate in (chosen, request.args.get("lang"), request.cookies.get(COOKIE)):
        if candidate in available:
            return candidate
    return _from_accept_language(request.headers.get("Accept-Language", ""))


@lru_cache(maxsize=256)
def _from_accept_language(header: str) -> str:
    # Browsers send a handful of distinct headers, so the parse is kept per header value.
    offered = parse_accept_header(header, LanguageAccept)
    return offered.best_match(list(catalogs()), default=DEFAULT) or DEFAULT


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self._messages = catalogs()[lang]
        self._fallback = catalogs()[DEFAULT]

    def __call__(self, key: str, **values: str) -> str:
        text = self._messages.get(key) or self._fallback[key]
        return text.format(**values) if values else text

    @staticmethod
    def choices() -> list[tuple[str, str]]:
        return [(code, messages["language_name"]) for code, messages in catalogs().items()]
