"""What the object sync owns, and what it never takes away by mistake: refused creates, renames
whose new object cannot be made, failed queue renames, plans of renames, a crash mid-rename."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from idp.errors import SyncError
from tests.sync.conftest import SyncSetup
from tests.sync.fake_platform import Answer, FakePlatform
from tests.sync.objects_helpers import ids, levels, objects_setup, write


def refusing(setup: SyncSetup, method: str, path: str, status: int,
             only: bytes = b"") -> Any:
    """Make the stand-in refuse `method path` (whose body holds `only`); returns the real
    handler, to put back."""
    platform = setup.genesys.platform
    real = platform.handle

    def handle(m: str, p: str, query: str, body: bytes) -> Answer:
        if m == method and p == path and only in body:
            return status, {"message": "refused by the test", "code": "bad.request"}
        return real(m, p, query, body)

    platform.handle = handle  # type: ignore[method-assign,assignment]
    return real


def alice_with(setup: SyncSetup, header: str, skill: str,
               level: str) -> tuple[Path, FakePlatform, dict[str, str]]:
    """alice with one skill of her own (no workgroups, but their file read: skills may be
    taken away)."""
    folder = objects_setup(setup)
    setup.add("alice", "alice@example.com")
    write(folder, "workgroups.csv", "workgroup")
    write(folder, "skills.csv", header, skill)
    write(folder, "user_skills.csv", "user_id,skills", f"alice,{level}")
    setup.apply()
    return folder, setup.genesys.platform, ids(setup)


@pytest.mark.parametrize(("kind", "path", "file", "header"), [
    ("skills", "/routing/skills", "skills.csv", "skill"),
    ("codes", "/routing/wrapupcodes", "wrapup_codes.csv", "wrapup_code")])
def test_a_refused_create_makes_no_administrators_object_the_syncs(
        setup: SyncSetup, kind: str, path: str, file: str, header: str) -> None:
    folder = objects_setup(setup)
    setup.add("alice", "alice@example.com")
    write(folder, file, header, "Billing", "Other")
    real = refusing(setup, "POST", path, 400, b"Billing")
    first = setup.apply()
    assert first.objects is not None and first.objects.errors == 1
    setup.genesys.platform.handle = real  # type: ignore[method-assign]
    platform = setup.genesys.platform
    table = platform.skills if kind == "skills" else platform.codes
    # An administrator makes "Billing" in Genesys Cloud by hand; the sync uses it...
    real("POST", path, "", json.dumps({"name": "Billing"}).encode())
    admin = platform.live(table)["Billing"]["id"]
    second = setup.apply()
    assert second.objects is not None
    assert [a.detail for a in second.objects.actions if a.verb == "link"] == [
        "exists in Genesys Cloud: used, never renamed or deleted by the sync"]
    # ...and when CIC drops Billing, it stays.
    write(folder, file, header, "Other")
    setup.apply()
    assert "Billing" in platform.live(table) and platform.live(table)["Billing"]["id"] == admin


def test_a_create_killed_in_flight_is_still_the_syncs(setup: SyncSetup) -> None:
    """The other side of the claim: a create whose outcome is unknown (its answer lost) made
    the object, so the sync owns what it finds by that name, and deletes it later."""
    folder = objects_setup(setup)
    setup.add("alice", "alice@example.com")
    write(folder, "skills.csv", "skill", "Billing")
    platform = setup.genesys.platform
    real = platform.handle

    def lost(method: str, path: str, query: str, body: bytes) -> Answer:
        answer = real(method, path, query, body)
        if method == "POST" and path == "/routing/skills":
            return 500, {"message": "lost after the work was done", "code": "internal"}
        return answer

    platform.handle = lost  # type: ignore[method-assign]
    setup.apply()
    platform.handle = real  # type: ignore[method-assign]
    setup.apply()
    write(folder, "skills.csv", "skill", "Other")
    setup.apply()
    assert "Billing" not in platform.live(platform.skills)
    assert platform.posted.count(("skill", "Billing")) == 1


def test_a_rename_whose_new_skill_cannot_be_made_keeps_the_old_one(setup: SyncSetup) -> None:
    folder, platform, user = alice_with(setup, "skill,display_name", "billing,Billing",
                                        "billing=80")
    real = refusing(setup, "POST", "/routing/skills", 500)
    write(folder, "skills.csv", "skill,display_name", "billing,Billing & Payments")
    report = setup.apply()
    assert report.objects is not None and report.objects.errors == 1
    assert levels(platform, user["alice"]) == {"Billing": 4.0}  # no gap in routing
    assert set(platform.live(platform.skills)) == {"Billing"}
    setup.genesys.platform.handle = real  # type: ignore[method-assign]
    again = setup.apply()
    assert again.objects is not None and again.objects.errors == 0
    assert levels(platform, user["alice"]) == {"Billing & Payments": 4.0}
    assert set(platform.live(platform.skills)) == {"Billing & Payments"}  # the old one went


def test_a_treat_as_language_flip_whose_language_cannot_be_made_keeps_the_skill(
        setup: SyncSetup) -> None:
    folder, platform, user = alice_with(setup, "skill,language", "Spanish,false", "Spanish=90")
    real = refusing(setup, "POST", "/routing/languages", 400)
    write(folder, "skills.csv", "skill,language", "Spanish,true")
    setup.apply()
    assert levels(platform, user["alice"]) == {"Spanish": 5.0}
    assert "Spanish" in platform.live(platform.skills)
    setup.genesys.platform.handle = real  # type: ignore[method-assign]
    setup.apply()
    assert levels(platform, user["alice"]) == {}
    assert levels(platform, user["alice"], languages=True) == {"Spanish": 5.0}
    assert "Spanish" not in platform.live(platform.skills)


def test_a_failed_queue_rename_is_tried_again(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    setup.add("alice", "alice@example.com")
    write(folder, "workgroups.csv", "workgroup,members,display_name", "wg1,alice,Support")
    setup.apply()
    platform = setup.genesys.platform
    platform.handle("POST", "/routing/queues", "", b'{"name": "Helpdesk"}')  # an admin's
    write(folder, "workgroups.csv", "workgroup,members,display_name", "wg1,alice,Helpdesk")
    first = setup.apply()
    assert first.objects is not None and first.objects.errors == 1
    status = setup.run("sync", "status", "--json")
    assert json.loads(status.output)["objects"]["counts"]["queue"] == [0, 1]
    # The administrator frees the name: the next pass renames.
    admin = next(q for q in platform.queues.values() if q["name"] == "Helpdesk")
    platform.handle("DELETE", f"/routing/queues/{admin['id']}", "", b"")
    second = setup.apply()
    assert second.objects is not None
    assert [a.line() for a in second.objects.actions if a.verb == "rename"] == [
        "rename queue Helpdesk: was 'Support'"]
    assert sorted(q["name"] for q in platform.queues.values()) == ["Helpdesk"]


def test_a_plan_shows_the_deletions_renames_lead_to_and_their_hold(setup: SyncSetup) -> None:
    folder = objects_setup(setup, "max_deactivations = 1")
    setup.add("alice", "alice@example.com")
    write(folder, "skills.csv", "skill,display_name", "billing,Billing", "sales,Sales")
    setup.apply()
    write(folder, "skills.csv", "skill,display_name", "billing,Billing & Payments",
          "sales,Sales")
    plan = setup.run("sync", "plan")
    assert "create skill Billing & Payments" in plan.output, plan.output
    assert "delete skill Billing: now 'Billing & Payments' in CIC" in plan.output
    write(folder, "skills.csv", "skill,display_name", "billing,Billing & Payments",
          "sales,Sales & Marketing")
    plan = setup.run("sync", "plan")
    assert "hold skill Billing: not deleted: the pass was held" in plan.output, plan.output
    assert "2 of 4 synced skills and languages would be deleted" in plan.output
    applied = setup.run("sync", "apply")
    assert applied.exit_code == 3, applied.output
    assert set(setup.genesys.platform.live(setup.genesys.platform.skills)) == {
        "Billing", "Sales", "Billing & Payments", "Sales & Marketing"}


def test_a_crash_while_retiring_a_renamed_skill_orphans_nothing(setup: SyncSetup) -> None:
    """The rows of a rename change in one transaction: a crash (here: SQLite refusing the
    retired row) leaves the old link as it was, so the old skill is still deleted later."""
    folder = objects_setup(setup)
    setup.add("alice", "alice@example.com")
    write(folder, "skills.csv", "skill,display_name", "billing,Billing")
    setup.apply()
    database = setup.folder / "sync.db"
    crash = ("CREATE TRIGGER crash BEFORE INSERT ON objects WHEN NEW.status = 'retired' "
             "BEGIN SELECT RAISE(ABORT, 'killed here'); END")
    with sqlite3.connect(database) as conn:
        conn.execute(crash)
    write(folder, "skills.csv", "skill,display_name", "billing,Billing & Payments")
    with pytest.raises(SyncError, match="killed here"):
        setup.apply()
    with sqlite3.connect(database) as conn:
        conn.execute("DROP TRIGGER crash")
    setup.apply()
    platform = setup.genesys.platform
    assert set(platform.live(platform.skills)) == {"Billing & Payments"}
