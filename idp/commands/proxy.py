"""`cic-sts proxy`: the Nginx configuration that publishes the STS, and a probe of a live proxy."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, get_args

import click

from idp.commands.context import CliContext, echo_json, pass_cli
from idp.config import CONFIG_ENV, Config
from idp.proxy.agreement import disagreements, genesys_values, sts_settings
from idp.proxy.check import nginx_test
from idp.proxy.model import Given, Stickiness
from idp.proxy.render import render
from idp.proxy.sources import from_config, from_options
from idp.proxy.validate import validate
from idp.proxy.verify import verify
from idp.proxy.write import write_owned

FORMATS = click.Choice(["text", "json"])


@click.group()
def proxy() -> None:
    """Publish the STS of a CIC switchover pair through Nginx.

    Inputs come from the [proxy] section of the configuration file (when there is one), the
    public base from server.public_base_url, and these options, which win.
    """


@proxy.command("nginx")
@click.option("--server", "servers", multiple=True, metavar="HOST[:PORT]",
              help="An STS server of the switchover pair (repeat; port 8043 by default).")
@click.option("--public-host", help="Host name browsers use for the proxy.")
@click.option("--public-port", type=int, help="Public HTTPS port (default 443).")
@click.option("--friendly-path", metavar="PATH",
              help='Path the STS is published under (default PureConnect; "" for /).')
@click.option("--listen-address", metavar="IP",
              help="Listen on this address only (default: every IPv4 address, and every IPv6 "
              "address too when the public host is an IPv6 address).")
@click.option("--tls-cert", "tls_certificate", metavar="FILE",
              help="Certificate (PEM) browsers are shown.")
@click.option("--tls-key", metavar="FILE", help="Its private key (PEM).")
@click.option("--cert-on-target", "certificates_on_target", is_flag=True, default=None,
              help="Certificate, key and CA paths are on the proxy machine: a missing file is "
                   "a warning, not an error.")
@click.option("--stickiness", type=click.Choice(get_args(Stickiness)),
              help="ip_hash (default), sticky-cookie (NGINX Plus only) or none.")
@click.option("--upstream-ca", metavar="FILE",
              help="CA (PEM) to verify the STS servers' certificates with.")
@click.option("--upstream-name", metavar="NAME",
              help="Host name both STS servers' certificates carry (with --upstream-ca).")
@click.option("--no-verify-upstream", "no_verify_upstream", is_flag=True,
              help="Do not verify the STS servers' certificates (a warning).")
@click.option("--redirect-http/--no-redirect-http", default=None,
              help="Also listen on port 80 and redirect to HTTPS.")
@click.option("--log-dir", metavar="DIR", help="Folder of nginx's logs (default /var/log/nginx).")
@click.option("--outer-proxy", "outer_proxies", multiple=True, metavar="CIDR",
              help="An outer proxy in front of this one whose ININ-REMAP-BASE-URL is passed on "
                   "(repeat); from anyone else the header is replaced by the public base.")
@click.option("--snippet", is_flag=True,
              help="Only the upstream and server blocks, for conf.d/ (default: nginx.conf).")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to FILE (atomically) instead of standard output.")
@click.option("--force", is_flag=True, help="Replace an output file cic-sts did not write.")
@click.option("--check", is_flag=True, help="Run the real `nginx -t` on the result first.")
@click.option("--nginx", "nginx_path", metavar="PATH", help="nginx executable for --check.")
@click.option("--format", "output_format", type=FORMATS, default="text", show_default=True)
@pass_cli
def nginx(cli: CliContext, /, snippet: bool, output: Path | None, force: bool, check: bool,
          nginx_path: str | None, output_format: str, no_verify_upstream: bool,
          **options: Any) -> None:
    """Render the Nginx configuration and print the Genesys Cloud values that must match it."""
    config = _optional_config(cli)
    options["verify_upstream"] = False if no_verify_upstream else None
    given: dict[str, Given] = from_config(config) if config is not None else {}
    given.update(from_options(options, Path.cwd()))
    validated = validate(given)
    inputs = validated.inputs
    warnings = validated.warnings + (disagreements(inputs, config) if config else [])
    rendered = render(inputs, snippet)
    name = str(output) if output else ("conf.d/cic-sts.conf" if snippet else "nginx.conf")
    checked = nginx_test(inputs, snippet, name=name, nginx=nginx_path) if check else None
    written = write_owned(output, rendered.text, force) if output else None
    genesys = genesys_values(inputs)
    if output_format == "json":
        echo_json({
            "kind": rendered.kind,
            "config": rendered.text,
            "output": str(output) if output else None,
            "written": written.outcome if written else None,
            "genesys": genesys,
            "sts_settings": sts_settings(inputs),
            "check": ({"output": checked.output, "stand_ins": checked.stand_ins}
                      if checked else None),
            "warnings": warnings,
        })
        return
    to_stderr = output is None
    if output is None:
        click.echo(rendered.text, nl=False)
    notes = []
    if written is not None:
        notes.append(f"{written.outcome} {written.path} ({rendered.kind})")
    if checked is not None:
        notes.append("nginx -t: the configuration is valid" + "".join(
            f"\n  ({note})" for note in checked.stand_ins))
    notes.append("Genesys Cloud > Admin > Single Sign-on > Generic SSO Provider:")
    notes += [f"  {label}: {value}" for label, value in genesys.items()]
    notes.append("Both STS servers' configuration:")
    for key, value in sts_settings(inputs).items():
        shown = value if key == "server.trusted_proxies" else _toml(value)
        notes.append(f"  {key} = {shown}")
    click.echo("\n".join(notes), err=to_stderr)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


@proxy.command("verify")
@click.argument("url")
@click.option("--ca-file", type=click.Path(path_type=Path, dir_okay=False),
              help="CA certificate (PEM) that signed the proxy's certificate.")
@click.option("--insecure", is_flag=True, help="Do not verify the proxy's certificate.")
@click.option("--sp-entity-id", metavar="ID",
              help="A registered SP to request the logon page for (default: "
                   "genesys.relying_party_identifier from the configuration, if any).")
@click.option("--timeout", type=float, default=10.0, show_default=True,
              help="Seconds to wait for each answer.")
@click.option("--format", "output_format", type=FORMATS, default="text", show_default=True)
@click.pass_context
@pass_cli
def verify_command(cli: CliContext, ctx: click.Context, url: str, ca_file: Path | None,
                   insecure: bool, sp_entity_id: str | None, timeout: float,
                   output_format: str) -> None:
    """Probe a live proxy at URL (https://<public host>/<friendly>/) as a browser would."""
    config = _optional_config(cli)
    if sp_entity_id is None and config is not None and config.genesys is not None:
        sp_entity_id = config.genesys.relying_party_identifier
    report = verify(url, ca_file=ca_file, insecure=insecure, sp_entity_id=sp_entity_id,
                    timeout=timeout)
    if output_format == "json":
        echo_json(report.as_dict())
    else:
        click.echo(report.as_text())
    if not report.ok:
        ctx.exit(1)


def _optional_config(cli: CliContext) -> Config | None:
    """The configuration when there is one (the proxy machine usually has none). A file named
    with --config or $CIC_STS_CONFIG must exist."""
    named = (click.get_current_context().find_root().params.get("config_file") is not None
             or CONFIG_ENV in os.environ)
    return cli.config() if named or cli.config_file.exists() else None


def _toml(value: str | list[str]) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return f'"{value}"'
