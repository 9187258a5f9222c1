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

from idp.auth.csvfile import PHONE_LABELS, read_users_csv
from idp.auth.hashing import hasher_for
from idp.auth.local import LocalDirectory
from idp.auth.policy import password_problem
from idp.commands.context import CliContext, echo_json, pass_cli
from idp.errors import DirectoryError
from idp.users import PHONE_FIELDS, CicUser, email_problem, user_id_problem


def _directory(cli_ctx: CliContext) -> LocalDirectory:
    settings = cli_ctx.config().directory
    database = settings.database
    if os.geteuid() == 0 and database.exists() and database.stat().st_uid != 0:
        # root would leave root-owned journal files the service cannot open
        owner = database.stat().st_uid
        raise DirectoryError(f"{database} belongs to uid {owner}: run this as that user "
                             f"(sudo -u {_user_name(owner)} ...)")
    return LocalDirectory(database, hasher_for(settings))  # the profile logons will check


def _user_name(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"


def _check_password(cli_ctx: CliContext, user_id: str, password: str | None) -> None:
    if password is not None:
        problem = password_problem(password, user_id, cli_ctx.config().directory)
        if problem:
            raise DirectoryError(f"{user_id}: {problem}")


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
@click.option("--dry-run", is_flag=True, help="Say which rows would create and which update a "
              "user; write nothing.")
@pass_cli
def import_(cli_ctx: CliContext, /, file: Path, dry_run: bool) -> None:
    """Create or update users from a CSV export of CIC users.

    Columns (header row required, any order): user_id, display_name, email, business_phone,
    business2_phone, mobile_phone, home_phone, fax_phone, password. Bad rows (and passwords the
    policy refuses) are reported and skipped, the others imported; the exit code is 1 if any
    row was skipped.
    """
    result = read_users_csv(file)
    directory = _directory(cli_ctx)
    settings = cli_ctx.config().directory
    errors = [str(error) for error in result.errors]
    rows = []
    for line, user, password in result.rows:
        problem = password and password_problem(password, user.user_id, settings)
        if problem:
            errors.append(f"line {line}: {problem}")
        else:
            rows.append((line, user, password))
    for error in sorted(errors, key=lambda text: int(text.split(":")[0].split()[1])):
        click.echo(error, err=True)
    if dry_run:
        existing = {entry.user.user_id.casefold() for entry in directory.entries()}
        for line, user, password in rows:
            action = "update" if user.user_id.casefold() in existing else "create"
            note = ", set password" if password else ""
            click.echo(f"line {line}: {action} {user.user_id}{note}")
        creates = sum(1 for _, user, _ in rows if user.user_id.casefold() not in existing)
        click.echo(f"dry run: would create {creates} and update {len(rows) - creates} users, "
                   f"skip {len(errors)} rows; nothing written")
    else:
        imported = directory.upsert_many((user, password) for _, user, password in rows)
        click.echo(f"imported {imported} users, skipped {len(errors)} rows")
    if errors:
        click.get_current_context().exit(1)


F = TypeVar("F", bound=Callable[..., Any])


def _phone_options(default: str | None = "") -> Callable[[F], F]:
    def add(command: F) -> F:
        for name in reversed(PHONE_FIELDS):
            command = click.option(f"--{name}-phone", f"{name}_phone", default=default,
                                   help=f"{PHONE_LABELS[name]}.")(command)
        return command
    return add


@users.command("add")
@click.argument("user_id")
@click.option("--display-name", default="", help="Display name.")
@click.option("--email", default="", help="Business e-mail: the identity Genesys Cloud sees.")
@_phone_options()
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
    _check_password(cli_ctx, user_id, password)
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
    _check_password(cli_ctx, user_id, password)
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


@users.command("edit")
@click.argument("user_id")
@click.option("--display-name", default=None, help="New display name.")
@click.option("--email", default=None, help="New business e-mail (\"\" to clear it).")
@_phone_options(default=None)
@pass_cli
def edit(cli_ctx: CliContext, /, user_id: str, display_name: str | None, email: str | None,
         **phones: str) -> None:
    """Change fields of a user (only those given; \"\" clears one). The password is changed
    with `users set-password`."""
    directory = _directory(cli_ctx)
    current = directory.lookup(user_id)
    if current is None:
        raise DirectoryError(f"no user {user_id!r} in the local directory {directory.path}")
    new_phones = dict(current.phones)
    for name in PHONE_FIELDS:
        value = phones[f"{name}_phone"]
        if value is not None:
            new_phones.pop(name, None)
            if value:
                new_phones[name] = value
    updated = CicUser(current.user_id,
                      current.display_name if display_name is None else display_name,
                      current.email if email is None else email.strip(), new_phones)
    problem = email_problem(updated.email)
    if problem:
        raise DirectoryError(problem)
    changes = [f"{label}: {old!r} -> {new!r}" for label, old, new in (
        ("display name", current.display_name, updated.display_name),
        ("e-mail", current.email, updated.email),
        *((f"{name} phone", current.phones.get(name, ""), updated.phones.get(name, ""))
          for name in PHONE_FIELDS)) if old != new]
    if not changes:
        click.echo(f"nothing to change for {current.user_id}")
        return
    directory.upsert(updated)  # the password hash is kept
    click.echo(f"changed {current.user_id}: " + "; ".join(changes))


@users.command("unlock")
@click.argument("user_id")
@pass_cli
def unlock(cli_ctx: CliContext, /, user_id: str) -> None:
    """Clear the logon throttle of USER_ID (state.backend = redis; with the cookie backend the
    counters live in each worker's memory: restart the STS, or wait state.failed_logon_window)."""
    config = cli_ctx.config()
    if config.state.backend != "redis":
        raise DirectoryError(
            "state.backend = \"cookie\": failed-logon counters live in each STS worker's "
            "memory, not where this command can reach them; `systemctl restart cic-sts` clears "
            f"them, or they expire after state.failed_logon_window = "
            f"{config.state.failed_logon_window} s")
    from idp.web import redis_client
    from idp.web.store import RedisStore, throttle_key

    store = RedisStore(redis_client(config))
    key = throttle_key(user_id)
    count = store.count(key)
    store.clear(key)
    click.echo(f"unlocked {user_id} ({count} failed logons counted in the window)"
               if count else f"{user_id} had no failed logons counted; nothing to unlock")
