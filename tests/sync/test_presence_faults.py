"""The presence sync when something goes wrong: a refused out-of-office flag, a user unlinked
mid-write, a pass whose credentials are refused, a restart, a refused subscription, a server
whose clock is behind, an agent who logs off."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from idp.errors import GenesysAuthError
from idp.sync.presence.runner import PresenceRunner
from tests.icws_server import running_pair, use_icws
from tests.sync.conftest import SyncSetup
from tests.sync.fake_platform import Answer
from tests.sync.test_presence_e2e import AGENTS, SERVICE, cic_with_agents, presence_sync, until

OOO = r"/api/v2/users/[^/]+/outofoffice"


def flag_puts(setup: SyncSetup) -> int:
    """PUT .../outofoffice requests that reached the Genesys layer."""
    with setup.genesys._lock:
        return sum(1 for _, m, p, _, _ in setup.genesys.requests
                   if m == "PUT" and p.endswith("/outofoffice"))


def test_a_refused_out_of_office_flag_holds_no_presence_back(setup: SyncSetup,
                                                            key_dir: Path) -> None:
    vacation, meeting, lunch = AGENTS[:3]
    with presence_sync(setup, key_dir, delay=300, start={vacation: "Available"},
                       extra="presence_batch_size = 2") as run:
        platform = setup.genesys.platform
        real = platform.handle

        def no_flags(method: str, path: str, query: str, body: bytes) -> Answer:
            if path.endswith("/outofoffice"):
                return 403, {"message": "missing permission", "code": "missing.permissions"}
            return real(method, path, query, body)

        platform.handle = no_flags  # type: ignore[method-assign]
        run.sync.out_of_office.pauses = (0.5, 1.0)
        run.cic.board.set_status(vacation, "On Vacation")
        run.cic.board.set_status(meeting, "Meeting")
        time.sleep(0.5)
        run.cic.board.set_status(lunch, "At Lunch")  # a later change, in the next batch
        until(lambda: run.presence(vacation) == "Away" and run.presence(meeting) == "Meeting"
              and run.presence(lunch) == "Meal", "every presence, flag or not")
        started, puts = time.monotonic(), flag_puts(setup)
        until(lambda: "403" in run.sync.out_of_office.error, "the refusal reported")
        time.sleep(2)
        assert run.writes(meeting) == 2 and run.writes(vacation) == 2  # written once each
        # a refusal of every flag is tried again with one request per pause, not per change
        assert flag_puts(setup) - puts <= 2 + (time.monotonic() - started) / 0.5
        run.sync._health(force=True)
        status = setup.run("sync", "status")
        assert status.exit_code >= 1, status.output  # WARNING, or CRITICAL: the API's 403
        assert "Out of office Failure: 1 out-of-office flags wait" in status.output
        assert "sync.presence_out_of_office = false" in status.output
        platform.handle = real  # type: ignore[method-assign]  # the permission is granted
        until(lambda: platform.out_of_office.get(run.genesys_id[vacation]) is True,
              "the flag set once it may be")
        until(lambda: run.sync.out_of_office.error == "", "the error cleared")


def test_without_out_of_office_no_flag_is_written(setup: SyncSetup, key_dir: Path) -> None:
    with presence_sync(setup, key_dir, start={AGENTS[0]: "Available"},
                       extra="presence_out_of_office = false") as run:
        run.cic.board.set_status(AGENTS[0], "On Vacation")
        until(lambda: run.presence(AGENTS[0]) == "Away", "Away")
        time.sleep(0.3)
        assert flag_puts(setup) == 0 and not setup.genesys.platform.out_of_office


def test_a_user_unlinked_while_its_presence_is_written(setup: SyncSetup, key_dir: Path) -> None:
    with presence_sync(setup, key_dir) as run:
        sync, victim = run.sync, AGENTS[3]
        real = sync.writer.write

        def write(writes: list[Any]) -> Any:
            result = real(writes)
            if any(w.genesys_id == run.genesys_id[victim] for w in writes):
                # what the user pass and the listener's refresh do meanwhile, in other threads
                state = setup.service().state
                state.deactivated(victim, "left CIC", None, None, still_in_cic=False, email="x")
                sync._users()
            return result

        sync.writer.write = write  # type: ignore[method-assign]
        run.cic.board.set_status(victim, "Meeting")
        until(lambda: run.presence(victim) == "Meeting", "the victim's presence")
        run.cic.board.set_status(AGENTS[4], "At Lunch")  # and the writer still writes
        until(lambda: run.presence(AGENTS[4]) == "Meal", "a presence after it")
        assert run.thread.is_alive()


def test_a_pass_whose_credentials_are_refused_leaves_presences_running(
        setup: SyncSetup, key_dir: Path) -> None:
    cic = cic_with_agents()
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        setup.configure(sync='source = "icws"\npresence = true\npresence_poll_ms = 50')
        use_icws(setup.config_path, pair, key_dir / "tls.crt", SERVICE, timeout=2)
        assert setup.apply().outcome == "completed"
        service = setup.service()
        stop = threading.Event()
        presence = service.presence()
        runner = PresenceRunner(presence, service.presence, stop, service.state.add_event)
        thread = runner.start()
        platform = setup.genesys.platform
        try:
            until(lambda: len(platform.presences) == len(AGENTS), "first presences", 30)
            setup.genesys.client_secret = "rotated"  # the secret changed in Genesys Cloud
            setup.genesys.revoke_tokens()
            with pytest.raises(GenesysAuthError):
                service.apply(full=True)  # a pass of `sync run` meets the refusal
            (setup.folder / "client.secret").write_text("rotated\n")  # and the file follows
            cic.board.set_status(AGENTS[0], "Meeting")
            user = next(u for u in setup.genesys.users() if u["userName"].startswith(AGENTS[0]))
            until(lambda: platform.presence_of(user["id"], next(iter(platform.sources)))
                  == "Meeting", "a presence after the refusal", 30)
            assert thread.is_alive() and runner.restarts == 0 and runner.current is presence
            # one request layer still: the passes' rate limit is the presences'
            assert presence.writer.client.api is service.client().api
            assert service.apply().outcome == "completed"
        finally:
            stop.set()
            thread.join(10)
            service.close()


def test_a_flag_set_before_a_restart_is_cleared_under_genesys_clouds_source(
        setup: SyncSetup, key_dir: Path) -> None:
    agent = AGENTS[0]
    with presence_sync(setup, key_dir, start={agent: "Available"},
                       extra='presence_source = "purecloud"') as run:
        run.cic.board.set_status(agent, "On Vacation")
        until(lambda: setup.genesys.platform.out_of_office.get(run.genesys_id[agent]) is True,
              "out of office")
        run.stop.set()
        run.thread.join(10)
        service = setup.service()  # restarted: nothing in memory
        again = service.presence()
        stop = threading.Event()
        thread = threading.Thread(target=again.run, args=(stop,), daemon=True)
        thread.start()
        try:
            run.cic.board.set_status(agent, "Available")  # back from vacation
            until(lambda: run.presence(agent) == "OnQueue", "on queue")
            until(lambda: setup.genesys.platform.out_of_office[run.genesys_id[agent]] is False,
                  "the flag the sync set, cleared")
        finally:
            stop.set()
            thread.join(10)
            service.close()


def test_a_subscription_cic_refuses_stops_presences_naming_the_setting(
        setup: SyncSetup, key_dir: Path) -> None:
    cic = cic_with_agents()
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        setup.configure(sync='source = "icws"\npresence = true\npresence_poll_ms = 50')
        use_icws(setup.config_path, pair, key_dir / "tls.crt", SERVICE, timeout=2)
        with setup.config_path.open("a") as config:  # [icws] is the last table
            config.write('user_status_properties = ["statusId", "statusChangedTime"]\n')
        assert setup.apply().outcome == "completed"
        alone = setup.cli("sync", "presence", timeout=30)
        assert alone.returncode == 2, alone.stdout + alone.stderr
        assert "refused the subscription" in alone.stderr
        assert "icws.user_status_properties" in alone.stderr
        subscriptions = r"/icws/\d+/messaging/subscriptions/status/user-statuses"
        assert len(pair.primary.requests("PUT", subscriptions)) == 1  # not retried
        status = setup.run("sync", "status")
        assert "Presence      Failure: CIC" in status.output, status.output
        # Beside the passes of `sync run`, it stops the same way; the passes go on.
        done = setup.cli("sync", "run", "--interval", "1", "--passes", "2", timeout=60)
        assert done.returncode == 0, done.stderr
        assert "presence sync stopped" in done.stderr and "sync pass:" in done.stderr
        assert len(pair.primary.requests("PUT", subscriptions)) == 2


def test_the_whole_picture_from_a_server_whose_clock_is_behind_is_taken(
        setup: SyncSetup, key_dir: Path) -> None:
    agent = AGENTS[1]
    now = datetime.now(UTC)
    with presence_sync(setup, key_dir) as run:
        run.cic.board.set_status(agent, "At Lunch", now + timedelta(seconds=60))  # a clock ahead
        until(lambda: run.presence(agent) == "Meal", "Meal")
        run.pair.primary.drop_sessions()  # CIC restarted, its clock now right
        run.cic.board.set_status(agent, "Meeting", now)  # while nobody is subscribed
        until(lambda: run.presence(agent) == "Meeting", "the newest status, from the picture")
        assert run.sync.listener.sessions == 2


def test_an_agent_who_logs_off_is_offline_not_on_queue(setup: SyncSetup, key_dir: Path) -> None:
    on_queue, vacation = AGENTS[:2]
    with presence_sync(setup, key_dir, start={on_queue: "Available"}) as run:
        run.cic.board.set_status(on_queue, "Available", logged_in=False)
        run.cic.board.set_status(vacation, "On Vacation", logged_in=False)
        until(lambda: run.presence(on_queue) == "Offline", "offline")
        until(lambda: setup.genesys.platform.out_of_office.get(run.genesys_id[vacation])
              is True, "a vacation keeps its flag, logged off or not")
        run.cic.board.set_status(on_queue, "Available", logged_in=True)
        until(lambda: run.presence(on_queue) == "OnQueue", "back on queue")
