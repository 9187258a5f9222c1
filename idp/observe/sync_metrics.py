"""The sync's metrics as a node_exporter textfile, written atomically after each pass over
everyone (``sync.metrics_textfile``; `idp.sync.engine`), from what `sync status` knows.
Computed values only (no prometheus_client value classes), so it works the same with or without
$PROMETHEUS_MULTIPROC_DIR.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from prometheus_client import CollectorRegistry, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class _Snapshot(Collector):
    def __init__(self, users_by_state: Mapping[str, int], requests: Mapping[str, int],
                 retry_after_waits: int, last_pass: float | None, last_pass_ok: bool | None,
                 last_outcome: str | None = None, held: int = 0) -> None:
        self._values = (users_by_state, requests, retry_after_waits, last_pass, last_pass_ok,
                        last_outcome, held)

    def collect(self) -> Iterable[Metric]:
        users_by_state, requests, waits, last_pass, last_ok, outcome, held = self._values
        users = GaugeMetricFamily("cic_sts_sync_users", "CIC users by sync state.",
                                  labels=["state"])
        for state, count in sorted(users_by_state.items()):
            users.add_metric([state], count)
        sent = CounterMetricFamily("cic_sts_sync_requests", "Requests to Genesys Cloud by "
                                   "outcome (Successful, Failed, Retried).", labels=["outcome"])
        for kind, count in sorted(requests.items()):
            sent.add_metric([kind], count)
        yield users
        yield sent
        yield CounterMetricFamily("cic_sts_sync_retry_after_waits",
                                  "Waits for Genesys Cloud's Retry-After (429).", value=waits)
        if last_pass is not None:
            yield GaugeMetricFamily("cic_sts_sync_last_pass_timestamp_seconds",
                                    "When the last pass ended (Unix time).", value=last_pass)
        if last_ok is not None:
            yield GaugeMetricFamily("cic_sts_sync_last_pass_success",
                                    "1 if the last pass succeeded, else 0.",
                                    value=1 if last_ok else 0)
        if outcome is not None:
            last = GaugeMetricFamily("cic_sts_sync_last_pass_outcome", "1 for the outcome of the "
                                     "last pass (completed, completed_with_errors, held, "
                                     "stopped, failed).", labels=["outcome"])
            last.add_metric([outcome], 1)
            yield last
        yield GaugeMetricFamily("cic_sts_sync_held_removals", "Deactivations a held pass "
                                "holds back (sync.max_deactivations); 0: none held.",
                                value=held)


def write_textfile(path: Path, *, users_by_state: Mapping[str, int],
                   requests: Mapping[str, int], retry_after_waits: int,
                   last_pass: float | None, last_pass_ok: bool | None,
                   last_outcome: str | None = None, held: int = 0) -> None:
    """Replace `path` (e.g. /var/lib/node_exporter/textfile/cic-sts-sync.prom) atomically."""
    registry = CollectorRegistry()
    registry.register(_Snapshot(users_by_state, requests, retry_after_waits, last_pass,
                                last_pass_ok, last_outcome, held))
    write_to_textfile(str(path), registry)
