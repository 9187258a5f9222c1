"""The object sync does no harm: bounded deletions, incomplete sources, other people's objects,
a lost state database, `sync plan` writing nothing, and `--full` repairing Genesys Cloud."""

from __future__ import annotations

import json
from pathlib import Path

from tests.sync.conftest import SyncSetup
from tests.sync.objects_helpers import (
    codes_of,
    ids,
    members,
    object_writes,
    objects_setup,
    queue,
    standard_objects,
    write,
)


def many_workgroups(folder: Path, count: int) -> None:
    write(folder, "workgroups.csv", "workgroup,queue,members",
          *(f"Team {i:02},true,alice" for i in range(count)))


def test_mass_deletion_of_queues_is_held(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    setup.add("alice", "alice@example.com")
    many_workgroups(folder, 30)
    write(folder, "skills.csv", "skill", *(f"Skill {i}" for i in range(12)))
    assert setup.apply().outcome == "completed"
    platform = setup.genesys.platform

    many_workgroups(folder, 5)  # an export cut short: 25 workgroups "gone"
    write(folder, "skills.csv", "skill", "Skill 0")  # and 11 of 12 skills
    result = setup.run("sync", "apply")
    assert result.exit_code == 3, result.output
    assert "25 of 30 synced queues would be deleted, more than sync.max_deactivations = 10" \
        in result.output
    assert "11 of 12 synced skills and languages would be deleted" in result.output
    assert len(platform.queues) == 30 and len(platform.live(platform.skills)) == 12
    status = setup.run("sync", "status")
    assert status.exit_code == 2 and "Deletions     HELD: 25 of 30 synced queues" in \
        status.output, status.output

    # `sync plan` shows the same, and writes nothing.
    writes = object_writes(setup)
    plan = setup.run("sync", "plan")
    assert "hold queue Team 29: not deleted: the pass was held" in plan.output, plan.output
    assert object_writes(setup) == writes

    # An administrator who checked allows the queues: exactly those go, the skills stay held.
    assert "--allow-deletions queues=25" in result.output
    allowed = setup.run("sync", "apply", "--allow-deletions", "queues=25")
    assert allowed.exit_code == 3, allowed.output
    assert sorted(q["name"] for q in platform.queues.values()) == [
        f"Team {i:02}" for i in range(5)]
    assert len(platform.live(platform.skills)) == 12
    assert "11 of 12 synced skills and languages would be deleted" in allowed.output
    # The users' allowance is not the objects': it lets no skill go.
    users_only = setup.run("sync", "apply", "--allow-deactivations", "11")
    assert users_only.exit_code == 3 and len(platform.live(platform.skills)) == 12
    allowed = setup.run("sync", "apply", "--allow-deletions", "skills=11")
    assert allowed.exit_code == 0, allowed.output
    assert set(platform.live(platform.skills)) == {"Skill 0"}
    assert setup.run("sync", "status").exit_code == 0


def test_an_incomplete_source_removes_nothing(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    for name in ("alice", "bob", "carol"):
        setup.add(name, f"{name}@example.com")
    standard_objects(folder)
    setup.apply()
    platform, user = setup.genesys.platform, ids(setup)
    # bob leaves Support and No Sale goes, but a row of the file is broken.
    write(folder, "workgroups.csv", "workgroup,queue,members,skills,wrapup_codes",
          "Support,true,alice;carol,Billing=80,Sale", "Lab,maybe,carol,Sales=30,")
    write(folder, "wrapup_codes.csv", "wrapup_code", "Sale")
    report = setup.apply()
    assert report.outcome == "completed_with_errors"
    assert report.objects is not None and report.objects.problems
    assert members(platform, "Support") == {user["alice"], user["bob"], user["carol"]}
    assert set(platform.live(platform.codes)) == {"Sale", "No Sale"}
    assert codes_of(platform, "Support") == {"Sale", "No Sale"}

    # A file cut short at a line boundary is told by its row count.
    (folder / "workgroups.csv").write_text(
        "workgroup,queue,members\nSupport,true,alice\n#rows=2\n")
    again = setup.apply()
    assert again.objects is not None
    assert any("#rows=2" in p for p in again.objects.problems), again.objects.problems
    assert members(platform, "Support") == {user["alice"], user["bob"], user["carol"]}


def test_an_empty_list_deletes_nothing(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    setup.add("alice", "alice@example.com")
    many_workgroups(folder, 3)
    setup.apply()
    write(folder, "workgroups.csv", "workgroup,queue,members")
    report = setup.apply()
    assert report.objects is not None
    assert any("no queues at all" in n for n in report.objects.notes), report.objects.notes
    assert len(setup.genesys.platform.queues) == 3


def test_other_installations_and_administrators_objects_are_left_alone(
        setup: SyncSetup) -> None:
    folder = objects_setup(setup, 'authority = "cic-sts/aaaa0001"')
    setup.add("alice", "alice@example.com")
    platform = setup.genesys.platform
    # The other site's queue (its own peerId) and an administrator's wrap-up code, both with
    # names this CIC uses too.
    platform.handle("POST", "/routing/queues", "",
                    json.dumps({"name": "Shared", "peerId": "cic-sts/bbbb0002:shared"}).encode())
    platform.handle("POST", "/routing/wrapupcodes", "", b'{"name": "Sale"}')
    write(folder, "workgroups.csv", "workgroup,queue,members,wrapup_codes",
          "Shared,true,alice,Sale", "Mine,true,alice,Sale")
    write(folder, "wrapup_codes.csv", "wrapup_code", "Sale")
    report = setup.apply()
    assert report.objects is not None
    assert [a.name for a in report.objects.actions if a.verb == "conflict"] == ["Shared"]
    assert members(platform, "Shared") == set()
    assert codes_of(platform, "Mine") == {"Sale"}  # the existing code is used...

    write(folder, "workgroups.csv", "workgroup,queue,members", "Shared,true,alice")
    write(folder, "wrapup_codes.csv", "wrapup_code", "Other")
    setup.apply()
    assert set(platform.live(platform.codes)) == {"Sale", "Other"}  # ...and never deleted
    assert {q["name"] for q in platform.queues.values()} == {"Shared"}


def test_a_lost_state_database_finds_its_objects_again(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    for name in ("alice", "bob", "carol"):
        setup.add(name, f"{name}@example.com")
    standard_objects(folder)
    setup.apply()
    platform = setup.genesys.platform
    before = {q["id"] for q in platform.queues.values()}
    for suffix in ("", "-wal", "-shm"):
        Path(f"{setup.folder / 'sync.db'}{suffix}").unlink(missing_ok=True)
    report = setup.apply()
    assert report.outcome == "completed", report.summary()
    assert {q["id"] for q in platform.queues.values()} == before  # found by peerId
    assert len(platform.codes) == 2 and len(platform.skills) == 2  # nothing made twice

    # The codes it made are still its own (their description), so they can still go.
    write(folder, "wrapup_codes.csv", "wrapup_code", "Sale")
    write(folder, "workgroups.csv", "workgroup,queue,members,skills,wrapup_codes",
          "Support,true,alice;bob,Billing=80,Sale", "Lab,false,carol,Sales=30,")
    setup.apply()
    assert set(platform.live(platform.codes)) == {"Sale"}


def test_a_full_pass_repairs_what_was_changed_in_genesys(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    for name in ("alice", "bob", "carol"):
        setup.add(name, f"{name}@example.com")
    standard_objects(folder)
    setup.apply()
    platform, user = setup.genesys.platform, ids(setup)
    support = queue(platform, "Support")["id"]
    platform.members[support].discard(user["bob"])  # removed by hand in Genesys Cloud
    platform.members[support].add(user["carol"])  # added by hand
    platform.members[support].add("someone-else")  # not a user the sync links
    billing = platform.live(platform.skills)["Billing"]["id"]
    platform.user_skills[user["bob"]].pop(billing)
    incremental = setup.apply().objects
    assert incremental is not None and incremental.writes == 0
    setup.apply(full=True)
    assert members(platform, "Support") == {user["alice"], user["bob"], "someone-else"}
    assert platform.user_skills[user["bob"]][billing] == 4.0
