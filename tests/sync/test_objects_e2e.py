"""Advanced Platform Objects end to end: CIC objects from the CSV folder (the local directory's
users) to the Genesys stand-in (scim2-server for users, the Platform layer for the rest)."""

from __future__ import annotations

from tests.sync.conftest import SyncSetup
from tests.sync.objects_helpers import (
    codes_of,
    ids,
    levels,
    members,
    objects_setup,
    queue,
    standard_objects,
    write,
)


def add_users(setup: SyncSetup) -> None:
    for name in ("alice", "bob", "carol"):
        setup.add(name, f"{name}@example.com")


def test_objects_are_created_linked_and_assigned(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    add_users(setup)
    standard_objects(folder)
    report = setup.apply()
    assert report.objects is not None and not report.objects.error, report.summary()
    assert report.outcome == "completed", report.summary()
    platform, user = setup.genesys.platform, ids(setup)

    support = queue(platform, "Support")
    assert support["peerId"] == "cic-sts:support"  # the durable link
    assert "Lab" not in {q["name"] for q in platform.queues.values()}  # no queue in CIC
    assert members(platform, "Support") == {user["alice"], user["bob"]}
    assert codes_of(platform, "Support") == {"Sale", "No Sale"}
    assert set(platform.live(platform.skills)) == {"Billing", "Sales"}
    assert set(platform.live(platform.languages)) == {"Spanish"}
    assert set(platform.live(platform.codes)) == {"Sale", "No Sale"}
    # direct skills keep their own proficiency; inherited ones come from every workgroup,
    # with a queue or not; 1-100 becomes ceil(p / 20) stars
    assert levels(platform, user["alice"]) == {"Billing": 2.0}
    assert levels(platform, user["alice"], languages=True) == {"Spanish": 5.0}
    assert levels(platform, user["bob"]) == {"Billing": 4.0}
    assert levels(platform, user["carol"]) == {"Sales": 2.0}

    # An unchanged CIC costs no request at all.
    before = len(setup.genesys.requests)
    again = setup.apply()
    assert again.objects is not None
    assert again.objects.writes == 0, again.objects.actions
    assert len(setup.genesys.requests) == before

    status = setup.run("sync", "status")
    assert "Workgroups    1 / 1 synced" in status.output, status.output
    assert "Skills        3 / 3 synced" in status.output
    assert "Wrap-up codes 2 / 2 synced" in status.output


def test_changes_in_cic_propagate(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    add_users(setup)
    standard_objects(folder)
    setup.apply()
    platform, user = setup.genesys.platform, ids(setup)
    spanish_language = platform.live(platform.languages)["Spanish"]["id"]

    # bob leaves Support and carol joins; Spanish is no longer "Treat as Language"; Billing
    # is renamed in CIC (its display name); No Sale goes; a new workgroup with a queue.
    write(folder, "skills.csv", "skill,language,display_name", "Spanish,false,",
          "Billing,false,Billing & Payments", "Sales,false,")
    write(folder, "wrapup_codes.csv", "wrapup_code", "Sale")
    write(folder, "workgroups.csv", "workgroup,queue,members,skills,wrapup_codes",
          "Support,true,alice;carol,Billing=80,Sale",
          "Lab,false,carol,Sales=30,", "Sales Team,true,bob,Sales=100,Sale")
    report = setup.apply()
    assert report.outcome == "completed", (report.summary(), report.objects)

    assert members(platform, "Support") == {user["alice"], user["carol"]}
    assert members(platform, "Sales Team") == {user["bob"]}
    assert codes_of(platform, "Support") == {"Sale"}
    assert set(platform.live(platform.codes)) == {"Sale"}
    # no rename for skills: a new one, and the old one deleted (softly) once nobody has it
    assert set(platform.live(platform.skills)) == {"Billing & Payments", "Sales", "Spanish"}
    assert platform.skills[next(k for k, v in platform.skills.items()
                                if v["name"] == "Billing")]["state"] == "deleted"
    assert platform.languages[spanish_language]["state"] == "deleted"  # moved to skills
    assert levels(platform, user["alice"]) == {"Billing & Payments": 2.0, "Spanish": 5.0}
    assert levels(platform, user["alice"], languages=True) == {}
    assert levels(platform, user["bob"]) == {"Sales": 5.0}
    assert levels(platform, user["carol"]) == {"Billing & Payments": 4.0, "Sales": 2.0}
    assert setup.apply().objects.writes == 0  # type: ignore[union-attr]


def test_workgroup_gone_deletes_only_its_own_queue(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    add_users(setup)
    standard_objects(folder)
    setup.apply()
    platform = setup.genesys.platform
    # Someone else's queue, skill and wrap-up code in Genesys Cloud.
    platform.handle("POST", "/routing/queues", "", b'{"name": "Made in Genesys"}')
    platform.handle("POST", "/routing/skills", "", b'{"name": "Theirs"}')
    write(folder, "workgroups.csv", "workgroup,queue,members,skills,wrapup_codes",
          "Lab,false,carol,Sales=30,")
    write(folder, "skills.csv", "skill,language", "Sales,false")
    write(folder, "user_skills.csv", "user_id,skills")
    report = setup.apply()
    assert report.outcome == "completed", report.summary()
    assert {q["name"] for q in platform.queues.values()} == {"Made in Genesys"}
    assert set(platform.live(platform.skills)) == {"Sales", "Theirs"}


def test_a_queue_name_held_by_someone_else_is_a_conflict(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    add_users(setup)
    standard_objects(folder)
    platform = setup.genesys.platform
    platform.handle("POST", "/routing/queues", "", b'{"name": "Support"}')
    foreign = queue(platform, "Support")
    report = setup.apply()
    assert report.objects is not None
    conflicts = [a for a in report.objects.actions if a.verb == "conflict"]
    assert [a.name for a in conflicts] == ["Support"], report.objects.actions
    assert platform.members.get(foreign["id"], set()) == set()  # not touched
    assert "peerId" not in queue(platform, "Support")


def test_a_user_deleted_in_cic_leaves_its_queues(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    add_users(setup)
    standard_objects(folder)
    setup.apply()
    platform, user = setup.genesys.platform, ids(setup)
    setup.directory.delete("bob")
    write(folder, "workgroups.csv", "workgroup,queue,members,skills,wrapup_codes",
          "Support,true,alice,Billing=80,Sale;No Sale", "Lab,false,carol,Sales=30,")
    report = setup.apply()
    assert report.results()["deactivated"] == 1, report.summary()
    assert members(platform, "Support") == {user["alice"]}
