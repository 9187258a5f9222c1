"""Skills, languages and wrap-up codes: objects Genesys Cloud knows by name only.

Links. Skills and languages carry nothing but a name, so the link is the state database's row
(`idp.sync.objects.store`). Wrap-up codes have a description, which the sync writes as its
durable marker (`marker`): a state database lost, the codes it created are still known as its
own. An object that already exists with the name a CIC object needs (made by an administrator,
or by another installation) is used, but not owned: it is never renamed or deleted.

- a new CIC object: looked up by name (a listing of the kind, once per pass, deleted skills and
  languages left out), else created (the row says "creating" before the POST leaves: a sync
  killed meanwhile finds it by name on the next pass and owns it);
- a CIC object whose name changed: a wrap-up code the sync owns is renamed (``PUT``); skills
  and languages have no rename, so the new name is a new skill and the old one is retired
  (deleted later, once its users have lost it, if the sync owns it);
- a skill whose "Treat as Language" changed: a language of its name (found or created), the
  skill retired the same way (the rows of one CIC skill are kept per kind).
- ``--full`` also checks that every linked object still exists, and makes again what was
  deleted in Genesys Cloud.
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

    def run(self, want: Desired) -> dict[tuple[str, str], str]:
        """Every wanted skill, language and wrap-up code linked; (kind, key) -> Genesys id."""
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

    def _one(self, item: Named, row: ObjectRow | None) -> str | None:
        if row is not None and row.genesys_id and row.status != CREATING:
            if self._full and self._entity(item.kind, row.genesys_id) is None:
                self._rec.note(item.kind, "forget", row.name,
                               f"Genesys Cloud {KIND_LABELS[item.kind]} {row.genesys_id} no "
                               "longer exists: making it again")
                row = None
            elif row.name == item.name:
                if row.status != SYNCED:
                    self._save(item, row.genesys_id, row.owned, SYNCED)
                return row.genesys_id
            elif item.kind == WRAPUP and row.owned and self._named(WRAPUP, item.name) is None:
                return self._rename(item, row)
            else:
                self._retire(row, f"now {item.name!r} in CIC")
                row = None
        existing = self._named(item.kind, item.name)
        if existing is not None:
            # A create of ours that left no id (killed, or its answer lost) made it.
            ours = (row is not None and row.owned and not row.genesys_id) or (
                item.kind == WRAPUP
                and existing.get("description") == marker(self._authority, item.cic_id))
            self._rec.note(item.kind, "link", item.name,
                           "created by cic-sts" if ours else "exists in Genesys Cloud: used, "
                           "never renamed or deleted by the sync")
            if not self._rec.dry:
                self._save(item, str(existing["id"]), ours, SYNCED)
            return str(existing["id"])
        return self._create(item)

    def _create(self, item: Named) -> str | None:
        label = KIND_LABELS[item.kind]
        if self._rec.dry:
            self._rec.note(item.kind, "create", item.name, result=PLANNED)
            return placeholder(item.kind, item.name)
        self._save(item, None, True, CREATING)
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
                if isinstance(exc, PlatformError) and exc.status in (400, 409):
                    found = self._named(item.kind, item.name, fresh=True)
                    if found is not None:  # made meanwhile by someone else: use it
                        self._rec.note(item.kind, "link", item.name, "exists in Genesys Cloud")
                        self._save(item, str(found["id"]), False, SYNCED)
                        return str(found["id"])
                self._rec.failure(item.kind, "create", item.name, exc)
                self._save(item, None, True, ERROR, str(exc))
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
        self._save(item, None, True, ERROR, message)
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
        return genesys_id

    def _retire(self, row: ObjectRow, why: str) -> None:
        """The row's object is no longer the CIC object's: deleted later if it is ours."""
        if self._rec.dry:
            return
        self._store.forget(row.kind, row.key)
        if row.owned and row.genesys_id:
            self._store.save(ObjectRow(row.kind, f"{row.key}#{row.genesys_id}", row.cic_id,
                                       row.name, RETIRED, why, row.genesys_id, True))

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
