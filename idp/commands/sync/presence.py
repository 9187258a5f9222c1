"""`sync presence`: only the presence sync, in the foreground, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import click

from idp.commands.context import CliContext, pass_cli
from idp.commands.sync.passes import stop_on_signals
from idp.errors import ConfigError
from idp.sync.engine import SyncService


@click.command("presence")
@pass_cli
def presence(cli: CliContext, /) -> None:
    """Sync CIC agent statuses to Genesys Cloud presences until stopped.

    What `sync run` does alongside its passes when sync.presence is true, alone: for a
    service of its own, or to watch it. The users are those the user sync links.
    """
    config = cli.config()
    if not config.sync.presence:
        raise ConfigError("sync.presence: set it to true to sync agent statuses")
    service = SyncService(config)
    try:
        with stop_on_signals() as stop:
            service.presence().run(stop)
    finally:
        service.close()
