"""`sync link`, `sync unlink` and `sync adopt`: links an administrator sets by hand."""

from __future__ import annotations

import click

from idp.commands.context import CliContext, pass_cli
from idp.commands.sync.passes import one_pass, report_pass
from idp.errors import SyncError
from idp.sync import admin
from idp.sync.engine import SyncService
from idp.sync.plan import Kind, Plan
from idp.sync.report import EXIT_CODES


@click.command("link")
@click.argument("user_id", metavar="CIC_USER_ID")
@click.argument("genesys_id", metavar="GENESYS_USER_ID")
@pass_cli
def link(cli: CliContext, /, user_id: str, genesys_id: str) -> None:
    """Link a CIC user to a Genesys Cloud user, then sync that user.

    For a CIC user re-created under a new user ID, or one whose e-mail another Genesys Cloud
    user holds: the link moves to CIC_USER_ID (any CIC user linked to GENESYS_USER_ID before
    is no longer), and the user's fields are written at once. `sync unlink` undoes it.
    """
    service = SyncService(cli.config())
    try:
        for line in admin.link(service, user_id, genesys_id):
            click.echo(line)
        report = one_pass(service, quiet=False, only=user_id)
    finally:
        service.close()
    report_pass(report)
    click.get_current_context().exit(EXIT_CODES[report.outcome])


@click.command("unlink")
@click.argument("user_id", metavar="CIC_USER_ID")
@pass_cli
def unlink(cli: CliContext, /, user_id: str) -> None:
    """Remove the link between a CIC user and its Genesys Cloud user.

    The Genesys Cloud user is left as it is, active, and the sync no longer manages it; the CIC
    user's e-mail then shows as a conflict (unless sync.adopt_existing). `sync link` undoes it.
    """
    service = SyncService(cli.config())
    try:
        for line in admin.unlink(service, user_id):
            click.echo(line)
    finally:
        service.close()


@click.command("adopt")
@click.argument("user_id", metavar="CIC_USER_ID")
@pass_cli
def adopt(cli: CliContext, /, user_id: str) -> None:
    """Take over the Genesys Cloud user that has this CIC user's e-mail.

    Like sync.adopt_existing, for one user: the Genesys Cloud user the sync did not create gets
    the link and the CIC user's fields. The plan is shown first; nothing is done unless it
    adopts.
    """
    def adoption_only(plan: Plan) -> None:
        kinds = {action.kind for action in plan.actions}
        if Kind.ADOPT not in kinds:
            what = ", ".join(sorted(f"{a.kind}: {a.reason}" if a.reason else str(a.kind)
                                    for a in plan.actions)) or "nothing to do"
            raise SyncError(f"nothing to adopt for CIC user {user_id} ({what})")

    service = SyncService(cli.config())
    try:
        report = one_pass(service, quiet=False, show_plan=True, only=user_id, adopt=True,
                          check_plan=adoption_only)
    finally:
        service.close()
    report_pass(report)
    click.get_current_context().exit(EXIT_CODES[report.outcome])
