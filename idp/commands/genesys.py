"""`cic-sts genesys-settings`: what to type into Genesys Cloud's SSO provider form."""

from __future__ import annotations

import click

from idp.commands.context import CliContext, echo_json, pass_cli
from idp.genesys.sso_form import sso_form_values


@click.command("genesys-settings")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for automation.")
@pass_cli
def genesys_settings(cli: CliContext, as_json: bool) -> None:
    """Print every value of the Genesys Cloud Generic SSO provider form."""
    values = sso_form_values(cli.config())
    if as_json:
        echo_json(values)
        return
    click.echo("Genesys Cloud > Admin > Single Sign-on > Generic SSO Provider")
    for label, value in values.items():
        if "\n" in value:
            click.echo(f"{label}:")
            click.echo(value)
        else:
            click.echo(f"{label}: {value}")
