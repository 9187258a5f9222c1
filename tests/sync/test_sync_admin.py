"""What an administrator does by hand: link, unlink, adopt, provision one user on demand, read a
user's history, list users by state, and read the health as monitoring does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from idp.sync.history import History
from idp.sync.state import SyncState
from tests.sync.conftest import GENESYS, SyncSetup


def by_name(setup: SyncSetup, email: str) -> dict[str, Any]:
    user = setup.genesys.by_user_name(email)
    assert user is not None, f"no Genesys Cloud user {email}"
    return user


def links(user: dict[str, Any]) -> list[dict[str, str]]:
    return list(user.get(GENESYS, {}).get("externalIds", []))


def test_a_cic_user_recreated_under_a_new_id_is_linked_back(setup: SyncSetup) -> None:
    setup.add("bob", "bob@example.com", "Bob")
    assert setup.run("sync", "apply").exit_code == 0
    original = by_name(setup, "bob@example.com")
    # CIC: bob deleted, the same person re-created as "robert". A pass deactivates bob's user
    # and finds robert's e-mail taken by it: a conflict, on every pass.
    setup.directory.delete("bob")
    setup.add("robert", "bob@example.com", "Robert")
    setup.run("sync", "apply")
    assert by_name(setup, "bob@example.com")["active"] is False
    assert "Conflict" in setup.run("sync", "status", "robert").output

    result = setup.run("sync", "link", "robert", original["id"])
    assert result.exit_code == 0, result.output
    assert f"linked CIC user robert to Genesys Cloud user {original['id']}" in result.output
    user = by_name(setup, "bob@example.com")
    assert user["id"] == original["id"] and user["active"] is True  # back at once
    assert user["displayName"] == "Robert"
    assert links(user) == [{"authority": "cic-sts", "value": "robert"}]
    assert "Synced" in setup.run("sync", "status", "robert").output
    assert setup.apply(full=True).writes == 0  # and it stays so
    assert len(setup.genesys.users()) == 1
    history = setup.run("sync", "status", "robert", "--history").output
    assert "link -> linked" in history and "update -> updated" in history


def test_unlink_then_link_again(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com")
    setup.apply()
    genesys_id = by_name(setup, "alice@example.com")["id"]
    result = setup.run("sync", "unlink", "alice")
    assert result.exit_code == 0, result.output
    assert f"no longer linked to Genesys Cloud user {genesys_id}" in result.output
    user = by_name(setup, "alice@example.com")
    assert links(user) == [] and user["active"] is True  # left as it is, not managed
    report = setup.apply(full=True)
    assert report.results()["conflict"] == 1 and report.writes == 0
    assert setup.run("sync", "link", "alice", genesys_id).exit_code == 0
    assert links(by_name(setup, "alice@example.com")) == [
        {"authority": "cic-sts", "value": "alice"}]
    assert setup.run("sync", "unlink", "nobody").exit_code == 1


def test_link_refuses_what_it_must_not_take(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com")
    theirs = setup.genesys.add_user("x@example.com", "X", **{GENESYS: {"externalIds": [
        {"authority": "cic-sts/other", "value": "x"}]}})
    refused = setup.run("sync", "link", "alice", theirs["id"])
    assert refused.exit_code == 1
    assert "linked by another cic-sts installation (cic-sts/other)" in refused.output
    assert links(by_name(setup, "x@example.com")) == [{"authority": "cic-sts/other",
                                                       "value": "x"}]
    assert "not in the source" in setup.run("sync", "link", "ghost", theirs["id"]).output
    assert "no Genesys Cloud user nope" in setup.run("sync", "link", "alice", "nope").output


def test_adopt_takes_over_one_named_user_after_showing_the_plan(setup: SyncSetup) -> None:
    made = setup.genesys.add_user("alice@example.com", "Alice (made in Genesys)")
    setup.genesys.add_user("bob@example.com", "Bob (made in Genesys)")
    setup.add("alice", "alice@example.com", "Alice")
    setup.add("bob", "bob@example.com", "Bob")
    setup.apply()
    result = setup.run("sync", "adopt", "alice")
    assert result.exit_code == 0, result.output
    assert "Plan (" in result.output and "adopt" in result.output
    alice = by_name(setup, "alice@example.com")
    assert alice["id"] == made["id"] and alice["displayName"] == "Alice"
    assert links(alice) == [{"authority": "cic-sts", "value": "alice"}]
    assert links(by_name(setup, "bob@example.com")) == []  # only the one named
    nothing = setup.run("sync", "adopt", "alice")
    assert nothing.exit_code == 1 and "nothing to adopt for CIC user alice" in nothing.output


def test_apply_for_one_user_provisions_only_that_one(setup: SyncSetup) -> None:
    for name in ("u1", "u2", "u3"):
        setup.add(name, f"{name}@example.com")
    result = setup.run("sync", "apply", "--user", "U2")
    assert result.exit_code == 0, result.output
    assert "Plan (" in result.output and "create" in result.output
    assert [u["userName"] for u in setup.genesys.users()] == ["u2@example.com"]
    plan = json.loads(setup.run("sync", "plan", "--user", "u3", "--json").output)
    assert [a["user_id"] for a in plan["actions"]] == ["u3"]
    # one user gone from CIC: `--user` removes it, and only it, within the limit
    setup.apply()
    setup.directory.delete("u1")
    setup.directory.delete("u3")
    assert setup.run("sync", "apply", "--user", "u1").exit_code == 0
    assert {u["userName"]: u["active"] for u in setup.genesys.users()} == {
        "u1@example.com": False, "u2@example.com": True, "u3@example.com": True}


def test_history_shows_what_each_pass_changed(setup: SyncSetup) -> None:
    setup.add("bob", "bob@example.com")  # an empty source removes nobody: keep one user
    setup.add("alice", "alice@example.com", "Alice")
    setup.apply()
    setup.add("alice", "alice.agent@example.com", "Alice Agent")
    setup.apply()
    setup.directory.delete("alice")
    setup.apply()
    text = setup.run("sync", "status", "alice", "--history").output
    lines = text.splitlines()
    assert lines.index("History (newest first):") < len(lines)
    order = [line.split()[1:4] for line in lines if " -> " in line and line.startswith("  2")]
    assert order == [["deactivate", "->", "deactivated:"], ["update", "->", "updated"],
                     ["create", "->", "created"]], text
    assert "      userName: 'alice@example.com' -> 'alice.agent@example.com'" in lines
    assert "      displayName: 'Alice' -> 'Alice Agent'" in lines
    data = json.loads(setup.run("sync", "status", "alice", "--history", "--json").output)
    assert [e["result"] for e in data["history"]] == ["deactivated", "updated", "created"]
    assert {"field": "displayName", "old": "Alice", "new": "Alice Agent"} in \
        data["history"][1]["changes"]
    state = SyncState(setup.folder / "sync.db")
    history = History(state)
    assert history.prune(90) == 0
    assert history.prune(90, now=datetime.now(UTC) + timedelta(days=91)) == 4  # bob's too
    assert history.of("alice") == []
    state.close()


def test_users_by_state_and_the_health_exit_codes(setup: SyncSetup) -> None:
    assert setup.run("sync", "status").exit_code == 3  # nothing has run: UNKNOWN
    unknown = json.loads(setup.run("sync", "status", "--json").output)
    assert unknown["status"] == "unknown" and unknown["exit_code"] == 3
    setup.genesys.add_user("carol@example.com", "Carol (made in Genesys)")
    setup.add("alice", "alice@example.com")
    setup.add("carol", "carol@example.com")
    setup.add("dave", "")
    assert setup.run("sync", "apply").exit_code == 0  # a conflict fails nobody's pass
    status = setup.run("sync", "status")
    assert status.exit_code == 1 and "Status: WARNING (1 user in Conflict" in status.output
    listing = setup.run("sync", "status", "--state", "conflict")
    assert listing.output.splitlines()[0] == "1 user in Conflict"
    assert "carol <carol@example.com>: e-mail carol@example.com belongs to" in listing.output
    shown = json.loads(setup.run("sync", "status", "--state", "not-synced", "--json").output)
    assert [(u["user_id"], u["status"], u["message"]) for u in shown["users"]] == [
        ("dave", "not_synced", "no business e-mail")]
    assert json.loads(setup.run("sync", "status", "--state", "synced", "--json").output)[
        "count"] == 1

    setup.genesys.client_secret = "rotated"  # the OAuth client's secret changed in Genesys
    setup.genesys.revoke_tokens()
    failed = setup.run("sync", "apply", "--full", "--json")
    document = json.loads(failed.output)
    assert failed.exit_code == 1 and document["outcome"] == "failed"
    assert document["error"]["type"] == "GenesysAuthError"
    health = json.loads(setup.run("sync", "status", "--json").output)
    assert health["status"] == "critical" and health["exit_code"] == 2
    assert health["last_pass"]["outcome"] == "failed"
    assert setup.run("sync", "status").exit_code == 2


def test_connection_restored_is_recorded_by_another_process(setup: SyncSetup) -> None:
    from tests.sync.fake_genesys import Faults

    setup.add("alice", "alice@example.com")
    setup.genesys.faults = Faults(rate=1.0, kinds=("drop",))  # nothing reaches it
    service = setup.service()
    try:
        report_or_error = None
        try:
            service.apply()
        except Exception as exc:  # noqa: BLE001  (the pass fails: that is the point)
            report_or_error = exc
        assert report_or_error is not None
    finally:
        service.close()
    events = json.loads(setup.run("sync", "status", "--json").output)["events"]
    assert events[0]["kind"] == "connection_lost"
    setup.genesys.faults = Faults()
    second = setup.cli("sync", "apply")  # a new process, as cron or a timer starts it
    assert second.returncode == 0, second.stderr
    events = json.loads(setup.run("sync", "status", "--json").output)["events"]
    assert [e["kind"] for e in events[:2]] == ["connection_restored", "connection_lost"]


def test_failed_runs_print_json_too(setup: SyncSetup) -> None:
    setup.configure(sync="max_retries = 0")
    text = setup.config_path.read_text()  # Genesys Cloud's API where nothing listens
    setup.config_path.write_text(text.replace(f'api_base_url = "{setup.genesys.url}"',
                                              'api_base_url = "http://127.0.0.1:9"'))
    setup.add("alice", "alice@example.com")
    for command in (("sync", "plan", "--json"), ("sync", "apply", "--json")):
        result = setup.run(*command)
        document = json.loads(result.stdout)
        assert result.exit_code == 1
        assert document["schema"] == 1 and document["outcome"] == "failed"
        assert document["error"]["message"]


def test_link_refuses_a_user_the_pass_would_not_sync(setup: SyncSetup) -> None:
    """Linking a user that is out of scope or has no e-mail would let the pass that follows
    deactivate the Genesys Cloud user just linked."""
    setup.configure(sync='exclude = ["svc-*"]')
    setup.add("alice", "alice@example.com")
    setup.add("svc-bot", "bot@example.com")
    setup.add("nomail", "")
    setup.apply()
    for user_id, email, why in (("svc-bot", "bot@example.com", "out of scope"),
                                ("nomail", "nomail@example.com", "no business e-mail")):
        made = setup.genesys.add_user(email, "Made in Genesys")
        refused = setup.run("sync", "link", user_id, made["id"])
        assert refused.exit_code == 1, refused.output
        assert f"cannot be synced ({why}" in refused.output
        user = by_name(setup, email)
        assert user["active"] is True and links(user) == []


def test_a_link_that_fails_in_genesys_leaves_the_state_as_it_was(setup: SyncSetup) -> None:
    from tests.sync.fake_genesys import Faults

    setup.configure(sync="max_retries = 0")
    setup.add("alice", "alice@example.com")
    setup.add("bob", "bob@example.com")
    setup.apply()
    alice_user = by_name(setup, "alice@example.com")
    setup.genesys.faults = Faults(rate=1.0, kinds=("500",), only=("PATCH",))
    failed = setup.run("sync", "link", "bob", alice_user["id"])
    setup.genesys.faults = Faults()
    assert failed.exit_code == 1
    state = SyncState(setup.folder / "sync.db")
    alice, bob = state.user("alice"), state.user("bob")
    assert alice is not None and alice.genesys_id == alice_user["id"]
    assert alice.status == "synced"
    assert bob is not None and bob.genesys_id == by_name(setup, "bob@example.com")["id"]
    assert [e.action for e in History(state).of("alice")] == ["create"]
    state.close()
    assert links(by_name(setup, "alice@example.com")) == [
        {"authority": "cic-sts", "value": "alice"}]


def test_a_conflict_seen_pass_after_pass_is_one_history_entry(setup: SyncSetup) -> None:
    setup.genesys.add_user("carol@example.com", "Carol (made in Genesys)")
    setup.add("carol", "carol@example.com")
    setup.add("bob", "bob@example.com")
    for _ in range(5):
        setup.apply()
    state = SyncState(setup.folder / "sync.db")
    assert [e.result for e in History(state).of("carol")] == ["conflict"]
    state.close()
    setup.genesys.add_user("other@example.com", "Other")
    setup.add("carol", "other@example.com")  # a different conflict: a new entry
    setup.apply()
    state = SyncState(setup.folder / "sync.db")
    assert [e.result for e in History(state).of("carol")] == ["conflict", "conflict"]
    state.close()


def test_a_mistyped_user_id_is_an_error(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com")
    for command in (("sync", "apply", "--user", "alcie"), ("sync", "plan", "--user", "alcie")):
        result = setup.run(*command)
        assert result.exit_code == 1
        assert "CIC user alcie is neither in the source nor known to the sync" in result.output
    assert setup.genesys.users() == []


def test_status_prints_json_whatever_it_was_asked(setup: SyncSetup) -> None:
    for args in (("sync", "status", "--json"), ("sync", "status", "--state", "error", "--json"),
                 ("sync", "status", "alice", "--json")):
        result = setup.cli(*args)
        document = json.loads(result.stdout)
        assert result.returncode == 3 and document["status"] == "unknown", args
    setup.config_path.write_text(setup.config_path.read_text() + "\n[sync]\nbogus = 1\n")
    broken = setup.cli("sync", "status", "--json")
    assert broken.returncode == 2
    assert json.loads(broken.stdout)["outcome"] == "failed"


def test_changing_the_authority_of_an_installation_is_refused(setup: SyncSetup) -> None:
    """Its users carry the old authority's link: under a new one, every one of them would look
    like another installation's, and no removal would ever happen again."""
    setup.add("alice", "alice@example.com")
    setup.apply()
    setup.configure(sync='authority = "cic-sts/abcd0001"')
    for command in (("sync", "apply"), ("sync", "plan"), ("sync", "link", "alice", "x")):
        result = setup.run(*command)
        assert result.exit_code == 1, (command, result.output)
        assert ("sync.authority is 'cic-sts/abcd0001', but this installation's links in "
                "Genesys Cloud are under 'cic-sts'") in result.output
    assert links(by_name(setup, "alice@example.com")) == [
        {"authority": "cic-sts", "value": "alice"}]
