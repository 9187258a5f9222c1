"""Rules of the sync that an administrator relies on: scope, letter case, one way to report a
conflict, what counts as Failed, values Genesys Cloud would refuse, the listing page size."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.icws_server import CicDirectory, IcwsUser, running_pair, use_icws
from tests.sync.conftest import SyncSetup

SERVICE = ("svc-sync", "service-secret-2")


def active_names(setup: SyncSetup) -> set[str]:
    return {u["userName"] for u in setup.genesys.users(active=True)}


def test_an_email_changed_only_in_letter_case_is_updated(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com")
    setup.apply()
    before = setup.genesys.by_user_name("alice@example.com")
    assert before is not None
    setup.add("alice", "Alice.Agent@Example.com")
    setup.apply()
    setup.add("alice", "alice.agent@example.com")
    report = setup.apply()
    assert report.results()["updated"] == 1
    setup.add("alice", "Alice.Agent@Example.com")  # only the letter case changes
    report = setup.apply()
    assert report.results()["updated"] == 1, report.summary()
    [user] = setup.genesys.users()
    assert user["id"] == before["id"]
    assert user["userName"] == "Alice.Agent@Example.com"  # Genesys keeps what CIC has
    assert user["emails"][0]["value"] == "Alice.Agent@Example.com"
    assert setup.apply(full=True).writes == 0


def test_scope_by_user_id_pattern_and_csv_workgroups(setup: SyncSetup) -> None:
    csv = setup.folder / "users.csv"

    def export(rows: list[tuple[str, str]]) -> None:
        csv.write_text("user_id,email,workgroups\n" + "".join(
            f"{u},{u}@example.com,{w}\n" for u, w in rows))

    setup.configure(sync='source = "csv"\ncsv_file = "users.csv"\n'
                         'exclude = ["svc-*", "workgroup:Lab*"]')
    export([("agent1", "Sales;Support"), ("agent2", "Support"), ("svc-backup", ""),
            ("tester", "Lab West")])
    report = setup.run("sync", "apply", "--json")
    data = json.loads(report.output)
    assert data["results"]["created"] == 2 and data["out_of_scope"] == 2
    assert active_names(setup) == {"agent1@example.com", "agent2@example.com"}
    status = setup.run("sync", "status").output
    assert "2 / 2 synced (2 out of scope)" in status

    # agent2 moves into a lab workgroup: it leaves the scope, and is deactivated saying why
    export([("agent1", "Sales"), ("agent2", "Lab East"), ("svc-backup", ""),
            ("tester", "Lab West")])
    data = json.loads(setup.run("sync", "apply", "--json").output)
    [gone] = [u for u in data["users"] if u["result"] == "deactivated"]
    assert gone["user_id"] == "agent2"
    assert "out of scope: sync.exclude 'workgroup:Lab*'" in gone["message"]
    assert active_names(setup) == {"agent1@example.com"}
    assert "out of scope" in setup.run("sync", "status", "agent2").output


def test_scope_include_by_icws_workgroup(setup: SyncSetup, key_dir: Path) -> None:
    cic = CicDirectory()
    cic.add(IcwsUser(*SERVICE),
            IcwsUser("ann", "pw", None, "ann@example.com", workgroups=["Support"]),
            IcwsUser("ben", "pw", None, "ben@example.com", workgroups=["Sales"]))
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        setup.configure(sync='source = "icws"\ninclude = ["workgroup:support"]')
        use_icws(setup.config_path, pair, key_dir / "tls.crt", SERVICE, timeout=2)
        result = setup.run("sync", "apply")
        assert result.exit_code == 0, result.output
        assert active_names(setup) == {"ann@example.com"}
        asked = [r for r in pair.primary.requests("GET") if r.path.endswith("/users")]
        assert "workgroups" in asked[0].query["select"].split(",")


def test_workgroup_rules_need_a_source_that_has_workgroups(setup: SyncSetup) -> None:
    setup.configure(sync='exclude = ["workgroup:Lab"]')
    result = setup.run("sync", "plan")
    assert result.exit_code == 2
    assert "workgroup: rules need sync.source" in result.output


def test_a_conflict_is_reported_the_same_way_by_every_kind_of_pass(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com")
    setup.add("bob", "bob@example.com")
    setup.apply()
    setup.genesys.add_user("taken@example.com", "Made in Genesys")
    setup.add("alice", "taken@example.com")  # alice's new e-mail is someone else's user
    seen = set()
    for full in (False, True, False, True):
        result = setup.run("sync", "apply", *(["--full"] if full else []), "--json")
        report = json.loads(result.output)
        [alice] = [u for u in report["users"] if u["user_id"] == "alice"]
        seen.add((result.exit_code, alice["result"], alice["message"]))
    assert len(seen) == 1, seen
    (code, result_, message), = seen
    assert code == 0 and result_ == "conflict"
    assert "which cic-sts did not create: left alone" in message


def test_an_email_swap_counts_retries_not_failures(setup: SyncSetup) -> None:
    # one at a time: with several in flight the two renames may race, and a second pass
    # finishes the swap (test_sync_e2e covers that); here only the counting matters
    setup.configure(sync="concurrency = 1")
    setup.add("a", "a@example.com")
    setup.add("b", "b@example.com")
    setup.apply()
    setup.add("a", "b@example.com")
    setup.add("b", "a@example.com")
    report = setup.apply()
    assert report.results()["updated"] == 2 and not report.results()["error"]
    assert report.requests["failed"] == 0 and report.requests["retried"] >= 1
    status = json.loads(setup.run("sync", "status", "--json").output)
    assert status["requests"]["failed"] == 0


@pytest.mark.parametrize(("email", "display_name", "why"), [
    ("a" * 65 + "@example.com", "", "part before the @ is longer than 64 bytes"),
    ("é" * 33 + "@example.com", "", "part before the @ is longer than 64 bytes"),  # 66 octets
    ("a" * 60 + "@" + "d" * 190 + ".example", "", "email is longer than 254 bytes"),
    ("ok@example.com", "N" * 256, "display name is longer than 255 characters"),
])
def test_values_genesys_would_refuse_are_reported_before_sending(
        setup: SyncSetup, email: str, display_name: str, why: str) -> None:
    setup.add("long", email, display_name)
    requests = len(setup.genesys.requests)
    report = setup.apply()
    assert report.results()["skipped"] == 1
    assert why in report.outcomes[0].message
    assert len(setup.genesys.requests) == requests  # nothing was sent
    assert why in setup.run("sync", "status", "long").output


def test_listings_ask_for_25_users_a_page_by_default(setup: SyncSetup) -> None:
    for i in range(60):
        setup.add(f"u{i:02}", f"u{i:02}@example.com")
    setup.apply()
    before = len(setup.genesys.requests)
    assert setup.apply(full=True).writes == 0
    listings = [r for r in setup.genesys.requests[before:] if r[1] == "GET"]
    assert len(listings) == 3 + 1  # 60 active users in pages of 25, one page of inactive ones


def on_a_terminal(setup: SyncSetup, *args: str) -> str:
    """`cic-sts sync ARGS` with a pseudo-terminal as stdout and stderr, as an administrator
    sees it; everything it wrote."""
    import os
    import pty
    import subprocess
    import sys

    from tests.sync.conftest import ROOT

    main, child = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "idp", "--config", str(setup.config_path),
                                "sync", *args], stdout=child, stderr=child, cwd=ROOT,
                               env={**os.environ, "COLUMNS": "100"})
    os.close(child)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    process.wait(timeout=60)
    return b"".join(chunks).decode()


def test_on_a_terminal_a_pass_ends_with_the_users_that_need_attention(
        setup: SyncSetup) -> None:
    from tests.sync.fake_genesys import Faults

    setup.genesys.add_user("carol@example.com", "Carol (made in Genesys)")
    for i in range(12):
        setup.add(f"u{i:02}", f"u{i:02}@example.com")
    setup.add("carol", "carol@example.com")
    setup.add("dave", "")
    # some 429s with Retry-After 0: each wait is an INFO line while the bar is drawn
    setup.genesys.faults = Faults(rate=0.4, kinds=("429",), retry_after=0, only=("POST",))
    shown = on_a_terminal(setup, "apply")
    assert "Syncing users" in shown
    lines = shown.replace("\r\n", "\n").split("\n")
    waits = [line for line in lines if "asks to wait" in line]
    assert waits, shown
    # each log line starts a line of its own: the bar's line was cleared first
    assert all(re.search(r"(^|\x1b\[K)\d{4}-\d\d-\d\d [\d:,]+ INFO idp\.genesys\.scim: "
                         r"Genesys Cloud asks to wait", line) for line in waits), waits
    tail = lines[lines.index("2 users need attention:"):]
    assert tail[1].startswith("  Conflict    carol <carol@example.com>: e-mail "
                              "carol@example.com belongs to"), tail
    assert tail[2] == "  Not synced  dave: no business e-mail"


def test_leaving_the_scope_with_deactivate_missing_off_leaves_the_user_active(
        setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com")
    setup.add("bob", "bob@example.com")
    setup.apply()
    setup.configure(sync='deactivate_missing = false\nexclude = ["bob"]')
    report = setup.apply()
    [bob] = [o for o in report.outcomes if o.action.user_id == "bob"]
    assert bob.result == "skipped" and "left active (sync.deactivate_missing = false)" in \
        bob.message
    assert active_names(setup) == {"alice@example.com", "bob@example.com"}


def test_a_user_that_changed_hands_meanwhile_is_not_written(setup: SyncSetup) -> None:
    """Between the sync's last look and its write, another installation linked the user: the
    version no longer matches, the fresh read shows the other link, and nothing is written."""
    from tests.sync.conftest import GENESYS

    setup.add("alice", "alice@example.com")
    setup.add("bob", "bob@example.com")
    setup.add("carol", "carol@example.com")
    setup.apply()
    for email in ("alice@example.com", "bob@example.com"):
        user = setup.genesys.by_user_name(email)
        assert user is not None
        setup.genesys.edit_user(user["id"], **{f"{GENESYS}:externalIds": [
            *user[GENESYS]["externalIds"], {"authority": "cic-sts/other", "value": "x"}]})
    setup.add("alice", "alice@example.com", "Alice Renamed")  # an update for alice
    setup.directory.delete("bob")  # a removal for bob
    report = setup.apply()
    results = {o.action.user_id: (o.result, o.message) for o in report.outcomes}
    assert results["alice"][0] == "conflict"
    assert "also linked by another cic-sts installation (cic-sts/other)" in results["alice"][1]
    assert results["bob"][0] == "skipped" and "left active" in results["bob"][1]
    assert (setup.genesys.by_user_name("alice@example.com") or {})["displayName"] == "alice"
    assert active_names(setup) == {"alice@example.com", "bob@example.com",
                                   "carol@example.com"}


def test_workgroup_rules_refuse_a_csv_without_a_workgroups_column(setup: SyncSetup) -> None:
    (setup.folder / "users.csv").write_text("user_id,email\nagent1,agent1@example.com\n")
    setup.configure(sync='source = "csv"\ncsv_file = "users.csv"\nexclude = ["workgroup:Lab"]')
    result = setup.run("sync", "apply")
    assert result.exit_code == 1
    assert "no workgroups column" in result.output
    assert setup.genesys.users() == []
