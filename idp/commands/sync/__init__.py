"""`cic-sts sync`: keep Genesys Cloud users aligned with CIC users ([sync], [genesys]).

`passes` runs them (plan, apply, run), `status` shows what they left (health, users by state,
one user's history), `links` mends links by hand (link, unlink, adopt), `output` renders plans
and outcomes.
"""

from __future__ import annotations

import logging

import click

from idp.commands.context import CliContext, pass_cli
from idp.commands.sync.links import adopt, link, unlink
from idp.commands.sync.passes import apply_, plan_, run
from idp.commands.sync.presence import presence
from idp.commands.sync.status import status


@click.group()
@pass_cli
def sync(cli: CliContext, /) -> None:
    """Keep Genesys Cloud users aligned with CIC users (one way, over SCIM).

    Every CIC user with a business e-mail gets a Genesys Cloud user with that e-mail, its
    display name and phone numbers, linked to the CIC user ID so that an e-mail change renames
    it. Genesys Cloud users the sync did not create are never changed (see sync.adopt_existing
    and `sync adopt`). A pass deactivates at most sync.max_deactivations users.
    """
    if not cli.verbose:  # one log line per HTTP request would bury what matters
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)


for command in (plan_, apply_, run, presence, status, link, unlink, adopt):
    sync.add_command(command)

__all__ = ["sync"]
