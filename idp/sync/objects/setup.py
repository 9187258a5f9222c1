"""The object sync from the configuration: its source and options, and one pass of it."""

from __future__ import annotations

from idp.config import Config
from idp.errors import StsError
from idp.genesys.http import GenesysApi
from idp.genesys.routing import RoutingClient
from idp.sync.guard import Limit
from idp.sync.objects.actions import ObjectReport
from idp.sync.objects.engine import ALLOWANCES, MEMBERS, USER_SKILLS, ObjectOptions, ObjectsPass
from idp.sync.objects.sources import FolderSource, IcwsObjectSource, ObjectSource
from idp.sync.sources import Snapshot, UserSource
from idp.sync.state import SyncState


def object_source_for(config: Config, users: UserSource) -> ObjectSource:
    """CIC over ICWS when the users come from there (sharing their service session), else the
    CSV folder (sync.objects_dir)."""
    if config.sync.source == "icws":
        from idp.sync.sources.icws import IcwsSource

        if isinstance(users, IcwsSource):
            return IcwsObjectSource(users.service, config.icws.skill_language_property)
    return FolderSource(config.sync.objects_dir)


def limits(config: Config, allowed: dict[str, int] | None = None) -> dict[str, Limit]:
    """Each family's bound (`ALLOWANCES`), with the allowances of this pass (`allowed`: an
    allowance name -> N, from `sync apply --allow-deletions NAME=N`)."""
    settings, allowed = config.sync, allowed or {}
    found = {}
    for family, name in ALLOWANCES.items():
        if family in (MEMBERS, USER_SKILLS):
            found[family] = Limit(settings.max_removals, 0, allowed.get(name), name,
                                  "max_removals")
        else:
            found[family] = Limit(settings.max_deactivations, settings.max_deactivations_percent,
                                  allowed.get(name), name)
    return found


def object_pass(config: Config, source: ObjectSource, api: GenesysApi, state: SyncState,
                users: Snapshot | None, *, dry: bool, full: bool = False,
                allow_deletions: dict[str, int] | None = None) -> ObjectReport:
    """One object pass (`dry`: a plan) after the users' (whose `users` snapshot adds the
    workgroup memberships it knows of)."""
    settings = config.sync
    try:
        snapshot = source.snapshot()
    except StsError as exc:
        return ObjectReport(error=str(exc))
    options = ObjectOptions(settings.authority, full, limits(config, allow_deletions),
                            tuple(settings.skill_stars))
    memberships = [(u.user_id, u.workgroups) for u in users.users if u.workgroups] \
        if users is not None else []
    return ObjectsPass(RoutingClient(api), state, options, dry=dry).run(
        snapshot, state.users(), memberships)
