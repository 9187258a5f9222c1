"""Carrying a plan out: one user at a time per worker, `concurrency` workers, state after each.

Every user ends in one committed state row: Synced (with the Genesys Cloud id, version and
fields written), Error (with the message), Not synced (with the reason) or Deactivated. A failure
stays with its user; only problems no other user could get past (credentials refused, connection
lost, state database unwritable, a stop request) end the pass early, and the users not reached
keep the state they had.

The writes themselves:
- create: the state row says "creating" before the POST goes out. If the answer is lost, the
  user is looked up (by our link, then by e-mail) and only sent again if it is not there.
- update, adopt, deactivate, delete: with If-Match on the version last seen. When Genesys Cloud
  answers invalidVers (somebody changed the user meanwhile), the user is read again, the changes
  recomputed against what it now has, and sent again.
- a rename refused because another user has the e-mail (uniqueness): when that user is ours and
  its own CIC user wants another e-mail now (two users swapping e-mails, a rotation), it is moved
  aside first, to the temporary userName ``<32 hex digits>@rename.invalid`` (userName and work
  e-mail), and the rename sent again; its own action, in this pass, gives it its new e-mail. The
  ``.invalid`` top-level domain is reserved (RFC 2606): the address is well-formed, as Genesys
  Cloud requires, can belong to nobody, and a random UUID keeps two of them apart. Its state row
  is marked so that a pass killed in between still renames it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from idp.errors import (
    GenesysAuthError,
    GenesysError,
    GenesysUnavailable,
    OutcomeUnknown,
    ScimError,
    SyncError,
    UniquenessConflict,
    VersionConflict,
)
from idp.genesys.scim import ScimClient
from idp.sync.mapping import (
    Desired,
    apply_operations,
    create_body,
    current_fields,
    deactivate_operations,
    diff,
    link_of,
    patch_operations,
    why_not_ours,
)
from idp.sync.plan import PHASES, Action, Kind, Options, held_by, moving_away
from idp.sync.state import SyncState, user_key
from idp.sync.view import Remote, TargetedView, keep_fields
from idp.timestamps import utc_now

log = logging.getLogger(__name__)

#: Tries per user: creates whose answer was lost, writes that met a newer version.
ATTEMPTS = 3

#: Domain of the temporary userName of a user moved aside to free its e-mail (see above).
RENAME_DOMAIN = "rename.invalid"

RESULTS = ("created", "updated", "adopted", "linked", "deactivated", "deleted", "skipped",
           "conflict", "held", "forgotten", "error", "not attempted")

#: Kinds carried out without a request to Genesys Cloud.
LOCAL = (Kind.SKIP, Kind.CONFLICT, Kind.FORGET, Kind.HOLD)


@dataclass(frozen=True)
class Outcome:
    action: Action
    result: str  # one of RESULTS
    message: str = ""
    genesys_id: str | None = None
    writes: int = 0
    time: str = field(default_factory=utc_now, compare=False)  # when it was done


class _Fatal(Exception):
    """Carries an error that ends the pass out of a worker."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class Applier:
    def __init__(self, client: ScimClient | None, state: SyncState, options: Options, *,
                 concurrency: int = 4, stop: threading.Event | None = None,
                 on_outcome: Callable[[Outcome], None] | None = None,
                 after_each: Callable[[], None] | None = None,
                 targets: dict[str, str] | None = None) -> None:
        self._client = client
        self._targets = targets or {}  # Plan.targets: who should have which e-mail
        self._state = state
        self._options = options
        self._concurrency = concurrency
        self._stop = stop or threading.Event()
        self._on_outcome = on_outcome
        self._after_each = after_each  # e.g. saving the request counters
        self._lock = threading.Lock()
        self._remaining = 0  # remote actions not finished yet
        #: The error that ended the pass early, if one did.
        self.fatal: Exception | None = None

    def pending(self) -> int:
        """Users still waiting for their requests (for "asks to wait" messages)."""
        return self._remaining

    def run(self, actions: list[Action]) -> list[Outcome]:
        outcomes = [self._finish(self._local(a)) for a in actions if a.kind in LOCAL]
        self._remaining = sum(1 for a in actions if a.kind not in LOCAL)
        for phase in PHASES:
            batch = [a for a in actions if a.kind in phase]
            if not batch:
                continue
            with ThreadPoolExecutor(self._concurrency, thread_name_prefix="sync") as pool:
                outcomes.extend(pool.map(self._guarded, batch))
        return outcomes

    # -- one action --------------------------------------------------------------------------

    def _guarded(self, action: Action) -> Outcome:
        if self.fatal is not None or self._stop.is_set():
            return Outcome(action, "not attempted")
        try:
            outcome = self._remote(action)
        except _Fatal as exc:
            with self._lock:
                if self.fatal is None:
                    self.fatal = exc.error
            outcome = Outcome(action, "error", str(exc.error))
            self._record_error(action, str(exc.error))
        except GenesysError as exc:
            outcome = Outcome(action, "error", str(exc))
            self._record_error(action, str(exc))
        return self._finish(outcome)

    def _remote(self, action: Action) -> Outcome:
        try:
            if action.kind == Kind.CREATE:
                return self._create(action)
            if action.kind in (Kind.DEACTIVATE, Kind.DELETE):
                return self._remove(action)
            return self._update(action)
        except (GenesysAuthError, SyncError) as exc:
            raise _Fatal(exc) from None
        except GenesysUnavailable as exc:
            if self._client is not None and self._client.connection_lost:
                raise _Fatal(exc) from None
            raise
        except ScimError as exc:
            if exc.genesys_status == 403:  # a missing permission stops every user alike
                raise _Fatal(exc) from None
            raise

    def _local(self, action: Action) -> Outcome:
        if action.kind == Kind.FORGET:
            self._state.forget(action.user_id)
            return Outcome(action, "forgotten", action.reason)
        if action.kind == Kind.HOLD:  # nothing changes: the next pass decides again
            return Outcome(action, "held", action.reason)
        if action.kind == Kind.CONFLICT:
            self._state.conflict(action.user_id, action.reason, action.email)
            return Outcome(action, "conflict", action.reason)
        self._state.not_synced(action.user_id, action.reason, action.email)
        return Outcome(action, "skipped", action.reason)

    def _create(self, action: Action) -> Outcome:
        desired = self._desired(action)
        client = self._need_client()
        self._state.creating(desired.user_id, desired.user_name)
        body = create_body(desired, self._options.authority)
        for _ in range(ATTEMPTS):
            try:
                written = client.create_user(body)
            except OutcomeUnknown as exc:
                log.info("%s: %s; looking before creating again", desired.user_id, exc)
                found = self._find_own(desired)
                if found is None:
                    continue  # it did not happen: safe to send again
                return self._converge(action, desired, found, "created", writes=1)
            except UniquenessConflict:
                found = self._find_own(desired)
                self._need_client().count_conflict(retried=found is not None)
                if found is not None:
                    return self._converge(action, desired, found, "created", writes=1)
                return self._conflict(action, desired)
            if written.user is None or "id" not in written.user:
                raise ScimError("Genesys Cloud created the user but did not answer with it", 201)
            remote = Remote(str(written.user["id"]), written.version, keep_fields(written.user))
            self._synced(action, desired, remote)
            return Outcome(action, "created", genesys_id=remote.id, writes=1)
        raise GenesysUnavailable(f"creating {desired.user_name}: no answer in {ATTEMPTS} tries, "
                                 "and the user is not there")

    def _update(self, action: Action) -> Outcome:
        desired = self._desired(action)
        assert action.remote is not None
        result = {Kind.ADOPT: "adopted", Kind.LINK: "linked"}.get(action.kind, "updated")
        fields = {c.field for c in action.changes}
        if self._options.force and action.kind != Kind.LINK:
            fields = set(desired.fields(self._options.authority))
        return self._write(action, desired, action.remote, fields, result)

    def _converge(self, action: Action, desired: Desired, remote: Remote, result: str,
                  writes: int = 0) -> Outcome:
        """`remote` is ours: send what still differs, if anything."""
        changes = diff(current_fields(remote.record, self._options.authority),
                       desired.fields(self._options.authority))
        return self._write(action, desired, remote, {c.field for c in changes}, result, writes)

    def _write(self, action: Action, desired: Desired, remote: Remote, fields: set[str],
               result: str, writes: int = 0) -> Outcome:
        authority = self._options.authority
        attempts = 0
        moved = False  # the holder of the e-mail was moved aside (once at most)
        while attempts < ATTEMPTS:
            attempts += 1
            if not fields:
                self._synced(action, desired, remote)
                return Outcome(action, result, genesys_id=remote.id, writes=writes)
            ops = patch_operations(remote.record, desired, authority, fields)
            try:
                written = self._need_client().patch_user(remote.id, ops, remote.version)
            except VersionConflict:
                self._need_client().count_conflict(retried=True)
                fresh = self._reread(remote.id)
                if fresh is None:
                    return self._vanished(action, remote)
                why = why_not_ours(fresh.record, action.user_id, authority,
                                   adopting=action.kind == Kind.ADOPT)
                if why:  # it changed hands meanwhile: nothing of ours to write to it
                    reason = f"its Genesys Cloud user {remote.id} is {why}: left alone"
                    self._state.conflict(action.user_id, reason, desired.user_name)
                    return Outcome(action, "conflict", reason, remote.id, writes)
                changes = diff(current_fields(fresh.record, authority), desired.fields(authority))
                fields = {c.field for c in changes}
                if self._options.force:
                    fields = set(desired.fields(authority))
                remote = fresh
                continue
            except UniquenessConflict:
                if "userName" in fields and not moved and self._move_aside(desired, remote):
                    self._need_client().count_conflict(retried=True)
                    moved = True
                    writes += 1
                    attempts -= 1  # not this user's fault: the same try again
                    continue
                self._need_client().count_conflict(retried=False)
                return self._conflict(action, desired, remote.id, writes)
            except ScimError as exc:
                if exc.genesys_status == 404:
                    return self._vanished(action, remote)
                raise
            writes += 1
            record = keep_fields(written.user) if written.user else apply_operations(
                remote.record, ops)
            self._synced(action, desired, Remote(remote.id, written.version, record))
            return Outcome(action, result, genesys_id=remote.id, writes=writes)
        raise GenesysUnavailable(f"{desired.user_name}: Genesys Cloud user {remote.id} kept "
                                 f"changing while it was being updated ({ATTEMPTS} tries)")

    def _remove(self, action: Action) -> Outcome:
        remote = action.remote
        deleting = action.kind == Kind.DELETE
        result = "deleted" if deleting else "deactivated"
        message = f"{action.reason}: Genesys Cloud user {result}"
        if remote is None:
            return self._gone(action, result)
        client = self._need_client()
        for _ in range(ATTEMPTS):
            try:
                if deleting:
                    client.delete_user(remote.id, remote.version)
                    record: dict[str, Any] | None = None
                    version = None
                else:
                    ops = deactivate_operations()
                    written = client.patch_user(remote.id, ops, remote.version)
                    record = keep_fields(written.user) if written.user else apply_operations(
                        remote.record, ops)
                    version = written.version
            except VersionConflict:
                client.count_conflict(retried=True)
                fresh = self._reread(remote.id)
                if fresh is None:
                    remote = None
                    break
                why = why_not_ours(fresh.record, action.user_id, self._options.authority)
                if why:  # linked meanwhile by another installation, or to another CIC user
                    reason = f"{action.reason}; its Genesys Cloud user {remote.id} is {why}: " \
                             "left active"
                    self._state.not_synced(action.user_id, reason, action.email)
                    return Outcome(action, "skipped", reason)
                if fresh.record.get("active") is False and not deleting:
                    record, version = fresh.record, fresh.version
                    self._state.deactivated(action.user_id, message, version, record,
                                            still_in_cic=action.in_cic, email=action.email,
                                            genesys_id=remote.id)
                    return Outcome(action, result, genesys_id=remote.id)
                remote = fresh
                continue
            except ScimError as exc:
                if exc.genesys_status != 404:
                    raise
                remote = None
                break
            self._state.deactivated(action.user_id, message, version, record,
                                    still_in_cic=action.in_cic, email=action.email,
                                    genesys_id=remote.id)
            return Outcome(action, result, genesys_id=remote.id, writes=1)
        if remote is None:
            return self._gone(action, result)
        raise GenesysUnavailable(f"Genesys Cloud user {remote.id} kept changing while it was "
                                 f"being {result} ({ATTEMPTS} tries)")

    def _gone(self, action: Action, result: str) -> Outcome:
        """The Genesys Cloud user to remove no longer exists: only our state changes."""
        self._state.deactivated(action.user_id, f"{action.reason}: Genesys Cloud user gone",
                                None, None, still_in_cic=action.in_cic, email=action.email)
        return Outcome(action, result, "already gone from Genesys Cloud")

    # -- helpers -----------------------------------------------------------------------------

    def _find_own(self, desired: Desired) -> Remote | None:
        """The Genesys Cloud user carrying our link for `desired`, if there is one."""
        return TargetedView(self._need_client(), self._options.authority).lookup(
            desired.user_id, desired.user_name).by_link

    def _move_aside(self, desired: Desired, remote: Remote) -> bool:
        """Free `desired`'s e-mail for `remote` by renaming the user that has it, if that user
        is ours and its CIC user wants another e-mail now. Whether it was done."""
        authority = self._options.authority
        client = self._need_client()
        holder = TargetedView(client, authority).holder(desired.user_name)
        if (holder is None or holder.id == remote.id
                or not moving_away(holder, desired.user_name, self._targets, authority)):
            return False
        owner = link_of(holder.record, authority) or ""
        if user_key(owner) == user_key(desired.user_id):
            return False
        temporary = f"{uuid.uuid4().hex}@{RENAME_DOMAIN}"
        ops = patch_operations(holder.record, Desired(owner, temporary, "", {}), authority,
                               {"userName", "emails[work]"})
        try:
            client.patch_user(holder.id, ops, holder.version)
        except (VersionConflict, UniquenessConflict):
            return False  # it changed meanwhile: this rename fails now, the next pass retries
        log.info("%s: moved Genesys Cloud user %s of CIC user %s aside (%s) to free %s",
                 desired.user_id, holder.id, owner, temporary, desired.user_name)
        self._state.moved_aside(owner, holder.id, (
            f"its Genesys Cloud user {holder.id} was renamed {temporary} for a moment, to free "
            f"{desired.user_name} for CIC user {desired.user_id}; its own e-mail comes next"))
        return True

    def _conflict(self, action: Action, desired: Desired, genesys_id: str | None = None,
                  writes: int = 0) -> Outcome:
        """Genesys Cloud refused the e-mail as taken: a conflict, told as the planner tells it,
        whichever pass found it."""
        holder = TargetedView(self._need_client(), self._options.authority).holder(
            desired.user_name)
        if holder is not None:
            reason = held_by(desired.user_name, holder, self._options.authority)
            self._state.conflict(action.user_id, reason, desired.user_name)
            return Outcome(action, "conflict", reason, genesys_id, writes)
        message = (f"Genesys Cloud says e-mail {desired.user_name} is already used, but no "
                   "user with it can be found (a deleted user keeps its e-mail: restore or "
                   "rename it in Genesys Cloud)")
        self._state.failed(action.user_id, message, email=desired.user_name)
        return Outcome(action, "error", message, genesys_id, writes)

    def _reread(self, genesys_id: str) -> Remote | None:
        record = self._need_client().get_user(genesys_id)
        return None if record is None else Remote.of(record)

    def _vanished(self, action: Action, remote: Remote) -> Outcome:
        message = (f"its Genesys Cloud user {remote.id} no longer exists; the next pass creates "
                   "it again")
        self._state.failed(action.user_id, message, email=action.email, unlink=True)
        return Outcome(action, "error", message)

    def _synced(self, action: Action, desired: Desired, remote: Remote) -> None:
        self._state.synced(desired.user_id, desired.user_name, remote.id, remote.version,
                           remote.record, desired.fingerprint(self._options.authority),
                           "; ".join(action.warnings))

    def _record_error(self, action: Action, message: str) -> None:
        try:
            self._state.failed(action.user_id, message, email=action.email or None)
        except SyncError as exc:
            log.error("cannot record the error of %s: %s", action.user_id, exc)

    def _desired(self, action: Action) -> Desired:
        if action.desired is None:
            raise AssertionError(f"{action.kind} without a desired user")
        return action.desired

    def _need_client(self) -> ScimClient:
        if self._client is None:
            raise AssertionError("a plan with writes needs a Genesys Cloud client")
        return self._client

    def _finish(self, outcome: Outcome) -> Outcome:
        if outcome.action.kind not in LOCAL:
            with self._lock:
                self._remaining -= 1
        if self._after_each is not None:
            self._after_each()
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        return outcome
