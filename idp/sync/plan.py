"""Deciding what a pass does, user by user, without changing anything.

Rules (docs/sync.md tells them to the administrator):

- A CIC user without a business e-mail is not synced, and says why; if it had been synced, its
  Genesys Cloud user is deactivated (the e-mail was its SSO identity). An e-mail used by two CIC
  users syncs neither of them (and changes neither's Genesys Cloud user).
- A linked user (state, or our externalIds entry in Genesys Cloud) is updated field by field,
  whatever its e-mail became: the link, not the e-mail, says who it is, so an e-mail change
  renames the same Genesys Cloud user and SSO follows.
- An unlinked user is looked up first: a user carrying our link is ours (a create whose answer
  was lost, or a lost state database); a user holding its e-mail without our link was not created
  by the sync and is left alone and reported as a conflict, unless adoption is enabled.
- A CIC user that disappeared is deactivated (or deleted, if so configured), but only when the
  source was read completely and is not empty: a bad CSV row must not deactivate anybody. So is
  the user an interrupted create may have left (a "creating" or failed row with no Genesys
  Cloud id): it is looked up by its link first; a row with no Genesys Cloud user at all is
  forgotten.
- An e-mail held by another of our users is not a conflict when that user's own CIC user wants
  another e-mail now (two users swapping e-mails, or a rotation): the rename goes ahead and the
  applier moves the holder aside for a moment (see `apply`).
- Incremental passes skip users whose mapped fields have the same fingerprint as last written;
  Force Complete Sync sends every field of every user.
- Only users in scope (`idp.sync.scope`) are synced; one leaving the scope is removed like a
  deleted one, with the rule as the reason.
- A Genesys Cloud user linked by another cic-sts installation (its own authority) is never
  changed, adopted, deactivated or deleted: it is reported, as a conflict when it holds the
  e-mail a CIC user wants.
- A pass that would remove more users than its limit removes nobody (`idp.sync.guard`): its
  removals become HOLD actions, and `Plan.held` says why.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable

from idp.errors import SyncError
from idp.sync.actions import PHASES, REMOVALS, Action, Kind, Options, Plan
from idp.sync.mapping import (
    FieldChange,
    Mapped,
    current_fields,
    diff,
    link_of,
    map_user,
    other_installations,
)
from idp.sync.removals import (
    Removal,
    allowed_removals,
    hold_if_too_many,
    maybe_created,
    plan_orphans,
    plan_removals,
    recorded,
)
from idp.sync.sources import Snapshot
from idp.sync.state import DEACTIVATED, SYNCED, UserState, user_key
from idp.sync.view import GenesysView, Remote

__all__ = ["PHASES", "REMOVALS", "Action", "Kind", "Options", "Plan", "held_by", "make_plan",
           "moving_away"]


ViewFactory = Callable[[bool], GenesysView]  # listed? -> view


def make_plan(snapshot: Snapshot, states: dict[str, UserState], open_view: ViewFactory,
              options: Options) -> Plan:
    full = options.full or options.force
    authority = options.authority
    out_of_scope: dict[str, str] = {}  # user_key -> why
    in_scope = []
    for user in snapshot.users:
        why = options.scope.why_out(user)
        if why is None:
            in_scope.append(user)
        else:
            out_of_scope[user_key(user.user_id)] = why
    mapped = [map_user(user, options.default_country, options.max_display_name)
              for user in in_scope]
    shared = _shared_emails(mapped)
    in_source = {user_key(m.user.user_id) for m in mapped}
    targets = {user_key(m.user.user_id): m.desired.user_name.casefold() for m in mapped
               if m.desired is not None and user_key(m.user.user_id) not in shared}
    without_email = sum(1 for m in mapped if m.reason == "no business e-mail")
    linked_active = sum(1 for s in states.values() if s.genesys_active)
    chosen, chosen_states = mapped, states
    if options.only is not None:  # one user on demand: only its own row and its own actions
        only = user_key(options.only)
        chosen = [m for m in mapped if user_key(m.user.user_id) == only]
        chosen_states = {k: v for k, v in states.items() if k == only}
        if not chosen and not chosen_states and only not in out_of_scope:
            raise SyncError(f"CIC user {options.only} is neither in the source nor known to "
                            "the sync (check the user ID)")
    actions: list[Action] = []
    notes: list[str] = []
    unchanged = 0
    pending: list[Mapped] = []  # syncable users that need a look at Genesys Cloud
    removals: list[Removal] = []  # (state, reason, still in CIC)

    for m in chosen:
        key = user_key(m.user.user_id)
        state = states.get(key)
        reason = m.reason or shared.get(key, "")
        if reason:
            if (m.desired is None and m.reason == "no business e-mail" and state is not None
                    and (state.genesys_active or maybe_created(state))):
                removals.append(Removal(state, "no business e-mail", True))
            elif recorded(state, reason):
                unchanged += 1  # already recorded, with what was done about it
            else:
                actions.append(Action(Kind.SKIP, m.user.user_id, m.user.email, reason,
                                      warnings=m.warnings))
            continue
        assert m.desired is not None
        if (not full and state is not None and state.status == SYNCED and state.genesys_id
                and state.fingerprint == m.desired.fingerprint(authority)):
            unchanged += 1
            continue
        pending.append(m)

    for key, state in chosen_states.items():
        if key in in_source:
            continue
        reason, in_cic = out_of_scope.get(key, "no longer in CIC"), key in out_of_scope
        if state.genesys_active or (maybe_created(state) and options.deactivate_missing):
            removals.append(Removal(state, reason, in_cic))
        elif (state.genesys_id is None and state.status != DEACTIVATED and snapshot.complete
              and snapshot.users):
            # Not synced (no e-mail, a conflict) and now gone: nothing of it in Genesys Cloud
            # (or, with deactivate_missing off, what an interrupted create left stays active,
            # as the user would have: its link finds it if the CIC user comes back).
            actions.append(Action(Kind.FORGET, state.user_id, state.email, reason,
                                  in_cic=in_cic))
    removals = allowed_removals(removals, snapshot, options, notes, actions)

    unlinked = sum(1 for m in pending if _unlinked(states.get(user_key(m.user.user_id))))
    unlinked += sum(1 for removal in removals if removal.state.genesys_id is None)
    linked_total = sum(1 for s in states.values() if s.genesys_id)
    # Listing costs about one request per page; a look-up of an unlinked user up to three.
    listed = full or unlinked * 3 > math.ceil(linked_total / options.page_size) + 2
    plan = Plan(actions, unchanged, len(mapped), False, notes, snapshot.problems, targets,
                out_of_scope=len(out_of_scope), without_email=without_email)
    if not pending and not removals:
        return plan
    view = open_view(listed)
    plan.listed = view.exact
    notes.extend(view.notes())
    plan_removals(plan, removals, view, options)
    orphans = 0  # linked users of ours that the state does not know
    if snapshot.complete and snapshot.users and options.deactivate_missing:
        orphans = plan_orphans(plan, view,
                               in_source | {k for k, s in states.items() if s.genesys_id},
                               out_of_scope, options)
    for m in pending:
        action = _plan_user(m, states.get(user_key(m.user.user_id)), view, options, targets)
        if action is None:
            plan.unchanged += 1
        else:
            actions.append(action)
    hold_if_too_many(plan, linked_active + orphans, options)
    return plan


def _unlinked(state: UserState | None) -> bool:
    return state is None or state.genesys_id is None


def moving_away(holder: Remote, email: str, targets: dict[str, str], authority: str) -> bool:
    """Whether `holder`, which has `email`, is ours and its CIC user now wants another e-mail:
    then it gives `email` up in this pass, and holding it is no conflict."""
    owner = link_of(holder.record, authority)
    if owner is None:
        return False
    target = targets.get(user_key(owner))
    return target is not None and target != email.casefold()


def _shared_emails(mapped: list[Mapped]) -> dict[str, str]:
    """CIC user ID (casefolded) -> reason, for every user whose e-mail another user has too."""
    holders: dict[str, list[Mapped]] = defaultdict(list)
    for m in mapped:
        if m.desired is not None:
            holders[m.desired.user_name.casefold()].append(m)
    reasons = {}
    for users in holders.values():
        if len(users) > 1:
            names = ", ".join(sorted(m.user.user_id for m in users))
            email = users[0].desired.user_name if users[0].desired else ""
            for m in users:
                reasons[m.user.user_id.casefold()] = (
                    f"e-mail {email} is used by {len(users)} CIC users ({names})")
    return reasons


def _plan_user(m: Mapped, state: UserState | None, view: GenesysView,
               options: Options, targets: dict[str, str]) -> Action | None:
    """What to do for one syncable user; None when nothing at all needs doing."""
    desired = m.desired
    assert desired is not None
    user_id, email = desired.user_id, desired.user_name
    authority = options.authority

    def act(kind: Kind, reason: str = "", remote: Remote | None = None,
            changes: tuple[FieldChange, ...] = ()) -> Action:
        return Action(kind, user_id, email, reason, changes, m.warnings, desired, remote)

    remote = view.linked(state) if state is not None and state.genesys_id else None
    how = ""
    if remote is None:
        found = view.lookup(user_id, email, before=state)
        other = found.by_name
        if other is not None and moving_away(other, email, targets, authority):
            other = None  # ours, and renamed to its own new e-mail before this one needs it
        if found.by_link is not None:
            remote = found.by_link
            how = "found by its link in Genesys Cloud"
            if other is not None and other.id != remote.id:
                return act(Kind.CONFLICT, held_by(email, other, authority))
        elif other is not None:
            owner = link_of(other.record, authority)
            if owner is not None and user_key(owner) == user_key(user_id):
                remote, how = other, "found by its link in Genesys Cloud"
            elif (owner is not None or not options.adopt_existing
                  or other_installations(other.record, authority)):
                return act(Kind.CONFLICT, held_by(email, other, authority))
            else:
                changes = diff(current_fields(other.record, authority), desired.fields(authority))
                return act(Kind.ADOPT, f"Genesys Cloud user {other.id} has this e-mail",
                           other, tuple(changes))
        else:
            changes = diff({}, desired.fields(authority))
            return act(Kind.CREATE, changes=tuple(c for c in changes if c.new))

    others = other_installations(remote.record, authority)
    if others:  # ours and theirs: two syncs writing one user would undo each other
        return act(Kind.CONFLICT, f"its Genesys Cloud user {remote.id} is also linked by "
                                  f"another cic-sts installation ({', '.join(others)}): left "
                                  "alone; remove one of the links (`cic-sts sync unlink`)")
    changes = diff(current_fields(remote.record, authority), desired.fields(authority))
    renamed = any(c.field == "userName" for c in changes)
    holder = view.by_name(email) if renamed else None
    if (holder is not None and holder.id != remote.id
            and not moving_away(holder, email, targets, authority)):
        return act(Kind.CONFLICT, held_by(email, holder, authority))
    if changes or options.force:
        return act(Kind.UPDATE, how, remote, tuple(changes))
    if (state is not None and state.status == SYNCED and state.genesys_id == remote.id
            and state.fingerprint == desired.fingerprint(authority)):
        return None  # a full comparison found it as we left it
    return act(Kind.LINK, how or "already up to date in Genesys Cloud", remote)


def held_by(email: str, other: Remote, authority: str) -> str:
    """The one way a conflict over `email` is told, whichever pass or step found it."""
    owner = link_of(other.record, authority)
    if owner is not None:
        return (f"e-mail {email} belongs to Genesys Cloud user {other.id}, which is linked to "
                f"CIC user {owner}")
    others = other_installations(other.record, authority)
    if others:
        return (f"e-mail {email} belongs to Genesys Cloud user {other.id}, which another "
                f"cic-sts installation links ({', '.join(others)}): left alone")
    return (f"e-mail {email} belongs to Genesys Cloud user {other.id}, which cic-sts did not "
            "create: left alone (set sync.adopt_existing = true, or run `cic-sts sync adopt`, "
            "to take it over)")
