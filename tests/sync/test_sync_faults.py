"""Nothing lost, nothing doubled: the sync through injected faults and a SIGKILL mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

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
    states = SyncState(setup.folder / "sync.db").users()
    assert {u.status for u in states.values()} == {SYNCED}
    assert setup.apply(full=True).writes == 0


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
