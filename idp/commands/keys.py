"""`cic-sts new-signing-key`: the next SAML signing key and certificate, for a key rollover."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import click

from idp.commands.context import CliContext, pass_cli
from idp.errors import KeyMaterialError
from idp.keys import generate_signing_pair, generate_tls_pair
from idp.observe.certificates import describe


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


@click.command("new-tls-cert")
@click.option("--name", "extra_names", multiple=True,
              help="Another name the certificate carries, beside server.machine_names (repeat): "
                   "e.g. one name both servers of the pair share, for the proxy to verify.")
@click.option("--days", default=825, show_default=True, type=click.IntRange(1, 3650),
              help="Days the certificate is valid.")
@pass_cli
def new_tls_cert(cli: CliContext, extra_names: tuple[str, ...], days: int) -> None:
    """Replace the port-8043 key and self-signed certificate (server.tls_key / tls_certificate);
    `systemctl reload cic-sts` then serves them. Owner and mode of the old files are kept."""
    config = cli.config()
    key, cert = config.server.tls_key, config.server.tls_certificate
    kept = [(path, path.stat()) for path in (key, cert) if path.exists()]
    names = list(dict.fromkeys([*config.server.machine_names, *extra_names]))
    generate_tls_pair(key, cert, names, force=True, days=days)
    for path, old in kept:  # e.g. root:cic-sts 0640 from install-service
        os.chown(path, old.st_uid, old.st_gid)
        os.chmod(path, stat.S_IMODE(old.st_mode))
    info = describe(cert, "tls", "TLS certificate")
    click.echo(f"generated {key} and {cert} for {', '.join(names)}\n"
               f"expires {info.not_after:%Y-%m-%d %H:%M} UTC, SHA-256 {info.sha256}\n"
               "next: reload the STS (systemctl reload cic-sts); if the proxy verifies the "
               "servers' certificates, give it this certificate (docs/operating.md)")
