"""The status-to-presence table and the tracker, on their own (no servers, a fake clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from idp.cic.status import StatusMessage, UserStatus, parse_time
from idp.errors import ConfigError
from idp.sync.presence.rules import Rules, Target
from idp.sync.presence.tracker import Tracker
from tests.icws_server import FakeClock

# Every row of the guide's table ("Status Message Configuration in Interaction Administrator"),
# as an administrator configures the status messages: (status id, message text, Status Group,
# allows ACD calls, is ACW, is Do Not Disturb) -> Genesys Cloud presence (out of office).
SEED_TABLE = [
    (("Available", "Available", "AVAILABLE", True, False, False), ("OnQueue", False)),
    (("Campaign Call", "Campaign Call", "BUSY", True, False, True), ("OnQueue", False)),
    (("Follow Up", "Follow Up", "AVAILABLE", False, True, False), ("OnQueue", False)),
    (("Training", "At a Training session.", "", False, False, False), ("Training", False)),
    (("Coaching", "Coaching", "TRAINING", False, False, True), ("Training", False)),
    (("Away from desk", "Away from Desk.", "", False, False, False), ("Break", False)),
    (("Smoke Break", "Smoke Break", "BREAK", False, False, True), ("Break", False)),
    (("Do not disturb", "Do Not Disturb.", "UNAVAILABLE", False, False, True), ("Busy", False)),
    (("In a Meeting", "In a Meeting", "MEETING", False, False, False), ("Meeting", False)),
    (("Meeting", "Meeting", "", False, False, False), ("Meeting", False)),
    (("At Lunch", "At Lunch", "LUNCH", False, False, False), ("Meal", False)),
    (("Meal", "Meal", "", False, False, False), ("Meal", False)),
    (("Lunch", "Lunch", "", False, False, False), ("Meal", False)),
    (("On Vacation", "On Vacation", "UNAVAILABLE", False, False, False), ("Away", True)),
    (("Out of the Office", "Out of the Office", "", False, False, False), ("Away", True)),
    (("Out of Town", "Out of Town", "", False, False, False), ("Away", True)),
    (("Gone Home", "Gone Home.", "UNAVAILABLE", False, False, True), ("Away", False)),
    (("Project Work", "Project Work", "PROJECT", False, False, True), ("Away", False)),
    (("Available, No ACD", "Available, No ACD", "AVAILABLE", False, False, False),
     ("Available", False)),
    (("At Desk", "At my desk", "", False, False, False), ("Available", False)),
]


def message(status_id: str, text: str, group: str, acd: bool, acw: bool,
            dnd: bool) -> StatusMessage:
    return StatusMessage(status_id, text, group, acd, acw, dnd)


@pytest.mark.parametrize(("configured", "expected"), SEED_TABLE,
                         ids=[row[0][0] for row in SEED_TABLE])
def test_every_row_of_the_seed_table(configured: tuple[str, str, str, bool, bool, bool],
                                     expected: tuple[str, bool]) -> None:
    rules = Rules.load()
    status = UserStatus("agent", configured[0])
    assert rules.target(status, message(*configured)) == Target(*expected)


def test_an_administrators_rules_come_first(tmp_path: Path) -> None:
    extra = tmp_path / "rules.toml"
    extra.write_text('[[rule]]\npresence = "Training"\nwhen = [{ status = ["Coaching"] }]\n'
                     '[[rule]]\npresence = "Offline"\nwhen = [{ logged_in = false }]\n')
    rules = Rules.load(extra)
    coaching = message("Coaching", "Coaching", "COACH", True, False, False)
    assert rules.target(UserStatus("a", "Coaching"), coaching) == Target("Training")
    available = message("Available", "Available", "AVAILABLE", True, False, False)
    assert rules.target(UserStatus("a", "Available", logged_in=False), available) == \
        Target("Offline")
    assert rules.target(UserStatus("a", "Available", logged_in=True), available) == \
        Target("OnQueue")  # the built-in table still applies after them


@pytest.mark.parametrize("text", [
    "[[rule]]\nwhen = [{ status = [\"X\"] }]\n",  # no presence
    "[[rule]]\npresence = \"Busy\"\nwhen = [{ colour = \"red\" }]\n",  # unknown condition
    "[[rule]]\npresence = \"Busy\"\nwhen = [{ acd = \"yes\" }]\n",  # not a boolean
    "[[rule]]\npresence = \"Busy\"\n",  # no when
    "presence = \"Busy\"\n",  # not a [[rule]]
    "[[rule]\n",  # not TOML
])
def test_a_bad_rules_file_is_one_clear_error(tmp_path: Path, text: str) -> None:
    extra = tmp_path / "rules.toml"
    extra.write_text(text)
    with pytest.raises(ConfigError, match="sync.presence_rules"):
        Rules.load(extra)


def test_icws_times_are_read_in_both_forms() -> None:
    assert parse_time("20210706T193229Z") == datetime(2021, 7, 6, 19, 32, 29, tzinfo=UTC)
    assert parse_time("2021-07-06T19:32:29.5Z") == datetime(2021, 7, 6, 19, 32, 29, 500000,
                                                            tzinfo=UTC)
    assert parse_time("yesterday") is None


T0 = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)
MESSAGES = (message("Available", "Available", "AVAILABLE", True, False, False),
            message("Gone Home", "Gone Home", "UNAVAILABLE", False, False, True),
            message("At Lunch", "At Lunch", "", False, False, False))


def tracker() -> tuple[Tracker, FakeClock]:
    clock = FakeClock()
    found = Tracker(Rules.load(), clock)
    found.status_messages(MESSAGES, (), True)
    return found, clock


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_late_and_repeated_events_never_take_a_presence_back() -> None:
    track, _ = tracker()
    track.statuses([UserStatus("ann", "Gone Home", at(10))])
    track.statuses([UserStatus("ann", "Available", at(5))])  # older, arriving late
    track.statuses([UserStatus("ann", "Gone Home", at(10))])  # the same again
    changes = track.begin(10)
    assert [(c.user, c.target) for c in changes] == [("ann", Target("Away"))]
    track.done(changes)
    assert track.counts.stale == 1 and track.counts.repeated == 1
    track.statuses([UserStatus("ann", "Available", at(8))])  # still older than 10
    assert track.pending() == 0


def test_changes_of_one_user_are_coalesced_and_a_way_back_cancels() -> None:
    track, clock = tracker()
    track.statuses([UserStatus("bo", "Available", at(1))])
    first = track.oldest()
    clock.advance(0.5)
    track.statuses([UserStatus("bo", "At Lunch", at(2))])
    assert track.pending() == 1 and track.oldest() == first and track.counts.coalesced == 1
    track.done(track.begin(10))  # At Lunch -> Meal written
    track.statuses([UserStatus("bo", "Available", at(3))])
    track.statuses([UserStatus("bo", "At Lunch", at(4))])  # back to what is written
    assert track.pending() == 0


def test_a_status_newer_than_the_write_in_flight_waits_for_it() -> None:
    track, _ = tracker()
    track.statuses([UserStatus("cy", "Available", at(1))])
    flying = track.begin(10)  # OnQueue on its way
    track.statuses([UserStatus("cy", "Gone Home", at(2))])
    assert track.begin(10) == []  # not before the first one is written
    track.done(flying)
    [after] = track.begin(10)
    assert after.target == Target("Away")
    track.failed([after])  # Genesys Cloud unreachable: it waits again
    [again] = track.begin(10)
    assert again.target == Target("Away") and again.since == after.since


def test_a_changed_status_message_judges_everyone_again() -> None:
    track, _ = tracker()
    track.statuses([UserStatus("di", "At Lunch", at(1))])
    track.done(track.begin(10))  # Meal
    track.status_messages((message("At Lunch", "At Lunch", "", True, False, False),), (),
                          False)  # now allows ACD calls
    [change] = track.begin(10)
    assert change.target == Target("OnQueue")


def test_the_whole_picture_is_taken_whatever_its_times() -> None:
    """After a switchover the backup's whole picture may carry times behind the primary's
    (their clocks differ): it is CIC's status now, and replaces what was known."""
    track, _ = tracker()
    track.statuses([UserStatus("ed", "At Lunch", at(100))])  # from the primary
    track.done(track.begin(10))
    track.statuses([UserStatus("ed", "Available", at(40))], full=True)  # the backup, behind
    [change] = track.begin(10)
    assert change.target == Target("OnQueue")
    track.done([change])
    track.statuses([UserStatus("ed", "Gone Home", at(30))])  # a late delta: older than that
    assert track.pending() == 0 and track.counts.stale == 1
    track.statuses([UserStatus("ed", "Gone Home", at(50))])  # newer, on the backup's clock
    assert track.pending() == 1


def test_a_logon_or_logoff_is_a_change_of_its_own() -> None:
    track, _ = tracker()
    track.statuses([UserStatus("fay", "Available", at(1), logged_in=True)])
    track.done(track.begin(10))
    track.statuses([UserStatus("fay", "Available", at(1), logged_in=False)])  # same second
    [change] = track.begin(10)
    assert change.target == Target("Offline")


@pytest.mark.parametrize(("configured", "logged_in", "expected"), [
    (("Available", "Available", "AVAILABLE", True, False, False), False, ("Offline", False)),
    (("Follow Up", "Follow Up", "AVAILABLE", False, True, False), False, ("Offline", False)),
    (("At Desk", "At my desk", "", False, False, False), False, ("Offline", False)),
    (("On Vacation", "On Vacation", "", False, False, False), False, ("Away", True)),
    (("At Lunch", "At Lunch", "", False, False, False), False, ("Meal", False)),
    (("Gone Home", "Gone Home.", "UNAVAILABLE", False, False, True), False, ("Away", False)),
    (("Available", "Available", "AVAILABLE", True, False, False), None, ("OnQueue", False)),
    (("At Desk", "At my desk", "", False, False, False), None, ("Available", False)),
])
def test_logged_off_agents_are_offline_unless_their_status_says_where_they_are(
        configured: tuple[str, str, str, bool, bool, bool], logged_in: bool | None,
        expected: tuple[str, bool]) -> None:
    """The guide's table is silent on logged-off agents: cic-sts's choice (default_rules.toml).
    An agent whose logon CIC does not report (None) gets the table as it is."""
    status = UserStatus("agent", configured[0], logged_in=logged_in)
    assert Rules.load().target(status, message(*configured)) == Target(*expected)
