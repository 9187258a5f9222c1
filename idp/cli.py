"""The `cic-sts` command. Known errors become one clear line and a non-zero exit code;
the traceback is shown only with --verbose."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from idp.commands import COMMANDS
from idp.commands.context import CliContext
from idp.config import config_path
from idp.errors import StsError


class KnownError(click.ClickException):
    def __init__(self, error: StsError) -> None:
        super().__init__(str(error))
        # click reads the process exit code from this attribute
        self.exit_code = error.exit_code  # type: ignore[misc]

    def format_message(self) -> str:
        return self.message


class StsGroup(click.Group):
    """Turns `StsError` from any subcommand into one line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StsError as exc:
            if isinstance(ctx.obj, CliContext) and ctx.obj.verbose:
                raise
            raise KnownError(exc) from None


@click.group(cls=StsGroup)
@click.option("--config", "-c", "config_file", type=click.Path(path_type=Path), default=None,
              help="Configuration file (default: $CIC_STS_CONFIG, ./cic-sts.toml, else "
                   "/etc/cic-sts/cic-sts.toml).")
@click.option("--verbose", "-v", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="cic-sts")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, verbose: bool) -> None:
    """PureConnect (CIC) as a SAML identity provider for Genesys Cloud."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = CliContext(config_path(config_file), verbose)


for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    cli(prog_name="cic-sts")
