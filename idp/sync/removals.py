"""Which Genesys Cloud users a pass removes, and when it removes none.

A CIC user that was deleted, lost its business e-mail or left the scope has its Genesys Cloud
user deactivated (or deleted), and so has what an interrupted create of it left, found by our
link. But nobody is removed on the strength of a source that was not read completely or is
empty, a user that another cic-sts installation links is left active, and a pass that would
remove more than its limit removes nobody (`hold_if_too_many`, `idp.sync.guard`).
"""

from __future__ import annotations

from typing import NamedTuple

from idp.sync.actions import REMOVALS, Action, Kind, Options, Plan
from idp.sync.mapping import link_of, other_installations
from idp.sync.sources import Snapshot
from idp.sync.state import CREATING, ERROR, NOT_SYNCED, UserState, user_key
from idp.sync.view import GenesysView


class Removal(NamedTuple):
    state: UserState
    reason: str
    in_cic: bool  # the CIC user still exists (no e-mail, out of scope)


def recorded(state: UserState | None, reason: str) -> bool:
    """Whether the state row already says the user is not synced for `reason`."""
    return (state is not None and state.status == NOT_SYNCED
            and (state.message == reason or state.message.startswith(reason + ":")))


def linked_elsewhere(reason: str, genesys_id: str, others: list[str]) -> str:
    """Why a removal was not made: another installation links the Genesys Cloud user too."""
    return (f"{reason}; its Genesys Cloud user {genesys_id} is also linked by another cic-sts "
            f"installation ({', '.join(others)}): left active")


def allowed_removals(removals: list[Removal], snapshot: Snapshot, options: Options,
                     notes: list[str], actions: list[Action]) -> list[Removal]:
    """The removals a pass may make at all: none on the strength of a source that was not read
    completely or is empty (whatever the reason of each: a user present without an e-mail in a
    file cut in the middle of its row is no surer than one missing), none with
    sync.deactivate_missing = false."""
    if not removals:
        return []
    if not snapshot.complete:
        notes.append(f"{len(removals)} Genesys Cloud users the source no longer asks for are left "
                     f"as they are: the source had {len(snapshot.problems)} unreadable entries")
        return []
    if not snapshot.users:
        notes.append(f"the source has no users at all: its {len(removals)} Genesys Cloud users "
                     "are left as they are (an empty export is more likely a mistake than the "
                     "end of every user)")
        return []
    if not options.deactivate_missing:
        for removal in removals:
            message = f"{removal.reason}; left active (sync.deactivate_missing = false)"
            if removal.state.message != message:
                actions.append(Action(Kind.SKIP, removal.state.user_id, removal.state.email,
                                      message, in_cic=removal.in_cic))
        return []
    return removals


def plan_removals(plan: Plan, removals: list[Removal], view: GenesysView,
                  options: Options) -> None:
    kind = options.removal
    removed_ids: set[str] = set()
    for state, reason, still_in_cic in removals:
        if state.genesys_id is None:
            # An interrupted create: whatever it left in Genesys Cloud carries our link.
            remote = view.lookup(state.user_id, state.email, before=state).by_link
            if (remote is None or remote.id in removed_ids
                    or (remote.record.get("active") is False and kind == Kind.DEACTIVATE)):
                plan.actions.append(
                    Action(Kind.SKIP, state.user_id, "", reason) if still_in_cic else
                    Action(Kind.FORGET, state.user_id, state.email,
                           f"{reason}; no active Genesys Cloud user of it", in_cic=False))
                continue
        else:
            remote = view.linked(state)  # None: already gone from Genesys Cloud
        others = other_installations(remote.record, options.authority) if remote else []
        if remote is not None and others:
            kept = linked_elsewhere(reason, remote.id, others)
            if recorded(state, kept):
                plan.unchanged += 1
            else:
                plan.actions.append(Action(Kind.SKIP, state.user_id, state.email, kept,
                                           in_cic=still_in_cic))
            continue
        if remote is not None:
            removed_ids.add(remote.id)
        plan.actions.append(Action(kind, state.user_id, state.email, reason, remote=remote,
                                   in_cic=still_in_cic))


def plan_orphans(plan: Plan, view: GenesysView, known: set[str],
                 out_of_scope: dict[str, str], options: Options) -> int:
    """Users carrying our link for a CIC user neither the source nor the state knows: ours,
    from a lost state database or an interrupted pass, and their CIC user is gone. How many
    active ones there are (linked users the state does not count)."""
    removing = {a.remote.id for a in plan.actions if a.remote is not None}
    found = 0
    for remote in view.orphans(known):
        owner = link_of(remote.record, options.authority) or "?"
        if options.only is not None and user_key(owner) != user_key(options.only):
            continue
        if remote.id in removing or remote.record.get("active") is False:
            continue
        found += 1
        others = other_installations(remote.record, options.authority)
        if others:
            plan.notes.append(f"Genesys Cloud user {remote.id} carries the link to CIC user "
                              f"{owner}, gone from CIC, but is also linked by another cic-sts "
                              f"installation ({', '.join(others)}): left active")
            continue
        reason = out_of_scope.get(user_key(owner), "no longer in CIC")
        plan.actions.append(Action(options.removal, owner, str(remote.record.get("userName", "")),
                                   f"{reason} (linked in Genesys Cloud only)", remote=remote,
                                   in_cic=user_key(owner) in out_of_scope))
    return found


def hold_if_too_many(plan: Plan, linked: int, options: Options) -> None:
    """Turn every removal into a HOLD when there are more than the pass may make."""
    removing = [a for a in plan.actions if a.kind in REMOVALS and a.remote is not None]
    verb = options.removal_verb
    held = options.limit.check(len(removing), linked, verb, listed=plan.listed)
    if held is None:
        return
    plan.held = held
    chosen = {id(a) for a in removing}
    plan.actions = [
        Action(Kind.HOLD, a.user_id, a.email, f"{a.reason}; not {verb}: the pass was held",
               remote=a.remote, in_cic=a.in_cic) if id(a) in chosen else a
        for a in plan.actions]


def maybe_created(state: UserState) -> bool:
    """Whether a row without a Genesys Cloud id may still have one there: a create was sent
    and its outcome never recorded (killed, or failed without an answer)."""
    return state.genesys_id is None and state.status in (CREATING, ERROR)
