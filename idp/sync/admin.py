"""What an administrator mends by hand when the sync cannot: `sync link` and `sync unlink`.

A CIC user re-created under a new user ID is the classic case: the old ID's Genesys Cloud user
would be deactivated and the new ID's e-mail is held by it, a conflict on every pass. `link`
moves the durable link (our externalIds entry on the Genesys Cloud user, and the state row) to
the CIC user named; the next pass, or the one-user pass `sync link` runs at once, writes its
fields. `unlink` removes the link: the sync no longer manages that Genesys Cloud user (and,
without sync.adopt_existing, reports its e-mail as a conflict), which `link` undoes.

Both refuse a Genesys Cloud user linked by another cic-sts installation, take the sync's lock,
send every change with If-Match, and record what they did in the user's history.
"""

from __future__ import annotations

import uuid

from idp.errors import SyncError
from idp.genesys.scim import ScimClient
from idp.sync.engine import SyncService, options_for
from idp.sync.history import Entry, History
from idp.sync.mapping import (
    apply_operations,
    link_of,
    link_operations,
    map_user,
    other_installations,
)
from idp.sync.state import user_key
from idp.sync.view import Remote, TargetedView, keep_fields
from idp.users import CicUser


def link(service: SyncService, user_id: str, genesys_id: str) -> list[str]:
    """Link CIC user `user_id` to Genesys Cloud user `genesys_id`; what was done, line by
    line. Genesys Cloud is changed first, the state after: it never says what is not so."""
    authority = service.config.sync.authority
    with service.exclusive():
        service.check_authority()
        user = _syncable(service, user_id)
        client = service.client()
        remote = _genesys_user(client, genesys_id)
        others = other_installations(remote.record, authority)
        if others:
            raise SyncError(f"Genesys Cloud user {genesys_id} is linked by another cic-sts "
                            f"installation ({', '.join(others)}): unlink it there first")
        state = service.state.user(user.user_id)
        owner = link_of(remote.record, authority)
        if (owner is not None and user_key(owner) == user_key(user.user_id)
                and state is not None and state.genesys_id == genesys_id):
            return [f"CIC user {user.user_id} is already linked to Genesys Cloud user "
                    f"{genesys_id}"]
        done = [f"linked CIC user {user.user_id} to Genesys Cloud user {genesys_id}"]
        if state is not None and state.genesys_id and state.genesys_id != genesys_id:
            if _remove_link(client, state.genesys_id, user.user_id, authority):
                done.append(f"removed the link from Genesys Cloud user {state.genesys_id}")
        ops = link_operations(remote.record, authority, user.user_id)
        written = client.patch_user(genesys_id, ops, remote.version)
        record = keep_fields(written.user) if written.user else apply_operations(
            remote.record, ops)
        entries = []
        if owner is not None and user_key(owner) != user_key(user.user_id):
            service.state.unlinked(owner, f"its Genesys Cloud user {genesys_id} was linked to "
                                          f"CIC user {user.user_id} by an administrator")
            entries.append(Entry(owner, "unlink", "unlinked",
                                 f"Genesys Cloud user {genesys_id} linked to {user.user_id}"))
            done.append(f"CIC user {owner} is no longer linked to it")
        service.state.linked(user.user_id, user.email, genesys_id, written.version, record,
                             f"linked by an administrator to Genesys Cloud user {genesys_id}; "
                             "the next pass writes its fields")
        entries.append(Entry(user.user_id, "link", "linked",
                             f"linked to Genesys Cloud user {genesys_id} by an administrator"))
        History(service.state).record(_command_id("link"), entries)
        return done


def unlink(service: SyncService, user_id: str) -> list[str]:
    """Remove CIC user `user_id`'s link; what was done, line by line."""
    authority = service.config.sync.authority
    with service.exclusive():
        service.check_authority()
        state = service.state.user(user_id)
        client = service.client()
        genesys_id = state.genesys_id if state is not None else None
        if genesys_id is None:
            found = TargetedView(client, authority).lookup(
                user_id, state.email if state else "", before=state).by_link
            genesys_id = found.id if found is not None else None
        if genesys_id is None:
            raise SyncError(f"CIC user {user_id} is not linked to any Genesys Cloud user")
        removed = _remove_link(client, genesys_id, user_id, authority)
        message = (f"unlinked by an administrator from Genesys Cloud user {genesys_id}; the "
                   "sync no longer manages it (`cic-sts sync link` undoes this)")
        service.state.unlinked(user_id, message)
        History(service.state).record(_command_id("unlink"), [
            Entry(user_id, "unlink", "unlinked", message)])
        what = "removed its link" if removed else "it no longer carried the link"
        return [f"CIC user {user_id} is no longer linked to Genesys Cloud user {genesys_id} "
                f"({what})"]


def _syncable(service: SyncService, user_id: str) -> CicUser:
    """The CIC user, if a pass would sync it: otherwise the pass that follows a link would
    deactivate the Genesys Cloud user just linked."""
    for user in service.source.snapshot().users:
        if user_key(user.user_id) == user_key(user_id):
            break
    else:
        raise SyncError(f"CIC user {user_id} is not in the source "
                        f"({service.source.description})")
    options = options_for(service.config)
    why = options.scope.why_out(user) or map_user(
        user, options.default_country, options.max_display_name).reason
    if why:
        raise SyncError(f"CIC user {user.user_id} cannot be synced ({why}): linking it would "
                        "deactivate its Genesys Cloud user")
    return user


def _genesys_user(client: ScimClient, genesys_id: str) -> Remote:
    record = client.get_user(genesys_id)
    if record is None or "id" not in record:
        raise SyncError(f"there is no Genesys Cloud user {genesys_id}")
    return Remote.of(record)


def _remove_link(client: ScimClient, genesys_id: str, user_id: str, authority: str) -> bool:
    """Remove our link to `user_id` from the Genesys Cloud user, if it carries it."""
    record = client.get_user(genesys_id)
    if record is None or user_key(link_of(record, authority) or "") != user_key(user_id):
        return False
    remote = Remote.of(record)
    client.patch_user(genesys_id, link_operations(remote.record, authority, None),
                      remote.version)
    return True


def _command_id(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"
