"""What an object pass may take away: nothing derived from a list it did not read, and no more of
a family than its limit, each family with its own allowance (the users' included)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sync.conftest import SyncSetup
from tests.sync.objects_helpers import ids, levels, members, objects_setup, standard_objects, write

PEOPLE = ("alice", "bob", "carol")


def standard(setup: SyncSetup, extra: str = "") -> Path:
    folder = objects_setup(setup, extra)
    for name in PEOPLE:
        setup.add(name, f"{name}@example.com")
    standard_objects(folder)
    assert setup.apply().outcome == "completed"
    return folder


def everything(setup: SyncSetup) -> tuple[object, ...]:
    platform, user = setup.genesys.platform, ids(setup)
    return (tuple(levels(platform, user[p]) for p in PEOPLE),
            tuple(levels(platform, user[p], True) for p in PEOPLE),
            members(platform, "Support"), sorted(q["name"] for q in platform.queues.values()),
            sorted(platform.live(platform.skills)), sorted(platform.live(platform.codes)))


@pytest.mark.parametrize("missing", ["user_skills.csv", "workgroups.csv", "skills.csv",
                                     "wrapup_codes.csv"])
def test_a_missing_file_takes_nothing_away(setup: SyncSetup, missing: str) -> None:
    folder = standard(setup)
    before = everything(setup)
    (folder / missing).unlink()  # the export of one file failed
    report = setup.apply()
    assert report.objects is not None
    assert any(f"{missing} is missing" in n for n in report.objects.notes), report.objects.notes
    assert everything(setup) == before


def test_a_file_with_its_header_only_is_an_empty_list(setup: SyncSetup) -> None:
    folder = standard(setup)
    platform, user = setup.genesys.platform, ids(setup)
    write(folder, "user_skills.csv", "user_id,skills")  # nobody has a skill of their own
    setup.apply()
    assert levels(platform, user["alice"]) == {"Billing": 4.0}  # inherited from Support
    assert levels(platform, user["alice"], True) == {}


def test_taking_many_members_off_queues_is_held_and_allowed_by_its_own_allowance(
        setup: SyncSetup) -> None:
    folder = objects_setup(setup, "max_removals = 3")
    people = [f"u{i}" for i in range(6)]
    for name in people:
        setup.add(name, f"{name}@example.com")
    write(folder, "workgroups.csv", "workgroup,members",
          f"Support,{';'.join(people)}", f"Sales,{';'.join(people)}")
    setup.apply()
    platform, user = setup.genesys.platform, ids(setup)
    # A workgroup export without its members: 12 memberships "gone".
    write(folder, "workgroups.csv", "workgroup,members", "Support,u0", "Sales,u0")
    result = setup.run("sync", "apply")
    assert result.exit_code == 3, result.output
    assert "10 of 12 queue memberships would be removed, more than sync.max_removals = 3" \
        in result.output
    assert members(platform, "Support") == {user[p] for p in people}
    status = setup.run("sync", "status")
    assert status.exit_code == 2 and "Deletions     HELD: 10 of 12 queue memberships" in \
        status.output
    plan = setup.run("sync", "plan")
    assert "hold members Support: 5 users not removed: the pass was held" in plan.output
    # Allowing queue deletions, or users' deactivations, allows no member's removal.
    for other in (["--allow-deletions", "queues=10"], ["--allow-deactivations", "10"]):
        assert setup.run("sync", "apply", *other).exit_code == 3
        assert members(platform, "Support") == {user[p] for p in people}
    allowed = setup.run("sync", "apply", "--allow-deletions", "members=10")
    assert allowed.exit_code == 0, allowed.output
    assert members(platform, "Support") == members(platform, "Sales") == {user["u0"]}


def test_taking_many_skills_from_users_is_held_and_the_skill_is_not_deleted_under_them(
        setup: SyncSetup) -> None:
    folder = standard(setup, "max_removals = 2")
    platform, user = setup.genesys.platform, ids(setup)
    write(folder, "skills.csv", "skill,language", "Sales,false")  # Spanish, Billing gone...
    write(folder, "workgroups.csv", "workgroup,queue,members,skills,wrapup_codes",
          "Support,true,alice;bob,,Sale;No Sale", "Lab,false,carol,Sales=30,")
    write(folder, "user_skills.csv", "user_id,skills")  # ...and taken from 2 users: 3 removals
    result = setup.run("sync", "apply")
    assert result.exit_code == 3, result.output
    assert "3 of 4 skill and language assignments would be taken away" in result.output
    assert levels(platform, user["alice"]) == {"Billing": 2.0}
    assert "Billing" in platform.live(platform.skills)  # alice still has it: not deleted
    allowed = setup.run("sync", "apply", "--allow-deletions", "user_skills=3")
    assert allowed.exit_code == 0, allowed.output
    assert levels(platform, user["alice"]) == {} and levels(platform, user["bob"]) == {}
    assert set(platform.live(platform.skills)) == {"Sales"}


def test_approving_queue_deletions_approves_no_user_deactivation(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    people = [f"u{i:02}" for i in range(12)]
    for name in people:
        setup.add(name, f"{name}@example.com")
    write(folder, "workgroups.csv", "workgroup,members", *(f"Team {p},{p}" for p in people))
    setup.apply()
    for name in people[1:]:  # 11 people leave, and their teams with them
        setup.directory.delete(name)
    write(folder, "workgroups.csv", "workgroup,members", f"Team {people[0]},{people[0]}")
    queues = setup.run("sync", "apply", "--allow-deletions", "queues=11")
    assert queues.exit_code == 3, queues.output  # the users' deactivations are still held
    assert "11 of 12 linked users would be deactivated" in queues.output
    platform = setup.genesys.platform
    assert sorted(q["name"] for q in platform.queues.values()) == [f"Team {people[0]}"]
    assert len(setup.genesys.users(active=True)) == 12
    users = setup.run("sync", "apply", "--allow-deactivations", "11")
    assert users.exit_code == 0, users.output
    assert len(setup.genesys.users(active=True)) == 1


def test_a_bad_allowance_is_refused(setup: SyncSetup) -> None:
    objects_setup(setup)
    result = setup.run("sync", "apply", "--allow-deletions", "agents=3")
    assert result.exit_code == 2 and "expected FAMILY=N" in result.output
    assert "queues, skills, wrapup_codes, members, user_skills" in result.output
