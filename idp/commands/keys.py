"""`cic-sts new-signing-key`: the next SAML signing key and certificate, for a key rollover."""

from __future__ import annotations

from pathlib import Path

import click

from idp.commands.context import CliContext, pass_cli
from idp.errors import KeyMaterialError
from idp.keys import generate_signing_pair


@click.command("new-signing-key")
@click.argument("prefix", type=click.Path(path_type=Path))
@pass_cli
def new_signing_key(cli: CliContext, prefix: Path) -> None:
    """Write PREFIX.key (0600) and PREFIX.crt: a new RSA-2048 signing pair for the IdP."""
    key, cert = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".crt")
    if key.exists() or cert.exists():
        raise KeyMaterialError(f"{key} or {cert} already exists; choose another PREFIX")
    generate_signing_pair(key, cert, cli.config().entity_id, force=False)
    click.echo(f"generated {key} and {cert}\n"
               f"next: set idp.next_signing_certificate = \"{cert}\", restart, and add the "
               "certificate that `cic-sts genesys-settings` prints to Genesys Cloud")
