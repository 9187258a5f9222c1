"""The object sync with CIC itself as the source: workgroups, skills and wrap-up codes read over
ICWS (the test server pair, paged with Range), inherited skills, Treat as Language flips."""

from __future__ import annotations

from pathlib import Path

from tests.icws_objects import IcwsSkill, IcwsWorkgroup, IcwsWrapupCode
from tests.icws_server import CicDirectory, IcwsUser, running_pair, use_icws
from tests.sync.conftest import SyncSetup
from tests.sync.objects_helpers import codes_of, ids, levels, members, queue

SERVICE = ("svc-sync", "service-secret-2")


def cic_with_objects() -> CicDirectory:
    cic = CicDirectory()
    cic.add(IcwsUser(*SERVICE),
            IcwsUser("alice", "pw", "Alice", "alice@example.com", workgroups=["Support"],
                     skills=[("Spanish", 90), ("Billing", 30)]),
            IcwsUser("bob", "pw", "Bob", "bob@example.com", workgroups=["Support", "Lab"]),
            IcwsUser("nomail", "pw", workgroups=["Support"]))  # never linked: not a member
    cic.objects.add(
        IcwsSkill("Spanish", language=True), IcwsSkill("Billing"), IcwsSkill("Tools"),
        IcwsWrapupCode("Sale", label="Sold something"), IcwsWrapupCode("No Sale"),
        IcwsWorkgroup("Support", skills=[("Billing", 80)], wrapup_codes=["Sale", "No Sale"]),
        IcwsWorkgroup("Lab", has_queue=False, skills=[("Tools", 41)]),
        *(IcwsWorkgroup(f"Team {i:03}", wrapup_codes=["Sale"]) for i in range(205)))
    return cic


def test_objects_come_from_icws_in_pages(setup: SyncSetup, key_dir: Path) -> None:
    cic = cic_with_objects()
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        setup.configure(sync='source = "icws"\nplatform_objects = true')
        use_icws(setup.config_path, pair, key_dir / "tls.crt", SERVICE, timeout=2)
        report = setup.apply()
        assert report.outcome == "completed", (report.summary(), report.objects)
        pages = pair.primary.requests("GET", r"/icws/\d+/configuration/workgroups")
        assert len(pages) >= 2  # 207 workgroups: read in pages with Range
        platform, user = setup.genesys.platform, ids(setup)
        assert len(platform.queues) == 206  # every workgroup with a queue
        assert members(platform, "Support") == {user["alice"], user["bob"]}
        assert codes_of(platform, "Support") == {"Sale", "No Sale"}
        assert levels(platform, user["alice"]) == {"Billing": 2.0}  # her own 30, not 80
        assert levels(platform, user["alice"], languages=True) == {"Spanish": 5.0}
        assert levels(platform, user["bob"]) == {"Billing": 4.0, "Tools": 3.0}

        # "Treat as Language" cleared on Spanish and set on Tools: each moves, users with it.
        cic.objects.skills["spanish"].language = False
        cic.objects.skills["tools"].language = True
        cic.objects.workgroups["support"].wrapup_codes = ["Sale"]
        bob = cic.get("bob")
        assert bob is not None
        bob.workgroups = ["Lab"]  # leaves Support
        report = setup.apply()
        assert report.outcome == "completed", (report.summary(), report.objects)
        assert levels(platform, user["alice"]) == {"Billing": 2.0, "Spanish": 5.0}
        assert levels(platform, user["alice"], languages=True) == {}
        assert levels(platform, user["bob"]) == {}
        assert levels(platform, user["bob"], languages=True) == {"Tools": 3.0}
        assert set(platform.live(platform.languages)) == {"Tools"}
        assert set(platform.live(platform.skills)) == {"Billing", "Spanish"}
        assert members(platform, "Support") == {user["alice"]}
        assert codes_of(platform, "Support") == {"Sale"}
        assert queue(platform, "Team 000")["peerId"] == "cic-sts:team 000"


def test_an_unknown_language_property_is_one_clear_error(setup: SyncSetup,
                                                         key_dir: Path) -> None:
    cic = cic_with_objects()
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        setup.configure(sync='source = "icws"\nplatform_objects = true')
        use_icws(setup.config_path, pair, key_dir / "tls.crt", SERVICE, timeout=2)
        text = setup.config_path.read_text() + 'skill_language_property = "isLanguage"\n'
        setup.config_path.write_text(text)
        report = setup.apply()
        assert report.objects is not None
        assert "icws.skill_language_property" in report.objects.error
        assert report.outcome == "stopped"
        assert not setup.genesys.platform.queues  # nothing done on a partial picture
