"""`cic-sts demo` (what `make run` runs): the STS plus a demo SP, ready to log into.

Everything it writes stays in its own folder (`--dir`, `.demo` by default, git-ignored), it
listens on 127.0.0.1 only, and it never uses the configuration `serve` would use.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from idp.auth.hashing import hasher_for
from idp.auth.local import LocalDirectory
from idp.commands.context import CliContext, pass_cli
from idp.commands.init import InitOptions, echo_keys, generate_keys, write_config
from idp.config import Config, load_config
from idp.demo.identity import DEMO_PASSWORD, DEMO_USER
from idp.hosts import is_loopback
from idp.keys import read_pem
from idp.saml.metadata import SSO_PATH

DEMO_METADATA = "certs/demo-sp-metadata.xml"
LOOPBACK = "127.0.0.1"


def demo_idp(config: Config):  # type: ignore[no-untyped-def]
    from idp.demo.sp import DemoIdp

    return DemoIdp(config.entity_id, config.public_base_url + SSO_PATH,
                   read_pem(config.idp.signing_certificate, "SAML signing certificate").decode())


@click.command()
@click.option("--dir", "folder", type=click.Path(path_type=Path, file_okay=False),
              default=".demo", show_default=True,
              help="Folder of everything the demo writes (configuration, keys, users).")
@click.option("--port", default=8043, show_default=True, help="Port of the STS.")
@click.option("--sp-port", default=8044, show_default=True, help="Port of the demo SP.")
@pass_cli
def demo(cli: CliContext, folder: Path, port: int, sp_port: int) -> None:
    """Start the STS and a demo service provider that plays Genesys Cloud's role."""
    from werkzeug.serving import run_simple

    from idp.demo.sp import create_demo_sp, sp_metadata

    if click.get_current_context().find_root().params.get("config_file") is not None:
        raise click.UsageError("the demo keeps its own configuration in --dir "
                               "(DIR/cic-sts.toml); it does not use --config")
    folder = folder.resolve()
    path = folder / "cic-sts.toml"
    metadata_file = folder / DEMO_METADATA
    click.echo(write_config(path, InitOptions(
        machine_names=("localhost", LOOPBACK), port=port, bind=LOOPBACK,
        sp_metadata=(metadata_file,)), force=False))
    config = load_config(path)
    echo_keys(generate_keys(config, force=False))
    if not is_loopback(config.server.bind):
        raise click.ClickException(f"{path}: server.bind = {config.server.bind!r}; the demo "
                                   "listens on loopback only")
    sp_base = f"https://{config.public_host}:{sp_port}"
    idp = demo_idp(config)
    metadata_file.write_bytes(sp_metadata(sp_base, idp, demo=True))
    directory = LocalDirectory(config.directory.database, hasher_for(config.directory))
    if directory.lookup(DEMO_USER.user_id) is None:
        directory.upsert(DEMO_USER, password=DEMO_PASSWORD)
    directory.close()
    sts = subprocess.Popen([sys.executable, "-m", "idp", "--config", str(path), "serve",
                            "--allow-demo"])
    click.echo(f"""
  PureConnect STS   {config.public_base_url}{SSO_PATH}
  Demo SP           {sp_base}/     <- open this, then "Log in with PureConnect"
  Demo user         user ID "{DEMO_USER.user_id}", password "{DEMO_PASSWORD}"
  Listening on {config.server.bind} only; everything the demo writes is in {folder}
  (self-signed certificates: accept the browser's warning for both ports)
""")
    try:
        run_simple(config.server.bind, sp_port, create_demo_sp(sp_base, idp),
                   ssl_context=(str(config.server.tls_certificate), str(config.server.tls_key)),
                   threaded=True)
    finally:
        sts.terminate()
        sts.wait(timeout=15)
