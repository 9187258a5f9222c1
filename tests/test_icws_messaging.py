"""The ICWS client's configuration objects and messaging against the ICWS test server pair:
workgroups, skills and wrap-up codes read completely, subscriptions whose first message is the
whole picture, the short poll, and a lost session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from idp.cic.configuration import (
    _levels,
    read_skills,
    read_user_skills,
    read_workgroups,
    read_wrapup_codes,
)
from idp.cic.errors import SessionLost
from idp.cic.icws import IcwsClient, IcwsSession
from idp.cic.messaging import (
    StatusMessages,
    UserStatuses,
    poll,
    status_messages,
    subscribe_status_messages,
    subscribe_user_statuses,
)
from idp.objects import SkillLevel
from tests.icws_messaging import status_message
from tests.icws_objects import IcwsSkill, IcwsWorkgroup, IcwsWrapupCode
from tests.icws_server import CicDirectory, IcwsPair, IcwsUser, running_pair

SERVICE = ("svc", "secret-1")


@pytest.fixture
def pair(key_dir: Path) -> Iterator[IcwsPair]:
    cic = CicDirectory()
    cic.add(IcwsUser(*SERVICE), IcwsUser("ann", "pw", workgroups=["Desk"],
                                         skills=[("French", 70)]),
            IcwsUser("bo", "pw", workgroups=["Desk", "Back"]))
    cic.objects.add(IcwsSkill("French", language=True), IcwsSkill("Excel"),
                    IcwsWrapupCode("Done", display_name="Done (resolved)"),
                    IcwsWorkgroup("Desk", skills=[("Excel", 30)], wrapup_codes=["Done"]),
                    IcwsWorkgroup("Back", has_queue=False),
                    *(IcwsWorkgroup(f"W{i:03}") for i in range(250)))
    cic.board.define(status_message("Available", group="AVAILABLE", acd=True),
                     status_message("Gone Home", dnd=True))
    cic.board.set_status("ann", "Available")
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as running:
        yield running


@pytest.fixture
def session(pair: IcwsPair, key_dir: Path) -> Iterator[IcwsSession]:
    client = IcwsClient(pair.addresses, ca_file=key_dir / "tls.crt", timeout=2)
    with client.connect_password(*SERVICE) as opened:
        yield opened
    client.close()


def test_configuration_objects_are_read_completely(session: IcwsSession,
                                                   pair: IcwsPair) -> None:
    pair.primary.page_cap = 120  # a CIC capping pages below what is asked
    problems: list[str] = []
    groups = read_workgroups(session, problems)
    assert len(groups) == 252 and not problems
    desk = next(g for g in groups if g.id == "Desk")
    assert desk.has_queue and desk.members == ("ann", "bo")
    assert desk.skills == (SkillLevel("Excel", 30),) and desk.wrapup_codes == ("Done",)
    assert not next(g for g in groups if g.id == "Back").has_queue
    assert {(s.id, s.language) for s in read_skills(session, "treatAsLanguage", problems)} == \
        {("French", True), ("Excel", False)}
    assert [(c.id, c.name) for c in read_wrapup_codes(session, problems)] == \
        [("Done", "Done (resolved)")]
    assert read_user_skills(session, problems) == {"ann": (SkillLevel("French", 70),)}
    assert len(pair.primary.requests("GET", r"/icws/\d+/configuration/workgroups")) == 3


def test_skill_settings_are_read_in_every_shape() -> None:
    problems: list[str] = []
    listed = [{"id": {"id": "A"}, "proficiency": 40}, {"id": "B", "proficiency": 100.0}]
    assert _levels(listed, "x", problems) == (SkillLevel("A", 40), SkillLevel("B", 100))
    assert _levels({"actualValue": listed[:1]}, "x", problems) == (SkillLevel("A", 40),)
    assert _levels({"effectiveValue": listed[1:]}, "x", problems) == (SkillLevel("B", 100),)
    assert _levels(None, "x", problems) == () and not problems
    assert _levels([{"id": "C"}], "user c", problems) == ()
    assert problems == ["user c: a skill setting without an id and a proficiency"]


def test_a_subscription_begins_with_the_whole_picture_then_changes(
        session: IcwsSession, pair: IcwsPair) -> None:
    assert {m.status_id for m in status_messages(session)} == {"Available", "Gone Home"}
    subscribe_status_messages(session)
    subscribe_user_statuses(session, ["ann", "bo"])
    first = poll(session)
    assert isinstance(first[0], StatusMessages) and first[0].full
    assert isinstance(first[1], UserStatuses) and first[1].full
    assert [(s.user_id, s.status_id) for s in first[1].statuses] == [("ann", "Available")]
    assert poll(session) == []  # a short poll: nothing queued, at once
    pair.directory.board.set_status("bo", "Gone Home")
    pair.directory.board.define(status_message("Lunch"))
    changes = poll(session)
    assert isinstance(changes[0], UserStatuses) and not changes[0].full
    assert changes[0].statuses[0].status_id == "Gone Home"
    assert changes[0].statuses[0].changed is not None
    assert isinstance(changes[1], StatusMessages) and not changes[1].full
    assert [m.status_id for m in changes[1].changed] == ["Lunch"]
    subscribe_user_statuses(session, ["ann"])  # the list replaced: bo is no longer heard
    poll(session)
    pair.directory.board.set_status("bo", "Available")
    assert poll(session) == []


def test_a_forgotten_session_is_lost(session: IcwsSession, pair: IcwsPair) -> None:
    subscribe_user_statuses(session, ["ann"])
    pair.primary.drop_sessions()
    with pytest.raises(SessionLost):
        poll(session)
