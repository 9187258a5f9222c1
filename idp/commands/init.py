"""`cic-sts init`: write a configuration and generate the keys it names.

On an existing configuration nothing an option asks for is dropped silently: an option that
agrees with the file is fine, the Genesys Cloud options are added when the file has no
`[genesys]` yet, and any other difference is refused with the setting that differs.
"""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

import click

from idp.commands.context import CliContext, pass_cli
from idp.config import Config, load_config
from idp.errors import ConfigError
from idp.keys import KeyFile, generate_secret, generate_signing_pair, generate_tls_pair

TEMPLATE = """\
# cic-sts configuration. Every setting is described in docs/settings.md.
# Relative paths are relative to this file.

[server]
machine_names = [{machine_names}]
port = {port}
{bind}# The only ININ-REMAP-BASE-URL values believed, besides server.public_base_url (set
# that to the proxy's public base, https://<public host>/PureConnect, behind a proxy).
remap_allowed_bases = [{own_base}]

[idp]
# Genesys Cloud's "Provider's Issuer URI". Behind a proxy, use https://<public host>.
entity_id = {entity_id}
signing_certificate = "certs/saml-signing.crt"
signing_key = "certs/saml-signing.key"
session_secret = {{ file = "certs/session.secret" }}
persistent_id_secret = {{ file = "certs/persistent-id.secret" }}
nameid_database = {nameid_database}

[directory]
database = {database}
{sync}{audit}{genesys}{service_providers}"""

GENESYS = """
[genesys]
region = {region}
relying_party_identifier = {rpi}
organization = {organization}
"""

# Written when no Genesys option was given, so the file shows what to fill in.
GENESYS_COMMENTED = """
# Genesys Cloud (Admin > Single Sign-on > Generic SSO Provider); `cic-sts init
# --genesys-region R --relying-party-identifier ID --organization ORG` fills this in.
# [genesys]
# region = "us-east-1"                       # or the domain, e.g. "mypurecloud.com"
# relying_party_identifier = "urn:example"   # Genesys Cloud's Relying Party Identifier
# organization = "example"                   # the organization's short name
# client_id = ""                             # OAuth client of the sync (client credentials)
# client_secret = { file = "genesys-client.secret" }
"""


def _toml_string(value: str) -> str:
    if any(c in value for c in '"\\\n'):
        raise ConfigError(f"{value!r}: quotes, backslashes and line breaks are not allowed here")
    return f'"{value}"'


@dataclass(frozen=True)
class InitOptions:
    """What `init` was asked for; None / empty: not given (a default applies)."""

    machine_names: tuple[str, ...] = ()
    port: int | None = None
    bind: str | None = None
    entity_id: str = ""
    genesys_region: str = ""
    relying_party_identifier: str = ""
    organization: str = ""
    sp_metadata: tuple[Path, ...] = ()
    state_dir: Path | None = None
    audit_log: str | None = None

    @property
    def genesys(self) -> tuple[str, str, str] | None:
        values = (self.genesys_region, self.relying_party_identifier, self.organization)
        return values if any(values) else None


def render_config(options: InitOptions) -> str:
    names = list(options.machine_names) or [socket.getfqdn(), "localhost", "127.0.0.1"]
    state = options.state_dir
    database = str(state / "cic-users.db") if state else "cic-users.db"
    nameid_database = str(state / "cic-nameids.db") if state else "cic-nameids.db"
    # The link authority is unique, so that two installations on one organization (a lab, the
    # other site) never take each other's Genesys Cloud users for their own removed ones.
    sync = (f"\n[sync]\nauthority = \"cic-sts/{secrets.token_hex(4)}\"\n"
            + (f'state_database = {_toml_string(str(state / "cic-sync.db"))}\n'
               if state else ""))
    audit = (f"\n[monitoring]\naudit_log = {_toml_string(options.audit_log)}\n"
             if options.audit_log is not None else "")
    genesys = GENESYS_COMMENTED
    if options.genesys is not None:
        region, rpi, organization = options.genesys
        genesys = GENESYS.format(region=_toml_string(region), rpi=_toml_string(rpi),
                                 organization=_toml_string(organization))
    sps = "".join(f"\n[[service_providers]]\nmetadata = {_toml_string(str(p.resolve()))}\n"
                  for p in options.sp_metadata)
    host = f"[{names[0]}]" if ":" in names[0] else names[0]
    return TEMPLATE.format(
        machine_names=", ".join(_toml_string(n) for n in names),
        own_base=_toml_string(f"https://{host}:{options.port or 8043}"),
        port=options.port or 8043,
        bind=f"bind = {_toml_string(options.bind)}\n" if options.bind else "",
        entity_id=_toml_string(options.entity_id or f"https://{names[0]}"),
        database=_toml_string(database), nameid_database=_toml_string(nameid_database),
        sync=sync, audit=audit, genesys=genesys,
        service_providers=sps)


def _differences(config: Config, options: InitOptions) -> list[str]:
    """The settings of `config` an option would change (the Genesys ones only if present)."""
    wanted: list[tuple[str, object, object]] = []
    if options.machine_names:
        wanted.append(("server.machine_names", list(options.machine_names),
                       config.server.machine_names))
    if options.port is not None:
        wanted.append(("server.port", options.port, config.server.port))
    if options.bind is not None:
        wanted.append(("server.bind", options.bind, config.server.bind))
    if options.entity_id:
        wanted.append(("idp.entity_id", options.entity_id, config.entity_id))
    if options.state_dir is not None:
        wanted.append(("directory.database", (options.state_dir / "cic-users.db").resolve(),
                       config.directory.database))
    if options.audit_log is not None:
        wanted.append(("monitoring.audit_log", options.audit_log,
                       config.monitoring.audit_log))
    registered = {sp.metadata for sp in config.service_providers}
    for path in options.sp_metadata:
        if path.resolve() not in registered:
            wanted.append(("service_providers", f"metadata = {str(path.resolve())!r}",
                           "not registered"))
    if options.genesys is not None and config.genesys is not None:
        g = config.genesys
        for key, value in zip(("region", "relying_party_identifier", "organization"),
                              options.genesys, strict=True):
            wanted.append((f"genesys.{key}", value, getattr(g, key)))
    return [f"{key} is {have!r} there, the option asks for {want!r}"
            for key, want, have in wanted if want != have]


def write_config(path: Path, options: InitOptions, force: bool) -> str:
    """Write (or merge into) the configuration at `path`; what was done, for the operator."""
    if path.exists() and not force:
        config = load_config(path)
        problems = _differences(config, options)
        if problems:
            raise ConfigError(f"{path} exists and differs from the options: "
                              f"{'; '.join(problems)}. Edit the file, or use --force to "
                              "replace it (and the keys)")
        if options.genesys is None or config.genesys is not None:
            return f"kept existing configuration {path}"
        region, rpi, organization = options.genesys
        _replace_checked(path, path.read_text(encoding="utf-8") + GENESYS.format(
            region=_toml_string(region), rpi=_toml_string(rpi),
            organization=_toml_string(organization)))
        return f"added [genesys] to the existing configuration {path}"
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace_checked(path, render_config(options))
    return f"wrote configuration {path}"


def _replace_checked(path: Path, text: str) -> None:
    """Replace `path` with `text`, but never with a file that would not load."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        load_config(tmp)
    except ConfigError:
        tmp.unlink()
        raise
    tmp.replace(path)


def generate_keys(config: Config, force: bool) -> list[KeyFile]:
    results = [
        generate_signing_pair(config.idp.signing_key, config.idp.signing_certificate,
                              config.entity_id, force),
        generate_tls_pair(config.server.tls_key, config.server.tls_certificate,
                          config.server.machine_names, force),
    ]
    if config.idp.session_secret.file is not None:
        results.append(generate_secret(config.idp.session_secret.file, force))
    if config.idp.persistent_id_secret.file is not None:
        # Never replaced, not even with --force: every SP would see its users as new ones.
        results.append(generate_secret(config.idp.persistent_id_secret.file, force=False))
    return results


def echo_keys(results: list[KeyFile]) -> None:
    for written in results:
        state = "generated" if written.created else "kept existing (use --force to replace)"
        click.echo(f"{state} {written.path}")


@click.command()
@click.option("--machine-name", "machine_names", multiple=True,
              help="Host name or IP of this STS (repeat; the first is used in URLs). "
                   "Default: this machine's FQDN plus localhost and 127.0.0.1.")
@click.option("--port", type=int, default=None, help="HTTPS port (default 8043).")
@click.option("--bind", default=None, help="Address to listen on (default 0.0.0.0).")
@click.option("--entity-id", default="", help="IdP entity ID. Default: https://<first name>.")
@click.option("--genesys-region", default="", help="Genesys Cloud region (e.g. eu-west-1).")
@click.option("--relying-party-identifier", default="", help="Genesys Cloud SP entity ID.")
@click.option("--organization", default="", help="Genesys Cloud organization short name.")
@click.option("--sp-metadata", "sp_metadata", multiple=True, type=click.Path(path_type=Path),
              help="Register another SP from its SAML metadata file (repeat).")
@click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of every file the STS and the sync write (databases); default: "
                   "beside the configuration.")
@click.option("--force", is_flag=True, help="Replace an existing configuration and keys.")
@pass_cli
def init(cli: CliContext, machine_names: tuple[str, ...], port: int | None, bind: str | None,
         entity_id: str, genesys_region: str, relying_party_identifier: str, organization: str,
         sp_metadata: tuple[Path, ...], state_dir: Path | None, force: bool) -> None:
    """Write a configuration file and generate the SAML signing and TLS keys."""
    options = InitOptions(machine_names, port, bind, entity_id, genesys_region,
                          relying_party_identifier, organization, sp_metadata,
                          state_dir.resolve() if state_dir else None)
    click.echo(write_config(cli.config_file, options, force))
    echo_keys(generate_keys(load_config(cli.config_file), force))
