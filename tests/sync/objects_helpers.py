"""Helpers of the object sync tests: the CSV folder of CIC objects, and what Genesys Cloud has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.sync.conftest import SyncSetup
from tests.sync.fake_platform import FakePlatform


def write(folder: Path, name: str, header: str, *rows: str, count: bool = True) -> None:
    lines = [header, *rows] + ([f"#rows={len(rows)}"] if count else [])
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def objects_setup(setup: SyncSetup, extra: str = "") -> Path:
    folder = setup.folder / "objects"
    folder.mkdir(exist_ok=True)
    setup.configure(sync=f'platform_objects = true\nobjects_dir = "objects"\n{extra}')
    return folder


def standard_objects(folder: Path) -> None:
    write(folder, "skills.csv", "skill,language", "Spanish,true", "Billing,false",
          "Sales,false")
    write(folder, "wrapup_codes.csv", "wrapup_code", "Sale", "No Sale")
    write(folder, "workgroups.csv", "workgroup,queue,members,skills,wrapup_codes",
          "Support,true,alice;bob,Billing=80,Sale;No Sale",
          "Lab,false,carol,Sales=30,")
    write(folder, "user_skills.csv", "user_id,skills", "alice,Spanish=90;Billing=30")


def ids(setup: SyncSetup) -> dict[str, str]:
    """CIC user ID -> Genesys Cloud user id, from the links in Genesys Cloud."""
    return {cic: users[0]["id"] for cic, users in setup.linked().items()}


def queue(platform: FakePlatform, name: str) -> dict[str, Any]:
    found = [q for q in platform.queues.values() if q["name"] == name]
    assert len(found) == 1, (name, [q["name"] for q in platform.queues.values()])
    return found[0]


def members(platform: FakePlatform, name: str) -> set[str]:
    return set(platform.members.get(queue(platform, name)["id"], set()))


def codes_of(platform: FakePlatform, name: str) -> set[str]:
    return {platform.codes[c]["name"] for c in platform.queue_codes.get(
        queue(platform, name)["id"], set())}


def levels(platform: FakePlatform, user: str, languages: bool = False) -> dict[str, float]:
    """skill (or language) name -> proficiency of a Genesys Cloud user."""
    table = platform.user_languages if languages else platform.user_skills
    names = platform.languages if languages else platform.skills
    return {names[k]["name"]: v for k, v in table.get(user, {}).items()}


def object_writes(setup: SyncSetup) -> int:
    """Writes that reached the Platform layer and were carried out."""
    with setup.genesys._lock:
        return sum(1 for _, m, p, s, n in setup.genesys.requests
                   if m in ("POST", "PUT", "PATCH", "DELETE") and 200 <= s < 300
                   and not p.startswith("/api/v2/scim") and n in ("", "drop_after",
                                                                    "500_after", "held"))
