"""`cic-sts serve`: check everything, then run gunicorn over HTTPS."""

from __future__ import annotations

import os
import sys

import click

from idp.commands.context import CliContext, pass_cli
from idp.server import private
from idp.web import build_sts


@click.command()
@click.option("--bind", default=None,
              help="HOST:PORT to listen on (default: from the configuration).")
@click.option("--check", is_flag=True, help="Only validate the configuration, keys and SPs.")
@pass_cli
def serve(cli: CliContext, bind: str | None, check: bool) -> None:
    """Run the STS under gunicorn (HTTPS, port 8043 by default)."""
    config = cli.config()
    sts = build_sts(config)  # fails here, with one clear line, before gunicorn forks anything
    gone = private.missing()  # gevent or gunicorn upgraded past what the worker was tested with
    if gone:
        raise click.ClickException(
            f"the installed gevent/gunicorn lack what the STS's worker needs ({', '.join(gone)});"
            f" install the versions pyproject.toml pins (tested: gevent "
            f"{private.TESTED['gevent']}, gunicorn {private.TESTED['gunicorn']})")
    click.echo(f"configuration OK: {len(sts.registry)} service provider(s), "
               f"issuer {config.entity_id}", err=True)
    if config.server.threads:
        click.echo("warning: server.threads is ignored (gevent workers); remove it, and set "
                   "server.connections if the default of 1000 per worker does not suit",
                   err=True)
    if check:
        return
    os.environ["CIC_STS_CONFIG"] = str(config.path)
    if bind:
        os.environ["CIC_STS_BIND"] = bind
    os.execv(sys.executable, [sys.executable, "-m", "gunicorn", "-c", "python:idp.gunicorn_conf"])
