"""Subcommands of `cic-sts`, one module each; `idp.cli` assembles them."""

from __future__ import annotations

import click

from idp.commands.demo import demo
from idp.commands.genesys import genesys_settings
from idp.commands.init import init
from idp.commands.install import install_service
from idp.commands.keys import new_signing_key, new_tls_cert
from idp.commands.proxy import proxy
from idp.commands.serve import serve
from idp.commands.sessions import sessions
from idp.commands.sync import sync
from idp.commands.users import users

COMMANDS: list[click.Command] = [init, serve, users, genesys_settings, new_signing_key, demo,
                                  proxy, sync, install_service, new_tls_cert, sessions]
