"""Benchmark of the presence sync: CIC agent statuses to Genesys Cloud presences at 300/min.

    .venv/bin/python bench/presence_bench.py [--mode both|presence|run] [--agents 5000]
        [--burst-seconds 60] [--steady-seconds 60] [--rate 5] [--interval 10]

Two cases, one after the other in one run, their figures side by side:

- ``presence``: `cic-sts sync presence` alone, as a service of its own would run it (a child
  process), with `--agents` users linked in the state database (the stand-in knows them);
- ``run``: `cic-sts sync run --interval N`, presences beside the user and object passes, in one
  process on one Genesys Cloud client, so they share its 300 requests a minute. The agents are
  first synced as users in 50 queues by a `sync apply` (bench/presence_run.py, the rate limit out
  of the way for that setup only); while presences are measured, CIC keeps changing under the
  passes (10 agents renamed and 5 moved to another workgroup every interval: user PATCHes and
  queue member changes).

Both run against the ICWS test server pair (its messaging: subscriptions, the short poll) and
the Genesys stand-in enforcing 300 requests per rolling minute per token; everything on loopback,
in real time, stopping by itself. Measured, from the bench's own clock (the servers run in this
process):

1. start: every agent's first presence written (the resync of a new subscription);
2. shift start: every agent changes status once within `--burst-seconds` (a fifth of them twice,
   a second apart): how long after the burst's end every presence is the agent's newest status
   (target: within 60 s), and write requests per status change (target: well below 1);
3. steady stream: `--rate` changes a second for `--steady-seconds`: latency from the CIC
   event to the Genesys write of that presence, p50 and p99 (target: p99 <= 2 s);
4. 429 answers provoked by the rate limit (target: none); in the ``run`` case, the requests a
   minute of each kind during the steady stream.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import presence_run  # noqa: E402
from bench.presence_run import Churn  # noqa: E402
from idp.sync.state import SyncState  # noqa: E402
from tests.icws_messaging import status_message  # noqa: E402
from tests.icws_server import CicDirectory, IcwsUser, running_pair  # noqa: E402
from tests.sync.fake_genesys import FakeGenesys, ScimBackend  # noqa: E402

SERVICE = ("svc-presence", "bench-secret")
#: (status id, message, group, allows ACD, Do Not Disturb) -> the presence it maps to
STATUSES = {"Available": ("Available", "AVAILABLE", True, False, "OnQueue"),
            "At Lunch": ("At Lunch", "", False, False, "Meal"),
            "In a Meeting": ("In a Meeting", "", False, False, "Meeting"),
            "Gone Home": ("Gone Home", "UNAVAILABLE", False, True, "Away")}
BULK = "/api/v2/users/presences/bulk"


def link_agents(database: Path, agents: list[str]) -> dict[str, str]:
    """The state the user sync would have left: every agent linked (agent -> Genesys id)."""
    state = SyncState(database)
    ids = {}
    for agent in agents:
        ids[agent] = uuid.uuid4().hex
        state.synced(agent, f"{agent}@example.com", ids[agent], 'W/"1"', {"active": True}, "x")
    state.close()
    return ids


def until(condition: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until `condition` held, or None if it did not within `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            return None
        time.sleep(0.05)
    return time.monotonic() - started


class Bench:
    def __init__(self, genesys: FakeGenesys, cic: CicDirectory, ids: dict[str, str]) -> None:
        self.genesys, self.cic, self.ids = genesys, cic, ids
        self.newest: dict[str, str] = {}  # agent -> newest status id
        self.events: list[tuple[float, str, str]] = []  # (when, agent, status id)

    def set(self, agent: str, status: str) -> None:
        self.events.append((time.monotonic(), agent, status))
        self.newest[agent] = status
        self.cic.board.set_status(agent, status)

    def correct(self) -> bool:
        platform = self.genesys.platform
        source = next(iter(platform.sources), None)
        if source is None:
            return False
        with platform.lock:
            return all(platform.presence_of(self.ids[a], source) == STATUSES[s][4]
                       for a, s in self.newest.items())

    def bulk_requests(self, since: float) -> int:
        return sum(1 for t, m, p, s, _ in list(self.genesys.requests)
                   if t >= since and p == BULK and m == "PUT" and s == 200)

    def latencies(self, events: list[tuple[float, str, str]]) -> tuple[list[float], int]:
        """Seconds from each event to the write of its presence; how many were superseded
        (a newer change of the agent was written instead) or never written."""
        definition = {d["systemPresence"]: d["id"] for d in self.genesys.platform.definitions}
        by_user: dict[str, list[tuple[float, str]]] = {}
        for when, user, chosen, _ in list(self.genesys.platform.presence_log):
            by_user.setdefault(user, []).append((when, chosen))
        found, missed = [], 0
        for when, agent, status in events:
            wanted = definition[STATUSES[status][4]]
            write = next((t for t, d in by_user.get(self.ids[agent], []) if t >= when
                          and d == wanted), None)
            if write is None:
                missed += 1
            else:
                found.append(write - when)
        return found, missed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def start(config: Path, folder: Path, command: list[str]) -> subprocess.Popen[bytes]:
    log = (folder / "sync.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "idp", "--config", str(config), *command],
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def setup_cic(agents: list[str]) -> CicDirectory:
    cic = CicDirectory()
    cic.add(IcwsUser(*SERVICE), *(IcwsUser(a, None, None, f"{a}@example.com") for a in agents))
    cic.board.define(*(status_message(s, text, group, acd=acd, dnd=dnd)
                       for s, (text, group, acd, dnd, _) in STATUSES.items()))
    for agent in agents:
        cic.board.set_status(agent, "Gone Home")
    return cic


def run(args: argparse.Namespace, folder: Path, mode: str) -> dict[str, Any]:
    agents = [f"agent{i:05}" for i in range(args.agents)]
    cic = setup_cic(agents)
    backend = ScimBackend(folder / "scim2-server.log") if mode == "run" else None
    genesys = FakeGenesys(backend.tenant() if backend else "http://127.0.0.1:9/unused",
                          rate_per_minute=None if backend else 300)
    results: dict[str, Any] = {"agents": args.agents, "mode": mode}
    churn: Churn | None = None
    try:
        with running_pair(cic, hosts=("127.0.0.2", "127.0.0.3")) as pair:
            if mode == "run":
                presence_run.agents_in_teams(cic, agents)
                ids, seconds = presence_run.prepare(folder, genesys, pair, SERVICE)
                results["setup"] = {"seconds": round(seconds, 1), "users": len(ids)}
                print(json.dumps({"phase": "setup", **results["setup"]}), flush=True)
                genesys.rate_per_minute = 300  # from now on, Genesys Cloud's limit
                config = presence_run.write_config(folder, genesys, pair, SERVICE, rate=300,
                                                   presence=True, interval=args.interval)
                command = ["sync", "run", "--interval", str(args.interval)]
                churn = Churn(cic, agents, interval=args.interval)
            else:
                ids = link_agents(folder / "sync.db", agents)
                genesys.platform.user_exists = set(ids.values()).__contains__
                config = presence_run.write_config(folder, genesys, pair, SERVICE, rate=300,
                                                   presence=True, objects=False)
                command = ["sync", "presence"]
            process = start(config, folder, command)
            try:
                measure(Bench(genesys, cic, ids), args, agents, results, churn)
            finally:
                if churn is not None:
                    churn.stop()
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
    finally:
        genesys.stop()
        if backend is not None:
            backend.stop()
    return results


def measure(bench: Bench, args: argparse.Namespace, agents: list[str], results: dict[str, Any],
            churn: Churn | None) -> None:
    rng = random.Random(7)
    genesys = bench.genesys
    bench.newest = dict.fromkeys(agents, "Gone Home")
    started = time.monotonic()
    first = until(bench.correct, timeout=args.agents / 10 + 60)
    results["start"] = {"seconds": None if first is None else round(first, 1),
                        "bulk_requests": bench.bulk_requests(started)}
    print(json.dumps({"phase": "start", **results["start"]}), flush=True)
    if churn is not None:
        churn.start()  # the passes have work from now on

    # Shift start: everyone once within the burst, a fifth of them twice.
    plan = sorted([(rng.uniform(0, args.burst_seconds), a, "Available") for a in agents] +
                  [(rng.uniform(0, args.burst_seconds - 1) + 1, a, "At Lunch")
                   for a in rng.sample(agents, len(agents) // 5)])
    burst_start = time.monotonic()
    for offset, agent, status in plan:
        time.sleep(max(0.0, burst_start + offset - time.monotonic()))
        bench.set(agent, status)
    burst_end = time.monotonic()
    settled = until(bench.correct, timeout=120)
    results["burst"] = {
        "changes": len(plan), "seconds": round(burst_end - burst_start, 1),
        "all_correct_after_end_s": None if settled is None else round(settled, 1),
        "bulk_requests": bench.bulk_requests(burst_start)}
    results["burst"]["requests_per_change"] = round(
        results["burst"]["bulk_requests"] / len(plan), 3)
    print(json.dumps({"phase": "burst", **results["burst"]}), flush=True)

    # Steady stream.
    steady_start = time.monotonic()
    first_event = len(bench.events)
    count = int(args.steady_seconds * args.rate)
    choices = list(STATUSES)
    for i in range(count):
        time.sleep(max(0.0, steady_start + i / args.rate - time.monotonic()))
        agent = rng.choice(agents)
        bench.set(agent, rng.choice([s for s in choices if s != bench.newest[agent]]))
    steady_end = time.monotonic()
    until(bench.correct, timeout=30)
    time.sleep(0.5)
    steady = bench.events[first_event:]
    latency, missed = bench.latencies(steady)
    results["steady"] = {
        "changes": len(steady), "p50_s": round(percentile(latency, 0.5), 3),
        "p99_s": round(percentile(latency, 0.99), 3),
        "max_s": round(max(latency), 3) if latency else None,
        "not_written_or_superseded": missed,
        "bulk_requests": bench.bulk_requests(steady_start)}
    results["steady"]["requests_per_change"] = round(
        results["steady"]["bulk_requests"] / max(1, len(steady)), 3)
    if churn is not None:
        minutes = (steady_end - steady_start) / 60
        results["steady"]["per_minute"] = {
            k: round(v / minutes) for k, v in presence_run.kinds(genesys, steady_start).items()}
        results["steady"]["churn_rounds"] = churn.rounds
    print(json.dumps({"phase": "steady", **results["steady"]}), flush=True)
    results["rate_limited_429"] = genesys.rate_limited


def report(runs: list[dict[str, Any]], rate: float) -> None:
    """One table, a column per case, then the targets checked."""
    def cell(result: dict[str, Any], row: str) -> str:
        start, burst, steady = result["start"], result["burst"], result["steady"]
        return {
            "start": f"{start['seconds']} s, {start['bulk_requests']} requests",
            "settled": f"{burst['all_correct_after_end_s']} s ({burst['changes']} changes in "
                       f"{burst['seconds']} s)",
            "burst_rpc": str(burst["requests_per_change"]),
            "latency": f"{steady['p50_s']} / {steady['p99_s']} ({steady['max_s']}) s",
            "steady_rpc": str(steady["requests_per_change"]),
            "mix": ", ".join(f"{k} {v}" for k, v in steady.get("per_minute", {}).items())
                   or "-",
            "429": str(result["rate_limited_429"])}[row]

    rows = [("start", f"first presences of {runs[0]['agents']} agents", "-"),
            ("settled", "shift start: all correct after its end", "<= 60 s"),
            ("burst_rpc", "shift start: write requests per change", "well below 1"),
            ("latency", f"steady {rate}/s: latency p50 / p99 (max)", "p99 <= 2 s"),
            ("steady_rpc", "steady: presence write requests per change", "-"),
            ("mix", "steady: requests a minute by kind", "<= 300 in all"),
            ("429", "429 provoked by the sync", "0")]
    names = {"presence": "`sync presence` alone", "run": "under `sync run`"}
    print("\n| figure | " + " | ".join(names[r["mode"]] for r in runs) + " | target |")
    print("|---|" + "---|" * len(runs) + "---|")
    for key, label, target in rows:
        print(f"| {label} | " + " | ".join(cell(r, key) for r in runs) + f" | {target} |")
    for result in runs:
        if "setup" in result:
            print(f"\n(`sync run` case: the setup pass synced {result['setup']['users']} users "
                  f"into 50 queues in {result['setup']['seconds']} s, unthrottled)")
    failed = []
    for result in runs:
        burst, steady = result["burst"], result["steady"]
        name = names[result["mode"]]
        if burst["all_correct_after_end_s"] is None or burst["all_correct_after_end_s"] > 60:
            failed.append(f"{name}: burst not settled within 60 s")
        if steady["p99_s"] > 2:
            failed.append(f"{name}: steady p99 over 2 s")
        if result["rate_limited_429"]:
            failed.append(f"{name}: 429s provoked")
    if failed:
        raise SystemExit("; ".join(failed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("both", "presence", "run"), default="both")
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--burst-seconds", type=float, default=60.0)
    parser.add_argument("--steady-seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=5.0, help="changes a second, steady")
    parser.add_argument("--interval", type=int, default=10,
                        help="seconds between the passes of `sync run`")
    args = parser.parse_args()
    runs = []
    for mode in (("presence", "run") if args.mode == "both" else (args.mode,)):
        with tempfile.TemporaryDirectory(prefix=f"presence-bench-{mode}-") as tmp:
            runs.append(run(args, Path(tmp), mode))
    report(runs, args.rate)


if __name__ == "__main__":
    main()
