"""The sync's node_exporter textfile (the hook the sync calls after a pass), parsed back with
prometheus_client's parser."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from idp.observe.sync_metrics import write_textfile


def test_the_textfile_parses_back(tmp_path: Path) -> None:
    path = tmp_path / "cic-sts-sync.prom"
    write_textfile(path, users_by_state={"synced": 14, "error": 1, "not_synced": 2},
                   requests={"Successful": 120, "Failed": 1, "Retried": 7},
                   retry_after_waits=3, last_pass=1_764_582_000.0, last_pass_ok=False)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(path.read_text())
               for s in family.samples}
    assert samples[("cic_sts_sync_users", (("state", "synced"),))] == 14
    assert samples[("cic_sts_sync_requests_total", (("outcome", "Retried"),))] == 7
    assert samples[("cic_sts_sync_retry_after_waits_total", ())] == 3
    assert samples[("cic_sts_sync_last_pass_timestamp_seconds", ())] == 1_764_582_000.0
    assert samples[("cic_sts_sync_last_pass_success", ())] == 0
    assert not list(tmp_path.glob("*.tmp*"))  # written through a temporary file, renamed
