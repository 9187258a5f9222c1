"""One object pass: from CIC's objects and the users the user sync links, what Genesys Cloud
must change, in an order that never leaves a gap, then the deletions, bounded like the users'.

1. skills, languages and wrap-up codes (`named`): created or linked first, so that what
   follows can refer to them (an object being replaced stands in until its successor exists);
2. queues (`queues`), with their members and wrap-up codes;
3. users' skills and languages (`assign`);
4. deletions (`deletions`): queues of workgroups that are gone (or lost their queue), skills,
   languages and wrap-up codes gone from CIC, and those replaced by a rename or a "Treat as
   Language" change, if the sync created them.

What a pass may take away is scoped by what its source read (`removal_scope`): nothing at all
when the source had problems, nothing derived from a list it did not read (a missing CSV file).
And each family has its own bound, with its own allowance (`sync apply --allow-deletions
FAMILY=N`, `ALLOWANCES`): queues, skills (and languages) and wrap-up codes deleted, each at most
``sync.max_deactivations`` (and ``sync.max_deactivations_percent`` of that family's synced
objects); members taken off queues, and skills and languages taken away from users, each at
most ``sync.max_removals``. Above its bound, a family does none of them (held, exit code 3);
the others go on. Approving one family approves nothing else, users' deactivations included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from idp.genesys.routing import RoutingClient
from idp.objects import ObjectSnapshot
from idp.sync.guard import Limit
from idp.sync.objects.actions import Fatal, ObjectReport, Recorder
from idp.sync.objects.assign import AssignSync
from idp.sync.objects.deletions import FAMILIES, Deletions, wanted
from idp.sync.objects.desired import (
    KIND_LABELS,
    LANGUAGE,
    QUEUE,
    SKILL,
    WRAPUP,
    Desired,
    desired,
    with_memberships,
)
from idp.sync.objects.named import NamedSync
from idp.sync.objects.queues import QueueSync
from idp.sync.objects.store import SYNCED, ObjectStore
from idp.sync.state import DEACTIVATED, SyncState, UserState

#: Families of removals that are not deletions: members taken off queues, wrap-up codes taken
#: off queues (not bounded: a code's own deletion is), skills and languages taken from users.
MEMBERS, QUEUE_CODES, USER_SKILLS = "members", "queue_codes", "user_skills"

#: The name of each family's allowance (`--allow-deletions NAME=N`).
ALLOWANCES = {QUEUE: "queues", SKILL: "skills", WRAPUP: "wrapup_codes", MEMBERS: "members",
              USER_SKILLS: "user_skills"}


@dataclass(frozen=True)
class ObjectOptions:
    authority: str = "cic-sts"
    full: bool = False
    #: family (QUEUE, SKILL, WRAPUP, MEMBERS, USER_SKILLS) -> its limit; default: 10 each
    limits: dict[str, Limit] = field(default_factory=dict)
    stars: tuple[int, ...] = (20, 40, 60, 80)

    def limit(self, family: str) -> Limit:
        return self.limits.get(family) or Limit(allowance=ALLOWANCES[family])


def removal_scope(snapshot: ObjectSnapshot) -> dict[str, bool]:
    """Family -> whether this pass may take it away: the source had no problems and read
    every list that decides it (a queue's members come from the workgroups; a user's skills
    from the workgroups, the skills and the skills assigned directly)."""
    ok = not snapshot.problems
    read = snapshot.read
    return {QUEUE: ok and "workgroups" in read, SKILL: ok and "skills" in read,
            WRAPUP: ok and "wrapup_codes" in read, MEMBERS: ok and "workgroups" in read,
            QUEUE_CODES: ok and {"workgroups", "wrapup_codes"} <= read,
            USER_SKILLS: ok and {"workgroups", "skills", "user_skills"} <= read}


def links_of(users: dict[str, UserState]) -> dict[str, str]:
    """User key -> Genesys Cloud user id, for every CIC user linked to an active one."""
    return {k: s.genesys_id for k, s in users.items()
            if s.genesys_id and s.genesys_active and s.status != DEACTIVATED}


class ObjectsPass:
    def __init__(self, client: RoutingClient, state: SyncState, options: ObjectOptions, *,
                 dry: bool) -> None:
        self._client = client
        self._state = state
        self._store = ObjectStore(state)
        self._options = options
        self._rec = Recorder(dry, client.api)

    def run(self, snapshot: ObjectSnapshot, users: dict[str, UserState],
            memberships: list[tuple[str, tuple[str, ...]]] | None = None) -> ObjectReport:
        links = links_of(users)
        names = {genesys_id: users[k].user_id for k, genesys_id in links.items()}
        want = desired(with_memberships(snapshot, memberships or []), links,
                       list(self._options.stars))
        report = ObjectReport(actions=self._rec.actions, problems=want.problems,
                              notes=list(snapshot.notes))
        may = removal_scope(replace(snapshot, problems=want.problems))
        if want.problems:
            report.notes.append("nothing is deleted or taken away in this pass: the source had "
                                f"{len(want.problems)} problems")
        options, rec = self._options, self._rec
        try:
            named = NamedSync(self._client, self._store, rec, options.authority, options.full)
            ids = named.run(want)
            given = named.links(want, ids)
            codes = {k: v for (kind, k), (_, v) in given.items() if kind == WRAPUP}
            # Members the sync decides: every user it links or linked (a deactivated one too:
            # it leaves the queues its CIC user left).
            ever = {s.genesys_id for s in users.values() if s.genesys_id}
            held = QueueSync(self._client, self._store, rec, options.authority, options.full,
                             managed=ever, removals=may[MEMBERS],
                             code_removals=may[QUEUE_CODES]).run(
                want, codes, options.limit(MEMBERS))
            report.held += [held] if held is not None else []
            managed = {kind: {r.genesys_id for r in self._store.rows(kind) if r.genesys_id}
                       | {v for (k, _), v in ids.items() if k == kind}
                       for kind in (SKILL, LANGUAGE)}
            assign = AssignSync(self._client, self._store, rec, full=options.full,
                                removals=may[USER_SKILLS],
                                changes={"workgroups", "skills", "user_skills"} <= snapshot.read)
            held = assign.run(want, given, names, managed, options.limit(USER_SKILLS))
            report.held += [held] if held is not None else []
            listed = {QUEUE: bool(snapshot.workgroups), SKILL: bool(snapshot.skills),
                      WRAPUP: bool(snapshot.wrapup_codes)}
            report.held += Deletions(self._client, self._store, rec, {
                family: options.limit(family) for family in FAMILIES}).run(
                want, ids, retiring=named.retiring, may=may, listed=listed, kept=assign.kept,
                notes=report.notes)
        except Fatal as exc:
            report.error = str(exc.error)
        report.counts = self._counts(want)
        if not rec.dry:
            self._state.set_health("objects", json.dumps({
                "counts": {k: list(v) for k, v in report.counts.items()},
                "errors": report.errors,
                "held": [h.to_json() for h in report.held], "error": report.error}))
        return report

    def _counts(self, want: Desired) -> dict[str, tuple[int, int]]:
        counts = {}
        for family, (kinds, _) in FAMILIES.items():
            rows = [r for kind in kinds for r in self._store.rows(kind)]
            synced = sum(1 for r in rows if r.status == SYNCED and wanted(want, r))
            counts[family] = (synced, sum(want.count(kind) for kind in kinds))
        return counts


__all__ = ["ALLOWANCES", "FAMILIES", "KIND_LABELS", "ObjectOptions", "ObjectsPass", "links_of"]
