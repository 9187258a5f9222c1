"""`make bench-switchover`: issue 15's table, measured, for both proxies and both state backends.

For each state backend (cookie, Redis) a switchover pair runs on 127.0.0.2/.3 behind real nginx
and real HAProxy at once (tests/switchover/pair.py), with a steady mix of logged-on
AuthnRequests, password logons and metadata GETs through each (tests/switchover/traffic.py), and
the events of the table happen one at a time (tests/switchover/events.py). For each event and
proxy: the requests under way, how many failed, and the worst stall (the longest request), all
on the client's monotonic clock. A calm row (no event) shows the machine's own noise.

    .venv/bin/python bench/switchover_bench.py [--backend cookie|redis] [--hang 20]
        [--variant current|before|no-drain|no-backups|post-keepalive]

A variant leaves one switchover rule out (bench/switchover_variants.py), to measure its worth.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.switchover_variants import VARIANTS, variant  # noqa: E402
from idp.proxy.model import Proxy  # noqa: E402
from tests.conftest import write_keys  # noqa: E402
from tests.switchover import events  # noqa: E402
from tests.switchover.events import Cost, Window  # noqa: E402
from tests.switchover.pair import Pair, switchover_pair  # noqa: E402
from tests.switchover.traffic import Recorder, steady_traffic  # noqa: E402


def key_folder(folder: Path) -> Path:
    keys = folder / "keys"
    keys.mkdir()
    return write_keys(keys)


def calm(seconds: float) -> Callable[[Pair], Window]:
    def event(pair: Pair) -> Window:
        start = time.monotonic()
        time.sleep(seconds)
        return Window(start, time.monotonic())
    return event


def table(hang: float) -> list[tuple[str, Callable[[Pair], Window]]]:
    return [
        ("calm (no event, 5 s)", calm(5)),
        ("graceful stop of a server, then start", events.graceful_stop_then_start),
        ("SIGKILL of a server, then start", events.sigkill_then_start),
        (f"a server hangs {hang:g} s (SIGSTOP)", events.hang(hang)),
        ("rolling restart (the second as soon as the first answers /readyz)",
         events.rolling_restart()),
        ("rolling restart with 12 s between the servers", events.rolling_restart(12)),
        ("graceful stop 2 s after the other's restart (its failure mark still live)",
         events.stop_after_the_other_restarted),
    ]


def run(backend: str, hang: float, folder: Path, name: str
        ) -> list[tuple[str, dict[Proxy, Cost]]]:
    rows = []
    with switchover_pair(folder, key_folder(folder), backend,
                         variant=variant(name, folder)) as pair, \
            steady_traffic(pair) as recorder:
        time.sleep(3)  # every browser logged on, connections warm
        for label, event in table(hang):
            window = event(pair)
            time.sleep(events.SETTLE + 1)
            rows.append((label, {proxy: events.cost(recorder, window, proxy)
                                 for proxy in pair.proxies}))
            print(f"  {backend}: {label}: " + "; ".join(
                f"{c.proxy} {len(c.failed)} failed of {c.requests}, worst {c.worst:.2f} s "
                f"({c.failure_kinds()})" for c in rows[-1][1].values()), file=sys.stderr)
        total(recorder)
    return rows


def total(recorder: Recorder) -> None:
    with recorder.lock:
        count = len(recorder.outcomes)
        failed = sum(not o.ok for o in recorder.outcomes)
    print(f"  all requests of the run: {count}, failed {failed}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", action="append", choices=["cookie", "redis"])
    parser.add_argument("--hang", type=float, default=20.0, help="seconds of the SIGSTOP")
    parser.add_argument("--variant", choices=VARIANTS, default="current")
    args = parser.parse_args()
    results = {}
    for backend in args.backend or ["cookie", "redis"]:
        with tempfile.TemporaryDirectory(prefix=f"cic-sts-switchover-{backend}-") as folder:
            results[backend] = run(backend, args.hang, Path(folder), args.variant)
    proxies = list(next(iter(results.values()))[0][1])
    print(f"variant: {args.variant}; worst stall: the longest request (GET / POST), and how "
          f"many took over {events.SLOW:g} s")
    print("| event | state | " + " | ".join(
        f"{p}: failed requests | {p}: worst stall" for p in proxies) + " |")
    print("|---|---|" + "---|---|" * len(proxies))
    for backend, rows in results.items():
        for label, costs in rows:
            cells = []
            for proxy in proxies:
                c = costs[proxy]
                cells += [f"{len(c.failed)} of {c.requests}",
                          f"{c.worst:.1f} s ({c.worst_get:.1f} / {c.worst_post:.1f}; "
                          f"{c.slow} > {events.SLOW:g} s)"]
            print(f"| {label} | {backend} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
