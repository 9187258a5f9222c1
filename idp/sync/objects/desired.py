"""What Genesys Cloud should hold, from CIC's objects and the users the sync links (pure).

- A workgroup with a queue becomes a queue of its name; its members are those of its members
  the user sync links (users without a Genesys Cloud user wait until they have one). Its
  wrap-up codes are assigned to the queue.
- A skill becomes a routing skill, or a language when it is marked "Treat as Language".
- A user's skills are those assigned to it directly and those of its workgroups (with a queue
  or not, as in CIC); a skill assigned directly keeps its own proficiency, one inherited from
  several workgroups the highest of them. Proficiency becomes stars (`stars`).
- A wrap-up code becomes a wrap-up code of its name.

What cannot be honoured is a problem of the snapshot (a skill assigned but not defined, a code
a workgroup names but CIC does not list), which makes nothing be removed in that pass.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from idp.objects import ObjectSnapshot, SkillLevel, key

#: Kinds of objects, as the state, the plan and the health view name them.
QUEUE, SKILL, LANGUAGE, WRAPUP = "queue", "skill", "language", "wrapup"
KIND_LABELS = {QUEUE: "queue", SKILL: "skill", LANGUAGE: "language", WRAPUP: "wrap-up code"}


def stars(proficiency: int, thresholds: list[int]) -> int:
    """CIC's 1-100 as Genesys Cloud's 0-5: `thresholds` are the highest proficiencies of 1, 2,
    3 and 4 stars (sync.skill_stars; [20, 40, 60, 80] is ceil(p / 20)); 0 stays 0."""
    if proficiency <= 0:
        return 0
    return 1 + sum(1 for limit in thresholds if proficiency > limit)


@dataclass(frozen=True)
class Named:
    """A skill, language or wrap-up code to have: its CIC id (key) and name."""

    kind: str
    key: str
    cic_id: str
    name: str


@dataclass(frozen=True)
class QueueWant:
    key: str
    cic_id: str
    name: str
    members: frozenset[str]  # Genesys Cloud user ids
    codes: frozenset[str]  # keys of wrap-up codes


@dataclass
class Desired:
    named: dict[tuple[str, str], Named] = field(default_factory=dict)  # (kind, key) -> ...
    queues: dict[str, QueueWant] = field(default_factory=dict)
    #: Genesys Cloud user id -> (kind, CIC skill key) -> stars
    levels: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def count(self, kind: str) -> int:
        if kind == QUEUE:
            return len(self.queues)
        return sum(1 for k, _ in self.named if k == kind)


def with_memberships(snapshot: ObjectSnapshot,
                     memberships: Iterable[tuple[str, tuple[str, ...]]]) -> ObjectSnapshot:
    """`snapshot` with the members the user source knows of added: (CIC user ID, its
    workgroups), as the users' CSV ``workgroups`` column says."""
    extra: dict[str, list[str]] = defaultdict(list)
    for user, names in memberships:
        for name in names:
            extra[key(name)].append(user)
    if not extra:
        return snapshot
    merged = [replace(g, members=tuple(dict.fromkeys([*g.members, *extra.get(key(g.id), [])])))
              for g in snapshot.workgroups]
    return replace(snapshot, workgroups=merged)


def desired(snapshot: ObjectSnapshot, links: dict[str, str], thresholds: list[int]) -> Desired:
    """`links`: user key (casefolded CIC user ID) -> the Genesys Cloud user id it is linked to."""
    want = Desired(problems=list(snapshot.problems))
    skill_kind: dict[str, str] = {}
    for skill in snapshot.skills:
        kind = LANGUAGE if skill.language else SKILL
        skill_kind[key(skill.id)] = kind
        want.named[(kind, key(skill.id))] = Named(kind, key(skill.id), skill.id, skill.name)
    codes = set()
    for wrapup in snapshot.wrapup_codes:
        codes.add(key(wrapup.id))
        want.named[(WRAPUP, key(wrapup.id))] = Named(WRAPUP, key(wrapup.id), wrapup.id,
                                                   wrapup.name)

    inherited: dict[str, dict[str, int]] = defaultdict(dict)  # user key -> skill key -> p
    for group in snapshot.workgroups:
        members = {key(m) for m in group.members}
        for level in group.skills:
            for member in members:
                held = inherited[member].get(key(level.skill), 0)
                inherited[member][key(level.skill)] = max(held, level.proficiency)
        if not group.has_queue:
            continue
        missing = [c for c in group.wrapup_codes if key(c) not in codes]
        for code in missing:
            want.problems.append(f"workgroup {group.id}: wrap-up code {code!r} is not in "
                                 "CIC's list of wrap-up codes")
        want.queues[key(group.id)] = QueueWant(
            key(group.id), group.id, group.name,
            frozenset(links[m] for m in members if m in links),
            frozenset(key(c) for c in group.wrapup_codes if key(c) in codes))

    direct = {key(user): levels for user, levels in snapshot.user_skills.items()}
    for user in sorted(set(direct) | set(inherited)):
        genesys_id = links.get(user)
        if genesys_id is None:
            continue
        levels = dict(inherited.get(user, {}))
        levels.update(_own(direct.get(user, ())))
        assigned: dict[tuple[str, str], int] = {}
        for skill_key, proficiency in sorted(levels.items()):
            found = skill_kind.get(skill_key)
            if found is None:
                want.problems.append(f"user {user}: skill {skill_key!r} is not in CIC's list "
                                     "of skills")
                continue
            assigned[(found, skill_key)] = stars(proficiency, thresholds)
        if assigned:
            want.levels[genesys_id] = assigned
    return want


def _own(levels: tuple[SkillLevel, ...]) -> dict[str, int]:
    found: dict[str, int] = {}
    for level in levels:
        found[key(level.skill)] = max(found.get(key(level.skill), 0), level.proficiency)
    return found
