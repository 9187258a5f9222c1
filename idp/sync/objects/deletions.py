"""The last step of an object pass: deleting what the sync created and CIC no longer has.

A row of the state database whose CIC object is gone (a workgroup deleted or without a queue, a
skill or wrap-up code gone), or that a rename or a "Treat as Language" change replaced, is
deleted in Genesys Cloud if the sync created it, else only forgotten. But:

- an object that is being replaced stays until its replacement is linked (it stands in for it
  meanwhile: `idp.sync.objects.named`);
- a skill or language that a user still has because taking it away was held or failed stays
  until it is taken away;
- nothing of a family is deleted when the source did not read its list, or had problems;
- an empty list deletes nothing of its kind (more likely a mistake than the end of everything);
- a family (queues; skills and languages; wrap-up codes) deletes at most its `Limit`, or none:
  they are held, and `sync apply --allow-deletions FAMILY=N` lets N through.

A plan runs the same checks on what the pass would do, planned retirements included.
"""

from __future__ import annotations

from collections.abc import Callable

from idp.genesys.routing import RoutingClient
from idp.sync.guard import Held, Limit
from idp.sync.objects.actions import Recorder
from idp.sync.objects.desired import LANGUAGE, QUEUE, SKILL, WRAPUP, Desired
from idp.sync.objects.store import CONFLICT, RETIRED, SYNCED, ObjectRow, ObjectStore

#: Families of objects for the limit and the health view: name -> (kinds, what they are).
FAMILIES = {QUEUE: ((QUEUE,), "queues"), SKILL: ((SKILL, LANGUAGE), "skills and languages"),
            WRAPUP: ((WRAPUP,), "wrap-up codes")}


def wanted(want: Desired, row: ObjectRow) -> bool:
    """Whether the row is the link of an object CIC has, as it is now."""
    if row.status == RETIRED:
        return False
    if row.kind == QUEUE:
        return row.key in want.queues
    return (row.kind, row.key) in want.named


class Deletions:
    def __init__(self, client: RoutingClient, store: ObjectStore, recorder: Recorder,
                 limits: dict[str, Limit]) -> None:
        self._client = client
        self._store = store
        self._rec = recorder
        self._limits = limits  # family -> its limit

    def run(self, want: Desired, linked: dict[tuple[str, str], str], *,
            retiring: list[ObjectRow], may: dict[str, bool], listed: dict[str, bool],
            kept: set[str], notes: list[str]) -> list[Held]:
        """`linked`: (kind, key) -> Genesys id of every object linked in this pass; `may`:
        family -> whether its deletions are decided by this pass's source; `listed`: whether
        its list had anything; `kept`: ids still assigned to users. The holds."""
        held = []
        for family, (kinds, noun) in FAMILIES.items():
            if not may[family]:
                continue
            rows = [r for kind in kinds for r in self._store.rows(kind)]
            if self._rec.dry:
                rows += [r for r in retiring if r.kind in kinds]
            gone = [r for r in rows if not wanted(want, r) and self._replaced(want, linked, r)]
            doomed = []
            for row in gone:
                if not row.owned or not row.genesys_id or row.status == CONFLICT:
                    if not self._rec.dry:
                        self._store.forget(row.kind, row.key)
                elif row.genesys_id not in kept:
                    doomed.append(row)
            if not doomed:
                continue
            if not listed[family] and any(r.status != RETIRED for r in doomed):
                notes.append(f"CIC lists no {noun} at all: the {len(doomed)} the sync created "
                             "are left as they are (an empty list is more likely a mistake "
                             "than the end of every one)")
                continue
            synced = sum(1 for r in rows if r.status in (SYNCED, RETIRED) and r.owned)
            hold = self._limits[family].check(len(doomed), synced, "deleted",
                                              noun=f"synced {noun}")
            if hold is not None:
                held.append(hold)
                for row in doomed:
                    self._rec.note(row.kind, "hold", row.name, "not deleted: the pass was held",
                                   result="held")
                continue
            for row in doomed:
                self._delete(row, _why(want, row))
        return held

    @staticmethod
    def _replaced(want: Desired, linked: dict[tuple[str, str], str], row: ObjectRow) -> bool:
        """Whether nothing needs the row's object any more: its CIC object is gone, or what
        replaces it is linked."""
        if row.kind == QUEUE:
            return True
        family = FAMILIES[WRAPUP if row.kind == WRAPUP else SKILL][0]
        successors = [k for k in family if (k, row.cic_key) in want.named]
        return not successors or any(
            linked.get((k, row.cic_key)) not in (None, row.genesys_id) for k in successors)

    def _delete(self, row: ObjectRow, why: str) -> None:
        assert row.genesys_id is not None
        genesys_id = row.genesys_id
        delete: Callable[[str], bool] = {
            QUEUE: self._client.delete_queue, SKILL: self._client.delete_skill,
            LANGUAGE: self._client.delete_language,
            WRAPUP: self._client.delete_wrapup_code}[row.kind]
        done, _ = self._rec.write(row.kind, "delete", row.name, why,
                                  lambda: delete(genesys_id))
        if done:
            self._store.forget(row.kind, row.key)


def _why(want: Desired, row: ObjectRow) -> str:
    if row.status == RETIRED and row.message:
        return row.message  # "now 'Billing & Payments' in CIC"
    if row.kind in (SKILL, LANGUAGE) and any((k, row.cic_key) in want.named
                                             for k in (SKILL, LANGUAGE)):
        return "Treat as Language changed in CIC"
    return "gone from CIC"
