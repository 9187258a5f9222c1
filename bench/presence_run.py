"""The presence benchmark's second case: `cic-sts sync run`, presences beside user and object
passes, on one Genesys Cloud client and its 300 requests a minute.

`prepare` makes what a running installation has: the agents synced as Genesys Cloud users by a
`sync apply` (the SCIM server of the tests, scim2-server, behind the Genesys stand-in; the rate
limit out of the way for that setup pass only), in `TEAMS` workgroups with queues whose members
they are. `Churn` then keeps the passes busy while presences are measured: every `interval`
seconds it renames `renames` agents in CIC (a SCIM PATCH each in the next user pass) and moves
`moves` agents to another workgroup (queue members removed and added in the next object pass).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.genesys import genesys_section
from idp.sync.state import SyncState
from tests.icws_objects import IcwsWorkgroup
from tests.icws_server import CicDirectory, IcwsPair, IcwsUser
from tests.sync.fake_genesys import FakeGenesys

ROOT = Path(__file__).resolve().parent.parent
TEAMS = 50


def team(index: int) -> str:
    return f"Team {index % TEAMS:02}"


def write_config(folder: Path, genesys: FakeGenesys, pair: IcwsPair, service: tuple[str, str],
                 *, rate: int, presence: bool, interval: int = 10, objects: bool = True) -> Path:
    """The configuration of either case (`objects`: with the object sync)."""
    (folder / "icws.secret").write_text(service[1])
    path = folder / "cic-sts.toml"
    path.write_text(f"""
[server]
machine_names = ["localhost"]
{genesys_section(folder, genesys)}
[icws]
servers = {json.dumps(pair.addresses)}
scheme = "http"
allow_plain_http = true
service_user = "{service[0]}"
service_password = {{ file = "icws.secret" }}

[sync]
state_database = "sync.db"
source = "icws"
rate_per_minute = {rate}
concurrency = {8 if rate > 300 else 4}
platform_objects = {str(objects).lower()}
max_deactivations = 10
presence = {str(presence).lower()}
interval = {interval}
full_interval = 0
""")
    return path


def agents_in_teams(cic: CicDirectory, agents: list[str]) -> None:
    cic.objects.add(*(IcwsWorkgroup(team(j)) for j in range(TEAMS)))
    for i, agent in enumerate(agents):
        user = cic.get(agent)
        assert user is not None
        user.display_name = f"Agent {i}"
        user.workgroups = [team(i)]


def prepare(folder: Path, genesys: FakeGenesys, pair: IcwsPair,
            service: tuple[str, str]) -> tuple[dict[str, str], float]:
    """Every agent a Genesys Cloud user in its queue: (agent -> Genesys id, seconds taken)."""
    config = write_config(folder, genesys, pair, service, rate=1_000_000, presence=False)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "idp", "--config", str(config), "sync",
                           "apply"], capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"the setup pass failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    state = SyncState(folder / "sync.db")
    try:
        ids = {s.user_id: s.genesys_id for s in state.users().values() if s.genesys_id}
    finally:
        state.close()
    return ids, time.monotonic() - started


@dataclass
class Churn:
    """CIC changes for the passes to carry, every `interval` seconds until stopped."""

    cic: CicDirectory
    agents: list[str]
    interval: float = 10.0
    renames: int = 10
    moves: int = 5

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="churn", daemon=True)
        self._rng = random.Random(11)
        self.rounds = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for agent in self._rng.sample(self.agents, self.renames):
                user: IcwsUser | None = self.cic.get(agent)
                if user is not None:
                    user.display_name = f"{agent} round {self.rounds}"
            for agent in self._rng.sample(self.agents, self.moves):
                user = self.cic.get(agent)
                if user is not None:
                    user.workgroups = [team(self._rng.randrange(TEAMS))]
            self.rounds += 1


def kinds(genesys: FakeGenesys, since: float) -> dict[str, int]:
    """Requests carried out since `since`, by what sent them."""
    found = {"presence": 0, "users": 0, "objects": 0, "other": 0}
    for when, _, path, status, _ in list(genesys.requests):
        if when < since or status == 429:
            continue
        kind = ("presence" if "/presence" in path else "users" if "/scim/" in path
                else "objects" if "/routing/" in path else "other")
        found[kind] += 1
    return found
