"""Reading an ICWS list completely (idp.cic.paging), against lists that misbehave."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idp.cic.errors import IncompleteList, ListChanged
from idp.cic.paging import EMPTY_RETRIES, Page, parse_content_range, read_all


class FakeList:
    """A list of `total` items behind ``Range``, answering at most `cap` per page."""

    def __init__(self, total: int, cap: int = 200, *, content_range: bool = True) -> None:
        self.items = list(range(total))
        self.cap = cap
        self.content_range = content_range
        self.asked: list[tuple[int, int]] = []
        self.empty: dict[int, int] = {}  # first index -> times to answer empty
        self.shift: Callable[[int], int] = lambda first: first  # where a page really starts
        self.before: Callable[[int], None] = lambda first: None

    def __call__(self, first: int, last: int) -> Page:
        self.asked.append((first, last))
        self.before(first)
        total = len(self.items)
        if self.empty.get(first):
            self.empty[first] -= 1
            return Page(200, [], f"items */{total}" if self.content_range else "")
        start = self.shift(first)
        if start >= total:
            return Page(416, [])
        page = self.items[start:min(last + 1, start + self.cap, total)]
        rng = f"items {start}-{start + len(page) - 1}/{total}" if self.content_range else ""
        return Page(200, page, rng)


def read(fetch: FakeList, page_size: int = 200, max_items: int = 1_000_000) -> list[int]:
    return [item for page in read_all(fetch, page_size=page_size, max_items=max_items,
                                      what="the list") for item in page]


def test_pages_capped_below_what_was_asked_are_not_the_end() -> None:
    fetch = FakeList(450, cap=150)
    assert read(fetch) == list(range(450))
    assert fetch.asked == [(0, 199), (150, 349), (300, 499)]  # stops at the total


def test_an_empty_page_before_the_total_is_asked_again() -> None:
    fetch = FakeList(450)
    fetch.empty[200] = EMPTY_RETRIES
    assert read(fetch) == list(range(450))
    assert fetch.asked.count((200, 399)) == EMPTY_RETRIES + 1


def test_an_empty_page_that_stays_empty_fails_the_read() -> None:
    fetch = FakeList(450)
    fetch.empty[200] = EMPTY_RETRIES + 1
    with pytest.raises(IncompleteList, match="an empty page at item 200 of 450"):
        read(fetch)


def test_a_page_that_goes_backwards_fails_the_read() -> None:
    fetch = FakeList(450)
    fetch.shift = lambda first: max(0, first - 50)  # the list moved under the reader
    with pytest.raises(IncompleteList, match="answered items 150-349: the list repeats"):
        read(fetch)


def test_a_total_that_changes_between_pages_asks_for_a_new_read() -> None:
    fetch = FakeList(450)

    def grow(first: int) -> None:
        if first == 200:
            fetch.items.append(450)

    fetch.before = grow
    with pytest.raises(ListChanged, match="450 items, then 451"):
        read(fetch)


def test_a_list_that_shrinks_past_the_reader_asks_for_a_new_read() -> None:
    fetch = FakeList(450)

    def shrink(first: int) -> None:
        if first == 400:
            del fetch.items[300:]

    fetch.before = shrink
    with pytest.raises(ListChanged):
        read(fetch)


def test_without_content_range_only_an_empty_page_ends_the_list() -> None:
    fetch = FakeList(450, cap=150, content_range=False)
    assert read(fetch) == list(range(450))
    assert fetch.asked[-1] == (450, 649)  # the one past the end, answered 416


def test_without_content_range_one_empty_answer_in_the_middle_is_no_end() -> None:
    fetch = FakeList(450, content_range=False)
    fetch.empty[200] = EMPTY_RETRIES  # empty when first asked and again, then it has items
    assert read(fetch) == list(range(450))
    fetch = FakeList(450, content_range=False)
    fetch.empty[200] = EMPTY_RETRIES + 1  # empty every time: taken as the end, as asked
    assert read(fetch) == list(range(200))


def test_a_list_longer_than_max_items_is_read_no_further() -> None:
    fetch = FakeList(10_000, content_range=False)
    with pytest.raises(IncompleteList, match="did not end after 6 pages of 200"):
        read(fetch, max_items=1000)


@pytest.mark.parametrize(("text", "parsed"), [
    ("items 0-199/523", (0, 199, 523)),
    (" items 200-399/*", (200, 399, None)),
    ("items */523", (None, None, 523)),
    ("bytes 0-1/2", None),
    ("", None),
])
def test_content_range(text: str, parsed: tuple[int | None, int | None, int | None] | None
                       ) -> None:
    assert parse_content_range(text) == parsed
