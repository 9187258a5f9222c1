"""The sync against scim2-server with Genesys Cloud's behaviours in front (fake_genesys)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sync.conftest import GENESYS, SyncSetup


def by_name(setup: SyncSetup, email: str) -> dict[str, Any]:
    user = setup.genesys.by_user_name(email)
    assert user is not None, f"no Genesys Cloud user {email}"
    return user


def phones(user: dict[str, Any]) -> dict[str, str]:
    return {p["type"]: p["value"] for p in user.get("phoneNumbers", [])}


def test_first_sync_creates_linked_users(setup: SyncSetup) -> None:
    setup.configure(sync='default_country = "US"')
    setup.add("alice", "alice@example.com", "Alice Agent", business="(317) 872-3000 x105",
              business2="+1 317 872 3001", mobile="+49 151 12345678", home="+13175550124",
              fax="317-555-0125")
    setup.add("bob", "bob@example.com")
    setup.add("nomail", "", "No Mail")
    report = setup.apply()
    assert report.results()["created"] == 2 and report.results()["skipped"] == 1
    alice = by_name(setup, "alice@example.com")
    assert alice["displayName"] == "Alice Agent" and alice["active"] is True
    assert alice["emails"] == [{"type": "work", "value": "alice@example.com", "primary": True}]
    assert phones(alice) == {"work": "tel:+13178723000;ext=105", "work2": "+13178723001",
                             "mobile": "+4915112345678", "home": "+13175550124",
                             "other": "+13175550125"}
    assert alice[GENESYS]["externalIds"] == [{"authority": "cic-sts", "value": "alice"}]
    assert alice["externalId"] == "alice"
    assert by_name(setup, "bob@example.com")["displayName"] == "bob"
    assert len(setup.genesys.users()) == 2
    status = setup.run("sync", "status")
    # Only users that can sync count; the one without an e-mail is shown apart.
    assert "User Sync     2 / 2 synced (1 without business e-mail)" in status.output, \
        status.output
    nomail = setup.run("sync", "status", "nomail")
    assert "Not synced" in nomail.output and "no business e-mail" in nomail.output
    shown = json.loads(setup.run("sync", "status", "alice", "--json").output)
    assert shown["status"] == "synced" and shown["label"] == "Synced"
    assert shown["genesys_id"] == alice["id"]
    assert shown["last_synchronized"]


def test_an_unchanged_pass_sends_nothing(setup: SyncSetup) -> None:
    for i in range(5):
        setup.add(f"u{i}", f"u{i}@example.com", f"User {i}")
    setup.apply()
    requests, tokens = len(setup.genesys.requests), setup.genesys.token_requests
    report = setup.apply()
    assert report.writes == 0 and report.plan.unchanged == 5
    assert len(setup.genesys.requests) == requests  # not even a read
    assert setup.genesys.token_requests == tokens


def test_display_name_change_is_one_patch(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com")
    setup.apply()
    before = by_name(setup, "alice@example.com")
    assert before["displayName"] == "alice"
    setup.add("alice", "alice@example.com", "Alice Agent")  # added later in CIC
    requests = len(setup.genesys.requests)
    report = setup.apply()
    assert report.results()["updated"] == 1
    assert [(c.field, c.old, c.new) for c in report.outcomes[0].action.changes] == [
        ("displayName", "alice", "Alice Agent")]
    assert len(setup.genesys.requests) == requests + 1  # the PATCH, nothing else
    after = by_name(setup, "alice@example.com")
    assert after["id"] == before["id"] and after["displayName"] == "Alice Agent"


def test_email_change_renames_the_same_genesys_user(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com", "Alice")
    setup.apply()
    original = by_name(setup, "alice@example.com")
    setup.add("alice", "alice.agent@example.com", "Alice")
    report = setup.apply()
    assert report.results()["updated"] == 1
    renamed = by_name(setup, "alice.agent@example.com")
    assert renamed["id"] == original["id"]
    assert renamed["emails"][0]["value"] == "alice.agent@example.com"
    assert setup.genesys.by_user_name("alice@example.com") is None
    assert len(setup.genesys.users()) == 1


def test_email_change_survives_a_lost_state_database(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com", "Alice")
    setup.apply()
    original = by_name(setup, "alice@example.com")
    (setup.folder / "sync.db").unlink()
    setup.add("alice", "alice.agent@example.com", "Alice")
    report = setup.apply()
    assert report.results()["updated"] == 1
    assert by_name(setup, "alice.agent@example.com")["id"] == original["id"]
    assert len(setup.genesys.users()) == 1


def test_losing_the_email_deactivates(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com", "Alice")
    setup.apply()
    setup.add("alice", "", "Alice")
    report = setup.apply()
    assert report.results()["deactivated"] == 1
    user = by_name(setup, "alice@example.com")
    assert user["active"] is False
    status = setup.run("sync", "status", "alice").output
    assert "Not synced" in status and "no business e-mail" in status


def test_two_cic_users_with_one_email_sync_neither(setup: SyncSetup) -> None:
    setup.add("a1", "shared@example.com")
    setup.add("a2", "Shared@example.com")
    setup.add("b", "b@example.com")
    report = setup.apply()
    assert report.results()["created"] == 1 and report.results()["skipped"] == 2
    assert [u["userName"] for u in setup.genesys.users()] == ["b@example.com"]
    assert "used by 2 CIC users (a1, a2)" in setup.run("sync", "status", "a2").output


def test_removed_user_is_deactivated_not_deleted(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com")
    setup.add("bob", "bob@example.com")
    setup.apply()
    setup.directory.delete("bob")
    report = setup.apply()
    assert report.results()["deactivated"] == 1
    bob = by_name(setup, "bob@example.com")
    assert bob["active"] is False
    assert "Deactivated" in setup.run("sync", "status", "bob").output
    assert setup.apply().writes == 0
    setup.add("bob", "bob@example.com")  # back in CIC: the same user comes back
    setup.apply()
    assert by_name(setup, "bob@example.com")["active"] is True
    assert len(setup.genesys.users()) == 2


def test_deletion_only_when_configured(setup: SyncSetup) -> None:
    setup.configure(sync="delete_instead_of_deactivate = true")
    setup.add("bob", "bob@example.com")
    setup.add("carol", "carol@example.com")
    setup.apply()
    setup.directory.delete("bob")
    assert setup.apply().results()["deleted"] == 1
    assert setup.genesys.by_user_name("bob@example.com") is None


def test_genesys_only_users_are_left_alone(setup: SyncSetup) -> None:
    other = setup.genesys.add_user("admin@example.com", "Genesys Admin")
    taken = setup.genesys.add_user("alice@example.com", "Alice (made in Genesys)")
    setup.add("alice", "alice@example.com", "Alice")
    setup.add("bob", "bob@example.com")
    for full in (False, True):
        report = setup.apply(full=full)
        assert report.results()["conflict"] == 1
        assert "which cic-sts did not create" in report.outcomes[0].message
    assert by_name(setup, "admin@example.com") == other
    assert by_name(setup, "alice@example.com") == taken
    status = setup.run("sync", "status", "alice").output
    assert "Conflict" in status and "sync.adopt_existing" in status
    setup.directory.delete("bob")
    setup.apply(full=True)
    assert by_name(setup, "admin@example.com") == other  # not ours: never deactivated


def test_adoption_takes_over_by_email(setup: SyncSetup) -> None:
    setup.configure(sync="adopt_existing = true")
    taken = setup.genesys.add_user("alice@example.com", "Alice (made in Genesys)", title="Boss")
    setup.add("alice", "alice@example.com", "Alice Agent", mobile="+4915112345678")
    report = setup.apply()
    assert report.results()["adopted"] == 1
    alice = by_name(setup, "alice@example.com")
    assert alice["id"] == taken["id"] and alice["displayName"] == "Alice Agent"
    assert alice["title"] == "Boss"  # not ours: kept
    assert alice[GENESYS]["externalIds"] == [{"authority": "cic-sts", "value": "alice"}]
    assert len(setup.genesys.users()) == 1


def test_force_complete_sync_resends_everyone(setup: SyncSetup) -> None:
    for i in range(4):
        setup.add(f"u{i}", f"u{i}@example.com")
    setup.apply()
    writes = setup.genesys.writes
    report = setup.apply(force=True)
    assert report.results()["updated"] == 4 and report.writes == 4
    assert setup.genesys.writes == writes + 4


def test_changes_made_in_genesys_are_corrected_by_a_full_pass(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com", "Alice")
    setup.apply()
    alice = by_name(setup, "alice@example.com")
    setup.genesys.edit_user(alice["id"], displayName="Renamed in Genesys", title="Agent")
    assert setup.apply().writes == 0  # incremental: CIC did not change
    report = setup.apply(full=True)
    assert report.results()["updated"] == 1
    fixed = by_name(setup, "alice@example.com")
    assert fixed["displayName"] == "Alice" and fixed["title"] == "Agent"


def test_version_conflict_rereads_and_keeps_their_change(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com", "Alice", business="+13178723000")
    setup.apply()
    alice = by_name(setup, "alice@example.com")
    # An admin adds a phone type we do not own: the version we hold is now stale.
    setup.genesys.edit_user(alice["id"], phoneNumbers=[
        {"type": "work", "value": "+13178723000"}, {"type": "work3", "value": "+13178723099"}])
    setup.add("alice", "alice@example.com", "Alice", business="+13178723001")
    report = setup.apply()
    assert report.results()["updated"] == 1
    assert setup.genesys.count("PATCH", status=400) == 1  # invalidVers, then re-read
    assert phones(by_name(setup, "alice@example.com")) == {"work": "+13178723001",
                                                           "work3": "+13178723099"}


def test_plan_shows_fields_and_writes_nothing(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com", "Alice")
    setup.add("nomail")
    setup.apply()
    setup.add("alice", "alice@example.com", "Alice Agent", mobile="+4915112345678")
    setup.add("carol", "carol@example.com")
    writes = setup.genesys.writes
    shown = setup.run("sync", "plan")
    assert shown.exit_code == 0, shown.output
    assert "update      alice <alice@example.com>" in shown.output
    assert "displayName: 'Alice' -> 'Alice Agent'" in shown.output
    assert "phoneNumbers[mobile]: '' -> '+4915112345678'" in shown.output
    assert "create      carol <carol@example.com>" in shown.output
    assert "1 unchanged (3 CIC users); 2 writes" in shown.output
    data = json.loads(setup.run("sync", "plan", "--json").output)
    assert {a["action"] for a in data["actions"]} == {"update", "create"}
    assert setup.genesys.writes == writes


def test_apply_prints_lines_or_json(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com", "Alice", business="12")
    setup.add("nomail")
    shown = setup.cli("sync", "apply")
    assert shown.returncode == 0, shown.stderr
    assert "skipped       nomail: no business e-mail" in shown.stdout
    assert "created       alice <alice@example.com>: Genesys Cloud user" in shown.stdout
    assert "warning: business phone '12' left out" in shown.stdout
    setup.add("bob", "bob@example.com")
    data = json.loads(setup.cli("sync", "apply", "--json").stdout)
    assert data["results"]["created"] == 1 and data["writes"] == 1 and data["unchanged"] == 2


def test_bad_phone_number_still_syncs_the_user(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com", "Alice", business="+1 555", mobile="+4915112345678")
    setup.apply()
    assert phones(by_name(setup, "alice@example.com")) == {"mobile": "+4915112345678"}
    status = setup.run("sync", "status", "alice").output
    assert "Synced" in status and "business phone '+1 555' left out" in status


@pytest.mark.parametrize(("concurrency", "full"), [(1, False), (4, True)])
def test_two_users_swapping_emails_converge(setup: SyncSetup, concurrency: int,
                                            full: bool) -> None:
    setup.configure(sync=f"concurrency = {concurrency}")
    setup.add("a", "a@example.com", "A")
    setup.add("b", "b@example.com", "B")
    setup.apply()
    ids = {u["userName"]: u["id"] for u in setup.genesys.users()}
    setup.add("a", "b@example.com", "A")
    setup.add("b", "a@example.com", "B")
    for _ in range(2):  # one pass, two at most
        report = setup.apply(full=full)
        if all(o.result not in ("error", "conflict") for o in report.outcomes):
            break
    assert by_name(setup, "b@example.com")["id"] == ids["a@example.com"]
    assert by_name(setup, "a@example.com")["id"] == ids["b@example.com"]
    assert len(setup.genesys.users()) == 2
    assert setup.apply(full=True).writes == 0
    assert "User Sync     2 / 2 synced" in setup.run("sync", "status").output


def test_a_linked_user_missing_from_a_listing_is_read_not_created_again(
        setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com", "Alice")
    setup.add("bob", "bob@example.com", "Bob")
    setup.apply()
    alice = by_name(setup, "alice@example.com")
    # The listing skips alice, as when users before her were removed while it was paged.
    setup.genesys.hidden = {alice["id"]}
    setup.add("alice", "alice.agent@example.com", "Alice")
    report = setup.apply(full=True)
    assert report.results()["updated"] == 1 and report.results()["created"] == 0
    assert by_name(setup, "alice.agent@example.com")["id"] == alice["id"]
    assert len(setup.genesys.users()) == 2
    assert setup.genesys.count("POST") == 2  # the first sync's, none since


def test_sync_run_starts_with_a_full_pass_that_undoes_changes_made_in_genesys(
        setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com", "Alice")
    setup.apply()
    alice = by_name(setup, "alice@example.com")
    setup.genesys.edit_user(alice["id"], displayName="Renamed in Genesys")
    setup.configure(sync="full_interval = 0")  # full passes off: the edit stays
    assert setup.run("sync", "run", "--passes", "1", "--interval", "1").exit_code == 0
    assert by_name(setup, "alice@example.com")["displayName"] == "Renamed in Genesys"
    setup.configure()  # the default: the first pass of `sync run` is a full one
    assert setup.run("sync", "run", "--passes", "1", "--interval", "1").exit_code == 0
    assert by_name(setup, "alice@example.com")["displayName"] == "Alice"
