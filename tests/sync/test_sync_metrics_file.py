"""The sync's node_exporter textfile, written by real passes, read with prometheus_client's own
parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.sync.conftest import SyncSetup


def samples(setup: SyncSetup) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = (setup.folder / "sync.prom").read_text()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_each_pass_rewrites_the_textfile(setup: SyncSetup) -> None:
    setup.configure(sync=f'metrics_textfile = "{setup.folder / "sync.prom"}"')
    for i in range(12):
        setup.add(f"u{i:02}", f"u{i:02}@example.com")
    setup.add("nomail", "")
    assert setup.run("sync", "apply").exit_code == 0
    found = samples(setup)
    assert found[("cic_sts_sync_users", (("state", "synced"),))] == 12
    assert found[("cic_sts_sync_users", (("state", "not_synced"),))] == 1
    assert found[("cic_sts_sync_requests_total", (("outcome", "successful"),))] >= 12
    assert found[("cic_sts_sync_last_pass_success", ())] == 1
    assert found[("cic_sts_sync_last_pass_outcome", (("outcome", "completed"),))] == 1
    assert found[("cic_sts_sync_held_removals", ())] == 0

    for i in range(12):  # all gone at once: held
        setup.directory.delete(f"u{i:02}")
    assert setup.run("sync", "apply").exit_code == 3
    found = samples(setup)
    assert found[("cic_sts_sync_held_removals", ())] == 12
    assert found[("cic_sts_sync_last_pass_outcome", (("outcome", "held"),))] == 1
    assert found[("cic_sts_sync_last_pass_success", ())] == 0
