"""CIC's Advanced Platform Objects as cic-sts sees them, whichever source they come from.

Workgroups (with a queue, members, skills, wrap-up codes), skills ("Treat as Language" or not),
wrap-up codes, and the skills assigned to users directly. Ids are CIC's configuration ids,
compared without letter case like every CIC id (`key`); names are what Genesys Cloud gets.
Proficiencies are CIC's 1-100.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The kinds of lists a source reads. One it did not read (a CSV file that is missing) is not
#: "none of that kind": nothing derived from it is removed from Genesys Cloud.
LISTS = frozenset({"workgroups", "skills", "wrapup_codes", "user_skills"})


def key(cic_id: str) -> str:
    """How CIC ids compare: without letter case."""
    return cic_id.casefold()


@dataclass(frozen=True)
class SkillLevel:
    skill: str  # the CIC skill id
    proficiency: int  # 1-100


@dataclass(frozen=True)
class Skill:
    id: str
    name: str
    language: bool = False  # "Treat as Language": a Genesys Cloud language, not a skill


@dataclass(frozen=True)
class WrapupCode:
    id: str
    name: str


@dataclass(frozen=True)
class Workgroup:
    id: str
    name: str
    has_queue: bool = True  # only workgroups with a queue become Genesys Cloud queues
    members: tuple[str, ...] = ()  # CIC user IDs
    skills: tuple[SkillLevel, ...] = ()  # inherited by every member
    wrapup_codes: tuple[str, ...] = ()  # CIC wrap-up code ids


@dataclass(frozen=True)
class ObjectSnapshot:
    """Every object the source could read, and the problems it met. With problems the
    snapshot is incomplete: what it lacks may well still exist in CIC, so nothing is removed
    on its strength."""

    workgroups: list[Workgroup] = field(default_factory=list)
    skills: list[Skill] = field(default_factory=list)
    wrapup_codes: list[WrapupCode] = field(default_factory=list)
    #: CIC user ID -> the skills assigned to the user directly
    user_skills: dict[str, tuple[SkillLevel, ...]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    #: The lists (`LISTS`) read; what is not read says nothing about what exists in CIC.
    read: frozenset[str] = LISTS
    notes: list[str] = field(default_factory=list)  # for people: what was not read, and why

    @property
    def complete(self) -> bool:
        return not self.problems
