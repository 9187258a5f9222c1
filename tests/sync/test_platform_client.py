"""The Platform API clients on their own: paging as documented, errors, and one request layer
shared with the SCIM client (one rate limit, one 429 pause, one token, one set of counters).
httpx's MockTransport plays the server; a fake clock makes every wait measurable."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from idp.errors import OutcomeUnknown, PlatformError
from idp.genesys.http import GenesysApi, refusal
from idp.genesys.presence import PresenceClient
from idp.genesys.routing import RoutingClient
from idp.genesys.scim import ScimClient
from tests.sync.test_scim_client import API, ClockAndSleep, FakeTime, Server
from tests.sync.test_scim_client import make_api as api_on


def make_api(handler: Any, time_: ClockAndSleep, **kwargs: Any) -> GenesysApi:
    return api_on(Server(handler), time_, **kwargs)


def paged(items: list[dict[str, Any]], cap: int, *, next_uri: bool,
          totals: bool) -> Callable[[httpx.Request], httpx.Response]:
    """A listing that answers at most `cap` a page, whatever is asked for."""
    def answer(request: httpx.Request) -> httpx.Response:
        query = parse_qs(urlsplit(str(request.url)).query)
        size = min(int(query["pageSize"][0]), cap)
        number = int(query["pageNumber"][0])
        page: dict[str, Any] = {"entities": items[(number - 1) * size:number * size],
                                "pageNumber": number, "pageSize": size}
        count = -(-len(items) // size)
        if totals:
            page.update(total=len(items), pageCount=count)
        if next_uri and number < count:
            page["nextUri"] = (f"/api/v2/routing/skills?pageSize={size}&"
                               f"pageNumber={number + 1}")
        return httpx.Response(200, json=page)
    return answer


@pytest.mark.parametrize(("next_uri", "totals"), [(True, True), (True, False), (False, True)])
def test_listings_follow_next_uri_or_page_count_whatever_the_page_size(
        next_uri: bool, totals: bool) -> None:
    items = [{"id": f"s{i}", "name": f"Skill {i}"} for i in range(57)]
    api = make_api(paged(items, cap=10, next_uri=next_uri, totals=totals), FakeTime())
    assert [s["id"] for s in RoutingClient(api).skills()] == [i["id"] for i in items]


def test_a_next_uri_outside_the_api_is_refused() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"entities": [{"id": "a"}],
                                         "nextUri": "https://elsewhere.example/steal"})
    with pytest.raises(PlatformError, match="outside the API"):
        list(RoutingClient(make_api(answer, FakeTime())).skills())


def test_errors_name_the_request_and_the_permission() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "Missing permission", "code": "forbidden"})
    with pytest.raises(PlatformError, match="routing:skill:assign") as caught:
        RoutingClient(make_api(answer, FakeTime())).add_user_skills("u1", {"s1": 3.0})
    assert caught.value.genesys_status == 403 and caught.value.code == "forbidden"


@pytest.mark.parametrize(("body", "kind", "text"), [
    ({"message": "Missing permission", "code": "forbidden"}, "code",
     "Genesys Cloud refused PUT /x: HTTP 403 forbidden: Missing permission"),
    ({"detail": "Version mismatch", "scimType": "invalidVers"}, "scimType",
     "Genesys Cloud refused PUT /x: HTTP 403 invalidVers: Version mismatch"),
    ({"code": "forbidden"}, "scimType", "Genesys Cloud refused PUT /x: HTTP 403"),
    ("not an object", "code", "Genesys Cloud refused PUT /x: HTTP 403"),
])
def test_both_apis_errors_read_the_same_way(body: Any, kind: str, text: str) -> None:
    """One reading of Genesys Cloud's error bodies, for the SCIM and the Platform API."""
    answer = httpx.Response(403, json=body)
    assert refusal("PUT /x", answer, kind)[0] == text


def test_a_create_whose_answer_is_lost_is_not_sent_again() -> None:
    sent = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return httpx.Response(502, json={"message": "bad gateway"})
    with pytest.raises(OutcomeUnknown):
        RoutingClient(make_api(answer, FakeTime())).create_queue("Support", "peer", "d")
    assert sent == ["POST"]


def test_queue_members_go_100_a_request_and_user_skills_50() -> None:
    bodies: list[tuple[str, str, list[Any]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        import json

        bodies.append((request.method, request.url.query.decode(),
                       json.loads(request.content)))
        return httpx.Response(204)
    client = RoutingClient(make_api(answer, FakeTime()))
    assert client.change_queue_members("q1", {f"u{i:03}" for i in range(250)}) == 3
    assert [len(b) for _, _, b in bodies] == [100, 100, 50]
    assert client.change_queue_members("q1", {"u1"}, remove=True) == 1
    assert bodies[-1][1] == "delete=true"
    bodies.clear()
    assert client.add_user_skills("u1", {f"s{i:02}": 2.0 for i in range(60)}) == 2
    assert [(m, len(b)) for m, _, b in bodies] == [("PATCH", 50), ("PATCH", 10)]


def test_scim_and_platform_requests_share_one_pace_one_pause_and_one_count() -> None:
    time_ = FakeTime()
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}, json={})])

    def answer(request: httpx.Request) -> httpx.Response:
        first = next(answers, None)
        if first is not None and "/presences/bulk" in request.url.path:
            return first
        if request.url.path.startswith("/api/v2/scim"):
            return httpx.Response(200, json={"id": "u1", "meta": {"version": "1"}})
        return httpx.Response(200, json=[])
    api = make_api(answer, time_, rate_per_minute=60)  # one a second, to see the pacing
    scim, presence = ScimClient(API, api.credentials, api=api), PresenceClient(api)
    start = time_.now
    presence.put_presences([{"id": "u1", "sourceId": "s", "presenceDefinition": {"id": "d"}}])
    scim.get_user("u1")
    # the 429 on the presence request held the SCIM request back too: 7 s, then paced
    assert time_.now - start >= 7
    assert scim.stats.snapshot() == {"successful": 2, "failed": 0, "retried": 1}
    assert scim.waits == 1 and scim.stats is presence.api.stats


class SteppedTime:
    """A clock the test moves: `sleep` blocks the calling thread until it has moved far
    enough, so threads that wait for slots can be ordered without waiting in real time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeping = 0
        self._moved = threading.Condition()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._moved:
            until, self.sleeping = self.now + seconds, self.sleeping + 1
            while self.now < until:
                self._moved.wait()
            self.sleeping -= 1

    def advance(self, seconds: float) -> None:
        with self._moved:
            self.now += seconds
            self._moved.notify_all()


def test_a_presence_write_waits_behind_one_pass_request_not_all_of_them() -> None:
    """Four pass workers each hold the bucket's next slot in turn, not four at once: an urgent
    request (a presence write) that comes meanwhile takes the slot after the one reserved."""
    time_, order, lock = SteppedTime(), [], threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            order.append(request.url.path)
        return httpx.Response(200, json={"id": "u1", "meta": {"version": "1"}})

    api = make_api(answer, time_, rate_per_minute=60)  # a slot a second
    api.credentials.token()
    scim, presence = ScimClient(API, api.credentials, api=api), PresenceClient(api)
    workers = [threading.Thread(target=lambda: [scim.get_user("u1") for _ in range(3)])
               for _ in range(4)]
    for worker in workers:
        worker.start()
    while time_.sleeping < 1 or len(order) < 1:  # the first sent, the next one waits its slot
        threading.Event().wait(0.001)
    threading.Event().wait(0.05)  # the other workers reach the bucket (or its queue)
    urgent = threading.Thread(target=presence.put_presences, args=([{"id": "u1"}],))
    urgent.start()
    while len(order) < 13:
        time_.advance(0.25)
        threading.Event().wait(0.002)
    for thread in (*workers, urgent):
        thread.join(5)
    assert order.index("/api/v2/users/presences/bulk") <= 2, order
