"""The serving comparison of `make bench`: one STS per way of serving it, measured side by side.

Every variant of bench/serving_conf.py runs at once, each its own gunicorn on its own loopback
port, with the same configuration, keys and logged-on session. Then, round after round, `wrk`
drives one variant at a time (the others sit idle) with signed SAML Responses: responses per
second, p50 and p99 latency, and the server's CPU seconds from /proc. Ratios to the old worker
are taken round by round (the machine's noise moves both of a pair alike) and their median
reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.variants import VARIANTS
from tests.servers import free_port, stop, wait_until_responds

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "legacy"


@dataclass
class Variant:
    name: str
    bind: str
    process: subprocess.Popen[bytes]
    url: str = ""
    cookie: str = ""
    rounds: list[dict[str, float]] = field(default_factory=list)


@contextmanager
def variant_server(name: str, config: Path, log: Path, gunicorn_args: str = ""
                   ) -> Iterator[Variant]:
    bind = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "CIC_STS_CONFIG": str(config), "CIC_STS_BIND": bind,
           "CIC_STS_BENCH_SERVING": name, "PYTHONPATH": str(ROOT),
           "GUNICORN_CMD_ARGS": gunicorn_args}
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                                    "python:bench.serving_conf"], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_responds(f"https://{bind}/healthz", process=process)
        yield Variant(name, bind, process)
    finally:
        stop(process)


Measure = Callable[[str, str, int], dict[str, float]]  # wrk: url, cookie, seconds -> figures
Prepare = Callable[[Variant], None]  # logs on: sets url and cookie


def compare(names: list[str], config: Path, folder: Path, prepare: Prepare, measure: Measure,
            cpu: Callable[[int], float], rounds: int, seconds: int) -> list[Variant]:
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"--serving {','.join(unknown)}: known: {', '.join(VARIANTS)}")
    with ExitStack() as stack:
        variants = [stack.enter_context(variant_server(n, config, folder / f"{n}.log"))
                    for n in names]
        for variant in variants:
            prepare(variant)
            measure(variant.url, variant.cookie, 3)  # warm-up
        for _ in range(rounds):
            for variant in variants:
                before, started = cpu(variant.process.pid), time.monotonic()
                figures = measure(variant.url, variant.cookie, seconds)
                used = cpu(variant.process.pid) - before
                figures["per_cpu_second"] = figures["rate"] * (time.monotonic() - started) / used
                figures["cores"] = used / (time.monotonic() - started)
                variant.rounds.append(figures)
    return variants


def summary(variants: list[Variant]) -> list[dict[str, object]]:
    """Per variant: the median of each figure over the rounds, and the median of the round by
    round ratios of responses per CPU-second to the old worker's."""
    baseline = next((v for v in variants if v.name == BASELINE), None)
    rows: list[dict[str, object]] = []
    for variant in variants:
        row: dict[str, object] = {"serving": variant.name, "what": VARIANTS[variant.name]}
        for key in ("rate", "per_cpu_second", "p50", "p99", "cores"):
            row[key] = round(statistics.median(r[key] for r in variant.rounds), 1)
        row["p99_over_p50"] = round(statistics.median(r["p99"] / r["p50"]
                                                      for r in variant.rounds), 2)
        row["errors"] = sum(int(r["non2xx"]) for r in variant.rounds)
        if baseline is not None:
            row["per_cpu_second_vs_legacy"] = round(statistics.median(
                mine["per_cpu_second"] / theirs["per_cpu_second"]
                for mine, theirs in zip(variant.rounds, baseline.rounds, strict=True)), 2)
        rows.append(row)
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| serving | responses/s | per server CPU-second | vs legacy | p50 ms | p99 ms "
             "| p99/p50 | non-2xx |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['serving']} | {r['rate']} | {r['per_cpu_second']} | "
                     f"{r.get('per_cpu_second_vs_legacy', '-')} | {r['p50']} | {r['p99']} | "
                     f"{r['p99_over_p50']} | {r['errors']} |")
    return "\n".join(lines)
