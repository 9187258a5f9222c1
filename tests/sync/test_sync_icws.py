"""`cic-sts sync` with CIC itself as the source: users read over ICWS (in pages, from the ICWS
test server pair) end up in Genesys Cloud (scim2-server behind the Genesys layer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.icws_server import CicDirectory, IcwsUser, phone, running_pair, use_icws
from tests.sync.conftest import GENESYS, SyncSetup

SERVICE = ("svc-sync", "service-secret-2")


def by_email(setup: SyncSetup) -> dict[str, dict[str, Any]]:
    return {str(u["userName"]): u for u in setup.genesys.users()}


def test_sync_reads_cic_over_icws_in_pages(setup: SyncSetup, key_dir: Path) -> None:
    cic = CicDirectory()
    cic.add(IcwsUser(*SERVICE),
            IcwsUser("agent0", "pw", "Agent Zero", "agent0@example.com",
                     {"phoneNumberOfBusiness1": phone("+13178723000", "105")}),
            *(IcwsUser(f"agent{i}", "pw", None, f"agent{i}@example.com") for i in range(1, 230)),
            IcwsUser("nomail", "pw", "No Mail"))
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        setup.configure(sync='source = "icws"')
        use_icws(setup.config_path, pair, key_dir / "tls.crt", SERVICE, timeout=2)
        report = setup.apply()
        assert report.error == ""
        results = report.results()
        assert results["created"] == 230  # every CIC user with a business e-mail
        assert results["skipped"] == 2  # nomail, and the service account (no e-mail either)
        pages = [r for r in pair.primary.requests("GET") if "/configuration/users" in r.path]
        assert len(pages) >= 2  # more than 200 users: read in pages with Range

        users = by_email(setup)
        zero = users["agent0@example.com"]
        assert zero["displayName"] == "Agent Zero"
        assert zero["phoneNumbers"] == [{"type": "work", "value": "tel:+13178723000;ext=105"}]
        assert zero[GENESYS]["externalIds"] == [{"authority": "cic-sts", "value": "agent0"}]
        assert users["agent7@example.com"]["displayName"] == "agent7"  # defaults to the user ID

        # An e-mail changed in CIC moves the same Genesys Cloud user to the new address.
        cic.users["agent1"].email = "agent.one@example.com"
        second = setup.apply()
        assert second.results()["updated"] == 1 and second.writes == 1
        after = by_email(setup)
        assert "agent1@example.com" not in after
        assert after["agent.one@example.com"]["id"] == users["agent1@example.com"]["id"]
