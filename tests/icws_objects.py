"""CIC's Advanced Platform Objects in the ICWS test server: workgroups, skills, wrap-up codes.

As docs/facts.md#icws-workgroups-skills-and-wrap-up-codes says: ``/configuration/workgroups``
(``hasQueue``, ``members``, ``skills``, ``wrapUpCodes``), ``/configuration/skills``,
``/configuration/wrap-up-codes`` (``label``, ``category``), all paged with ``Range`` like
users; a user's ``skills`` is the inheritable form ``{actualValue, effectiveValue,
inheritedValue}`` of ``{id, proficiency, desireToUse}`` lists, where the inherited value comes
from the user's workgroups. A workgroup's members are the users
that name it (`IcwsUser.workgroups`), one truth for both directions.

Where CIC keeps "Treat as Language" is not public; this server keeps it in `LANGUAGE_PROPERTY`,
the property cic-sts reads by default (``icws.skill_language_property``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.icws_server import CicDirectory, IcwsUser

LANGUAGE_PROPERTY = "treatAsLanguage"
WORKGROUP_PROPERTIES = {"configurationId", "hasQueue", "members", "skills", "wrapUpCodes"}
SKILL_PROPERTIES = {"configurationId", LANGUAGE_PROPERTY}
WRAPUP_PROPERTIES = {"configurationId", "label", "category"}


def ident(kind: str, cic_id: str, name: str | None = None) -> dict[str, Any]:
    return {"id": cic_id, "displayName": name or cic_id, "uri": f"/configuration/{kind}/{cic_id}"}


@dataclass
class IcwsWorkgroup:
    workgroup_id: str
    has_queue: bool = True
    skills: list[tuple[str, int]] = field(default_factory=list)  # (skill id, 1-100)
    wrapup_codes: list[str] = field(default_factory=list)
    display_name: str | None = None


@dataclass
class IcwsSkill:
    skill_id: str
    language: bool = False
    display_name: str | None = None


@dataclass
class IcwsWrapupCode:
    code_id: str
    label: str = ""
    category: str = "Default"
    display_name: str | None = None


def levels(skills: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"id": ident("skills", skill), "proficiency": level, "desireToUse": 50}
            for skill, level in skills]


class CicObjects:
    """The objects of one CIC (shared by both servers of a pair, through the directory)."""

    def __init__(self) -> None:
        self.workgroups: dict[str, IcwsWorkgroup] = {}
        self.skills: dict[str, IcwsSkill] = {}
        self.wrapup_codes: dict[str, IcwsWrapupCode] = {}

    def add(self, *objects: IcwsWorkgroup | IcwsSkill | IcwsWrapupCode) -> None:
        for item in objects:
            if isinstance(item, IcwsWorkgroup):
                self.workgroups[item.workgroup_id.casefold()] = item
            elif isinstance(item, IcwsSkill):
                self.skills[item.skill_id.casefold()] = item
            else:
                self.wrapup_codes[item.code_id.casefold()] = item

    def workgroup_records(self, directory: CicDirectory) -> list[dict[str, Any]]:
        records = []
        for _, group in sorted(self.workgroups.items()):
            members = [ident("users", u.user_id, u.display_name)
                       for _, u in sorted(directory.users.items())
                       if group.workgroup_id.casefold() in map(str.casefold, u.workgroups)]
            records.append({
                "configurationId": ident("workgroups", group.workgroup_id, group.display_name),
                "hasQueue": group.has_queue, "members": members or None,
                "skills": levels(group.skills) or None,
                "wrapUpCodes": [ident("wrap-up-codes", c) for c in group.wrapup_codes] or None})
        return records

    def skill_records(self) -> list[dict[str, Any]]:
        return [{"configurationId": ident("skills", s.skill_id, s.display_name),
                 LANGUAGE_PROPERTY: s.language} for _, s in sorted(self.skills.items())]

    def wrapup_records(self) -> list[dict[str, Any]]:
        return [{"configurationId": ident("wrap-up-codes", c.code_id, c.display_name),
                 "label": c.label or c.code_id, "category": c.category}
                for _, c in sorted(self.wrapup_codes.items())]

    def user_skills(self, user: IcwsUser) -> dict[str, Any] | None:
        """The inheritable skills property of a user: its own, and its workgroups'."""
        inherited: list[tuple[str, int]] = []
        for name in user.workgroups:
            group = self.workgroups.get(name.casefold())
            if group is not None:
                inherited.extend(group.skills)
        if not user.skills and not inherited:
            return None
        own = {s.casefold() for s, _ in user.skills}
        effective = list(user.skills) + [(s, p) for s, p in inherited if s.casefold() not in own]
        return {"actualValue": levels(user.skills), "inheritedValue": levels(inherited),
                "effectiveValue": levels(effective)}
