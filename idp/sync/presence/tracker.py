"""The newest CIC status of every agent, the presence last written for it, and what waits.

- A status older than the newest one seen for its user (``statusChanged``), or the same one
  again, changes nothing: events that arrive late or twice never take a presence back. ICWS
  gives ``statusChanged`` to the second; two changes within one second are taken in the order
  they arrive.
- The whole picture CIC sends after a (re)subscription (``isDelta: false``) replaces what was
  known, as ICWS says of it, whatever its times: it is CIC's status now, read from the server
  the session is on, whose clock may be behind the other server's of the pair (a switchover
  would otherwise drop every status changed on the backup until its clock caught up). Only a
  status equal to the one known changes nothing.
- A user whose newest status maps to another presence than the one written (or being written)
  waits to be written; changes of one user while it waits are coalesced into its newest, and
  a status that maps back to what is written cancels the wait.
- While a user's presence is being written, a newer status waits for that write to end, so
  that one user's writes never overtake each other (`begin`, `done`, `failed`).
- A change of the status message list (a status newly allowing ACD calls, say) re-judges every
  user.

Thread-safe; `wait` lets the writer sleep until something is pending.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from idp.cic.status import StatusMessage, UserStatus, status_key
from idp.sync.presence.rules import Rules, Target


def user_key(user_id: str) -> str:
    return user_id.casefold()


@dataclass(frozen=True)
class Change:
    user: str  # user key
    status: UserStatus
    target: Target
    since: float  # when it began to wait (clock)


@dataclass
class Counts:
    events: int = 0  # statuses taken
    stale: int = 0  # older than the newest seen: dropped
    repeated: int = 0  # the same status again: dropped
    coalesced: int = 0  # a waiting change replaced by a newer one of the same user


class Tracker:
    def __init__(self, rules: Rules, clock: Callable[[], float] = time.monotonic) -> None:
        self._rules = rules
        self._clock = clock
        self._ready = threading.Condition()
        self._latest: dict[str, UserStatus] = {}
        self._written: dict[str, Target] = {}
        self._flying: dict[str, Target] = {}
        self._pending: dict[str, float] = {}  # user -> since; insertion order = age
        self._messages: dict[str, StatusMessage] = {}
        self.counts = Counts()

    # -- what CIC says -------------------------------------------------------------------------

    def statuses(self, statuses: tuple[UserStatus, ...] | list[UserStatus],
                 full: bool = False) -> int:
        """Take users' statuses (a delta, or with `full` the whole picture); how many were
        new."""
        taken = 0
        with self._ready:
            for status in statuses:
                user = user_key(status.user_id)
                old = self._latest.get(user)
                if not full and old is not None and old.changed is not None \
                        and status.changed is not None and status.changed < old.changed:
                    self.counts.stale += 1
                    continue
                if old is not None and old.changed == status.changed \
                        and status_key(old.status_id) == status_key(status.status_id) \
                        and old.logged_in == status.logged_in:  # a logon changes it too
                    self.counts.repeated += 1
                    continue
                self._latest[user] = status
                self.counts.events += 1
                taken += 1
                waited = user in self._pending
                self._judge(user)
                if waited and user in self._pending:
                    self.counts.coalesced += 1
            self._ready.notify_all()
        return taken

    def status_messages(self, changed: tuple[StatusMessage, ...], removed: tuple[str, ...],
                        full: bool) -> None:
        with self._ready:
            if full:
                self._messages.clear()
            for message in changed:
                self._messages[status_key(message.status_id)] = message
            for status_id in removed:
                self._messages.pop(status_key(status_id), None)
            for user in list(self._latest):
                self._judge(user)
            self._ready.notify_all()

    def written_before(self, targets: dict[str, Target]) -> None:
        """What an earlier process wrote (user key -> target), so that it is not sent again."""
        with self._ready:
            self._written.update(targets)

    def forget(self, keep: set[str]) -> None:
        """Users no longer synced: nothing of theirs is written any more."""
        with self._ready:
            for table in (self._latest, self._written, self._pending):
                for user in [u for u in table if u not in keep]:
                    del table[user]

    # -- the writer's side ---------------------------------------------------------------------

    def wait(self, timeout: float) -> bool:
        """Wait until something is pending (at most `timeout` s); whether it is."""
        with self._ready:
            if not self._pending:
                self._ready.wait(timeout)
            return bool(self._pending)

    def oldest(self) -> float | None:
        """Since when the longest-waiting change waits."""
        with self._ready:
            return next(iter(self._pending.values()), None)

    def pending(self) -> int:
        with self._ready:
            return len(self._pending)

    def begin(self, limit: int) -> list[Change]:
        """The `limit` longest-waiting changes, now being written."""
        with self._ready:
            chosen = list(self._pending.items())[:limit]
            changes = []
            for user, since in chosen:
                del self._pending[user]
                target = self._target(user)
                self._flying[user] = target
                changes.append(Change(user, self._latest[user], target, since))
            return changes

    def done(self, changes: list[Change]) -> None:
        with self._ready:
            for change in changes:
                self._written[change.user] = change.target
                self._flying.pop(change.user, None)
                self._judge(change.user)  # a newer status may wait behind it
            self._ready.notify_all()

    def failed(self, changes: list[Change]) -> None:
        """Not written: they wait again, as long as they did."""
        with self._ready:
            for change in changes:
                self._flying.pop(change.user, None)
                self._judge(change.user, change.since)
            self._pending = dict(sorted(self._pending.items(), key=lambda item: item[1]))
            self._ready.notify_all()

    def written(self) -> dict[str, Target]:
        with self._ready:
            return dict(self._written)

    # -- inside the lock -------------------------------------------------------------------------

    def _target(self, user: str) -> Target:
        status = self._latest[user]
        return self._rules.target(status, self._messages.get(status_key(status.status_id)))

    def _judge(self, user: str, since: float | None = None) -> None:
        if user not in self._latest:
            return
        if user in self._flying:  # judged again when that write ends
            self._pending.pop(user, None)
            return
        if self._target(user) == self._written.get(user):
            self._pending.pop(user, None)
        elif user not in self._pending:
            self._pending[user] = since if since is not None else self._clock()
