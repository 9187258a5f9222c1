"""Workgroups as queues: the queue itself, its members and its wrap-up codes.

The link is the queue's ``peerId``, "the ID of an associated external queue", which Genesys
Cloud lets a listing filter on: ``<sync.authority>:<workgroup id>`` (casefolded). So a queue the
sync created is found again after a state database was lost or a create's answer was lost, it
can be told from another installation's, and no queue made by someone else is ever taken: a
workgroup whose name a queue without our peerId already has is a conflict, reported and left
alone.

Members and wrap-up codes are changed only where the sync decides them: a member is added or
removed only if the user sync links it (`managed`), a code only if the object sync links it.
An incremental pass compares with what it last set (no request when nothing changed); ``--full``
reads the queue's members and codes first, which also undoes changes made in Genesys Cloud.
Members are added queue by queue; the members to take off queues are counted over the whole pass
first and taken off only within `limit` (``sync.max_removals``, or ``--allow-deletions
members=N``), else none: stripping agents from queues stops routing as surely as deactivating
them. A rename that fails keeps the old name in the state database, so the next pass tries again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from idp.errors import GenesysError, OutcomeUnknown
from idp.genesys.routing import RoutingClient
from idp.sync.guard import Held, Limit
from idp.sync.objects.actions import PLANNED, Recorder
from idp.sync.objects.desired import QUEUE, Desired, QueueWant
from idp.sync.objects.named import ATTEMPTS, placeholder
from idp.sync.objects.store import CONFLICT, CREATING, ERROR, SYNCED, ObjectRow, ObjectStore


@dataclass
class _Queue:
    """A queue as the pass leaves it: what to save, and the members still to take off."""

    want: QueueWant
    queue_id: str
    name: str  # its name in Genesys Cloud now
    members: set[str]
    codes: set[str]
    gone: set[str]
    problem: str


def peer_id(authority: str, workgroup_key: str) -> str:
    return f"{authority}:{workgroup_key}"


class QueueSync:
    def __init__(self, client: RoutingClient, store: ObjectStore, recorder: Recorder,
                 authority: str, full: bool, *, managed: set[str], removals: bool,
                 code_removals: bool) -> None:
        self._client = client
        self._store = store
        self._rec = recorder
        self._authority = authority
        self._full = full
        self._managed = managed  # Genesys Cloud user ids the user sync links
        self._removals = removals  # whether members may be taken off queues this pass
        self._code_removals = code_removals  # and wrap-up codes
        self._listed: list[dict[str, Any]] | None = None  # every queue, read once a pass
        self._renaming: dict[str, str] = {}  # queue key -> why its rename failed

    def run(self, want: Desired, code_ids: dict[str, str], limit: Limit) -> Held | None:
        """Every wanted queue linked, with its members and codes (`code_ids`: wrap-up code key
        -> Genesys id); then the members to take off, within `limit` (else the hold)."""
        rows = {r.key: r for r in self._store.rows(QUEUE)}
        managed_codes = set(code_ids.values())
        states: list[_Queue] = []
        for queue_key, queue in sorted(want.queues.items()):
            row = rows.get(queue_key)
            linked = self._queue(queue, row)
            if linked is None:
                continue
            queue_id, known, name = linked
            codes = {code_ids[c] for c in queue.codes if c in code_ids}
            members, gone, member_error = self._members(queue, queue_id, known, row)
            stored_codes, code_error = self._codes(queue, queue_id, known, row, codes,
                                                   managed_codes)
            state = _Queue(queue, queue_id, name, members, stored_codes, gone,
                           member_error or code_error or self._renaming.pop(queue.key, ""))
            self._save(state)
            states.append(state)
        return self._take_off(states, limit)

    def _take_off(self, states: list[_Queue], limit: Limit) -> Held | None:
        later = [q for q in states if q.gone]
        total = sum(len(q.gone) for q in later)
        if not total:
            return None
        among = sum(len(q.members) for q in states)
        held = limit.check(total, among, "removed", noun="queue memberships")
        if held is not None:
            for q in later:
                self._rec.note("members", "hold", q.want.name, f"{_users(len(q.gone))} not "
                               "removed: the pass was held", result="held")
            return held
        for q in later:
            done, _ = self._rec.write("members", "remove", q.want.name, _users(len(q.gone)),
                                      partial(self._client.change_queue_members, q.queue_id,
                                              q.gone, remove=True))
            if done:
                q.members -= q.gone
            elif not self._rec.dry:
                q.problem = q.problem or "removing members failed"
            self._save(q)
        return None

    def _save(self, q: _Queue) -> None:
        if not self._rec.dry:
            self._store.save(ObjectRow(
                QUEUE, q.want.key, q.want.cic_id, q.name, ERROR if q.problem else SYNCED,
                q.problem, q.queue_id, True, {"members": sorted(q.members),
                                              "codes": sorted(q.codes)}))

    # -- the queue -------------------------------------------------------------------------------

    def _queue(self, queue: QueueWant, row: ObjectRow | None) -> tuple[str, bool, str] | None:
        """(queue id, whether its members and codes must be read, its name in Genesys Cloud
        now); None: not linked."""
        if row is not None and row.genesys_id and row.status not in (CREATING, CONFLICT):
            entity = self._rec.read(lambda: self._client.queue(row.genesys_id or "")) \
                if self._full else None
            if self._full and entity is None:
                self._rec.note(QUEUE, "forget", row.name, f"Genesys Cloud queue "
                               f"{row.genesys_id} no longer exists: making it again")
            else:
                name = self._renamed(queue, row.genesys_id, row.name, entity)
                return row.genesys_id, self._full, name
        peer = peer_id(self._authority, queue.key)
        found = self._by_peer(peer, fresh=row is not None and row.status == CREATING)
        if found is not None:
            self._rec.note(QUEUE, "link", queue.name, f"found by its peerId {peer}")
            name = self._renamed(queue, str(found["id"]), str(found.get("name")), found)
            return str(found["id"]), True, name
        holder = self._by_name(queue.name)
        if holder is not None:
            message = (f"queue name {queue.name!r} belongs to Genesys Cloud queue "
                       f"{holder.get('id')}, which cic-sts did not create: left alone")
            self._rec.note(QUEUE, "conflict", queue.name, message)
            if not self._rec.dry:
                self._store.save(ObjectRow(QUEUE, queue.key, queue.cic_id, queue.name,
                                           CONFLICT, message))
            return None
        return self._create(queue, peer)

    def _create(self, queue: QueueWant, peer: str) -> tuple[str, bool, str] | None:
        if self._rec.dry:
            self._rec.note(QUEUE, "create", queue.name, result=PLANNED)
            return placeholder(QUEUE, queue.name), False, queue.name
        self._store.save(ObjectRow(QUEUE, queue.key, queue.cic_id, queue.name, CREATING))
        description = f"CIC workgroup {queue.cic_id}, synced by {self._authority}"
        for _ in range(ATTEMPTS):
            try:
                entity: dict[str, Any] | None = self._client.create_queue(
                    queue.name, peer, description)
            except OutcomeUnknown:
                entity = self._by_peer(peer, fresh=True)
                if entity is None:
                    continue  # it did not happen: safe to send again
            except GenesysError as exc:
                self._rec.failure(QUEUE, "create", queue.name, exc)
                self._store.save(ObjectRow(QUEUE, queue.key, queue.cic_id, queue.name, ERROR,
                                           str(exc)))
                return None
            if entity is None or not isinstance(entity.get("id"), str):
                break
            self._rec.done(QUEUE, "create", queue.name)
            self._queues().append(entity)
            self._store.save(ObjectRow(QUEUE, queue.key, queue.cic_id, queue.name, SYNCED,
                                       "", entity["id"], True))
            return str(entity["id"]), False, queue.name
        message = f"creating queue {queue.name}: no answer in {ATTEMPTS} tries"
        self._rec.note(QUEUE, "create", queue.name, message, result="error")
        self._store.save(ObjectRow(QUEUE, queue.key, queue.cic_id, queue.name, ERROR, message))
        return None

    def _renamed(self, queue: QueueWant, queue_id: str, old: str,
                 entity: dict[str, Any] | None) -> str:
        """The queue's name after renaming it if CIC's changed: the new one, or (the rename
        failed: tried again next pass) the old one."""
        if old == queue.name:
            return old

        def send() -> None:
            # PUT replaces the whole queue: send back what Genesys Cloud has, with the new
            # name, so that settings made there are kept.
            current = entity or self._client.queue(queue_id)
            if current is None:
                raise GenesysError(f"Genesys Cloud queue {queue_id} no longer exists")
            self._client.update_queue(queue_id, {**current, "name": queue.name})

        done, _ = self._rec.write(QUEUE, "rename", queue.name, f"was {old!r}", send)
        if done or self._rec.dry:
            return queue.name
        self._renaming[queue.key] = f"renaming the queue {old!r} to {queue.name!r} failed"
        return old

    def _queues(self) -> list[dict[str, Any]]:
        if self._listed is None:
            self._listed = self._rec.read(lambda: list(self._client.queues()))
        return self._listed

    def _by_peer(self, peer: str, fresh: bool = False) -> dict[str, Any] | None:
        """The queue with this peerId: from the pass's listing, or asked for (`fresh`: after
        a create whose outcome is unknown)."""
        found = (self._rec.read(lambda: list(self._client.queues(peer_id=peer))) if fresh
                 else self._queues())
        return next((q for q in found if q.get("peerId") == peer
                     and isinstance(q.get("id"), str)), None)

    def _by_name(self, name: str) -> dict[str, Any] | None:
        return next((q for q in self._queues()
                     if str(q.get("name", "")).casefold() == name.casefold()), None)

    # -- members and codes -----------------------------------------------------------------------

    def _members(self, queue: QueueWant, queue_id: str, read: bool,
                 row: ObjectRow | None) -> tuple[set[str], set[str], str]:
        """The members the queue has after the additions, those to take off, and the error,
        if any."""
        if read and not queue_id.startswith("("):
            current = self._rec.read(lambda: self._client.queue_members(queue_id))
        else:
            current = row.listed("members") if row is not None and not read else set()
        current &= self._managed
        add = queue.members - current
        gone = (current - queue.members) if self._removals else set()
        problem = ""
        if add:
            done, _ = self._rec.write("members", "add", queue.name, _users(len(add)),
                                      lambda: self._client.change_queue_members(queue_id, add))
            current |= add if done else set()
            problem = "" if done or self._rec.dry else "adding members failed"
        return current, gone, problem

    def _codes(self, queue: QueueWant, queue_id: str, read: bool, row: ObjectRow | None,
               wanted: set[str], managed: set[str]) -> tuple[set[str], str]:
        if read and not queue_id.startswith("("):
            current = self._rec.read(lambda: self._client.queue_wrapup_codes(queue_id))
        else:
            current = row.listed("codes") if row is not None and not read else set()
        current &= managed | (row.listed("codes") if row is not None else set())
        add = wanted - current
        remove = (current - wanted) if self._code_removals else set()
        problem = ""
        if add:
            done, _ = self._rec.write("queue_codes", "add", queue.name, f"{len(add)} wrap-up "
                                      "codes", lambda: self._client.add_queue_wrapup_codes(
                                          queue_id, add))
            current |= add if done else set()
            problem = "" if done or self._rec.dry else "adding wrap-up codes failed"
        for code in sorted(remove):
            done, _ = self._rec.write("queue_codes", "remove", queue.name, f"wrap-up code "
                                      f"{code}", partial(self._client.remove_queue_wrapup_code,
                                              queue_id, code))
            current -= {code} if done else set()
            problem = problem or ("" if done or self._rec.dry else "removing a code failed")
        return current, problem


def _users(count: int) -> str:
    return f"{count} user" if count == 1 else f"{count} users"
