"""One object pass: from CIC's objects and the users the user sync links, what Genesys Cloud
must change, in an order that never leaves a gap, then the deletions, bounded like the users'.

1. skills, languages and wrap-up codes (`named`): created or linked first, so that what
   follows can refer to them;
2. queues (`queues`), with their members and wrap-up codes;
3. users' skills and languages (`assign`);
4. deletions: queues of workgroups that are gone (or lost their queue), skills, languages and
   wrap-up codes gone from CIC, and those retired by a rename or a "Treat as Language" change,
   if the sync created them. A pass deletes nothing (and removes no member, code or skill from
   anyone) when the source had problems; and it deletes no more of one family (queues; skills
   and languages; wrap-up codes) than the sync's limit (`idp.sync.guard`, the
   ``sync.max_deactivations`` users have, counted among that family's synced objects), or none
   of them: they are held, and ``sync apply --allow-deactivations N`` lets N through.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from idp.genesys.routing import RoutingClient
from idp.objects import ObjectSnapshot
from idp.sync.guard import Limit
from idp.sync.objects.actions import Fatal, ObjectReport, Recorder
from idp.sync.objects.assign import AssignSync
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
from idp.sync.objects.store import CONFLICT, RETIRED, SYNCED, ObjectRow, ObjectStore
from idp.sync.state import DEACTIVATED, SyncState, UserState

#: Families of objects for the limit and the health view: name -> (kinds, what they are).
FAMILIES = {QUEUE: ((QUEUE,), "queues"), SKILL: ((SKILL, LANGUAGE), "skills and languages"),
            WRAPUP: ((WRAPUP,), "wrap-up codes")}


@dataclass(frozen=True)
class ObjectOptions:
    authority: str = "cic-sts"
    full: bool = False
    limit: Limit = field(default_factory=Limit)
    stars: tuple[int, ...] = (20, 40, 60, 80)


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
        report = ObjectReport(actions=self._rec.actions, problems=want.problems)
        removals = not want.problems
        if not removals:
            report.notes.append("nothing is deleted or taken away in this pass: the source had "
                                f"{len(want.problems)} problems")
        options, rec = self._options, self._rec
        try:
            ids = NamedSync(self._client, self._store, rec, options.authority,
                            options.full).run(want)
            codes = {k: v for (kind, k), v in ids.items() if kind == WRAPUP}
            # Members the sync decides: every user it links or linked (a deactivated one too:
            # it leaves the queues its CIC user left).
            ever = {s.genesys_id for s in users.values() if s.genesys_id}
            QueueSync(self._client, self._store, rec, options.authority, options.full,
                      managed=ever, removals=removals).run(want, codes)
            managed = {kind: {r.genesys_id for r in self._store.rows(kind) if r.genesys_id}
                       | {v for (k, _), v in ids.items() if k == kind}
                       for kind in (SKILL, LANGUAGE)}
            AssignSync(self._client, self._store, rec, full=options.full,
                       removals=removals).run(want, ids, names, managed)
            self._deletions(want, snapshot, removals, report)
        except Fatal as exc:
            report.error = str(exc.error)
        report.counts = self._counts(want)
        if not rec.dry:
            self._state.set_health("objects", json.dumps({
                "counts": {k: list(v) for k, v in report.counts.items()},
                "errors": report.errors,
                "held": [h.to_json() for h in report.held], "error": report.error}))
        return report

    def _deletions(self, want: Desired, snapshot: ObjectSnapshot, removals: bool,
                   report: ObjectReport) -> None:
        listed = {QUEUE: bool(snapshot.workgroups), SKILL: bool(snapshot.skills),
                  WRAPUP: bool(snapshot.wrapup_codes)}
        for family, (kinds, noun) in FAMILIES.items():
            rows = [r for kind in kinds for r in self._store.rows(kind)]
            gone = [r for r in rows if r.status == RETIRED or not self._wanted(want, r)]
            for row in gone:
                if not row.owned or not row.genesys_id or row.status == CONFLICT:
                    if not self._rec.dry:
                        self._store.forget(row.kind, row.key)
            doomed = [r for r in gone if r.owned and r.genesys_id and r.status != CONFLICT]
            if not doomed:
                continue
            if not removals:
                continue
            if not listed[family] and any(r.status != RETIRED for r in doomed):
                report.notes.append(f"CIC lists no {noun} at all: the {len(doomed)} the sync "
                                    "created are left as they are (an empty list is more "
                                    "likely a mistake than the end of every one)")
                continue
            synced = sum(1 for r in rows if r.status in (SYNCED, RETIRED) and r.owned)
            held = self._options.limit.check(len(doomed), synced, "deleted",
                                             noun=f"synced {noun}")
            if held is not None:
                report.held.append(held)
                for row in doomed:
                    self._rec.note(row.kind, "hold", row.name, "not deleted: the pass was held",
                                   result="held")
                continue
            for row in doomed:
                self._delete(row)

    def _delete(self, row: ObjectRow) -> None:
        assert row.genesys_id is not None
        genesys_id = row.genesys_id
        delete = {QUEUE: self._client.delete_queue, SKILL: self._client.delete_skill,
                  LANGUAGE: self._client.delete_language,
                  WRAPUP: self._client.delete_wrapup_code}[row.kind]
        why = "renamed in CIC" if row.status == RETIRED else "gone from CIC"
        done, _ = self._rec.write(row.kind, "delete", row.name, why,
                                  lambda: delete(genesys_id))
        if done:
            self._store.forget(row.kind, row.key)

    @staticmethod
    def _wanted(want: Desired, row: ObjectRow) -> bool:
        if row.kind == QUEUE:
            return row.key in want.queues
        return (row.kind, row.key) in want.named

    def _counts(self, want: Desired) -> dict[str, tuple[int, int]]:
        counts = {}
        for family, (kinds, _) in FAMILIES.items():
            rows = [r for kind in kinds for r in self._store.rows(kind)]
            synced = sum(1 for r in rows if r.status == SYNCED and self._wanted(want, r))
            counts[family] = (synced, sum(want.count(kind) for kind in kinds))
        return counts


__all__ = ["FAMILIES", "KIND_LABELS", "ObjectOptions", "ObjectsPass", "links_of"]
