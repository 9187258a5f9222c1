"""`cic-sts sync`: keep Genesys Cloud users aligned with CIC users ([sync], [genesys])."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click

from idp.commands.context import CliContext, echo_json, pass_cli
from idp.errors import GenesysError, SyncError
from idp.sync.apply import Outcome
from idp.sync.engine import PassReport, SyncService
from idp.sync.plan import Action, Kind, Plan
from idp.sync.state import STATUS_LABELS, SyncState

log = logging.getLogger("idp.sync")

_VERB = {Kind.CREATE: "to create", Kind.UPDATE: "to update", Kind.ADOPT: "to adopt",
         Kind.LINK: "to link", Kind.DEACTIVATE: "to deactivate", Kind.DELETE: "to delete",
         Kind.SKIP: "not synced", Kind.CONFLICT: "in conflict", Kind.FORGET: "to forget"}


@click.group()
@pass_cli
def sync(cli: CliContext, /) -> None:
    """Keep Genesys Cloud users aligned with CIC users (one way, over SCIM).

    Every CIC user with a business e-mail gets a Genesys Cloud user with that e-mail, its
    display name and phone numbers, linked to the CIC user ID so that an e-mail change renames
    it. Genesys Cloud users the sync did not create are never changed (see sync.adopt_existing).
    """
    if not cli.verbose:  # one log line per HTTP request would bury what matters
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)


@sync.command("plan")
@click.option("--full", is_flag=True,
              help="Compare every user with a full listing of Genesys Cloud, which also finds "
                   "changes made there (default: only what changed in CIC).")
@click.option("--force", is_flag=True, help="Plan a Force Complete Sync.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def plan_(cli: CliContext, /, full: bool, force: bool, as_json: bool) -> None:
    """Show what `sync apply` would do, writing nothing."""
    service = SyncService(cli.config())
    try:
        plan = service.plan(full=full, force=force)
    finally:
        service.close()
    if as_json:
        echo_json(_plan_json(plan))
        return
    _print_plan(plan)


@sync.command("apply")
@click.option("--force", is_flag=True,
              help="Force Complete Sync: send every user, even when it is up to date.")
@click.option("--full", is_flag=True,
              help="Compare every user with a full listing of Genesys Cloud and correct what "
                   "was changed there.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_cli
def apply_(cli: CliContext, /, force: bool, full: bool, as_json: bool) -> None:
    """Carry out one pass: create, update and deactivate Genesys Cloud users.

    Exit code 0 when every user is done; 1 when some ended in Error, the source had unreadable
    entries, or the pass stopped early.
    """
    service = SyncService(cli.config())
    try:
        with _stop_on_signals() as stop:
            report = _one_pass(service, force=force, full=full, stop=stop, quiet=as_json)
    finally:
        service.close()
    if as_json:
        echo_json(report.to_json())
    else:
        for problem in report.plan.source_problems:
            click.echo(problem, err=True)
        for note in report.plan.notes:
            click.echo(f"note: {note}", err=True)
        click.echo(report.summary())
    if report.error or report.results()["error"] or report.plan.source_problems:
        click.get_current_context().exit(1)


@sync.command("run")
@click.option("--interval", type=click.IntRange(1), default=None,
              help="Seconds between passes (default: sync.interval, 60).")
@click.option("--passes", type=click.IntRange(0), default=0,
              help="Stop after this many passes (default 0: until stopped).")
@pass_cli
def run(cli: CliContext, /, interval: int | None, passes: int) -> None:
    """Keep syncing: a pass, then a pause, until SIGTERM or Ctrl-C.

    Each pass sends only what changed in CIC since the last one; the first pass, and one every
    sync.full_interval seconds, compares with a full listing of Genesys Cloud instead, which also
    undoes changes made there. A pass that fails (Genesys Cloud unreachable, say) is logged and
    the next one tries again.
    """
    config = cli.config()
    pause = interval or config.sync.interval
    service = SyncService(config)
    with _stop_on_signals() as stop:
        try:
            _run_passes(service, stop, pause, passes, config.sync.full_interval)
        finally:
            service.close()


def _run_passes(service: SyncService, stop: threading.Event, pause: int, passes: int,
                full_interval: int) -> None:
    done = 0
    last_full: float | None = None
    while not stop.is_set():
        started = time.monotonic()
        full = full_interval > 0 and (last_full is None or started - last_full >= full_interval)
        try:
            report = service.apply(stop=stop, full=full)
        except (GenesysError, SyncError) as exc:
            log.error("sync pass failed: %s", exc)
        else:
            log.info("sync pass: %s%s", "full comparison; " if full else "", report.summary())
            if full and not report.error:
                last_full = started
        done += 1
        if passes and done >= passes:
            return
        stop.wait(pause)


@sync.command("status")
@click.argument("user_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def status(cli: CliContext, /, user_id: str | None, as_json: bool) -> None:
    """The sync's health, or one user's sync status and Last Synchronized time."""
    state = SyncState(cli.config().sync.state_database, create=False)
    try:
        if user_id is not None:
            _user_status(state, user_id, as_json)
        else:
            _health(state, as_json)
    finally:
        state.close()


# -- passes ------------------------------------------------------------------------------------


def _one_pass(service: SyncService, *, force: bool, full: bool, stop: threading.Event,
              quiet: bool) -> PassReport:
    lock = threading.Lock()
    bar: Any = None
    interactive = sys.stdout.isatty() and not quiet

    def on_plan(plan: Plan) -> None:
        nonlocal bar
        work = len(plan.actions)
        if interactive and work:
            bar = click.progressbar(length=work, label="Syncing users", show_pos=True)
            bar.__enter__()

    def on_outcome(outcome: Outcome) -> None:
        with lock:
            if bar is not None:
                bar.update(1)
            elif not quiet:
                click.echo(_outcome_line(outcome))

    try:
        return service.apply(force=force, full=full, on_plan=on_plan, on_outcome=on_outcome,
                             stop=stop)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """SIGTERM and Ctrl-C finish the users in flight, then stop (a second one at once)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.warning("stopping after the users in flight (signal %d)", signum)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _outcome_line(outcome: Outcome) -> str:
    action = outcome.action
    text = f"{outcome.result:<13} {action.user_id}"
    if action.email:
        text += f" <{action.email}>"
    detail = outcome.message or action.reason
    if outcome.genesys_id and outcome.result in ("created", "adopted"):
        detail = f"Genesys Cloud user {outcome.genesys_id}" + (f"; {detail}" if detail else "")
    if detail:
        text += f": {detail}"
    for warning in action.warnings:
        text += f"\n{'':<13} warning: {warning}"
    return text


# -- plan output -------------------------------------------------------------------------------


def _print_plan(plan: Plan) -> None:
    how = ("compared with a full listing of Genesys Cloud" if plan.listed
           else "users changed in CIC since the last pass")
    click.echo(f"Plan ({how}):")
    for action in plan.actions:
        click.echo(f"  {action.kind.value:<11} {_who(action)}")
        for change in action.changes:
            click.echo(f"      {change.field}: {change.old!r} -> {change.new!r}")
        for warning in action.warnings:
            click.echo(f"      warning: {warning}")
    for problem in plan.source_problems:
        click.echo(f"source: {problem}")
    for note in plan.notes:
        click.echo(f"note: {note}")
    counts = [f"{plan.count(kind)} {_VERB[kind]}" for kind in Kind if plan.count(kind)]
    click.echo(", ".join([*counts, f"{plan.unchanged} unchanged"])
               + f" ({plan.source_users} CIC users); {plan.writes} writes")


def _who(action: Action) -> str:
    text = action.user_id
    if action.email:
        text += f" <{action.email}>"
    if action.reason:
        text += f": {action.reason}"
    return text


def _plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "listed": plan.listed, "source_users": plan.source_users, "unchanged": plan.unchanged,
        "writes": plan.writes, "notes": plan.notes, "source_problems": plan.source_problems,
        "actions": [{"action": str(a.kind), "user_id": a.user_id, "email": a.email,
                     "reason": a.reason,
                     "genesys_id": a.remote.id if a.remote is not None else None,
                     "changes": [{"field": c.field, "old": c.old, "new": c.new}
                                 for c in a.changes],
                     "warnings": list(a.warnings)} for a in plan.actions],
    }


# -- status ------------------------------------------------------------------------------------


def _health(state: SyncState, as_json: bool) -> None:
    health = state.health()
    users = state.users().values()
    by_status = {label: 0 for label in ("Synced", "Error", "Not synced", "Deactivated")}
    for user in users:
        by_status[user.label] = by_status.get(user.label, 0) + 1
    source_users, source_time = health.get("source_users", ("0", ""))
    counters = state.counters()
    requests = {name: counters.get(name, 0) for name in ("successful", "failed", "retried")}
    api = health.get("api", ("not contacted yet", ""))
    if as_json:
        echo_json({
            "user_sync": {"synced": by_status["Synced"], "users": int(source_users),
                          "time": source_time},
            "users": by_status, "requests": requests,
            "api_health": {"state": api[0], "time": api[1]},
            "last_pass": _pair(health.get("last_pass")),
            "last_success": _pair(health.get("last_success")),
            "events": [{"time": t, "kind": k, "message": m} for t, k, m in state.events()],
        })
        return
    rows = [("Health Item", "State", "Last Update"),
            ("User Sync", f"{by_status['Synced']} / {source_users} synced", source_time),
            ("API Health", api[0], api[1]),
            ("Last pass", *health.get("last_pass", ("never", ""))),
            ("Last success", *health.get("last_success", ("never", "")))]
    width = max(len(r[0]) for r in rows)
    state_width = min(60, max(len(r[1]) for r in rows))
    for name, value, stamp in rows:
        click.echo(f"{name:<{width}}  {value:<{state_width}}  {stamp}".rstrip())
    click.echo(f"Requests: Successful {requests['successful']}, Failed {requests['failed']}, "
               f"Retried {requests['retried']}")
    click.echo("Users: " + ", ".join(f"{n} {label}" for label, n in by_status.items()))
    events = state.events(10)
    if events:
        click.echo("Recent events:")
        for stamp, _, message in events:
            click.echo(f"  {stamp}  {message}")


def _pair(value: tuple[str, str] | None) -> dict[str, str] | None:
    return None if value is None else {"state": value[0], "time": value[1]}


def _user_status(state: SyncState, user_id: str, as_json: bool) -> None:
    user = state.user(user_id)
    if user is None:
        if as_json:
            echo_json({"user_id": user_id, "status": "Not synced",
                       "message": "never seen by the sync", "last_synchronized": None})
        else:
            click.echo(f"{user_id}: Not synced (never seen by the sync)")
        return
    label = STATUS_LABELS.get(user.status, user.status)
    if as_json:
        echo_json({"user_id": user.user_id, "status": label, "message": user.message,
                   "email": user.email, "genesys_id": user.genesys_id,
                   "last_synchronized": user.last_synced, "updated": user.updated})
        return
    rows = [("User ID", user.user_id), ("Status", label), ("Message", user.message),
            ("Business e-mail", user.email), ("Genesys Cloud user", user.genesys_id or ""),
            ("Last Synchronized", user.last_synced or "never"), ("Status changed", user.updated)]
    for name, value in rows:
        if value:
            click.echo(f"{name + ':':<20} {value}")
