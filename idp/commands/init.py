"""`cic-sts init`: write a configuration and generate the keys it names."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import click

from idp.commands.context import CliContext, pass_cli
from idp.config import load_config
from idp.errors import ConfigError
from idp.keys import generate_secret, generate_signing_pair, generate_tls_pair

TEMPLATE = """\
# cic-sts configuration. Every setting is described in the README ("Configuration").
# Relative paths are relative to this file.

[server]
machine_names = [{machine_names}]
port = {port}

[idp]
# Genesys Cloud's "Provider's Issuer URI". Behind a proxy, use https://<public host>.
entity_id = {entity_id}
signing_certificate = "certs/saml-signing.crt"
signing_key = "certs/saml-signing.key"
session_secret = {{ file = "certs/session.secret" }}

[directory]
database = "cic-users.db"

[sync]
# Links this installation's Genesys Cloud users to their CIC users. Unique, so that two
# installations on one organization (a lab, the other site) never take each other's users.
authority = "{authority}"
{genesys}{service_providers}"""

GENESYS = """
[genesys]
region = {region}
relying_party_identifier = {rpi}
organization = {organization}
"""


def _toml_string(value: str) -> str:
    if any(c in value for c in '"\\\n'):
        raise ConfigError(f"{value!r}: quotes, backslashes and line breaks are not allowed here")
    return f'"{value}"'


@click.command()
@click.option("--machine-name", "machine_names", multiple=True,
              help="Host name or IP of this STS (repeat; the first is used in URLs). "
                   "Default: this machine's FQDN plus localhost and 127.0.0.1.")
@click.option("--port", default=8043, show_default=True, help="HTTPS port.")
@click.option("--entity-id", default="", help="IdP entity ID. Default: https://<first name>.")
@click.option("--genesys-region", default="", help="Genesys Cloud region (e.g. eu-west-1).")
@click.option("--relying-party-identifier", default="", help="Genesys Cloud SP entity ID.")
@click.option("--organization", default="", help="Genesys Cloud organization short name.")
@click.option("--sp-metadata", "sp_metadata", multiple=True, type=click.Path(path_type=Path),
              help="Register another SP from its SAML metadata file (repeat).")
@click.option("--force", is_flag=True, help="Replace an existing configuration and keys.")
@pass_cli
def init(cli: CliContext, machine_names: tuple[str, ...], port: int, entity_id: str,
         genesys_region: str, relying_party_identifier: str, organization: str,
         sp_metadata: tuple[Path, ...], force: bool) -> None:
    """Write a configuration file and generate the SAML signing and TLS keys."""
    path = cli.config_file
    names = list(machine_names) or [socket.getfqdn(), "localhost", "127.0.0.1"]
    genesys = ""
    if genesys_region or relying_party_identifier or organization:
        genesys = GENESYS.format(region=_toml_string(genesys_region),
                                 rpi=_toml_string(relying_party_identifier),
                                 organization=_toml_string(organization))
    sps = "".join(f"\n[[service_providers]]\nmetadata = {_toml_string(str(p.resolve()))}\n"
                  for p in sp_metadata)
    text = TEMPLATE.format(
        machine_names=", ".join(_toml_string(n) for n in names), port=port,
        entity_id=_toml_string(entity_id or f"https://{names[0]}"), genesys=genesys,
        service_providers=sps, authority=f"cic-sts/{secrets.token_hex(4)}")
    if path.exists() and not force:
        click.echo(f"kept existing configuration {path} (use --force to replace it)")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        try:
            load_config(tmp)  # never leave behind a file that would not start
        except ConfigError:
            tmp.unlink()
            raise
        tmp.replace(path)
        click.echo(f"wrote configuration {path}")
    config = load_config(path)
    results = [
        generate_signing_pair(config.idp.signing_key, config.idp.signing_certificate,
                              config.entity_id, force),
        generate_tls_pair(config.server.tls_key, config.server.tls_certificate,
                          config.server.machine_names, force),
    ]
    if config.idp.session_secret.file is not None:
        results.append(generate_secret(config.idp.session_secret.file, force))
    for written in results:
        state = "generated" if written.created else "kept existing (use --force to replace)"
        click.echo(f"{state} {written.path}")
