"""Reading a configuration list over ICWS (users, workgroups, skills, wrap-up codes), completely.

``GET /icws/{session}/configuration/{type}?select=...&where=...`` with ``Range: items=a-b``,
page by page, until `idp.cic.paging` is satisfied that every item was read: a list the sync
reads must be the whole list or an error, since what is missing from it looks deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import httpx

from idp.cic.errors import IcwsError, IcwsUnavailable, json_body
from idp.cic.hosts import Server
from idp.cic.paging import Page, read_all

#: ICWS answers at most this many items per request when properties are selected.
MAX_PAGE_SIZE = 200
#: More items than any CIC has: a list that does not end before this is read no further.
MAX_ITEMS = 1_000_000


class Session(Protocol):
    """What of an ICWS session the reader needs (`idp.cic.icws.IcwsSession`)."""

    server: Server

    def request(self, method: str, path: str, *, params: dict[str, str] | None = None,
                headers: dict[str, str] | None = None, json: Any = None) -> httpx.Response: ...


def read_list(session: Session, path: str, *, noun: str, select: str = "", where: str = "",
              page_size: int = MAX_PAGE_SIZE,
              max_items: int = MAX_ITEMS) -> Iterator[Any]:
    """Every item of the list at `path` (``/configuration/users``), `page_size` at a time;
    `noun` names the list in errors ("users")."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1-{MAX_PAGE_SIZE}")
    params = {**({"select": select} if select else {}), **({"where": where} if where else {})}
    server = session.server
    what = f"CIC ({server}): the {noun.removesuffix('s')} list"

    def fetch(first: int, last: int) -> Page:
        response = session.request("GET", path, params=params,
                                   headers={"Range": f"items={first}-{last}"})
        if response.status_code == 416:
            return Page(416, [])
        if response.status_code not in (200, 206):
            hint = (": the session's user may lack the right to read configurations "
                    "(set icws.service_user)") if response.status_code == 403 else ""
            raise IcwsUnavailable(f"CIC ({server}) refused to list {noun}: "
                                  f"{IcwsError.of(response)}{hint}")
        body = json_body(response)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise IcwsUnavailable(f"CIC ({server}) answered the {noun} list without an "
                                  "items array")
        return Page(response.status_code, items, response.headers.get("Content-Range", ""))

    for items in read_all(fetch, page_size=page_size, max_items=max_items, what=what):
        yield from items
