"""Genesys Cloud's Platform API (``https://api.<domain>/api/v2/...``): the requests and listings
that the routing (`idp.genesys.routing`) and presence (`idp.genesys.presence`) clients share.

Every request goes through the `GenesysApi` the SCIM client uses too, so the rate limit, a 429's
wait, the token and the counters are shared (see `idp.genesys.http`). Why not the official SDK:
the same reasons as for SCIM (`idp.genesys.scim`), and the calls are few and plain JSON.

Listings (`entities`) are paged with ``pageSize`` and ``pageNumber`` and answer ``entities``,
``total``, ``pageCount`` and ``nextUri``. The documentation says to follow ``nextUri`` (or
``pageCount``) and not to assume a largest page size, so the reader asks for `page_size` and
follows what the answer says: ``nextUri`` when there is one (it must stay under ``/api/v2/``),
else the next page number while ``pageCount`` says more follow. An entity seen twice (the list
moved while it was read) is taken once; a listing that does not end after `MAX_PAGES` pages
fails.

Facts: docs/facts.md#platform-api-listings and docs/facts.md#platform-api-permissions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from idp.errors import GenesysAuthError, GenesysError, GenesysUnavailable, PlatformError
from idp.genesys.http import TOKEN_REFUSED, GenesysApi, error_detail, refusal

log = logging.getLogger(__name__)

API_PREFIX = "/api/v2"

#: Pages of one listing before the reader gives up (a list that never ends).
MAX_PAGES = 10_000

#: Permission each family of paths needs, for the message of a 403.
PERMISSIONS = (
    ("/routing/queues", "routing:queue:view, routing:queue:add, routing:queue:edit, "
                        "routing:queue:delete, routing:queueMember:manage"),
    ("/routing/skills", "routing:skill:manage"),
    ("/routing/languages", "routing:skill:manage"),
    ("/routing/wrapupcodes", "routing:wrapupCode:view, routing:wrapupCode:add, "
                             "routing:wrapupCode:edit, routing:wrapupCode:delete"),
    ("/routingskills", "routing:skill:assign"),
    ("/routinglanguages", "routing:language:assign"),
    ("/presence/sources", "presence:source:view, presence:source:add"),
    ("/presence/definitions", "presence:presenceDefinition:view"),
    ("/presences", "presence:userPresence:edit"),
    ("/outofoffice", "the right to edit other users' out of office (its name is not "
                     "confirmed; or set sync.presence_out_of_office = false)"),
)


class PlatformClient:
    """JSON requests under ``/api/v2`` on a shared `GenesysApi`. Safe to share between
    threads."""

    def __init__(self, api: GenesysApi) -> None:
        self.api = api

    def get(self, path: str, params: Any = None, *, missing_ok: bool = False) -> Any:
        """The JSON answer, or None for a 404 with `missing_ok`."""
        answer = self._send("GET", path, params=params, missing_ok=missing_ok)
        return None if answer.status_code == 404 else _json(answer)

    def post(self, path: str, body: Any, params: Any = None, *,
             repeatable: bool = False) -> Any:
        """A POST creates by default, and a create is never sent twice blindly
        (`OutcomeUnknown`); `repeatable` for POSTs that are not creates."""
        return _json_or_none(self._send("POST", path, body=body, params=params,
                                        repeatable=repeatable))

    def put(self, path: str, body: Any, *, urgent: bool = False) -> Any:
        """`urgent`: a write whose latency matters (a presence): see `GenesysApi.send`."""
        return _json_or_none(self._send("PUT", path, body=body, urgent=urgent))

    def patch(self, path: str, body: Any, *, urgent: bool = False) -> Any:
        return _json_or_none(self._send("PATCH", path, body=body, urgent=urgent))

    def delete(self, path: str, params: Any = None) -> bool:
        """Whether it was there (404: already gone, which is what a delete wants)."""
        return self._send("DELETE", path, params=params, missing_ok=True).status_code != 404

    def entities(self, path: str, params: dict[str, Any] | None = None,
                 page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every entity of a listing; see the module documentation."""
        query: Any = {**(params or {}), "pageSize": page_size, "pageNumber": 1}
        seen: set[str] = set()
        page_number = 1
        for _ in range(MAX_PAGES):
            page = self.get(path, query)
            if not isinstance(page, dict):
                raise PlatformError(f"Genesys Cloud answered GET {path} with unexpected JSON",
                                    200)
            items = [e for e in page.get("entities") or [] if isinstance(e, dict)]
            for item in items:
                key = str(item.get("id", ""))
                if key and key in seen:
                    continue
                seen.add(key)
                yield item
            next_uri = page.get("nextUri")
            if isinstance(next_uri, str) and next_uri and items:
                path, query = _next(next_uri, path)
                page_number += 1
                continue
            count = page.get("pageCount")
            if isinstance(count, int) and page_number < count and items:
                page_number += 1
                query = {**(params or {}), "pageSize": page_size, "pageNumber": page_number}
                continue
            return
        raise GenesysUnavailable(f"Genesys Cloud: the listing {path} did not end after "
                                 f"{MAX_PAGES} pages")

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.api.send(method, API_PREFIX + path, refuse=_error, detail=error_detail,
                             log=log, **kwargs)


def _next(next_uri: str, path: str) -> tuple[str, list[tuple[str, str]]]:
    """The path (under ``/api/v2``) and query of a ``nextUri``."""
    parts = urlsplit(next_uri)
    if parts.scheme or parts.netloc or not parts.path.startswith(API_PREFIX + "/"):
        raise PlatformError(f"Genesys Cloud's listing {path} named a next page outside the "
                            f"API: {next_uri[:100]!r}", 200)
    return parts.path[len(API_PREFIX):], parse_qsl(parts.query)


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        raise PlatformError(f"Genesys Cloud answered {answer.request.method} "
                            f"{answer.request.url.path} with something that is not JSON",
                            answer.status_code) from None


def _json_or_none(answer: httpx.Response) -> Any:
    return _json(answer) if answer.content else None


def _error(what: str, answer: httpx.Response) -> GenesysError:
    status = answer.status_code
    text, code = refusal(what, answer, "code")
    if status == 401:
        return GenesysAuthError(f"{text}. {TOKEN_REFUSED}")
    if status == 403:
        needed = next((p for prefix, p in PERMISSIONS if prefix in what), "")
        if needed:
            text += f". The OAuth client's role needs {needed}"
    return PlatformError(text, status, code)
