"""The presence sync end to end: CIC statuses from the ICWS test server pair's messaging to
presences in the Genesys stand-in, through switchovers, lost sessions, late events and 429s."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from idp.sync.presence.service import PresenceSync
from tests.icws_messaging import status_message
from tests.icws_server import CicDirectory, IcwsPair, IcwsUser, running_pair, use_icws
from tests.sync.conftest import SyncSetup
from tests.sync.fake_genesys import Faults
from tests.sync.objects_helpers import ids
from tests.sync.test_presence_rules import SEED_TABLE

SERVICE = ("svc-sync", "service-secret-2")
AGENTS = [f"agent{i}" for i in range(len(SEED_TABLE))]


def until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Wait for the presence sync's threads to get there (a bound against hanging, not a
    speed check: the latency is measured by bench/presence_bench.py)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.02)


@dataclass
class Running:
    setup: SyncSetup
    cic: CicDirectory
    pair: IcwsPair
    sync: PresenceSync
    stop: threading.Event
    thread: threading.Thread
    genesys_id: dict[str, str]

    def presence(self, agent: str) -> str | None:
        platform = self.setup.genesys.platform
        source = next(iter(platform.sources), "purecloud")
        return platform.presence_of(self.genesys_id[agent], source)

    def writes(self, agent: str | None = None) -> int:
        log = self.setup.genesys.platform.presence_log
        return sum(1 for _, user, _, _ in list(log)
                   if agent is None or user == self.genesys_id[agent])


#: The presence of the statuses agents start from.
FIRST = {"Gone Home": "Away", "Available": "OnQueue"}


def cic_with_agents(start: dict[str, str] | None = None) -> CicDirectory:
    """The agents, each on "Gone Home" unless `start` (agent -> status id) says otherwise."""
    cic = CicDirectory()
    cic.add(IcwsUser(*SERVICE), *(IcwsUser(a, "pw", None, f"{a}@example.com") for a in AGENTS))
    for (status_id, text, group, acd, acw, dnd), _ in SEED_TABLE:
        cic.board.define(status_message(status_id, text, group, acd=acd, acw=acw, dnd=dnd))
    for agent in AGENTS:
        cic.board.set_status(agent, (start or {}).get(agent, "Gone Home"))
    return cic


@contextmanager
def presence_sync(setup: SyncSetup, key_dir: Path, delay: int = 20,
                  start: dict[str, str] | None = None, extra: str = "") -> Iterator[Running]:
    cic = cic_with_agents(start)
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        setup.configure(sync=f'source = "icws"\npresence = true\npresence_poll_ms = 50\n'
                             f'presence_batch_delay_ms = {delay}\n{extra}')
        use_icws(setup.config_path, pair, key_dir / "tls.crt", SERVICE, timeout=2,
                 failover_timeout=4)
        assert setup.apply().outcome == "completed"
        service = setup.service()
        sync = service.presence()
        stop = threading.Event()
        thread = threading.Thread(target=sync.run, args=(stop,), daemon=True)
        thread.start()
        running = Running(setup, cic, pair, sync, stop, thread, ids(setup))
        first = {a: FIRST[(start or {}).get(a, "Gone Home")] for a in AGENTS}
        try:
            until(lambda: all(running.presence(a) == first[a] for a in AGENTS),
                  "every agent's first presence")
            yield running
        finally:
            stop.set()
            thread.join(10)
            service.close()


def test_every_row_of_the_seed_table_reaches_genesys(setup: SyncSetup, key_dir: Path) -> None:
    # Each agent starts on a status of another presence, so each row's presence is the work
    # of an event, not where the agent was already.
    start = {agent: "Gone Home" if presence == "OnQueue" else "Available"
             for agent, (_, (presence, _)) in zip(AGENTS, SEED_TABLE, strict=True)}
    with presence_sync(setup, key_dir, start=start) as run:
        platform = setup.genesys.platform
        source = platform.sources[next(iter(platform.sources))]
        assert source["name"] == "cic-sts"  # a registered source, made primary
        for agent, ((status_id, *_), _) in zip(AGENTS, SEED_TABLE, strict=True):
            run.cic.board.set_status(agent, status_id)
        def shows(agent: str, presence: str, out_of_office: bool) -> bool:
            return run.presence(agent) == presence and platform.out_of_office.get(
                run.genesys_id[agent], False) == out_of_office

        for agent, (_, (presence, out_of_office)) in zip(AGENTS, SEED_TABLE, strict=True):
            until(lambda a=agent, p=presence, o=out_of_office: shows(a, p, o),  # type: ignore[misc]
                  f"{agent} {presence}{' out of office' if out_of_office else ''}")
        for agent, (_, (presence, out_of_office)) in zip(AGENTS, SEED_TABLE, strict=True):
            assert shows(agent, presence, out_of_office), agent  # none went back meanwhile
        assert all(p["primary"] for p in platform.presences.values())
        # Back from vacation: the out-of-office flag the sync set is cleared.
        vacation = AGENTS[[row[0][0] for row in SEED_TABLE].index("On Vacation")]
        run.cic.board.set_status(vacation, "Available")
        until(lambda: run.presence(vacation) == "OnQueue", "back on queue")
        until(lambda: platform.out_of_office[run.genesys_id[vacation]] is False, "OOO cleared")
        status = setup.run("sync", "status")
        assert "Presence" in status.output and "users" in status.output, status.output


def test_late_and_repeated_events_do_not_take_a_presence_back(setup: SyncSetup,
                                                              key_dir: Path) -> None:
    with presence_sync(setup, key_dir) as run:
        agent = AGENTS[0]
        now = datetime.now(UTC)
        run.cic.board.set_status(agent, "At Lunch", now)
        until(lambda: run.presence(agent) == "Meal", "Meal")
        writes = run.writes(agent)
        run.cic.board.deliver(agent, "Available", now - timedelta(seconds=30))  # late
        run.cic.board.deliver(agent, "At Lunch", now)  # repeated
        run.cic.board.set_status(AGENTS[1], "Meeting")  # something after them, to wait for
        until(lambda: run.presence(AGENTS[1]) == "Meeting", "Meeting")
        assert run.presence(agent) == "Meal" and run.writes(agent) == writes
        assert run.sync.tracker.counts.stale >= 1 and run.sync.tracker.counts.repeated >= 1


def test_a_switchover_during_a_stream_of_changes_loses_nothing(setup: SyncSetup,
                                                               key_dir: Path) -> None:
    with presence_sync(setup, key_dir) as run:
        statuses = ["Available", "At Lunch", "Meeting", "Gone Home"]
        stream_done = threading.Event()

        def stream() -> None:
            for i in range(60):
                run.cic.board.set_status(AGENTS[i % len(AGENTS)], statuses[i % 4])
                time.sleep(0.01)
            stream_done.set()

        streamer = threading.Thread(target=stream)
        streamer.start()
        time.sleep(0.2)
        run.pair.primary.stop()  # the primary goes down: its sessions with it
        run.pair.primary.drop_sessions()
        run.pair.switchover()
        streamer.join()
        expected = {a: run.cic.board.statuses[a]["statusId"] for a in AGENTS}
        target = {"Available": "OnQueue", "At Lunch": "Meal", "Meeting": "Meeting",
                  "Gone Home": "Away"}
        until(lambda: all(run.presence(a) == target[s] for a, s in expected.items()),
              "every agent's newest status after the switchover", timeout=30)
        assert run.sync.listener.sessions >= 2  # subscribed again, on the other server
        assert run.pair.backup.requests("PUT", r"/icws/\d+/messaging/subscriptions/status/"
                                               r"user-statuses")


def test_a_lost_session_is_opened_and_subscribed_again(setup: SyncSetup,
                                                       key_dir: Path) -> None:
    with presence_sync(setup, key_dir) as run:
        run.pair.primary.drop_sessions()  # CIC forgot every session: requests get 401
        run.cic.board.set_status(AGENTS[2], "Meeting")  # while nobody is subscribed
        until(lambda: run.presence(AGENTS[2]) == "Meeting", "resynced after the lost session")
        assert run.sync.listener.sessions == 2


def test_429s_hold_back_and_lose_nothing(setup: SyncSetup, key_dir: Path) -> None:
    with presence_sync(setup, key_dir) as run:
        setup.genesys.faults = Faults(rate=0.5, kinds=("429", "500"), retry_after=0,
                                      only=("PUT",))
        for agent in AGENTS:
            run.cic.board.set_status(agent, "Available")
        until(lambda: all(run.presence(a) == "OnQueue" for a in AGENTS), "all on queue")
        assert setup.genesys.count("PUT", notes=("fault-429",)) >= 1


def test_a_burst_is_written_in_batches(setup: SyncSetup, key_dir: Path) -> None:
    with presence_sync(setup, key_dir, delay=300) as run:
        puts = setup.genesys.count("PUT")
        for agent in AGENTS:
            run.cic.board.set_status(agent, "Available")
            run.cic.board.set_status(agent, "Meeting")  # and again, before it is written
        until(lambda: all(run.presence(a) == "Meeting" for a in AGENTS), "all in meetings")
        assert setup.genesys.count("PUT") - puts <= 3  # 40 changes in a few requests
        assert run.writes() == 2 * len(AGENTS)  # the first presences, then one each


def test_a_restart_writes_only_what_changed(setup: SyncSetup, key_dir: Path) -> None:
    with presence_sync(setup, key_dir) as run:
        run.cic.board.set_status(AGENTS[0], "Meeting")
        until(lambda: run.presence(AGENTS[0]) == "Meeting", "Meeting")
        run.stop.set()
        run.thread.join(10)
        writes = run.writes()
        run.cic.board.set_status(AGENTS[1], "At Lunch")  # while no presence sync runs
        service = setup.service()
        again = service.presence()
        stop = threading.Event()
        thread = threading.Thread(target=again.run, args=(stop,), daemon=True)
        thread.start()
        try:
            until(lambda: run.presence(AGENTS[1]) == "Meal", "the change made meanwhile")
            time.sleep(0.3)
            log = setup.genesys.platform.presence_log
            assert run.writes() == writes + 1, log[writes:]  # nobody else written again
        finally:
            stop.set()
            thread.join(10)
            service.close()


@pytest.mark.parametrize("source", ["purecloud"])
def test_presences_under_genesys_clouds_own_source(setup: SyncSetup, key_dir: Path,
                                                   source: str) -> None:
    cic = cic_with_agents()
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        setup.configure(sync=f'source = "icws"\npresence = true\npresence_poll_ms = 50\n'
                             f'presence_source = "{source}"')
        use_icws(setup.config_path, pair, key_dir / "tls.crt", SERVICE, timeout=2)
        setup.apply()
        user = ids(setup)
        service = setup.service()
        stop = threading.Event()
        thread = threading.Thread(target=service.presence().run, args=(stop,), daemon=True)
        thread.start()
        platform = setup.genesys.platform
        try:
            until(lambda: all(platform.presence_of(user[a], "purecloud") == "Away"
                              for a in AGENTS), "Away under purecloud")
            assert not platform.sources  # nothing registered
            assert setup.genesys.count("PATCH") >= len(AGENTS)  # one request each
        finally:
            stop.set()
            thread.join(10)
            service.close()


def test_sync_run_runs_the_presence_sync_beside_its_passes(setup: SyncSetup,
                                                           key_dir: Path) -> None:
    cic = cic_with_agents()
    cic.board.set_status(AGENTS[0], "Meeting")
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        setup.configure(sync='source = "icws"\npresence = true\npresence_poll_ms = 50')
        use_icws(setup.config_path, pair, key_dir / "tls.crt", SERVICE, timeout=2)
        # one process, one Genesys request layer: users, objects and presences share its pace
        service = setup.service()
        assert service.presence().writer.client.api is service.client().api
        service.close()
        done = setup.cli("sync", "run", "--interval", "1", "--passes", "3")
        assert done.returncode == 0, done.stdout + done.stderr
        user = ids(setup)
        assert set(user) == set(AGENTS)  # the passes synced the users...
        platform = setup.genesys.platform
        source = next(iter(platform.sources))
        assert platform.presence_of(user[AGENTS[0]], source) == "Meeting"  # ...and presences
        assert platform.presence_of(user[AGENTS[1]], source) == "Away"
        status = setup.run("sync", "status", "--json")
        assert '"presence"' in status.output and '"subscribed": 20' in status.output


def test_sync_presence_needs_it_turned_on(setup: SyncSetup) -> None:
    result = setup.run("sync", "presence")
    assert result.exit_code == 2 and "sync.presence" in result.output


def test_sync_presence_killed_mid_stream_converges_when_restarted(setup: SyncSetup,
                                                                  key_dir: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.sync.conftest import ROOT

    cic = cic_with_agents()
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        setup.configure(sync='source = "icws"\npresence = true\npresence_poll_ms = 50\n'
                             'presence_batch_delay_ms = 0\npresence_batch_size = 3')
        use_icws(setup.config_path, pair, key_dir / "tls.crt", SERVICE, timeout=2)
        setup.apply()
        user = ids(setup)
        platform = setup.genesys.platform

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                [sys.executable, "-m", "idp", "--config", str(setup.config_path), "sync",
                 "presence"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)

        def presence(agent: str) -> str | None:
            return platform.presence_of(user[agent], next(iter(platform.sources), ""))

        process = start()
        try:
            until(lambda: all(presence(a) == "Away" for a in AGENTS), "first presences", 30)
            for agent in AGENTS:
                cic.board.set_status(agent, "Meeting")
            until(lambda: any(presence(a) == "Meeting" for a in AGENTS), "some written")
        finally:
            os.kill(process.pid, signal.SIGKILL)  # with writes in flight, mid-stream
            process.wait(10)
        for agent in AGENTS[:5]:
            cic.board.set_status(agent, "At Lunch")  # while nothing runs
        process = start()
        try:
            until(lambda: all(presence(a) == ("Meal" if a in AGENTS[:5] else "Meeting")
                              for a in AGENTS), "every newest status after the restart", 30)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(15) == 0
