"""Reading an ICWS configuration list completely, page by page (``Range: items=a-b``).

A list read for the sync must be the whole list or an error: users missing from it look deleted,
and the sync would deactivate them. So the reader trusts only what proves completeness:

- it reads until ``Content-Range`` (``items 200-399/523``) says every item was read. A page
  shorter than asked for is not the end while items remain: a CIC may cap pages below what was
  asked (it does at 200 when properties are selected) or answer one page empty;
- an empty page before the total is asked again, `EMPTY_RETRIES` times, then the read fails;
- a page that starts anywhere but where it was asked to, or repeats an item already read, means
  the list moved under the reader or CIC ignores ``Range``: the read fails;
- a total that changes between pages means items were added or removed while the list was read,
  which shifts the pages: `ListChanged`, and the caller reads the whole list again;
- without any ``Content-Range`` (a server that does not send one) a 416 ends the list, and so
  does an empty page that is still empty when asked again `EMPTY_RETRIES` times: one empty
  answer in the middle is no end;
- a list that has not ended after `max_items` items is read no further.

What ICWS is known to send, and what is not confirmed: docs/facts.md#icws-paging.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from idp.cic.errors import IncompleteList, ListChanged

#: Times an empty page before the end is asked for again before the read fails.
EMPTY_RETRIES = 2


@dataclass(frozen=True)
class Page:
    status: int
    items: list[Any]
    content_range: str = ""


_CONTENT_RANGE = re.compile(r"\s*items\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*")


def parse_content_range(value: str) -> tuple[int | None, int | None, int | None] | None:
    """(first, last, total) of ``items 0-199/523``; first and last are None for ``items */523``
    (nothing in this answer), total for ``/*`` (unknown); None if absent or of another form."""
    match = _CONTENT_RANGE.fullmatch(value)
    if match is None:
        return None
    first, last, total = match.groups()
    return (None if first is None else int(first), None if last is None else int(last),
            None if total == "*" else int(total))


def read_all(fetch: Callable[[int, int], Page], *, page_size: int, max_items: int,
             what: str) -> Iterator[list[Any]]:
    """The pages of a list, each a list of items, until the list is complete; see the module
    documentation. `fetch(first, last)` asks for ``items=first-last``; `what` names the list in
    errors ("CIC (cic1:8019): the user list")."""
    start = 0
    total: int | None = None
    empty_in_row = 0
    pages = 0
    most_pages = -(-max_items // page_size)
    while True:
        page = fetch(start, start + page_size - 1)
        if page.status == 416:  # asked past the end
            if total is None or start >= total:
                return
            raise ListChanged(f"{what}: answered 416 (past the end) at item {start} of {total}")
        found = parse_content_range(page.content_range)
        if found is not None and found[2] is not None:
            if total is None:
                total = found[2]
            elif found[2] != total:
                raise ListChanged(f"{what} changed while it was read ({total} items, then "
                                  f"{found[2]})")
        if not page.items:
            if total is not None and start >= total:
                return
            empty_in_row += 1
            if empty_in_row > EMPTY_RETRIES:
                if total is None:
                    return  # empty every time it was asked: the end
                raise IncompleteList(f"{what}: an empty page at item {start} of {total}, "
                                     f"{empty_in_row} times: the list cannot be read completely")
            continue
        empty_in_row = 0
        if found is not None and found[0] is not None and found[0] != start:
            raise IncompleteList(f"{what}: asked for items from {start}, answered items "
                                 f"{found[0]}-{found[1]}: the list repeats or goes backwards")
        pages += 1
        if pages > most_pages:
            raise IncompleteList(f"{what} did not end after {pages} pages of {page_size} (more "
                                 f"than {max_items} items): stopped reading it")
        yield page.items
        start += len(page.items)
        if total is not None and start >= total:
            if start > total:
                raise ListChanged(f"{what}: {start} items read of a total of {total}")
            return
