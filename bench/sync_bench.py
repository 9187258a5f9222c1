"""Benchmark of the sync against the local SCIM server (scim2-server + the Genesys layer).

    .venv/bin/python bench/sync_bench.py [--users 10000] [--rate-seconds 120]

Runs `cic-sts sync apply` as an administrator would (a child process) and measures, with the
request log of the Genesys layer:

1. a first sync of N users (rate limit out of the way: this measures the sync and the server);
2. a no-op incremental pass over them (target: zero writes, under 5 s, peak RSS of the sync
   process under 150 MB);
3. a pass with 1 % of the users changed (target: writes = changed users);
4. with sync.rate_per_minute = 300 and the server enforcing 300 per rolling minute per token,
   the request rate achieved over `--rate-seconds` (target: at least 95 % of the limit, and no
   429 provoked by the sync itself). Only requests the server carried out count (not its 429s),
   and the figure is a measure only if the sync still had work when the window ended: it is
   stopped then, and must have left users "not attempted". If it ran out of work, the benchmark
   says so and exits 1 (use more `--users`).

Everything runs on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.genesys import genesys_section  # noqa: E402
from idp.auth.local import LocalDirectory  # noqa: E402
from idp.users import CicUser  # noqa: E402
from tests.sync.fake_genesys import FakeGenesys, ScimBackend  # noqa: E402


def write_config(folder: Path, genesys: FakeGenesys, rate: int) -> Path:
    path = folder / "cic-sts.toml"
    path.write_text(f"""
[server]
machine_names = ["localhost"]

[directory]
database = "users.db"
{genesys_section(folder, genesys)}
[sync]
state_database = "sync.db"
rate_per_minute = {rate}
concurrency = 4
""")
    return path


def users(count: int, renamed: set[int] = frozenset()) -> list[tuple[CicUser, None]]:  # type: ignore[assignment]
    return [(CicUser(f"agent{i:05}", f"Agent {i}{' (renamed)' if i in renamed else ''}",
                     f"agent{i:05}@example.com",
                     {"business": f"+1317{2000000 + i:07}", "mobile": f"+4915{10000000 + i}"}),
             None) for i in range(count)]


Request = tuple[float, str, str, int, str]  # FakeGenesys.requests: time, method, path, status


def sync_apply(config: Path, *,
               stop_after: float | None = None) -> tuple[float, dict[str, Any], bool, int]:
    """Run `cic-sts sync apply --json`; with `stop_after`, SIGTERM it then (it finishes the
    users in flight). Returns the seconds, the JSON report, whether it had to be stopped, and
    the process's peak resident memory in KiB (from wait4's rusage, the kernel's own count)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen([sys.executable, "-m", "idp", "--config", str(config),
                                    "sync", "apply", "--json"], stdout=subprocess.PIPE,
                                   stderr=err, cwd=ROOT)
        timer = threading.Timer(stop_after, process.send_signal, (signal.SIGTERM,)) \
            if stop_after is not None else None
        if timer is not None:
            timer.start()
        assert process.stdout is not None
        out = process.stdout.read().decode()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        stopped = timer is not None and not timer.is_alive()
        if timer is not None:
            timer.cancel()
        err.seek(0)
        errors = err.read().decode(errors="replace")
    seconds = time.monotonic() - started
    if not out.strip():
        raise SystemExit(f"sync apply printed nothing (exit {process.returncode}): {errors}")
    return seconds, json.loads(out), stopped, usage.ru_maxrss


def measure(name: str, genesys: FakeGenesys, config: Path, **kwargs: Any) -> dict[str, Any]:
    before_requests, before_writes = len(genesys.requests), genesys.writes
    seconds, report, stopped, peak_kib = sync_apply(config, **kwargs)
    row = {"pass": name, "seconds": round(seconds, 2),
           "requests": len(genesys.requests) - before_requests,
           "writes": genesys.writes - before_writes, "peak_rss_mb": round(peak_kib / 1024, 1),
           "results": {k: v for k, v in report["results"].items() if v}, "stopped": stopped}
    print(json.dumps(row), flush=True)
    return row


def achieved_rate(log: list[Request], seconds: float, limit: float,
                  pending: bool) -> dict[str, Any]:
    """The rate over the `seconds` from the first request of `log`, counting only requests the
    server carried out (a 429 is not work done). `pending`: whether the sync still had work at
    the end of the window; if not, the figure understates the pacing and is no measure."""
    start = log[0][0]
    in_window = [r for r in log if r[0] < start + seconds]
    answered = [r for r in in_window if r[3] != 429]
    per_minute = len(answered) * 60 / seconds
    return {"pass": "achieved rate", "requests_in_window": len(answered),
            "answered_429": len(in_window) - len(answered), "window_seconds": seconds,
            "per_minute": round(per_minute, 1), "of_limit": f"{per_minute / limit:.1%}",
            "busy_seconds": round(answered[-1][0] - start, 1) if answered else 0.0,
            "work_pending_at_end": pending}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--rate-seconds", type=int, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        folder = Path(tmp)
        backend = ScimBackend(folder / "scim2-server.log")
        genesys = FakeGenesys(backend.tenant())
        try:
            config = write_config(folder, genesys, rate=1_000_000)
            directory = LocalDirectory(folder / "users.db")
            directory.upsert_many(users(args.users))
            rows = [measure(f"first sync of {args.users} users", genesys, config)]
            rows.append(measure("no-op incremental pass", genesys, config))
            changed = set(range(0, args.users, 100))  # 1 %
            directory.upsert_many(users(args.users, changed))
            rows.append(measure(f"{len(changed)} users changed (1 %)", genesys, config))

            # The rate limit: 300 per minute on both sides, more work than fits in the window.
            config = write_config(folder, genesys, rate=300)
            genesys.rate_per_minute = 300
            more = set(range(1, args.users, 5))
            directory.upsert_many(users(args.users, changed | more))
            first = len(genesys.requests)
            limited = measure(f"rate-limited pass, stopped after {args.rate_seconds} s", genesys,
                              config, stop_after=args.rate_seconds + 1.0)
            pending = limited["stopped"] and limited["results"].get("not attempted", 0) > 0
            rate = achieved_rate(genesys.requests[first:], args.rate_seconds, 300, pending)
            rate["429_from_rate_limit"] = genesys.rate_limited
            print(json.dumps(rate), flush=True)
            rows.append(rate)
        finally:
            genesys.stop()
            backend.stop()
    print("\n| pass | seconds | requests | writes | peak RSS |\n|---|---|---|---|---|")
    for row in rows[:3]:
        print(f"| {row['pass']} | {row['seconds']} | {row['requests']} | {row['writes']} | "
              f"{row['peak_rss_mb']} MB |")
    print(f"\nrate limit 300/min: {rate['requests_in_window']} requests carried out in "
          f"{rate['window_seconds']} s = {rate['per_minute']}/min ({rate['of_limit']} of the "
          f"limit), 429 provoked by the sync: {rate['429_from_rate_limit']}; work still pending "
          f"at the end of the window: {'yes' if rate['work_pending_at_end'] else 'NO'}")
    if not rate["work_pending_at_end"]:
        raise SystemExit(f"the sync ran out of work after {rate['busy_seconds']} s, before the "
                         "end of the window: the rate is no measure of the pacing (use more "
                         "--users)")


if __name__ == "__main__":
    main()
