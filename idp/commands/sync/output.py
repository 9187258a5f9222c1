"""How sync plans and outcomes look on a terminal and in JSON."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from idp.commands.context import echo_json
from idp.errors import StsError
from idp.sync.apply import Outcome
from idp.sync.objects.actions import ObjectReport
from idp.sync.plan import Action, Kind, Plan
from idp.sync.report import SCHEMA_VERSION, failed_json

_VERB = {Kind.CREATE: "to create", Kind.UPDATE: "to update", Kind.ADOPT: "to adopt",
         Kind.LINK: "to link", Kind.DEACTIVATE: "to deactivate", Kind.DELETE: "to delete",
         Kind.SKIP: "not synced", Kind.CONFLICT: "in conflict", Kind.FORGET: "to forget",
         Kind.HOLD: "held back"}

#: What the end-of-pass list calls each result.
_ATTENTION_LABELS = {"error": "Error", "conflict": "Conflict", "skipped": "Not synced"}


def users(count: int) -> str:
    return f"{count} user" if count == 1 else f"{count} users"


def print_plan(plan: Plan) -> None:
    how = ("compared with a full listing of Genesys Cloud" if plan.listed
           else "users changed in CIC since the last pass")
    click.echo(f"Plan ({how}):")
    for action in plan.actions:
        click.echo(f"  {action.kind.value:<11} {who(action)}")
        for change in action.changes:
            click.echo(f"      {change.field}: {change.old!r} -> {change.new!r}")
        for warning in action.warnings:
            click.echo(f"      warning: {warning}")
    for problem in plan.source_problems:
        click.echo(f"source: {problem}")
    for note in plan.notes:
        click.echo(f"note: {note}")
    if plan.held is not None:
        click.echo(f"held: {plan.held.message()}")
    counts = [f"{plan.count(kind)} {_VERB[kind]}" for kind in Kind if plan.count(kind)]
    extra = f", {plan.out_of_scope} out of scope" if plan.out_of_scope else ""
    click.echo(", ".join([*counts, f"{plan.unchanged} unchanged"])
               + f" ({plan.source_users} CIC users{extra}); {plan.writes} writes")
    if plan.objects is not None:
        print_objects(plan.objects)


def print_objects(report: ObjectReport) -> None:
    """What the object sync would do (or did): its changes, then what is wrong or held."""
    changes = [a for a in report.actions if a.verb != "forget"]
    click.echo("Objects:" if changes else "Objects: nothing to change")
    for action in changes:
        shown = f"  {action.line()}"
        click.echo(shown if action.result in ("planned", "done") else
                   f"{shown} [{action.result}]")
    for problem in report.problems:
        click.echo(f"source: {problem}")
    for note in report.notes:
        click.echo(f"note: {note}")
    for held in report.held:
        click.echo(f"held: {held.message()}")
    if report.error:
        click.echo(f"objects stopped: {report.error}")


def who(action: Action) -> str:
    text = action.user_id
    if action.email:
        text += f" <{action.email}>"
    if action.reason:
        text += f": {action.reason}"
    return text


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION, "listed": plan.listed, "source_users": plan.source_users,
        "out_of_scope": plan.out_of_scope, "without_email": plan.without_email,
        "cannot_sync": plan.cannot_sync,
        "unchanged": plan.unchanged, "writes": plan.writes, "notes": plan.notes,
        "source_problems": plan.source_problems,
        "held": plan.held.to_json() if plan.held is not None else None,
        "counts": {str(kind): plan.count(kind) for kind in Kind},
        "actions": [{"action": str(a.kind), "user_id": a.user_id, "email": a.email,
                     "reason": a.reason,
                     "genesys_id": a.remote.id if a.remote is not None else None,
                     "changes": [{"field": c.field, "old": c.old, "new": c.new}
                                 for c in a.changes],
                     "warnings": list(a.warnings)} for a in plan.actions],
        "objects": plan.objects.to_json() if plan.objects is not None else None,
    }


def outcome_line(outcome: Outcome) -> str:
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


def print_attention(outcomes: list[Outcome]) -> None:
    """The users a pass left in Error, Conflict or Not synced, each with its reason."""
    if not outcomes:
        return
    click.echo(f"{users(len(outcomes))} need attention:")
    for outcome in outcomes:
        action = outcome.action
        name = action.user_id + (f" <{action.email}>" if action.email else "")
        label = _ATTENTION_LABELS[outcome.result]
        click.echo(f"  {label:<11} {name}: {outcome.message or action.reason}")


@contextmanager
def json_on_failure(as_json: bool) -> Iterator[None]:
    """With --json, a failure is a JSON document on stdout too (and the usual exit code)."""
    try:
        yield
    except StsError as exc:
        if not as_json:
            raise
        echo_json(failed_json(exc))
        click.get_current_context().exit(exc.exit_code)
