"""The benchmark's rate figure: what it counts and when it is a measure at all."""

from __future__ import annotations

from bench.sync_bench import achieved_rate


def test_rate_counts_answered_requests_only_and_says_whether_work_was_left() -> None:
    # 5 a second for 10 s (300 a minute), and 20 answers of 429 in between.
    log = [(100 + i * 0.2, "PATCH", "/users/x", 200, "") for i in range(50)]
    log += [(101 + i * 0.01, "PATCH", "/users/x", 429, "rate-limit") for i in range(20)]
    log.sort()
    rate = achieved_rate(log, seconds=10, limit=300, pending=True)
    assert rate["requests_in_window"] == 50 and rate["answered_429"] == 20
    assert rate["per_minute"] == 300.0 and rate["of_limit"] == "100.0%"
    assert rate["work_pending_at_end"] is True
    # The work ran out after 5 s: the rate over the window says nothing about the pacing.
    done = [r for r in log if r[3] == 200][:25]
    early = achieved_rate(done, seconds=10, limit=300, pending=False)
    assert early["work_pending_at_end"] is False and early["requests_in_window"] == 25
    assert early["busy_seconds"] == 4.8
