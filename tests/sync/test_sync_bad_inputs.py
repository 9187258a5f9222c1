"""Bad inputs give one clear message and lose no other user's work."""

from __future__ import annotations

import time

from idp.sync.state import SYNCED, SyncState
from tests.sync.conftest import SyncSetup
from tests.sync.fake_genesys import free_port

HEADER = "user_id,display_name,email,business_phone\n"


def test_csv_with_malformed_rows(setup: SyncSetup) -> None:
    csv = setup.folder / "cic-users.csv"
    setup.configure(sync='source = "csv"\ncsv_file = "cic-users.csv"')
    csv.write_text(HEADER + "alice,Alice,alice@example.com,+13178723000\n"
                   "bob,Bob,bob@example.com,\ncarol,Carol,carol@example.com,\n")
    assert setup.cli("sync", "apply").returncode == 0
    # bob's row breaks, a stray row has too many fields, dave is new, carol is gone
    csv.write_text(HEADER + "alice,Alice Agent,alice@example.com,+13178723000\n"
                   "bob,Bob,bob at example.com,\n"
                   "stray,row,with,too,many\n"
                   "dave,Dave,dave@example.com,\n")
    done = setup.cli("sync", "apply")
    assert done.returncode == 1
    assert "cic-users.csv: line 3: email 'bob at example.com' is not an e-mail address" \
        in done.stderr
    assert "cic-users.csv: line 4: expected 4 fields, found 5" in done.stderr
    assert "left as they are: the source had 2 unreadable entries" in done.stderr
    assert "1 created, 1 updated" in done.stdout
    for email in ("bob@example.com", "carol@example.com"):  # neither deactivated on a bad read
        user = setup.genesys.by_user_name(email)
        assert user is not None and user["active"] is True
    alice = setup.genesys.by_user_name("alice@example.com")
    assert alice is not None and alice["displayName"] == "Alice Agent"
    assert setup.genesys.by_user_name("dave@example.com") is not None


def test_unreadable_csv_is_one_line(setup: SyncSetup) -> None:
    setup.configure(sync='source = "csv"\ncsv_file = "missing.csv"')
    done = setup.cli("sync", "apply")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("Error: cannot read ")
    assert "Traceback" not in done.stderr


def test_token_renewed_before_expiry_and_after_revocation(setup: SyncSetup) -> None:
    setup.genesys.token_lifetime = 2  # renewed after 1 s, before it runs out
    setup.add("alice", "alice@example.com")
    service = setup.service()
    try:
        service.apply()
        time.sleep(1.1)
        setup.add("alice", "alice@example.com", "Alice One")
        service.apply()
        assert setup.genesys.token_requests == 2
        assert setup.genesys.count(notes=("auth",)) == 0
        setup.genesys.token_lifetime = 3600
        setup.genesys.revoke_tokens()  # e.g. an administrator revoked the client's tokens
        setup.add("alice", "alice@example.com", "Alice Two")
        report = service.apply()
    finally:
        service.close()
    assert report.results()["updated"] == 1
    assert setup.genesys.count(notes=("auth",)) == 1  # one 401, then a new token
    alice = setup.genesys.by_user_name("alice@example.com")
    assert alice is not None and alice["displayName"] == "Alice Two"


def test_credentials_revoked_mid_run_keep_the_work_done(setup: SyncSetup) -> None:
    setup.configure(sync="concurrency = 1")
    for i in range(4):
        setup.add(f"u{i}", f"u{i}@example.com")
    setup.apply()
    for i in range(4):
        setup.add(f"u{i}", f"u{i}@example.com", f"Renamed {i}")
    setup.genesys.client_secret = "rotated"  # the OAuth client's secret changed in Genesys
    setup.genesys.revoke_tokens()
    done = setup.cli("sync", "apply")
    assert done.returncode == 1
    assert "refused the OAuth client 'sync-client': invalid_client" in done.stdout
    assert "check genesys.client_id and genesys.client_secret" in done.stdout.lower()
    states = SyncState(setup.folder / "sync.db").users()
    assert sum(s.status == SYNCED for s in states.values()) == 3  # only the one tried failed
    (setup.folder / "client.secret").write_text("rotated\n")
    done = setup.cli("sync", "apply")
    assert done.returncode == 0, done.stdout
    assert "4 updated" in done.stdout
    assert all(s.status == SYNCED for s in SyncState(setup.folder / "sync.db").users().values())


def test_wrong_credentials_before_anything_is_one_line(setup: SyncSetup) -> None:
    setup.add("alice", "alice@example.com")
    (setup.folder / "client.secret").write_text("wrong\n")
    done = setup.cli("sync", "apply")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: Genesys Cloud (127.0.0.1:")
    assert "invalid_client (client not found)" in lines[-1]
    assert "that genesys.region is the region of the organization" in lines[-1]
    assert "Traceback" not in done.stderr
    status = setup.run("sync", "status").output
    assert "API Health    Failure: Genesys Cloud (127.0.0.1:" in status
    assert "Last pass     failed: Genesys Cloud" in status


def test_wrong_region_is_a_configuration_error(setup: SyncSetup) -> None:
    text = setup.config_path.read_text().replace('region = "eu-west-1"',
                                                 'region = "eu-nowhere-1"')
    setup.config_path.write_text(text)
    done = setup.run("sync", "apply")
    assert done.exit_code == 2
    assert "genesys.region: unknown Genesys Cloud region 'eu-nowhere-1'" in done.output
    assert "eu-west-1 (mypurecloud.ie)" in done.output


def test_unreachable_genesys_says_so(setup: SyncSetup) -> None:
    setup.configure(sync="max_retries = 1",
                    genesys="")
    closed = f"http://127.0.0.1:{free_port()}"
    text = setup.config_path.read_text().replace(setup.genesys.url, closed)
    setup.config_path.write_text(text)
    setup.add("alice", "alice@example.com")
    done = setup.run("sync", "apply")
    assert done.exit_code == 1
    assert f"cannot get a Genesys Cloud access token from {closed}/oauth/token" in done.output
    assert "ConnectError" in done.output


def test_missing_client_credentials(setup: SyncSetup) -> None:
    text = setup.config_path.read_text().replace('client_id = "sync-client"', "")
    setup.config_path.write_text(text)
    setup.add("alice", "alice@example.com")
    done = setup.run("sync", "apply")
    assert done.exit_code == 1
    assert "genesys.client_id and genesys.client_secret: required by the sync" in done.output
