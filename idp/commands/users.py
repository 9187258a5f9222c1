"""`cic-sts users`: manage the local CIC user directory (the embedded authentication backend).

Passwords are never printed or logged: they come from a hidden prompt, standard input, or (for
scripts and the demo only) the visible `--password` option.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from idp.auth.base import PHONE_FIELDS, CicUser
from idp.auth.csvfile import PHONE_LABELS, read_users_csv
from idp.auth.local import LocalDirectory, email_problem, user_id_problem
from idp.commands.context import CliContext, echo_json, pass_cli
from idp.errors import DirectoryError


def _directory(cli_ctx: CliContext) -> LocalDirectory:
    database = cli_ctx.config().directory.database
    if os.geteuid() == 0 and database.exists() and database.stat().st_uid != 0:
        # root would leave root-owned journal files the service cannot open
        owner = database.stat().st_uid
        raise DirectoryError(f"{database} belongs to uid {owner}: run this as that user "
                             f"(sudo -u {_user_name(owner)} ...)")
    return LocalDirectory(database)


def _user_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"


def _stdin_is_tty() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _read_password_stdin() -> str:
    """One line from standard input, without its line ending (other spaces are kept)."""
    data = sys.stdin.read()
    password = data.removesuffix("\n").removesuffix("\r")
    if not password:
        raise click.UsageError("--password-stdin: no password on standard input")
    if "\n" in password or "\r" in password:
        raise click.UsageError("--password-stdin: expected one line on standard input")
    return password


def _prompt_password() -> str:
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group()
def users() -> None:
    """Manage the local CIC user directory ([directory] database)."""


@users.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@pass_cli
def import_(cli_ctx: CliContext, /, file: Path) -> None:
    """Create or update users from a CSV export of CIC users.

    Columns (header row required, any order): user_id, display_name, email, business_phone,
    business2_phone, mobile_phone, home_phone, fax_phone, password. Bad rows are reported and
    skipped, the others imported; the exit code is 1 if any row was skipped.
    """
    result = read_users_csv(file)
    directory = _directory(cli_ctx)
    for error in result.errors:
        click.echo(str(error), err=True)
    imported = directory.upsert_many((user, password) for _, user, password in result.rows)
    click.echo(f"imported {imported} users, skipped {len(result.errors)} rows")
    if result.errors:
        click.get_current_context().exit(1)


F = TypeVar("F", bound=Callable[..., Any])


def _phone_options(command: F) -> F:
    for name in reversed(PHONE_FIELDS):
        command = click.option(f"--{name}-phone", f"{name}_phone", default="",
                               help=f"{PHONE_LABELS[name]}.")(command)
    return command


@users.command("add")
@click.argument("user_id")
@click.option("--display-name", default="", help="Display name.")
@click.option("--email", default="", help="Business e-mail: the identity Genesys Cloud sees.")
@_phone_options
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--password", "password_option", default=None, metavar="PASSWORD",
              help="The password itself, for scripts and demos only: it is visible to other "
                   "users in the process list and lands in shell history.")
@pass_cli
def add(cli_ctx: CliContext, /, user_id: str, display_name: str, email: str, password_stdin: bool,
        password_option: str | None, **phones: str) -> None:
    """Add a new user.

    Without --password-stdin or --password, the password is asked for when standard input is a
    terminal; otherwise the user is created without a password and cannot log on until
    `users set-password` gives them one.
    """
    if password_stdin and password_option is not None:
        raise click.UsageError("use either --password-stdin or --password, not both")
    user = CicUser(user_id=user_id, display_name=display_name, email=email,
                   phones={name: phones[f"{name}_phone"] for name in PHONE_FIELDS
                           if phones[f"{name}_phone"]})
    problem = user_id_problem(user_id) or email_problem(email.strip())
    if problem:
        raise DirectoryError(problem)
    directory = _directory(cli_ctx)
    if directory.lookup(user_id) is not None:  # before asking for a password in vain
        raise DirectoryError(f"user {user_id!r} already exists (change it with "
                             "`users set-password` or `users import`)")
    password = password_option
    if password_stdin:
        password = _read_password_stdin()
    elif password is None and _stdin_is_tty():
        password = _prompt_password()
    directory.add(user, password)
    if password is None:
        click.echo(f"added user {user_id} without a password: they cannot log on until "
                   f"`users set-password {user_id}`")
    else:
        click.echo(f"added user {user_id}")


@users.command("set-password")
@click.argument("user_id")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_cli
def set_password(cli_ctx: CliContext, /, user_id: str, password_stdin: bool) -> None:
    """Set a user's password (asked for, hidden, unless --password-stdin)."""
    directory = _directory(cli_ctx)
    if directory.lookup(user_id) is None:  # before asking for a password in vain
        raise DirectoryError(f"no user {user_id!r} in the local directory {directory.path}")
    if password_stdin:
        password = _read_password_stdin()
    elif _stdin_is_tty():
        password = _prompt_password()
    else:
        raise click.UsageError("standard input is not a terminal: use --password-stdin")
    directory.set_password(user_id, password)
    click.echo(f"password set for {user_id}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_cli
def list_(cli_ctx: CliContext, /, as_json: bool) -> None:
    """List the users (never their passwords)."""
    entries = _directory(cli_ctx).entries()
    if as_json:
        echo_json([{
            "user_id": e.user.user_id,
            "display_name": e.user.display_name,
            "email": e.user.email,
            "phones": e.user.phones,
            "password_set": e.has_password,
            "created": e.created,
            "updated": e.updated,
        } for e in entries])
        return
    if not entries:
        click.echo("no users in the local directory", err=True)
        return
    rows = [("USER ID", "DISPLAY NAME", "E-MAIL", "PASSWORD")] + [
        (e.user.user_id, e.user.display_name, e.user.email, "yes" if e.has_password else "no")
        for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)),
                              row[3]]))


@users.command("remove")
@click.argument("user_id")
@pass_cli
def remove(cli_ctx: CliContext, /, user_id: str) -> None:
    """Remove a user from the local directory."""
    _directory(cli_ctx).delete(user_id)
    click.echo(f"removed user {user_id}")
