"""`cic-sts install-service`: the systemd layout on Debian/Ubuntu, safe to run again.

`deploy/install.sh` creates the virtual environment under /opt/cic-sts/venv and runs this
from it (as root); run again after an upgrade, it changes nothing that is already right and
keeps the configuration and keys.

    /etc/cic-sts/              root:cic-sts 0750  configuration (read-only to the service)
    /etc/cic-sts/certs/*.key   root:cic-sts 0640  private keys, session and persistent-ID secrets
    /var/lib/cic-sts/          cic-sts:cic-sts 0750  databases (the only writable data)
    /var/log/cic-sts/          cic-sts:cic-sts 0750  the audit log
    /etc/systemd/system/       cic-sts.service, cic-sts-sync.service, cic-sts-sync-apply.*
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import click

from idp.commands.init import InitOptions, echo_keys, generate_keys, write_config
from idp.config import load_config
from idp.datafiles import shared_folder
from idp.errors import StsError

USER = "cic-sts"
CONFIG_DIR = Path("/etc/cic-sts")
STATE_DIR = Path("/var/lib/cic-sts")
LOG_DIR = Path("/var/log/cic-sts")
UNIT_DIR = Path("/etc/systemd/system")
UNITS = ("cic-sts.service", "cic-sts-sync.service", "cic-sts-sync-apply.service",
         "cic-sts-sync-apply.timer")


class InstallError(StsError):
    """The service layout could not be installed."""


def ensure_account(user: str) -> tuple[int, int]:
    """The system group and user `user` (no login, no home of its own); created if missing."""
    try:
        gid = grp.getgrnam(user).gr_gid
    except KeyError:
        _run(["groupadd", "--system", user])
        gid = grp.getgrnam(user).gr_gid
        click.echo(f"created group {user}")
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        _run(["useradd", "--system", "--gid", user, "--home-dir", str(STATE_DIR),
              "--no-create-home", "--shell", "/usr/sbin/nologin",
              "--comment", "cic-sts identity provider", user])
        uid = pwd.getpwnam(user).pw_uid
        click.echo(f"created user {user}")
    return uid, gid


def ensure_dir(path: Path, uid: int, gid: int, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def secure(path: Path, uid: int, gid: int, mode: int) -> None:
    if path.exists():
        os.chown(path, uid, gid)
        os.chmod(path, mode)


def install_units(target: Path) -> list[str]:
    """Copy the units; returns those that were new or changed."""
    source, candidates = shared_folder("deploy", UNITS[0])
    if source is None:
        raise InstallError("the systemd units are missing (looked in "
                           f"{', '.join(str(c) for c in candidates)})")
    target.mkdir(parents=True, exist_ok=True)
    changed = []
    for name in UNITS:
        text = (source / name).read_bytes()
        dest = target / name
        if not dest.exists() or dest.read_bytes() != text:
            dest.write_bytes(text)
            changed.append(name)
        os.chmod(dest, 0o644)
    return changed


def _create_directory(database: Path, uid: int, gid: int) -> None:
    """An empty user directory owned by the service, so that the first `users` command (run
    as the service user) and the service agree on who owns it."""
    if database.exists():
        return
    from idp.auth.local import LocalDirectory

    directory = LocalDirectory(database)
    directory.ready()
    directory.close()
    for path in database.parent.glob(database.name + "*"):
        os.chown(path, uid, gid)
    click.echo(f"created {database}")


def _run(argv: list[str]) -> None:
    try:
        subprocess.run(argv, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise InstallError(f"{argv[0]} is not installed") from None
    except subprocess.CalledProcessError as exc:
        raise InstallError(f"{' '.join(argv)} failed: {exc.stderr.strip()}") from None


@click.command("install-service")
@click.option("--machine-name", "machine_names", multiple=True,
              help="Host name or IP of this STS (repeat); as for `init`.")
@click.option("--port", type=int, default=None, help="HTTPS port (default 8043).")
@click.option("--bind", default=None, help="Address to listen on (default 0.0.0.0).")
@click.option("--entity-id", default="", help="IdP entity ID; as for `init`.")
@click.option("--genesys-region", default="", help="Genesys Cloud region (e.g. eu-west-1).")
@click.option("--relying-party-identifier", default="", help="Genesys Cloud SP entity ID.")
@click.option("--organization", default="", help="Genesys Cloud organization short name.")
def install_service(machine_names: tuple[str, ...], port: int | None, bind: str | None,
                    entity_id: str, genesys_region: str, relying_party_identifier: str,
                    organization: str) -> None:
    """Install cic-sts as a systemd service (as root; safe to run again after an upgrade)."""
    if os.geteuid() != 0:
        raise InstallError("install-service must run as root (sudo)")
    uid, gid = ensure_account(USER)
    ensure_dir(CONFIG_DIR, 0, gid, 0o750)
    ensure_dir(CONFIG_DIR / "certs", 0, gid, 0o750)
    ensure_dir(STATE_DIR, uid, gid, 0o750)
    ensure_dir(LOG_DIR, uid, gid, 0o750)
    config_file = CONFIG_DIR / "cic-sts.toml"
    options = InitOptions(machine_names, port, bind, entity_id, genesys_region,
                          relying_party_identifier, organization, state_dir=STATE_DIR,
                          audit_log=str(LOG_DIR / "audit.log"))
    click.echo(write_config(config_file, options, force=False))
    config = load_config(config_file)
    echo_keys(generate_keys(config, force=False))
    secure(config_file, 0, gid, 0o640)
    for key in (config.idp.signing_key, config.server.tls_key, config.idp.session_secret.file,
                config.idp.persistent_id_secret.file):
        if key is not None:  # the service group reads them; nobody else
            secure(key, 0, gid, 0o640)
    for cert in (config.idp.signing_certificate, config.server.tls_certificate):
        secure(cert, 0, gid, 0o644)
    _create_directory(config.directory.database, uid, gid)
    changed = install_units(UNIT_DIR)
    click.echo(f"installed {', '.join(changed)} in {UNIT_DIR}" if changed
               else f"units in {UNIT_DIR} already up to date")
    if Path("/run/systemd/system").is_dir() and shutil.which("systemctl"):
        _run(["systemctl", "daemon-reload"])
    click.echo(f"""
next:
  sudo -u {USER} /opt/cic-sts/venv/bin/cic-sts users add USER_ID   (or users import FILE.csv)
  sudo systemctl enable --now cic-sts
  sudo systemctl enable --now cic-sts-sync-apply.timer   (or cic-sts-sync, once [genesys] is set)
  after an upgrade: sudo systemctl restart cic-sts (one server of the pair at a time)""")
