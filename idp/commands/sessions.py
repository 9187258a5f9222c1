"""`cic-sts sessions`: the STS sessions kept in Redis (state.backend = redis).

A session is shown by a handle (the first 12 hex digits of the SHA-256 of its ID), never by its
ID, which is the browser's cookie. Revoking deletes the session in Redis: that browser's next
request asks for the password again (an assertion already issued to an SP stays valid there
until the SP's own session ends).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import click

from idp.commands.context import CliContext, echo_json, pass_cli
from idp.config import Config
from idp.errors import StateUnavailable, StsError


@dataclass(frozen=True)
class StoredSession:
    key: str
    handle: str
    user_id: str
    logged_on: dt.datetime
    expires_in: int  # seconds


def _redis(config: Config) -> Any:
    if config.state.backend != "redis":
        raise StsError("state.backend = \"cookie\": STS sessions live in the browsers' encrypted "
                       "cookies and cannot be listed or revoked one by one; a new "
                       "idp.session_secret (on both servers) ends them all")
    from idp.web import redis_client

    return redis_client(config)


def stored_sessions(client: Any) -> list[StoredSession]:
    from redis.exceptions import RedisError

    from idp.web.sessions import SESSION_PREFIX

    found = []
    try:
        for raw_key in client.scan_iter(match=SESSION_PREFIX + "*", count=500):
            key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            raw, ttl = client.get(key), client.ttl(key)
            try:
                data = json.loads(raw) if raw is not None else {}
            except ValueError:
                continue
            if not isinstance(data, dict) or not isinstance(data.get("uid"), str):
                continue  # a visitor's pre-logon session (a CSRF token only)
            sid = key.removeprefix(SESSION_PREFIX)
            found.append(StoredSession(key, hashlib.sha256(sid.encode()).hexdigest()[:12],
                                       data["uid"],
                                       dt.datetime.fromtimestamp(float(data.get("at", 0)),
                                                                 dt.UTC), int(ttl)))
    except RedisError as exc:
        raise StateUnavailable(f"Redis ({type(exc).__name__}): {exc}") from None
    return sorted(found, key=lambda s: (s.user_id.casefold(), s.logged_on))


@click.group()
def sessions() -> None:
    """List and revoke STS sessions (state.backend = redis)."""


@sessions.command("list")
@click.argument("user_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@pass_cli
def list_(cli: CliContext, /, user_id: str | None, as_json: bool) -> None:
    """The logged-on STS sessions, of USER_ID or everyone."""
    found = [s for s in stored_sessions(_redis(cli.config()))
             if user_id is None or s.user_id.casefold() == user_id.casefold()]
    if as_json:
        echo_json([{"handle": s.handle, "user_id": s.user_id,
                    "logged_on": s.logged_on.isoformat(), "expires_in": s.expires_in}
                   for s in found])
        return
    if not found:
        click.echo("no STS sessions" + (f" of {user_id}" if user_id else ""), err=True)
        return
    click.echo(f"{'HANDLE':12}  {'USER ID':20}  {'LOGGED ON (UTC)':19}  EXPIRES IN")
    for s in found:
        click.echo(f"{s.handle:12}  {s.user_id:20}  {s.logged_on:%Y-%m-%d %H:%M:%S}  "
                   f"{s.expires_in // 60} min")


@sessions.command("revoke")
@click.argument("user_id", required=False)
@click.option("--all", "everyone", is_flag=True, help="Revoke every session.")
@pass_cli
def revoke(cli: CliContext, /, user_id: str | None, everyone: bool) -> None:
    """End the STS sessions of USER_ID (or --all): the next logon asks for the password."""
    if bool(user_id) == everyone:
        raise click.UsageError("name a USER_ID or give --all")
    client = _redis(cli.config())
    doomed = [s for s in stored_sessions(client)
              if everyone or s.user_id.casefold() == (user_id or "").casefold()]
    if doomed:
        client.delete(*[s.key for s in doomed])
    who = "all users" if everyone else user_id
    click.echo(f"revoked {len(doomed)} session(s) of {who}")
