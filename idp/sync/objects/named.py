"""Skills, languages and wrap-up codes: objects Genesys Cloud knows by name only.

Links. Skills and languages carry nothing but a name, so the link is the state database's row
(`idp.sync.objects.store`). Wrap-up codes have a description, which the sync writes as its
durable marker (`marker`): a state database lost, the codes it created are still known as its
own. An object that already exists with the name a CIC object needs (made by an administrator,
or by another installation) is used, but not owned: it is never renamed or deleted.

- a new CIC object: looked up by name (a listing of the kind, once per pass, deleted skills and
  languages left out), else created (the row says "creating" before the POST leaves). An object
  found by name is taken as the sync's own only if the sync may have made it: a wrap-up code
  carrying its marker, a skill or language whose create was marked but whose outcome is not
  known (killed meanwhile, the answer lost). A create Genesys Cloud refused made nothing: the
  name found later is someone else's;
- a CIC object whose name changed: a wrap-up code the sync owns is renamed (``PUT``); skills
  and languages have no rename, so the new name is a new skill, and the old one is retired only
  when the new one is linked (the two rows change in one transaction). Until then the old one
  stands in for it (`links`): users keep it, nothing is deleted;
- a skill whose "Treat as Language" changed: a language of its name (found or created); the
  skill stands in for it until then, and is deleted afterwards like a retired one (the rows of
  one CIC skill are kept per kind);
- ``--full`` also checks that every linked object still exists, and makes again what was
  deleted in Genesys Cloud.

A plan retires nothing, but records what it would (`retiring`), so that `sync plan` shows the
deletions a rename leads to, and their hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from idp.errors import GenesysError, OutcomeUnknown, PlatformError
from idp.genesys.routing import RoutingClient
from idp.sync.objects.actions import PLANNED, Recorder
from idp.sync.objects.desired import KIND_LABELS, LANGUAGE, SKILL, WRAPUP, Desired, Named
from idp.sync.objects.store import CREATING, ERROR, RETIRED, SYNCED, ObjectRow, ObjectStore

#: Tries of a create whose answer was lost (each after looking the object up).
ATTEMPTS = 3

#: The kinds one CIC object may take in turn (a skill flips between skill and language).
SIBLINGS = {SKILL: (SKILL, LANGUAGE), LANGUAGE: (SKILL, LANGUAGE), WRAPUP: (WRAPUP,)}

#: (kind, CIC key) -> (kind, Genesys Cloud id) of what users and queues get for it.
Links = dict[tuple[str, str], tuple[str, str]]


def marker(authority: str, cic_id: str) -> str:
    """The description of a wrap-up code the sync created: its durable link."""
    return f"CIC wrap-up code {cic_id}, synced by {authority}"


def placeholder(kind: str, name: str) -> str:
    """The id a plan gives an object it would create."""
    return f"(new {KIND_LABELS[kind]} {name})"


class NamedSync:
    def __init__(self, client: RoutingClient, store: ObjectStore, recorder: Recorder,
                 authority: str, full: bool) -> None:
        self._client = client
        self._store = store
        self._rec = recorder
        self._authority = authority
        self._full = full
        self._listings: dict[str, list[dict[str, Any]]] = {}
        self.retiring: list[ObjectRow] = []  # in a plan: the rows a pass would retire

    def run(self, want: Desired) -> dict[tuple[str, str], str]:
        """Every wanted skill, language and wrap-up code linked; (kind, key) -> Genesys id
        (in a plan, a placeholder for what it would create)."""
        ids: dict[tuple[str, str], str] = {}
        for kind in (SKILL, LANGUAGE, WRAPUP):
            rows = {r.key: r for r in self._store.rows(kind) if r.status != RETIRED}
            for (item_kind, item_key), item in sorted(want.named.items()):
                if item_kind != kind:
                    continue
                found = self._one(item, rows.get(item_key))
                if found is not None:
                    ids[(kind, item_key)] = found
        return ids

    def links(self, want: Desired, ids: dict[tuple[str, str], str]) -> Links:
        """`ids`, and for a wanted object not linked, the object that stands in for it: the
        one it replaces (renamed, or its "Treat as Language" changed), if the sync has it."""
        found: Links = {k: (k[0], v) for k, v in ids.items()}
        rows = [r for kind in (SKILL, LANGUAGE, WRAPUP) for r in self._store.rows(kind)]
        for wanted in want.named:
            if wanted in found:
                continue
            kind, cic_key = wanted
            older = [r for r in [*rows, *self.retiring] if r.genesys_id and r.cic_key == cic_key
                     and r.kind in SIBLINGS[kind] and (r.kind, r.key) != wanted
                     and r.status != CREATING]
            if older:
                best = max(older, key=lambda r: r.updated)
                found[wanted] = (best.kind, str(best.genesys_id))
        return found

    def _one(self, item: Named, row: ObjectRow | None) -> str | None:
        replacing: ObjectRow | None = None
        if row is not None and row.genesys_id and row.status != CREATING:
            if self._full and self._entity(item.kind, row.genesys_id) is None:
                self._rec.note(item.kind, "forget", row.name,
                               f"Genesys Cloud {KIND_LABELS[item.kind]} {row.genesys_id} no "
                               "longer exists: making it again")
            elif row.name == item.name:
                if row.status != SYNCED and not self._rec.dry:
                    self._save(item, row.genesys_id, row.owned, SYNCED)
                return row.genesys_id
            elif item.kind == WRAPUP and row.owned and self._named(WRAPUP, item.name) is None:
                return self._rename(item, row)
            else:
                replacing = row  # retired once its replacement is linked
            row = None
        existing = self._named(item.kind, item.name)
        if existing is not None:
            ours = self._ours(item, row, existing)
            self._rec.note(item.kind, "link", item.name,
                           "created by cic-sts" if ours else "exists in Genesys Cloud: used, "
                           "never renamed or deleted by the sync")
            self._link(item, str(existing["id"]), ours, replacing)
            return str(existing["id"])
        return self._create(item, replacing)

    def _ours(self, item: Named, row: ObjectRow | None, existing: dict[str, Any]) -> bool:
        """Whether an object found by name may be one the sync made."""
        if item.kind == WRAPUP:
            return existing.get("description") == marker(self._authority, item.cic_id)
        # A create marked and never answered (killed, or its answer lost): maybe ours. One
        # Genesys Cloud refused left owned = False.
        return row is not None and row.owned and not row.genesys_id \
            and row.status in (CREATING, ERROR)

    def _create(self, item: Named, replacing: ObjectRow | None) -> str | None:
        label = KIND_LABELS[item.kind]
        if self._rec.dry:
            self._rec.note(item.kind, "create", item.name, result=PLANNED)
            self._link(item, None, True, replacing)
            return placeholder(item.kind, item.name)
        self._link(item, None, True, replacing, status=CREATING)
        problem = ""
        for _ in range(ATTEMPTS):
            try:
                entity = self._post(item)
            except OutcomeUnknown as exc:
                problem = str(exc)
                found = self._named(item.kind, item.name, fresh=True)
                if found is None:
                    continue  # it did not happen: safe to send again
                entity = found
            except GenesysError as exc:
                if isinstance(exc, PlatformError) and exc.genesys_status in (400, 409):
                    found = self._named(item.kind, item.name, fresh=True)
                    if found is not None:  # made meanwhile by someone else: use it
                        self._rec.note(item.kind, "link", item.name, "exists in Genesys Cloud")
                        self._save(item, str(found["id"]), False, SYNCED)
                        return str(found["id"])
                # Refused: nothing was made, so nothing of this name is the sync's.
                self._save(item, None, False, ERROR, str(exc))
                self._rec.failure(item.kind, "create", item.name, exc)
                return None
            if not isinstance(entity.get("id"), str):
                problem = f"Genesys Cloud created the {label} but did not answer with its id"
                break
            self._rec.done(item.kind, "create", item.name)
            self._save(item, entity["id"], True, SYNCED)
            self._listings.setdefault(item.kind, []).append(entity)
            return str(entity["id"])
        message = problem or f"creating {label} {item.name}: no answer in {ATTEMPTS} tries"
        self._rec.note(item.kind, "create", item.name, message, result="error")
        self._save(item, None, True, ERROR, message)  # it may exist: found by name next time
        return None

    def _post(self, item: Named) -> dict[str, Any]:
        if item.kind == SKILL:
            return self._client.create_skill(item.name)
        if item.kind == LANGUAGE:
            return self._client.create_language(item.name)
        return self._client.create_wrapup_code(item.name, marker(self._authority, item.cic_id))

    def _rename(self, item: Named, row: ObjectRow) -> str | None:
        assert row.genesys_id is not None
        genesys_id = row.genesys_id
        done, _ = self._rec.write(WRAPUP, "rename", item.name, f"was {row.name!r}",
                                  lambda: self._client.update_wrapup_code(
                                      genesys_id, item.name,
                                      marker(self._authority, item.cic_id)))
        if done:
            self._save(item, genesys_id, True, SYNCED)
        return genesys_id  # renamed or not (tried again next pass), it is the code

    def _link(self, item: Named, genesys_id: str | None, owned: bool,
              replacing: ObjectRow | None, status: str = SYNCED) -> None:
        """Save the item's row (linked, or its create marked), and retire `replacing` with it
        in one transaction; a plan records the retirement only."""
        row = ObjectRow(item.kind, item.key, item.cic_id, item.name, status, "", genesys_id,
                        owned)
        if replacing is None or not replacing.genesys_id:
            if not self._rec.dry:
                self._store.save(row)
            return
        why = f"now {item.name!r} in CIC" if replacing.kind == item.kind else \
            f"now a {KIND_LABELS[item.kind]} in CIC"
        if self._rec.dry:
            self.retiring.append(ObjectRow(
                replacing.kind, f"{replacing.key}#{replacing.genesys_id}", replacing.cic_id,
                replacing.name, RETIRED, why, replacing.genesys_id, replacing.owned))
            return
        self._store.retire(replacing, why, row)

    # -- what Genesys Cloud has ------------------------------------------------------------------

    def _listing(self, kind: str, fresh: bool = False) -> list[dict[str, Any]]:
        if fresh or kind not in self._listings:
            lister: Callable[[], Any] = {SKILL: self._client.skills,
                                         LANGUAGE: self._client.languages,
                                         WRAPUP: self._client.wrapup_codes}[kind]
            self._listings[kind] = [e for e in self._rec.read(lambda: list(lister()))
                                    if str(e.get("state", "")).casefold() != "deleted"]
        return self._listings[kind]

    def _named(self, kind: str, name: str, fresh: bool = False) -> dict[str, Any] | None:
        """The live object of `kind` called `name` (names compare without letter case)."""
        return next((e for e in self._listing(kind, fresh)
                     if str(e.get("name", "")).casefold() == name.casefold()
                     and isinstance(e.get("id"), str)), None)

    def _entity(self, kind: str, genesys_id: str) -> dict[str, Any] | None:
        return next((e for e in self._listing(kind) if e.get("id") == genesys_id), None)

    def _save(self, item: Named, genesys_id: str | None, owned: bool, status: str,
              message: str = "") -> None:
        self._store.save(ObjectRow(item.kind, item.key, item.cic_id, item.name, status,
                                   message, genesys_id, owned))
