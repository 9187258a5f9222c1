"""`cic-sts demo` (what `make run` runs): the STS plus a demo SP, ready to log into."""

from __future__ import annotations

import subprocess
import sys

import click

from idp.auth.base import CicUser
from idp.auth.local import LocalDirectory
from idp.commands.context import CliContext, pass_cli
from idp.commands.init import init
from idp.config import Config, load_config
from idp.keys import read_pem
from idp.saml.metadata import SSO_PATH

DEMO_USER = CicUser("demo", "Demo Agent", "demo.agent@example.com",
                    {"business": "+13175551234", "mobile": "+13175550000"})
DEMO_PASSWORD = "PureConnect-demo-1"  # documented in the README; for the demo directory only
DEMO_METADATA = "certs/demo-sp-metadata.xml"


def demo_idp(config: Config):  # type: ignore[no-untyped-def]
    from idp.demo.sp import DemoIdp

    return DemoIdp(config.entity_id, config.public_base_url + SSO_PATH,
                   read_pem(config.idp.signing_certificate, "SAML signing certificate").decode())


@click.command()
@click.option("--sp-port", default=8044, show_default=True, help="Port of the demo SP.")
@click.pass_context
@pass_cli
def demo(cli: CliContext, ctx: click.Context, sp_port: int) -> None:
    """Start the STS and a demo service provider that plays Genesys Cloud's role."""
    from werkzeug.serving import run_simple

    from idp.demo.sp import create_demo_sp, sp_metadata

    path = cli.config_file
    metadata_file = path.resolve().parent / DEMO_METADATA
    if not path.exists():
        ctx.invoke(init, machine_names=("localhost", "127.0.0.1"), sp_metadata=(metadata_file,))
    config = load_config(path)
    sp_base = f"https://{config.public_host}:{sp_port}"
    if not any(sp.metadata == metadata_file for sp in config.service_providers):
        raise click.ClickException(
            f"{path} does not register the demo SP; add\n[[service_providers]]\n"
            f'metadata = "{DEMO_METADATA}"')
    idp = demo_idp(config)
    metadata_file.write_bytes(sp_metadata(sp_base, idp))
    directory = LocalDirectory(config.directory.database)
    if directory.lookup(DEMO_USER.user_id) is None:
        directory.upsert(DEMO_USER, password=DEMO_PASSWORD)
    sts = subprocess.Popen([sys.executable, "-m", "idp", "--config", str(path), "serve"])
    click.echo(f"""
  PureConnect STS   {config.public_base_url}{SSO_PATH}
  Demo SP           {sp_base}/     <- open this, then "Log in with PureConnect"
  Demo user         user ID "{DEMO_USER.user_id}", password "{DEMO_PASSWORD}"
  (self-signed certificates: accept the browser's warning for both ports)
""")
    try:
        run_simple(config.server.bind, sp_port, create_demo_sp(sp_base, idp),
                   ssl_context=(str(config.server.tls_certificate), str(config.server.tls_key)),
                   threaded=True)
    finally:
        sts.terminate()
        sts.wait(timeout=15)



