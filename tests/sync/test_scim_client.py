"""The Genesys Cloud client on its own: pacing, retries, tokens, versions, connection events.
httpx's MockTransport plays the server; a fake clock makes every wait measurable and instant."""

from __future__ import annotations

import bisect
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx
import pytest

from idp.errors import (
    GenesysAuthError,
    GenesysUnavailable,
    OutcomeUnknown,
    UniquenessConflict,
    VersionConflict,
)
from idp.genesys.http import GenesysApi
from idp.genesys.oauth import ClientCredentials, refresh_margin
from idp.genesys.ratelimit import TokenBucket
from idp.genesys.scim import ScimClient

API = "https://api.example.test"
LOGIN = "https://login.example.test"


class ClockAndSleep(Protocol):
    """What the Genesys clients take from a test's clock."""

    def clock(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


Handler = Callable[[httpx.Request], httpx.Response]


class Server:
    """Answers the token endpoint itself and hands SCIM requests to `scim`."""

    def __init__(self, scim: Handler, lifetime: int = 3600) -> None:
        self.scim = scim
        self.lifetime = lifetime
        self.tokens_issued = 0
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            self.tokens_issued += 1
            return httpx.Response(200, json={"access_token": f"token-{self.tokens_issued}",
                                             "expires_in": self.lifetime})
        self.requests.append(request)
        return self.scim(request)


def make_api(server: Server, time_: ClockAndSleep, **kwargs: Any) -> GenesysApi:
    """The Genesys request layer against `server`, on the fake clock (SCIM and Platform tests)."""
    http = httpx.Client(transport=httpx.MockTransport(server))
    credentials = ClientCredentials(LOGIN, "id", "secret", http, clock=time_.clock,
                                    sleep=time_.sleep)
    kwargs.setdefault("rate_per_minute", 60000)
    return GenesysApi(API, credentials, http=http, clock=time_.clock, sleep=time_.sleep,
                      rng=random.Random(1), **kwargs)


def make_client(server: Server, time_: FakeTime, **kwargs: Any) -> ScimClient:
    api = make_api(server, time_, **kwargs)
    return ScimClient(API, api.credentials, api=api)


def user(id_: str = "u1", version: str = 'W/"1"') -> dict[str, Any]:
    return {"id": id_, "userName": "a@example.com", "meta": {"version": version}}


def test_token_bucket_spaces_requests_evenly() -> None:
    time_ = FakeTime()
    bucket = TokenBucket(60, clock=time_.clock, sleep=time_.sleep, margin=0)
    waits = [bucket.reserve() for _ in range(4)]
    assert waits == pytest.approx([0, 1, 2, 3])
    time_.now += 10  # idle: no credit is saved up beyond the capacity of one
    assert bucket.reserve() == 0
    assert bucket.reserve() == pytest.approx(1)


def test_token_bucket_pause_holds_everyone_back() -> None:
    time_ = FakeTime()
    bucket = TokenBucket(600, clock=time_.clock, sleep=time_.sleep)
    bucket.acquire()
    bucket.pause_until(time_.now + 5)
    bucket.acquire()
    assert time_.now >= 1005


def test_default_pacing_keeps_under_the_limit_in_any_minute() -> None:
    time_ = FakeTime()
    bucket = TokenBucket(300, clock=time_.clock, sleep=time_.sleep)
    starts = []
    for _ in range(900):
        bucket.acquire()
        starts.append(time_.now)
    worst = max(sum(1 for t in starts if s <= t < s + 60) for s in starts)
    assert 295 <= worst <= 300


def test_429_waits_for_retry_after_then_succeeds() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}, json={}),
                    httpx.Response(200, json=user())])
    time_ = FakeTime()
    client = make_client(Server(lambda r: next(answers)), time_)
    start = time_.now
    assert client.get_user("u1") == user()
    assert time_.now - start >= 7
    assert client.stats.snapshot() == {"successful": 1, "failed": 0, "retried": 1}


def test_5xx_is_retried_with_growing_jittered_backoff_then_given_up() -> None:
    server = Server(lambda r: httpx.Response(503, json={"message": "busy"}))
    time_ = FakeTime()
    client = make_client(server, time_, max_retries=4, backoff_base=1.0)
    with pytest.raises(GenesysUnavailable, match="503.*after 4 retries"):
        client.get_user("u1")
    assert len(server.requests) == 5
    waits = [s for s in time_.sleeps if s > 0.01]  # leave out the bucket's spacing
    assert len(waits) == 4
    for retry, wait in enumerate(waits, start=1):
        step = 2.0 ** (retry - 1)
        assert step / 2 <= wait <= step
    assert client.stats.snapshot() == {"successful": 0, "failed": 1, "retried": 4}


def test_network_error_on_a_read_is_retried() -> None:
    answers: list[Any] = [httpx.ReadTimeout("slow"), httpx.Response(200, json=user())]

    def scim(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    client = make_client(Server(scim), FakeTime())
    assert client.get_user("u1") is not None
    assert client.stats.retried == 1


def test_a_create_whose_answer_is_lost_is_not_sent_again() -> None:
    def scim(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer")

    server = Server(scim)
    client = make_client(server, FakeTime())
    with pytest.raises(OutcomeUnknown, match="may have been carried out"):
        client.create_user({"userName": "a@example.com"})
    assert len(server.requests) == 1
    for answer in (httpx.Response(500, json={}), httpx.Response(502, json={})):
        server.scim = lambda r, answer=answer: answer  # type: ignore[misc]
        with pytest.raises(OutcomeUnknown):
            client.create_user({"userName": "a@example.com"})


def test_a_create_that_could_not_connect_is_sent_again() -> None:
    answers: list[Any] = [httpx.ConnectError("refused"),
                          httpx.Response(429, headers={"Retry-After": "0"}, json={}),
                          httpx.Response(201, json=user())]

    def scim(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    client = make_client(Server(scim), FakeTime())
    written = client.create_user({"userName": "a@example.com"})
    assert written.user == user() and written.version == 'W/"1"'
    assert client.stats.retried == 2


def test_401_fetches_a_new_token_once() -> None:
    seen: list[str] = []

    def scim(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if len(seen) == 1:
            return httpx.Response(401, json={"message": "revoked"})
        return httpx.Response(200, json=user())

    server = Server(scim)
    client = make_client(server, FakeTime())
    assert client.get_user("u1") is not None
    assert seen == ["Bearer token-1", "Bearer token-2"]
    server.scim = lambda r: httpx.Response(401, json={"message": "no"})
    with pytest.raises(GenesysAuthError, match="fresh access token was refused"):
        client.get_user("u1")


def test_token_is_renewed_before_it_expires() -> None:
    server = Server(lambda r: httpx.Response(200, json=user()), lifetime=300)
    time_ = FakeTime()
    client = make_client(server, time_)
    client.get_user("u1")
    time_.now += 300 - refresh_margin(300) - 1
    client.get_user("u1")
    assert server.tokens_issued == 1
    time_.now += 2
    client.get_user("u1")
    assert server.tokens_issued == 2
    assert refresh_margin(300) == 30 and refresh_margin(86400) == 8640


def test_refused_credentials_say_what_to_check() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_client",
                                         "description": "client not found"})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    credentials = ClientCredentials(LOGIN, "my-client", "secret", http)
    with pytest.raises(GenesysAuthError) as caught:
        credentials.token()
    message = str(caught.value)
    assert "my-client" in message and "invalid_client (client not found)" in message
    assert "genesys.region" in message and "secret" not in message.replace("client_secret", "")


def test_updates_carry_if_match_and_version_conflicts_are_recognised() -> None:
    def scim(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-Match") == 'W/"1"':
            return httpx.Response(204, headers={"ETag": 'W/"2"'})
        return httpx.Response(400, json={"scimType": "invalidVers", "detail": "stale"})

    client = make_client(Server(scim), FakeTime())
    written = client.patch_user("u1", [{"op": "replace", "path": "active", "value": False}],
                                'W/"1"')
    assert written.user is None and written.version == 'W/"2"'
    with pytest.raises(VersionConflict):
        client.patch_user("u1", [], 'W/"0"')


def test_uniqueness_conflict_is_its_own_error() -> None:
    client = make_client(Server(lambda r: httpx.Response(
        409, json={"scimType": "uniqueness", "detail": "taken"})), FakeTime())
    with pytest.raises(UniquenessConflict, match="taken"):
        client.create_user({"userName": "a@example.com"})


def test_listing_follows_pages() -> None:
    def scim(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["startIndex"])
        items = [user(f"u{i}") for i in range(start, min(start + 2, 6))]
        return httpx.Response(200, json={"totalResults": 5, "Resources": items})

    client = make_client(Server(scim), FakeTime())
    assert [u["id"] for u in client.list_users(page_size=2)] == [f"u{i}" for i in range(1, 6)]


def test_connection_lost_and_restored_are_logged_once_each(
        caplog: pytest.LogCaptureFixture) -> None:
    down = True

    def scim(request: httpx.Request) -> httpx.Response:
        if down:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json=user())

    events: list[str] = []
    time_ = FakeTime()
    client = make_client(Server(scim), time_, max_retries=3,
                         on_event=lambda kind, message: events.append(kind))
    caplog.set_level(logging.WARNING, logger="idp.genesys.scim")
    for _ in range(3):
        with pytest.raises(GenesysUnavailable):
            client.get_user("u1")
    assert client.connection_lost
    down = False
    for _ in range(3):
        client.get_user("u1")
    assert events == ["connection_lost", "connection_restored"]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("connection lost" in m for m in messages) == 1
    assert sum("connection restored" in m for m in messages) == 1


def test_threads_waiting_for_a_token_do_not_burst_past_the_rate() -> None:
    """Real threads and time: a slow token request must not let the threads that waited for
    it send at once, on top of the slots that went by meanwhile."""
    lock = threading.Lock()
    sends: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            time.sleep(0.3)  # a slow login host
            return httpx.Response(200, json={"access_token": f"t{time.monotonic()}",
                                             "expires_in": 4})  # renewed every 2 s
        with lock:
            sends.append(time.monotonic())
        return httpx.Response(200, json=user())

    http = httpx.Client(transport=httpx.MockTransport(answer))
    # 100 a second. The bucket spaces requests 1 % wider than that, which leaves 10 ms of
    # scheduling jitter to a window of one second before a 101st request could fit in it; a
    # burst of the threads that waited for the token is 3 or 4 more. On a loaded machine a
    # thread woken late can still bunch one or two sends: that much is allowed, a burst not.
    per_minute, window = 6000, 1.0
    client = ScimClient(API, ClientCredentials(LOGIN, "id", "secret", http), http=http,
                        rate_per_minute=per_minute)
    stop = time.monotonic() + 2.6

    def work() -> None:
        while time.monotonic() < stop:
            client.get_user("u1")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sends.sort()
    worst = max(bisect.bisect_left(sends, t + window) - i for i, t in enumerate(sends))
    assert len(sends) > 150
    assert worst <= per_minute / 60 * window + 2, f"{worst} requests in {window} s"


def test_token_request_honours_retry_after() -> None:
    answers = [httpx.Response(429, headers={"Retry-After": "7"}, json={}),
               httpx.Response(200, json={"access_token": "t", "expires_in": 3600})]
    time_ = FakeTime()
    http = httpx.Client(transport=httpx.MockTransport(lambda r: answers.pop(0)))
    credentials = ClientCredentials(LOGIN, "id", "secret", http, clock=time_.clock,
                                    sleep=time_.sleep)
    assert credentials.token() == "t"
    assert time_.sleeps == [7]


def test_token_request_with_a_too_long_retry_after_gives_up_saying_when() -> None:
    http = httpx.Client(transport=httpx.MockTransport(
        lambda r: httpx.Response(429, headers={"Retry-After": "3600"}, json={})))
    time_ = FakeTime()
    credentials = ClientCredentials(LOGIN, "id", "secret", http, clock=time_.clock,
                                    sleep=time_.sleep)
    with pytest.raises(GenesysUnavailable, match="3600 s"):
        credentials.token()
    assert sum(time_.sleeps) < 60


def test_an_unreachable_login_host_is_a_lost_connection(
        caplog: pytest.LogCaptureFixture) -> None:
    down = True

    def answer(request: httpx.Request) -> httpx.Response:
        if down and request.url.path == "/oauth/token":
            raise httpx.ConnectError("refused")
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, json=user())

    events: list[str] = []
    time_ = FakeTime()
    http = httpx.Client(transport=httpx.MockTransport(answer))
    credentials = ClientCredentials(LOGIN, "id", "secret", http, clock=time_.clock,
                                    sleep=time_.sleep)
    client = ScimClient(API, credentials, http=http, clock=time_.clock, sleep=time_.sleep,
                        on_event=lambda kind, message: events.append(kind))
    caplog.set_level(logging.WARNING, logger="idp.genesys.scim")
    for _ in range(2):
        with pytest.raises(GenesysUnavailable, match="access token"):
            client.get_user("u1")
    assert client.connection_lost
    assert client.stats.snapshot()["failed"] == 2
    down = False
    client.get_user("u1")
    assert events == ["connection_lost", "connection_restored"]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("connection lost" in m for m in messages) == 1
    assert sum("connection restored" in m for m in messages) == 1


def test_each_wait_asked_for_by_a_429_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """One INFO line per wait, saying how long and how many users wait (`pending`)."""
    time_ = FakeTime()
    answers = iter([429, 200, 429, 200])

    def scim(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 429:
            return httpx.Response(429, headers={"Retry-After": "30"},
                                  json={"code": "too.many.requests.retry.after"})
        return httpx.Response(200, json=user())

    client = make_client(Server(scim), time_)
    client.pending = lambda: 12
    with caplog.at_level(logging.INFO, logger="idp.genesys.scim"):
        client.get_user("u1")
        client.get_user("u1")
    waits = [r.getMessage() for r in caplog.records if "asks to wait" in r.getMessage()]
    assert waits == ["Genesys Cloud asks to wait 30 s (429); 12 users pending"] * 2
    assert client.waits == 2 and time_.now >= 1060
    assert client.stats.snapshot() == {"successful": 2, "failed": 0, "retried": 2}


def test_threads_meeting_the_same_429_start_one_pause() -> None:
    time_ = FakeTime()
    bucket = TokenBucket(300, clock=time_.clock, sleep=time_.sleep)
    assert bucket.pause_until(time_.now + 30) is True
    time_.now += 0.2  # the other threads' answers arrive a moment later
    assert bucket.pause_until(time_.now + 30) is False
    assert bucket.pause_until(time_.now + 45) is True  # asked for more: a new wait
    time_.now += 60
    assert bucket.pause_until(time_.now + 30) is True  # the pause is over: a new one


def test_conflicts_are_counted_by_who_answers_them() -> None:
    time_ = FakeTime()

    def scim(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"scimType": "invalidVers", "detail": "changed"})

    client = make_client(Server(scim), time_)
    with pytest.raises(VersionConflict):
        client.patch_user("u1", [], 'W/"1"')
    assert client.stats.snapshot() == {"successful": 0, "failed": 0, "retried": 0}
    client.count_conflict(retried=True)
    client.count_conflict(retried=False)
    assert client.stats.snapshot() == {"successful": 0, "failed": 1, "retried": 1}


def test_one_backoff_policy_for_api_and_token_requests() -> None:
    """Equal jitter: retry n waits between half and all of min(cap, base * 2^(n-1))."""
    from idp.genesys.ratelimit import backoff

    rng = random.Random(7)
    for retry, (low, high) in enumerate([(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0),
                                         (4.0, 8.0)], start=1):
        waits = [backoff(retry, 1.0, 8.0, rng) for _ in range(200)]
        assert low <= min(waits) and max(waits) <= high
        assert max(waits) - min(waits) > (high - low) / 2  # spread out, not one value
