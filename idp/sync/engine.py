"""One sync pass from the configuration: read CIC users, plan against Genesys Cloud, apply,
record health. The CLI's `sync plan`, `sync apply` and `sync run` are thin layers over this.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from idp.config import Config
from idp.errors import GenesysError, StsError, SyncError
from idp.genesys.oauth import ClientCredentials
from idp.genesys.scim import Event, ScimClient
from idp.observe.sync_metrics import write_textfile
from idp.sync.apply import Applier, Outcome
from idp.sync.guard import Held, Limit
from idp.sync.history import Change as HistoryChange
from idp.sync.history import Entry, History
from idp.sync.objects.actions import ObjectReport
from idp.sync.objects.setup import object_pass, object_source_for
from idp.sync.objects.sources import ObjectSource
from idp.sync.plan import Options, Plan, make_plan
from idp.sync.report import PassReport
from idp.sync.scope import Scope
from idp.sync.sources import Snapshot, UserSource, source_for
from idp.sync.state import CREATING, NOT_SYNCED, SYNCED, SyncState
from idp.sync.view import GenesysView, ListedView, TargetedView
from idp.timestamps import utc_now

if TYPE_CHECKING:
    from idp.cic.service import ServiceSession
    from idp.sync.presence.service import PresenceSync

log = logging.getLogger(__name__)

ClientFactory = Callable[[Event], ScimClient]

#: The events that say whether Genesys Cloud was last reachable.
LOST_OR_RESTORED = ("connection_lost", "connection_restored")

__all__ = ["ClientFactory", "PassReport", "SyncService", "client_for", "options_for",
           "source_for"]


def client_for(config: Config, on_event: Event | None = None, **tuning: Any) -> ScimClient:
    """A SCIM client for the configured organization and OAuth client (`tuning`: more
    `ScimClient` arguments, such as a shorter backoff in tests)."""
    genesys = config.genesys
    if genesys is None:
        raise SyncError("the sync needs a [genesys] section (region, client_id, client_secret)")
    if not genesys.client_id or genesys.client_secret is None:
        raise SyncError("genesys.client_id and genesys.client_secret: required by the sync (an "
                        "OAuth client with the client-credentials grant and the "
                        "directory:user:add/edit permissions)")
    settings = config.sync
    http = httpx.Client(timeout=settings.request_timeout,
                        limits=httpx.Limits(max_connections=settings.concurrency + 2))
    secret = genesys.client_secret
    secret.reveal()  # a secret that cannot be read is a configuration error now, not later
    # Read again for each token: a rotated secret is taken without a new client, which the
    # presence thread of `sync run` shares with the passes (one rate limit, one token).
    credentials = ClientCredentials(config.genesys_login_base, genesys.client_id,
                                    secret.reveal, http)
    return ScimClient(config.genesys_api_base, credentials,
                      rate_per_minute=settings.rate_per_minute,
                      max_retries=settings.max_retries, http=http, on_event=on_event,
                      **tuning)


def options_for(config: Config, *, force: bool = False, full: bool = False,
                only: str | None = None, adopt: bool = False,
                allow_deactivations: int | None = None) -> Options:
    s = config.sync
    return Options(authority=s.authority, default_country=s.default_country,
                   deactivate_missing=s.deactivate_missing,
                   delete_instead_of_deactivate=s.delete_instead_of_deactivate,
                   adopt_existing=s.adopt_existing or adopt, page_size=s.page_size,
                   force=force, full=full,
                   limit=Limit(s.max_deactivations, s.max_deactivations_percent,
                               allow_deactivations),
                   scope=Scope.of(s.include, s.exclude),
                   max_display_name=s.max_display_name_length, only=only)


class SyncService:
    """The sync for one configuration; holds the state database and the Genesys Cloud client
    between the passes of `sync run`."""

    def __init__(self, config: Config, *, client_factory: ClientFactory | None = None,
                 source: UserSource | None = None) -> None:
        self.config = config
        self.source = source or source_for(config)
        self._client_factory = client_factory or (lambda event: client_for(config, event))
        self._client: ScimClient | None = None
        self._objects_source: ObjectSource | None = None
        self._icws: ServiceSession | None = None  # the presence sync's, when not the source's
        self._state: SyncState | None = None
        self._counted: dict[str, int] = {}
        self._count_lock = threading.Lock()

    @property
    def state(self) -> SyncState:
        if self._state is None:
            self._state = SyncState(self.config.sync.state_database)
        return self._state

    def client(self) -> ScimClient:
        if self._client is None:
            self._client = self._client_factory(self.state.add_event)
            # Another process (an earlier `sync apply`) may have lost the connection: this
            # one then reports the restore, so the events say when it came back.
            if self.state.last_event(LOST_OR_RESTORED) == "connection_lost":
                self._client.assume_lost()
        return self._client

    def close(self) -> None:
        self._forget_client()
        self.source.close()
        if self._icws is not None:
            self._icws.close()
            self._icws.client.close()
        if self._state is not None:
            self._state.close()

    def _forget_client(self) -> None:
        if self._client is not None:
            self._after_requests()
            self._client.close()
            self._client = None
            self._counted = {}

    # -- passes ------------------------------------------------------------------------------

    def plan(self, *, force: bool = False, full: bool = False,
             only: str | None = None, adopt: bool = False) -> Plan:
        """What a pass would do; reads Genesys Cloud, writes nothing there."""
        options = options_for(self.config, force=force, full=full, only=only, adopt=adopt)
        self.check_authority()
        try:
            snapshot = self.source.snapshot()
            plan = make_plan(snapshot, self.state.users(), self._view(options), options)
            if only is None:
                plan.objects = self._objects(snapshot, dry=True, full=full or force)
            return plan
        finally:
            self._after_requests()

    def apply(self, *, force: bool = False, full: bool = False, only: str | None = None,
              adopt: bool = False, allow_deactivations: int | None = None,
              allow_deletions: dict[str, int] | None = None,
              on_plan: Callable[[Plan], None] | None = None,
              on_outcome: Callable[[Outcome], None] | None = None,
              stop: threading.Event | None = None) -> PassReport:
        """Plan and carry out one pass (`only`: for one CIC user, provision on demand). Raises
        the error that stopped it from even planning (source unreadable, Genesys Cloud
        unreachable or refusing the credentials).

        A pass for one user changes that user's state and history, never the health items
        (last pass, User Sync, the hold): it says nothing about everyone else.
        `allow_deactivations` allows users' deactivations only; `allow_deletions` (an object
        family's allowance name -> N) the object sync's removals, family by family."""
        started = time.monotonic()
        before = self._requests_so_far()
        whole = only is None
        with self.exclusive():
            self.check_authority()
            held = self.held()
            # Removals a listing found (users linked only in Genesys Cloud) are seen by a
            # listing only: an allowance for them needs one, or it would remove nobody.
            full = full or (allow_deactivations is not None and held is not None and held.listed)
            options = options_for(self.config, force=force, full=full, only=only, adopt=adopt,
                                  allow_deactivations=allow_deactivations)
            try:
                snapshot = self.source.snapshot()
                plan = make_plan(snapshot, self.state.users(), self._view(options), options)
            except StsError as exc:
                self._after_requests()
                if whole:
                    self._record_pass(f"failed: {exc}", "failed")
                if isinstance(exc, GenesysError):
                    self.state.set_health("api", f"Failure: {exc}")
                # A refused secret is read again at the next token request: the client stays
                # (the presence thread of `sync run` shares it).
                raise
            if on_plan is not None:
                on_plan(plan)
            report = PassReport(plan)
            client = self.client() if plan.writes else self._client
            applier = Applier(client, self.state, options,
                              concurrency=self.config.sync.concurrency, stop=stop,
                              on_outcome=on_outcome, after_each=self._after_requests,
                              targets=plan.targets)
            if client is not None:
                client.pending = applier.pending
            report.outcomes = applier.run(plan.actions)
            self._after_requests()
            report.requests = {k: v - before[k] for k, v in self._requests_so_far().items()}
            report.seconds = time.monotonic() - started
            if applier.fatal is not None:
                report.error = str(applier.fatal)
                report.error_type = type(applier.fatal).__name__
                if isinstance(applier.fatal, GenesysError):
                    self.state.set_health("api", f"Failure: {applier.fatal}")
            elif stop is not None and stop.is_set():
                report.error, report.error_type = "asked to stop", "Stopped"
            self._record_history(report)
            if whole and not report.error:
                report.objects = self._objects(snapshot, dry=False, full=full or force,
                                               allow_deletions=allow_deletions)
                report.requests = {k: v - before[k]
                                   for k, v in self._requests_so_far().items()}
                report.seconds = time.monotonic() - started
            if whole:
                self._record_health(report, held)
                self._record_pass(report.summary(), str(report.outcome))
            return report

    def presence(self) -> PresenceSync:
        """The presence sync (sync.presence) on this sync's Genesys requests and, when CIC is
        the user source, its ICWS session."""
        from idp.cic.icws import IcwsClient
        from idp.cic.service import ServiceSession
        from idp.sync.presence.service import PresenceSync
        from idp.sync.sources.icws import IcwsSource

        if isinstance(self.source, IcwsSource):
            session = self.source.service
        else:
            if self._icws is None:
                icws = self.config.icws
                assert icws.service_password is not None  # checked with the configuration
                self._icws = ServiceSession(IcwsClient.from_settings(icws), icws.service_user,
                                            icws.service_password.reveal())
            session = self._icws
        return PresenceSync(self.config, self.client().api, self.state, session,
                            after_requests=self._after_requests)

    def _objects(self, users: Snapshot, *, dry: bool, full: bool,
                 allow_deletions: dict[str, int] | None = None) -> ObjectReport | None:
        """The object pass after the users' (sync.platform_objects), on the same requests."""
        if not self.config.sync.platform_objects:
            return None
        if self._objects_source is None:
            self._objects_source = object_source_for(self.config, self.source)
        try:
            return object_pass(self.config, self._objects_source, self.client().api,
                               self.state, users, dry=dry, full=full,
                               allow_deletions=allow_deletions)
        finally:
            self._after_requests()

    def held(self) -> Held | None:
        """The hold an earlier pass left, if it is not resolved yet."""
        value = self.state.health().get("held")
        return None if value is None else Held.from_json(json.loads(value[0]))

    def check_authority(self) -> None:
        """The links in Genesys Cloud are under the authority the first pass used: a changed
        sync.authority would take them all for another installation's, so it is refused."""
        configured = self.config.sync.authority
        stored = self.state.health().get("authority")
        if stored is None:
            self.state.set_health("authority", configured)
        elif stored[0] != configured:
            raise SyncError(
                f"sync.authority is {configured!r}, but this installation's links in Genesys "
                f"Cloud are under {stored[0]!r} (since {stored[1]}): set sync.authority = "
                f"{stored[0]!r} again. A new authority is for a new installation, with a state "
                "database of its own.")

    def _record_health(self, report: PassReport, before: Held | None) -> None:
        """The User Sync counts and the hold, after a pass over everyone. A hold found by a
        listing is resolved only by another listing: a pass that did not list cannot see
        those removals, let alone their absence."""
        plan = report.plan
        states = self.state.users()
        synced = sum(1 for key in plan.syncable
                     if (state := states.get(key)) is not None and state.status == SYNCED)
        self.state.set_health("user_sync", json.dumps({
            "synced": synced, "users": len(plan.syncable), "without_email": plan.without_email,
            "cannot_sync": plan.cannot_sync, "out_of_scope": plan.out_of_scope}))
        if plan.held is not None:
            self.state.set_health("held", json.dumps(plan.held.to_json()))
        elif before is not None and (plan.listed or not before.listed):
            self.state.clear_health("held")

    def _record_history(self, report: PassReport) -> None:
        history = History(self.state)
        history.record(uuid.uuid4().hex[:12], [
            Entry(o.action.user_id, str(o.action.kind), o.result, o.message or o.action.reason,
                  tuple(HistoryChange(c.field, c.old, c.new) for c in o.action.changes),
                  o.time)
            for o in report.outcomes if o.result != "not attempted"])
        history.prune(self.config.sync.history_days)

    # -- helpers -----------------------------------------------------------------------------

    def _view(self, options: Options) -> Callable[[bool], GenesysView]:
        def open_view(listed: bool) -> GenesysView:
            client = self.client()
            if listed:
                return ListedView(client, options.authority, options.page_size)
            return TargetedView(client, options.authority)
        return open_view

    def _requests_so_far(self) -> dict[str, int]:
        if self._client is None:
            return {"successful": 0, "failed": 0, "retried": 0}
        return self._client.stats.snapshot()

    def _after_requests(self) -> None:
        """Save the request counters and the API health as they stand."""
        if self._client is None:
            return
        with self._count_lock:
            current = {**self._client.stats.snapshot(), "retry_after_waits": self._client.waits}
            delta = {k: current[k] - self._counted.get(k, 0) for k in current}
            self._counted = current
        if any(delta.values()):
            self.state.add_counts(delta)
        health = self._client.health
        if health is not None:
            state, message, time_ = health
            self.state.set_health("api", "OK" if state == "ok" else f"Failure: {message}", time_)

    def _record_pass(self, summary: str, outcome: str) -> None:
        stamp = utc_now()
        self.state.set_health("last_pass", summary, stamp)
        self.state.set_health("last_outcome", outcome, stamp)
        if outcome == "completed":
            self.state.set_health("last_success", summary, stamp)
        if self.config.sync.metrics_textfile is not None:
            self._write_metrics(self.config.sync.metrics_textfile, outcome)

    def _write_metrics(self, path: Path, outcome: str) -> None:
        counts: dict[str, int] = {}
        for user in self.state.users().values():
            status = NOT_SYNCED if user.status == CREATING else user.status
            counts[status] = counts.get(status, 0) + 1
        counters = self.state.counters()
        held = self.held()
        try:
            write_textfile(
                path, users_by_state=counts,
                requests={k: counters.get(k, 0) for k in ("successful", "failed", "retried")},
                retry_after_waits=counters.get("retry_after_waits", 0), last_pass=time.time(),
                last_pass_ok=outcome == "completed", last_outcome=outcome,
                held=held.removals if held is not None else 0)
        except OSError as exc:  # monitoring must not fail the pass it reports on
            log.warning("cannot write the sync's metrics to %s: %s", path, exc.strerror or exc)

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One sync at a time per state database: two would create the same users twice."""
        path = f"{self.config.sync.state_database}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SyncError(f"another sync is running on {self.config.sync.state_database} "
                                f"(it holds {path})") from None
            yield
        finally:
            os.close(fd)

