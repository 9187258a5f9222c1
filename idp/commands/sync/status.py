"""`sync status`: the sync's health, users by state, or one user with its history.

Exit codes of `sync status` (without a user ID), as monitoring plugins (Nagios, Icinga, a cron
mail) read them:

- 0 OK: the last pass completed, nothing is held, Genesys Cloud answered;
- 1 WARNING: users are in Error or Conflict, or the source had unreadable entries;
- 2 CRITICAL: the last pass failed or stopped early, a pass is held (too many deactivations),
  or Genesys Cloud's API health is Failure;
- 3 UNKNOWN: no pass has run yet (no state database, or nothing in it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click

from idp.commands.context import CliContext, echo_json, pass_cli
from idp.commands.sync.output import json_on_failure, users
from idp.errors import SyncError
from idp.sync.guard import Held
from idp.sync.history import History
from idp.sync.report import SCHEMA_VERSION
from idp.sync.state import (
    CONFLICT,
    DEACTIVATED,
    ERROR,
    NOT_SYNCED,
    STATUS_LABELS,
    SYNCED,
    SyncState,
    UserState,
)

#: --state choices -> the state stored.
STATES = {"synced": SYNCED, "error": ERROR, "conflict": CONFLICT, "not-synced": NOT_SYNCED,
          "deactivated": DEACTIVATED}
LEVELS = ("OK", "WARNING", "CRITICAL", "UNKNOWN")
WIDTH = 14  # of the health items' names
#: Seconds after which a presence sync that recorded no health counts as not running.
STALE_PRESENCE = 60
#: The health lines of the object sync: (family, label), as CIC's health view names them.
OBJECT_LINES = (("queue", "Workgroups"), ("skill", "Skills"), ("wrapup", "Wrap-up codes"))


@click.command("status")
@click.argument("user_id", required=False)
@click.option("--state", "wanted", type=click.Choice(list(STATES)), default=None,
              help="List the users in this state.")
@click.option("--history", is_flag=True, help="With USER_ID: what each pass did to the user.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def status(cli: CliContext, /, user_id: str | None, wanted: str | None, history: bool,
           as_json: bool) -> None:
    """The sync's health (exit code 0 OK, 1 warning, 2 critical, 3 unknown), the users in one
    state, or one user's status, Last Synchronized time and history."""
    if history and user_id is None:
        raise click.UsageError("--history needs a USER_ID")
    with json_on_failure(as_json):
        try:
            state = SyncState(cli.config().sync.state_database, create=False)
        except SyncError as exc:  # nothing has run yet, whatever was asked
            _unknown(str(exc), as_json)
            return
        try:
            if user_id is not None:
                _user(state, user_id, history, as_json)
            elif wanted is not None:
                _by_state(state, wanted, as_json)
            else:
                code = _health(state, as_json, presence_on=cli.config().sync.presence)
        finally:
            state.close()
    if user_id is None and wanted is None:
        click.get_current_context().exit(code)


# -- health ------------------------------------------------------------------------------------


@dataclass
class Health:
    level: int = 0  # index into LEVELS
    problems: list[str] = field(default_factory=list)

    def worse(self, level: int, problem: str) -> None:
        self.level = max(self.level, level)
        self.problems.append(problem)


def _health(state: SyncState, as_json: bool, *, presence_on: bool = False) -> int:
    health = state.health()
    counts = dict.fromkeys(STATUS_LABELS, 0)
    for user in state.users().values():
        counts[user.status] = counts.get(user.status, 0) + 1
    counts[NOT_SYNCED] += counts.pop("creating", 0)
    user_sync = _user_sync(health)
    api_value, api_time = health.get("api", ("", ""))
    api = "unknown" if not api_value else "ok" if api_value == "OK" else "failure"
    outcome = _last_outcome(health)
    held = Held.from_json(json.loads(health["held"][0])) if "held" in health else None
    counters = state.counters()
    requests = {name: counters.get(name, 0) for name in ("successful", "failed", "retried")}

    verdict = Health()
    if outcome is None:
        verdict.worse(3, "no sync pass has run yet")
    elif outcome in ("failed", "stopped"):
        verdict.worse(2, f"the last pass {outcome}: {health['last_pass'][0]}")
    elif outcome == "completed_with_errors":
        verdict.worse(1, "the last pass left users in Error or met unreadable source entries")
    if held is not None:
        verdict.worse(2, f"deactivations held: {held.message()}")
    objects = _objects(health)
    for object_held in objects.get("held", []):
        verdict.worse(2, f"deletions held: {Held.from_json(object_held).message()}")
    if objects.get("errors"):
        verdict.worse(1, f"the last object pass had {objects['errors']} failed changes")
    presence = _presence(health) if presence_on else {}
    if presence.get("problem"):
        verdict.worse(1, f"presence sync: {presence['problem']}")
    flags = presence.get("out_of_office") or {}
    if flags.get("error"):
        verdict.worse(1, f"out-of-office flags: {flags['error']}")
    if api == "failure":
        verdict.worse(2, f"Genesys Cloud API health: {api_value}")
    for status_, label in ((ERROR, "Error"), (CONFLICT, "Conflict")):
        if counts.get(status_):
            verdict.worse(1, f"{users(counts[status_])} in {label} (`cic-sts sync status "
                             f"--state {status_}`)")

    if as_json:
        echo_json({
            "schema": SCHEMA_VERSION, "status": LEVELS[verdict.level].lower(),
            "exit_code": verdict.level, "problems": verdict.problems,
            "user_sync": user_sync, "users": counts, "requests": requests,
            "api": {"state": api, "message": api_value, "time": api_time or None},
            "held": held.to_json() if held is not None else None,
            "last_pass": _pass_json(health, "last_pass", outcome),
            "last_success": _pass_json(health, "last_success", "completed"),
            "events": [{"time": t, "kind": k, "message": m} for t, k, m in state.events()],
            "objects": objects or None,
            "presence": presence or None,
        })
        return verdict.level
    shown = (f"{user_sync['synced']} / {user_sync['users']} synced" if user_sync else "never")
    apart = [f"{user_sync[k]} {what}" for k, what in (
        ("without_email", "without business e-mail"), ("cannot_sync", "that cannot sync"),
        ("out_of_scope", "out of scope")) if user_sync.get(k)]
    if apart:
        shown += f" ({', '.join(apart)})"
    rows = [("Health Item", "State", "Last Update"),
            ("User Sync", shown, user_sync.get("time", "")),
            ("API Health", api_value or "not contacted yet", api_time)]
    if held is not None:
        rows.append(("Deactivations", f"HELD: {held.message()}", health["held"][1]))
    for family, label in OBJECT_LINES:
        if family in objects.get("counts", {}):
            synced, wanted = objects["counts"][family]
            rows.append((label, f"{synced} / {wanted} synced", objects["time"]))
    for object_held in objects.get("held", []):
        rows.append(("Deletions", f"HELD: {Held.from_json(object_held).message()}",
                     objects["time"]))
    if presence:
        rows.append(("Presence", presence["line"], presence["time"]))
        if flags.get("error") or flags.get("waiting"):
            rows.append(("Out of office", f"Failure: {flags['error']}" if flags.get("error")
                         else f"{flags['waiting']} flags waiting", presence["time"]))
    rows += [("Last pass", *health.get("last_pass", ("never", ""))),
             ("Last success", *health.get("last_success", ("never", "")))]
    state_width = min(60, max(len(r[1]) for r in rows))
    for name, value, stamp in rows:
        click.echo(f"{name:<{WIDTH}}{value:<{state_width}}  {stamp}".rstrip())
    click.echo(f"Requests: Successful {requests['successful']}, Failed {requests['failed']}, "
               f"Retried {requests['retried']}")
    click.echo("Users: " + ", ".join(f"{n} {STATUS_LABELS[s]}" for s, n in counts.items()))
    events = state.events(10)
    if events:
        click.echo("Recent events:")
        for stamp, _, message in events:
            click.echo(f"  {stamp}  {message}")
    click.echo(f"Status: {LEVELS[verdict.level]}"
               + (f" ({'; '.join(verdict.problems)})" if verdict.problems else ""))
    return verdict.level


def _objects(health: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """What the last object pass left (sync.platform_objects), with its time; {} if none ran."""
    if "objects" not in health:
        return {}
    value, stamp = health["objects"]
    return {**json.loads(value), "time": stamp}


def _presence(health: dict[str, tuple[str, str]],
              now: datetime | None = None) -> dict[str, Any]:
    """What the presence sync last recorded (`line` for the health view, `problem` when it
    does not run or fails); {} if it never ran."""
    if "presence" not in health:
        return {}
    value, stamp = health["presence"]
    data = json.loads(value)
    age = ((now or datetime.now(UTC)) - datetime.fromisoformat(
        stamp.replace("Z", "+00:00"))).total_seconds()
    before = data.get("last_event_seconds_before")
    line = ("no status event yet" if before is None else
            f"last event {round(max(0.0, age) + before)} s ago")
    line += (f" ({data.get('subscribed', 0)} users, {data.get('written', 0)} presences "
             f"written, {data.get('pending', 0)} waiting)")
    problem = ""
    if data.get("error"):
        problem = str(data["error"])
        line = f"Failure: {problem}"
    elif age > STALE_PRESENCE:
        problem = f"not running (last heard of {round(age)} s ago)"
        line = f"not running; {line}"
    return {**data, "time": stamp, "line": line, "problem": problem}


def _unknown(problem: str, as_json: bool) -> None:
    if as_json:
        echo_json({"schema": SCHEMA_VERSION, "status": "unknown", "exit_code": 3,
                   "problems": [problem]})
    else:
        click.echo(f"Status: UNKNOWN ({problem})")
    click.get_current_context().exit(3)


def _user_sync(health: dict[str, tuple[str, str]]) -> dict[str, Any]:
    if "user_sync" in health:
        value, stamp = health["user_sync"]
        return {**json.loads(value), "time": stamp}
    return {}


def _last_outcome(health: dict[str, tuple[str, str]]) -> str | None:
    if "last_outcome" in health:
        return health["last_outcome"][0]
    if "last_pass" not in health:  # never run
        return None
    summary = health["last_pass"][0]  # written by a version before last_outcome existed
    if summary.startswith("failed:"):
        return "failed"
    return "stopped" if "; stopped: " in summary else "completed"


def _pass_json(health: dict[str, tuple[str, str]], name: str,
               outcome: str | None) -> dict[str, Any] | None:
    if name not in health:
        return None
    summary, stamp = health[name]
    return {"outcome": outcome, "summary": summary, "time": stamp}


# -- users ----------------------------------------------------------------------------------


def _user_json(user: UserState) -> dict[str, Any]:
    return {"user_id": user.user_id, "status": NOT_SYNCED if user.status == "creating"
            else user.status, "label": user.label, "message": user.message,
            "email": user.email, "genesys_id": user.genesys_id,
            "last_synchronized": user.last_synced, "updated": user.updated}


def _by_state(state: SyncState, wanted: str, as_json: bool) -> None:
    found = state.by_status(STATES[wanted])
    if as_json:
        echo_json({"schema": SCHEMA_VERSION, "state": STATES[wanted], "count": len(found),
                   "users": [_user_json(u) for u in found]})
        return
    click.echo(f"{users(len(found))} in {STATUS_LABELS[STATES[wanted]]}")
    for user in found:
        name = user.user_id + (f" <{user.email}>" if user.email else "")
        click.echo(f"  {name}: {user.message}" if user.message else f"  {name}")


def _user(state: SyncState, user_id: str, history: bool, as_json: bool) -> None:
    user = state.user(user_id)
    entries = History(state).of(user_id) if history else []
    if as_json:
        data: dict[str, Any] = (_user_json(user) if user is not None else
                {"user_id": user_id, "status": NOT_SYNCED, "label": "Not synced",
                 "message": "never seen by the sync", "last_synchronized": None})
        if history:
            data["history"] = [e.to_json() for e in entries]
        echo_json({"schema": SCHEMA_VERSION, **data})
        return
    if user is None:
        click.echo(f"{user_id}: Not synced (never seen by the sync)")
    else:
        rows = [("User ID", user.user_id), ("Status", user.label), ("Message", user.message),
                ("Business e-mail", user.email), ("Genesys Cloud user", user.genesys_id or ""),
                ("Last Synchronized", user.last_synced or "never"),
                ("Status changed", user.updated)]
        for name, value in rows:
            if value:
                click.echo(f"{name + ':':<20} {value}")
    if history:
        click.echo("History (newest first):" if entries else "History: nothing recorded")
        for entry in entries:
            line = f"  {entry.time}  {entry.action} -> {entry.result}"
            click.echo(f"{line}: {entry.message}" if entry.message else line)
            for change in entry.changes:
                click.echo(f"      {change.field}: {change.old!r} -> {change.new!r}")
