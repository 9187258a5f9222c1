"""`cic-sts serve`: check everything, then run gunicorn over HTTPS."""

from __future__ import annotations

import os
import sys

import click

from idp.commands.context import CliContext, pass_cli
from idp.demo.identity import demo_leftovers
from idp.errors import ConfigError
from idp.observe.certificates import expiry_warnings
from idp.server import private
from idp.web import build_sts


@click.command()
@click.option("--bind", default=None,
              help="HOST:PORT to listen on (default: from the configuration).")
@click.option("--check", is_flag=True, help="Only validate the configuration, keys and SPs.")
@click.option("--allow-demo", is_flag=True,
              help="Serve even with the demo SP or the demo user (for `cic-sts demo` only).")
@pass_cli
def serve(cli: CliContext, bind: str | None, check: bool, allow_demo: bool) -> None:
    """Run the STS under gunicorn (HTTPS, port 8043 by default)."""
    config = cli.config()
    leftovers = [] if allow_demo else demo_leftovers(config)
    if leftovers:
        raise ConfigError(f"refusing to serve {' and '.join(leftovers)}: that is the demo of "
                          "`make run`, never for production; remove it, or pass --allow-demo")
    sts = build_sts(config)  # fails here, with one clear line, before gunicorn forks anything
    gone = private.missing()  # gevent or gunicorn upgraded past what the worker was tested with
    if gone:
        raise click.ClickException(
            f"the installed gevent/gunicorn lack what the STS's worker needs ({', '.join(gone)});"
            f" install the versions pyproject.toml pins (tested: gevent "
            f"{private.TESTED['gevent']}, gunicorn {private.TESTED['gunicorn']})")
    click.echo(f"configuration OK: {len(sts.registry)} service provider(s), "
               f"issuer {config.entity_id}", err=True)
    for info in sts.certificates:
        click.echo(f"{info.label} {info.path}: expires {info.not_after:%Y-%m-%d %H:%M} UTC, "
                   f"SHA-256 {info.sha256}", err=True)
    for warning in expiry_warnings(config, sts.certificates):
        click.echo(f"warning: {warning}", err=True)
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
