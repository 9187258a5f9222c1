"""CIC's Advanced Platform Objects read over ICWS: workgroups, skills, wrap-up codes, and the
skills of users (`idp.objects`), each list read completely (`idp.cic.lists`).

- workgroups: ``/configuration/workgroups?select=hasQueue,members,skills,wrapUpCodes``;
  members and wrap-up codes are ConfigurationId lists, skills ``{id, proficiency,
  desireToUse}`` settings;
- skills: ``/configuration/skills?select=<language property>``;
- wrap-up codes: ``/configuration/wrap-up-codes``; the name is the configuration ID's;
- user skills: ``/configuration/users?select=skills``, ``skills.actualValue`` (assigned
  directly; ``effectiveValue`` when there is no actualValue).

An id is a ConfigurationId (``{id, displayName, uri}``) or a plain string; a name is the
display name, else the id. Where "Treat as Language" lives on a skill is not public: the
property is `language_property` (``icws.skill_language_property``), read as a boolean. An item
that cannot be read is a problem of the snapshot (`problems`), which makes it incomplete.

Facts: docs/facts.md#icws-workgroups-skills-and-wrap-up-codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idp.cic.lists import Session, read_list
from idp.objects import Skill, SkillLevel, Workgroup, WrapupCode

WORKGROUP_SELECT = "hasQueue,members,skills,wrapUpCodes"


def read_workgroups(session: Session, problems: list[str]) -> list[Workgroup]:
    found = []
    for item in read_list(session, "/configuration/workgroups", noun="workgroups",
                          select=WORKGROUP_SELECT):
        ident = _ident(item)
        if ident is None:
            problems.append("a workgroup without a configurationId.id")
            continue
        wid, name = ident
        has_queue = item.get("hasQueue")
        found.append(Workgroup(
            wid, name, has_queue is not False,
            members=tuple(_ids(item.get("members"))),
            skills=_levels(item.get("skills"), f"workgroup {wid}", problems),
            wrapup_codes=tuple(_ids(item.get("wrapUpCodes")))))
    return found


def read_skills(session: Session, language_property: str, problems: list[str]) -> list[Skill]:
    found = []
    for item in read_list(session, "/configuration/skills", noun="skills",
                          select=language_property):
        ident = _ident(item)
        if ident is None:
            problems.append("a skill without a configurationId.id")
            continue
        found.append(Skill(*ident, language=_flag(_lookup(item, language_property))))
    return found


def read_wrapup_codes(session: Session, problems: list[str]) -> list[WrapupCode]:
    found = []
    for item in read_list(session, "/configuration/wrap-up-codes", noun="wrap-up codes"):
        ident = _ident(item)
        if ident is None:
            problems.append("a wrap-up code without a configurationId.id")
            continue
        found.append(WrapupCode(*ident))
    return found


def read_user_skills(session: Session,
                     problems: list[str]) -> dict[str, tuple[SkillLevel, ...]]:
    found = {}
    for item in read_list(session, "/configuration/users", noun="users", select="skills"):
        ident = _ident(item)
        if ident is None:
            problems.append("a user without a configurationId.id")
            continue
        levels = _levels(item.get("skills"), f"user {ident[0]}", problems)
        if levels:
            found[ident[0]] = levels
    return found


def _ident(item: Any) -> tuple[str, str] | None:
    """(id, name) of a configuration item."""
    if not isinstance(item, Mapping):
        return None
    ident = item.get("configurationId")
    if not isinstance(ident, Mapping) or not isinstance(ident.get("id"), str) \
            or not ident["id"].strip():
        return None
    name = ident.get("displayName")
    return ident["id"], name.strip() if isinstance(name, str) and name.strip() else ident["id"]


def _ids(value: Any) -> list[str]:
    """The ids of a ConfigurationId list (plain strings accepted)."""
    if not isinstance(value, list):
        return []
    found = []
    for entry in value:
        if isinstance(entry, Mapping):
            entry = entry.get("id")
        if isinstance(entry, str) and entry.strip():
            found.append(entry)
    return found


def _levels(value: Any, whose: str, problems: list[str]) -> tuple[SkillLevel, ...]:
    """Skill settings: a list of ``{id, proficiency}``, or the inheritable form whose
    ``actualValue`` (else ``effectiveValue``) is that list."""
    if isinstance(value, Mapping):
        value = value.get("actualValue", value.get("effectiveValue"))
    if not isinstance(value, list):
        return ()
    found = []
    for entry in value:
        skill = _ids([entry.get("id")]) if isinstance(entry, Mapping) else []
        level = entry.get("proficiency") if isinstance(entry, Mapping) else None
        if not skill or isinstance(level, bool) or not isinstance(level, int | float):
            problems.append(f"{whose}: a skill setting without an id and a proficiency")
            continue
        found.append(SkillLevel(skill[0], max(0, min(100, round(level)))))
    return tuple(found)


def _lookup(item: Mapping[str, Any], path: str) -> Any:
    value: Any = item
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() in ("true", "1", "yes")
    return value is True or value == 1
