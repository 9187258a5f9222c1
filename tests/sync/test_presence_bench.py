"""The presence benchmark's figures: what a latency is and what is left out."""

from __future__ import annotations

from typing import Any

from bench.presence_bench import Bench, percentile
from tests.sync.fake_platform import FakePlatform


class Stand:
    def __init__(self) -> None:
        self.platform = FakePlatform(lambda user: True)


def test_latency_is_to_the_first_write_of_that_presence_after_the_event() -> None:
    stand: Any = Stand()
    bench = Bench(stand, None, {"a": "ga", "b": "gb"})  # type: ignore[arg-type]
    stand.platform.presence_log[:] = [
        (9.0, "ga", "def-onqueue", "s"),  # before the event: not its write
        (10.4, "ga", "def-meal", "s"),  # another presence
        (10.5, "ga", "def-onqueue", "s"),  # this one
        (11.0, "gb", "def-meeting", "s")]
    events = [(10.0, "a", "Available"), (10.2, "b", "At Lunch")]  # b's was never written
    latency, missed = bench.latencies(events)
    assert latency == [0.5] and missed == 1


def test_percentiles_take_the_value_at_the_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 0.5) == 51.0 and percentile(values, 0.99) == 100.0


def test_requests_are_told_by_what_sent_them_and_429s_left_out() -> None:
    from bench.presence_run import kinds

    stand: Any = Stand()
    stand.requests = [(1.0, "PUT", "/api/v2/users/presences/bulk", 200, ""),
                      (2.0, "PATCH", "/api/v2/scim/v2/users/u1", 200, ""),
                      (3.0, "POST", "/api/v2/routing/queues/q1/members", 204, ""),
                      (4.0, "PUT", "/api/v2/users/presences/bulk", 429, "rate-limit"),
                      (0.5, "PUT", "/api/v2/users/presences/bulk", 200, "")]  # before
    assert kinds(stand, since=1.0) == {"presence": 1, "users": 1, "objects": 1, "other": 0}
