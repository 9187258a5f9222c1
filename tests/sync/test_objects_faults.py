"""Nothing lost, nothing doubled, for objects too: injected faults and a SIGKILL mid-run."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
from pathlib import Path

from idp.errors import GenesysError
from idp.sync.objects.store import ObjectStore
from idp.sync.state import SyncState
from tests.sync.conftest import ROOT, SyncSetup
from tests.sync.fake_genesys import Faults, Hold
from tests.sync.objects_helpers import codes_of, ids, members, object_writes, objects_setup, write

MAX_PASSES = 10


def objects(folder: Path, count: int) -> None:
    write(folder, "skills.csv", "skill,language",
          *(f"Skill {i},{'true' if i % 3 == 0 else 'false'}" for i in range(count)))
    write(folder, "wrapup_codes.csv", "wrapup_code", *(f"Code {i}" for i in range(count)))
    write(folder, "workgroups.csv", "workgroup,queue,members,skills,wrapup_codes",
          *(f"Team {i},true,u{i % 5};u{(i + 1) % 5},Skill {i}=50,Code {i};Code {(i + 1) % count}"
            for i in range(count)))


def converge(setup: SyncSetup) -> int:
    service = setup.service()
    try:
        for attempt in range(1, MAX_PASSES + 1):
            try:
                report = service.apply()
            except GenesysError:
                continue
            if report.outcome == "completed":
                return attempt
    finally:
        service.close()
    raise AssertionError(f"no convergence in {MAX_PASSES} passes")


def assert_created_once(setup: SyncSetup, count: int) -> None:
    """Every object's create reached Genesys Cloud once: not twice (the stand-in would refuse
    a second one of the name, which hides it from what it holds, not from this count), and
    the sync owns each (so it can still delete them)."""
    posts = collections.Counter(setup.genesys.platform.posted)
    doubled = {k: n for k, n in posts.items() if n != 1}
    assert not doubled, f"create sent more than once: {doubled}"
    assert sum(posts.values()) == 3 * count  # a queue, a skill or language, a code each
    state = SyncState(setup.folder / "sync.db")
    try:
        rows = ObjectStore(state).rows()
    finally:
        state.close()
    assert len(rows) == 3 * count and all(r.owned and r.genesys_id for r in rows), \
        [r for r in rows if not (r.owned and r.genesys_id)]


def assert_final(setup: SyncSetup, count: int) -> None:
    platform, user = setup.genesys.platform, ids(setup)
    assert len(platform.queues) == count
    for i in range(count):
        assert members(platform, f"Team {i}") == {user[f"u{i % 5}"], user[f"u{(i + 1) % 5}"]}
        assert codes_of(platform, f"Team {i}") == {f"Code {i}", f"Code {(i + 1) % count}"}
    assert len(platform.live(platform.skills)) + len(platform.live(platform.languages)) == count
    assert len(platform.live(platform.codes)) == count


def test_objects_converge_through_random_faults(setup: SyncSetup) -> None:
    folder = objects_setup(setup, "concurrency = 2\nmax_retries = 3")
    for i in range(5):
        setup.add(f"u{i}", f"u{i}@example.com")
    objects(folder, 12)
    # 30 % of requests: 429 (Retry-After 0), 500, a dropped connection, or carried out and
    # then the answer dropped or replaced by a 500. Seeded.
    setup.genesys.faults = Faults(rate=0.3, retry_after=0)
    converge(setup)
    assert setup.genesys.count(notes=("drop_after", "500_after")) >= 2
    setup.genesys.faults = Faults()
    assert_created_once(setup, 12)
    assert_final(setup, 12)
    writes = object_writes(setup)
    assert setup.apply(full=True).objects.writes == 0  # type: ignore[union-attr]
    assert object_writes(setup) == writes


def test_objects_killed_mid_run_converge_without_duplicates(setup: SyncSetup) -> None:
    folder = objects_setup(setup)
    for i in range(5):
        setup.add(f"u{i}", f"u{i}@example.com")
    objects(folder, 10)
    assert setup.apply().outcome == "completed"  # users and a first set of objects
    objects(folder, 20)  # ten more of everything
    # killed while a skill's create, then a wrap-up code's, then a queue's is answered
    for path, nth in (("/api/v2/routing/skills", 2), ("/api/v2/routing/wrapupcodes", 3),
                      ("/api/v2/routing/queues", 4)):
        setup.genesys.hold = hold = Hold("POST", nth, path)
        process = subprocess.Popen(
            [sys.executable, "-m", "idp", "--config", str(setup.config_path), "sync", "apply"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        try:
            assert hold.reached.wait(30), f"the sync never got to {path}"
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)
            hold.release.set()
        state = SyncState(setup.folder / "sync.db")
        assert any(r.status == "creating" for r in ObjectStore(state).rows()), path
        state.close()
    setup.genesys.hold = None
    done = setup.cli("sync", "apply")
    assert done.returncode == 0, done.stdout + done.stderr
    assert_created_once(setup, 20)
    assert_final(setup, 20)
    assert setup.apply(full=True).objects.writes == 0  # type: ignore[union-attr]
