"""Nothing lost, nothing doubled: the sync through injected faults and a SIGKILL mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx

from idp.errors import GenesysError
from idp.sync.state import SYNCED, SyncState
from tests.sync.conftest import ROOT, SyncSetup
from tests.sync.fake_genesys import Faults, Hold

MAX_PASSES = 8


def converge(setup: SyncSetup) -> int:
    """Passes until every user is Synced (bounded); returns how many it took."""
    service = setup.service()
    try:
        for attempt in range(1, MAX_PASSES + 1):
            try:
                report = service.apply()
            except GenesysError:  # the planning itself failed after its retries
                continue
            if not report.error and all(o.result != "error" for o in report.outcomes):
                statuses = {u.status for u in service.state.users().values()}
                if statuses <= {SYNCED, "deactivated"}:
                    return attempt
    finally:
        service.close()
    raise AssertionError(f"no convergence in {MAX_PASSES} passes")


def assert_one_genesys_user_each(setup: SyncSetup, user_ids: list[str]) -> None:
    linked = setup.linked()
    assert sorted(linked) == sorted(user_ids)
    doubled = {k: len(v) for k, v in linked.items() if len(v) != 1}
    assert not doubled, f"duplicates: {doubled}"


def assert_one_post_each(setup: SyncSetup) -> None:
    """No create was sent twice: scim2-server would refuse the second one (unique userName),
    which hides a duplicate from every other check; the Genesys layer's log does not."""
    posts = setup.genesys.posts_per_user_name()
    doubled = {name: n for name, n in posts.items() if n != 1}
    assert not doubled, f"POSTed more than once: {doubled}"


def test_converges_through_random_faults(setup: SyncSetup) -> None:
    setup.configure(sync="concurrency = 4\nmax_retries = 4")
    ids = [f"u{i:02}" for i in range(30)]
    for i, user_id in enumerate(ids):
        setup.add(user_id, f"{user_id}@example.com", f"User {i}", business=f"+1317872{3000 + i}")
    # 30 % of requests: 429 (Retry-After 1), 500, a dropped connection, or the request carried
    # out and then its answer dropped or replaced by a 500. Seeded, so a failure can be rerun.
    setup.genesys.faults = Faults(rate=0.3)
    converge(setup)
    for i, user_id in enumerate(ids[:5]):  # changes, removals and additions, still faulty
        setup.add(user_id, f"{user_id}@example.com", f"Renamed {i}")
    for user_id in ids[5:8]:
        setup.directory.delete(user_id)
    extra = ["v1", "v2", "v3"]
    for user_id in extra:
        setup.add(user_id, f"{user_id}@example.com")
    converge(setup)

    injected = setup.genesys.count(notes=("fault-429", "fault-500", "fault-drop"))
    lost_answers = setup.genesys.count("POST", notes=("drop_after", "500_after"))
    assert injected >= 5 and lost_answers >= 1, (injected, lost_answers)
    setup.genesys.faults = Faults()
    clean = setup.apply(full=True)  # a full comparison finds nothing left to do
    assert clean.writes == 0 and not clean.outcomes, clean.summary()
    assert_one_genesys_user_each(setup, ids + extra)
    assert_one_post_each(setup)
    assert len(setup.genesys.users(active=True)) == 30
    assert all(u["displayName"] == f"Renamed {i}" for i, u in enumerate(
        sorted((setup.linked()[x][0] for x in ids[:5]), key=lambda u: u["userName"])))
    counters = SyncState(setup.folder / "sync.db").counters()
    assert counters["retried"] > 0 and counters["successful"] > 0
    status = setup.run("sync", "status")
    assert "User Sync     30 / 30 synced" in status.output
    assert f"Retried {counters['retried']}" in status.output


def start_sync(setup: SyncSetup) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "idp", "--config", str(setup.config_path), "sync", "apply"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, text=True)


def test_killed_mid_run_and_restarted_converges_without_duplicates(setup: SyncSetup) -> None:
    setup.configure(sync="concurrency = 2")
    ids = [f"k{i:02}" for i in range(40)]
    for user_id in ids:
        setup.add(user_id, f"{user_id}@example.com")
    for nth in (12, 7):  # two kills, each while a create's answer is on its way back
        setup.genesys.hold = hold = Hold("POST", nth)
        process = start_sync(setup)
        try:
            assert hold.reached.wait(30), "the sync never got that far"
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
            hold.release.set()
        creating = [u for u in SyncState(setup.folder / "sync.db").users().values()
                    if u.status == "creating"]
        assert creating, "the killed create left no trace"
    setup.genesys.hold = None
    done = setup.cli("sync", "apply")
    assert done.returncode == 0, done.stdout + done.stderr
    assert_one_genesys_user_each(setup, ids)
    assert_one_post_each(setup)
    states = SyncState(setup.folder / "sync.db").users()
    assert {u.status for u in states.values()} == {SYNCED}
    assert setup.apply(full=True).writes == 0


def test_a_create_whose_answer_is_lost_is_looked_up_not_sent_again(setup: SyncSetup) -> None:
    setup.configure(sync="concurrency = 4")
    ids = [f"p{i:02}" for i in range(16)]
    for user_id in ids:
        setup.add(user_id, f"{user_id}@example.com")
    # Half of the creates are carried out and then their answer is dropped or turned into a
    # 500: sending one again would be a duplicate if Genesys Cloud did not refuse it.
    setup.genesys.faults = Faults(rate=0.5, kinds=("drop_after", "500_after"), only=("POST",))
    converge(setup)
    assert setup.genesys.count("POST", notes=("drop_after", "500_after")) >= 4
    assert_one_post_each(setup)
    assert_one_genesys_user_each(setup, ids)


def kill_while_creating(setup: SyncSetup, *args: str) -> None:
    """Start `sync apply ARGS` and SIGKILL it while the first create's answer is on its way."""
    setup.genesys.hold = hold = Hold("POST", 1)
    process = subprocess.Popen(
        [sys.executable, "-m", "idp", "--config", str(setup.config_path), "sync", "apply",
         *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        assert hold.reached.wait(30), "the sync never got that far"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        hold.release.set()
        setup.genesys.hold = None


def test_killed_create_then_email_and_id_case_change_makes_no_duplicate(
        setup: SyncSetup) -> None:
    setup.add("Carol", "carol@example.com", "Carol")
    kill_while_creating(setup)
    assert setup.genesys.by_user_name("carol@example.com") is not None  # it was carried out
    setup.directory.delete("Carol")  # CIC now spells the ID in lower case, with a new e-mail
    setup.add("carol", "carol.new@example.com", "Carol")
    converge(setup)
    users = setup.genesys.users()
    assert [u["userName"] for u in users] == ["carol.new@example.com"]
    assert {k: len(v) for k, v in setup.linked().items()} == {"carol": 1}
    assert_one_post_each(setup)
    state = SyncState(setup.folder / "sync.db").user("carol")
    assert state is not None and state.status == SYNCED and state.genesys_id == users[0]["id"]


def test_killed_create_of_a_user_then_deleted_in_cic_is_deactivated(setup: SyncSetup) -> None:
    setup.add("keep", "keep@example.com")
    kill_while_creating(setup)
    shown = setup.run("sync", "status", "keep").output
    assert "Not synced" in shown and "Message:" in shown, shown  # never without a reason
    setup.directory.delete("keep")
    setup.add("other", "other@example.com")
    setup.apply()
    keep = setup.genesys.by_user_name("keep@example.com")
    assert keep is not None and keep["active"] is False
    shown = setup.run("sync", "status", "keep").output
    assert "Deactivated" in shown and "no longer in CIC" in shown, shown
    requests = len(setup.genesys.requests)
    assert setup.apply().writes == 0  # done, and not looked at again
    assert len(setup.genesys.requests) == requests


def test_killed_create_of_a_user_never_created_leaves_no_row(setup: SyncSetup) -> None:
    setup.add("gone", "gone@example.com")
    setup.genesys.faults = Faults(rate=1.0, kinds=("drop",), only=("POST",))  # never arrives
    assert setup.apply().results()["error"] == 1
    setup.genesys.faults = Faults()
    assert SyncState(setup.folder / "sync.db").user("gone") is not None
    setup.directory.delete("gone")
    setup.add("other", "other@example.com")
    report = setup.apply()
    assert all(o.action.user_id != "gone" or o.result == "forgotten" for o in report.outcomes)
    assert SyncState(setup.folder / "sync.db").user("gone") is None
    assert "never seen" in setup.run("sync", "status", "gone").output
    assert setup.genesys.posts_per_user_name() == {"other@example.com": 1}


def test_restarted_create_does_not_sync_against_a_deleted_user(setup: SyncSetup) -> None:
    setup.add("dan", "dan@example.com")
    setup.add("eve", "eve@example.com")
    setup.apply()
    old = setup.genesys.by_user_name("dan@example.com")
    assert old is not None
    httpx.delete(f"{setup.genesys.backend}/Users/{old['id']}")  # deleted in Genesys Cloud
    kill_while_creating(setup, "--full")  # the full pass creates dan again, and dies
    setup.apply()
    new = setup.genesys.by_user_name("dan@example.com")
    assert new is not None and new["id"] != old["id"]
    state = SyncState(setup.folder / "sync.db").user("dan")
    assert state is not None and state.status == SYNCED and state.genesys_id == new["id"]
    setup.directory.delete("dan")
    setup.apply()
    gone = setup.genesys.by_user_name("dan@example.com")
    assert gone is not None and gone["active"] is False


def test_sync_run_stops_cleanly_on_sigterm(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com")
    with subprocess.Popen(
            [sys.executable, "-m", "idp", "--config", str(setup.config_path), "sync", "run",
             "--interval", "60"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=ROOT) as process:
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if "sync pass:" in line:
                    break
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert setup.genesys.by_user_name("alice@example.com") is not None
