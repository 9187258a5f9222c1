"""`cic-sts proxy`: the nginx or HAProxy configuration that publishes the STS, a probe of a live
proxy, and the readiness wait of a rolling restart."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

import click

from idp.commands.context import CliContext, echo_json, pass_cli
from idp.config import CONFIG_ENV, Config
from idp.errors import ProxyConfigError
from idp.proxy.agreement import disagreements, genesys_values, sts_settings
from idp.proxy.check import COMMANDS, proxy_check
from idp.proxy.model import Given, Proxy, Stickiness, Upstream
from idp.proxy.ready import tls_context, wait_ready
from idp.proxy.render import render
from idp.proxy.sources import from_config, from_options
from idp.proxy.validate import validate
from idp.proxy.values import upstream
from idp.proxy.verify import verify
from idp.proxy.write import write_owned

FORMATS = click.Choice(["text", "json"])


@click.group()
def proxy() -> None:
    """Publish the STS of a CIC switchover pair through nginx or HAProxy.

    Inputs come from the [proxy] section of the configuration file (when there is one), the
    public base from server.public_base_url, and these options, which win.
    """


def generator_options(name: Proxy) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options both renderers share (their inputs), and the path of the proxy's program."""
    options = [
        click.option("--server", "servers", multiple=True, metavar="HOST[:PORT]",
                     help="An STS server of the switchover pair (repeat; port 8043 by "
                          "default)."),
        click.option("--public-host", help="Host name browsers use for the proxy."),
        click.option("--public-port", type=int, help="Public HTTPS port (default 443)."),
        click.option("--friendly-path", metavar="PATH",
                     help='Path the STS is published under (default PureConnect; "" for /).'),
        click.option("--listen-address", metavar="IP",
                     help="Listen on this address only (default: every IPv4 address, and every "
                          "IPv6 address too when the public host is an IPv6 address)."),
        click.option("--tls-cert", "tls_certificate", metavar="FILE",
                     help="Certificate (PEM) browsers are shown."),
        click.option("--tls-key", metavar="FILE",
                     help="Its private key (PEM)" + (": the certificate's file, or FILE.key "
                                                     "beside it." if name == "haproxy" else ".")),
        click.option("--cert-on-target", "certificates_on_target", is_flag=True, default=None,
                     help="Certificate, key and CA paths are on the proxy machine: a missing "
                          "file is a warning, not an error."),
        click.option("--stickiness", type=click.Choice(get_args(Stickiness)),
                     help="none (default), ip_hash or sticky-cookie"
                          + (" (NGINX Plus only)." if name == "nginx" else ".")),
        click.option("--upstream-ca", metavar="FILE",
                     help="CA (PEM) to verify the STS servers' certificates with."),
        click.option("--upstream-name", metavar="NAME",
                     help="Host name both STS servers' certificates carry (with "
                          "--upstream-ca)."),
        click.option("--no-verify-upstream", "no_verify_upstream", is_flag=True,
                     help="Do not verify the STS servers' certificates (a warning)."),
        click.option("--redirect-http/--no-redirect-http", default=None,
                     help="Also listen on port 80 and redirect to HTTPS."),
        click.option("--log-dir", metavar="DIR",
                     help="Folder of nginx's logs (default /var/log/nginx)."),
        click.option("--outer-proxy", "outer_proxies", multiple=True, metavar="CIDR",
                     help="An outer proxy in front of this one whose ININ-REMAP-BASE-URL is "
                          "passed on (repeat); from anyone else the header is replaced by the "
                          "public base."),
        click.option("--pid-file", metavar="FILE",
                     help=f"The pid file (default /run/{name}.pid, where Debian's unit looks)."),
        click.option("--quick-timeout", type=int, metavar="SECONDS",
                     help="Wait for a GET's answer before asking the other server (default 3)."),
        click.option("--logon-timeout", type=int, metavar="SECONDS",
                     help="Wait for a POST's answer (default 30; above the STS's ICWS "
                          "deadline)."),
        click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False),
                     help="Write to FILE (atomically) instead of standard output."),
        click.option("--force", is_flag=True, help="Replace an output file cic-sts did not write."),
        click.option("--check", is_flag=True, help=f"Run the real `{COMMANDS[name]}` on the "
                                                   "result first."),
        click.option(f"--{name}", "program", metavar="PATH",
                     help=f"{name} executable for --check."),
        click.option("--format", "output_format", type=FORMATS, default="text", show_default=True),
    ]

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


@proxy.command("nginx")
@click.option("--snippet", is_flag=True,
              help="Only the upstream and server blocks, for conf.d/ (default: nginx.conf).")
@generator_options("nginx")
@pass_cli
def nginx(cli: CliContext, /, snippet: bool, **options: Any) -> None:
    """Render the nginx configuration and print the Genesys Cloud values that must match it."""
    _generate(cli, "nginx", snippet, **options)


@proxy.command("haproxy")
@generator_options("haproxy")
@pass_cli
def haproxy(cli: CliContext, /, **options: Any) -> None:
    """Render the HAProxy configuration (haproxy.cfg) and print the Genesys Cloud values that
    must match it."""
    _generate(cli, "haproxy", False, **options)


def _generate(cli: CliContext, name: Proxy, snippet: bool, *, output: Path | None, force: bool,
              check: bool, program: str | None, output_format: str, no_verify_upstream: bool,
              **options: Any) -> None:
    config = _optional_config(cli)
    options["verify_upstream"] = False if no_verify_upstream else None
    given: dict[str, Given] = from_config(config) if config is not None else {}
    given.update(from_options(options, Path.cwd()))
    validated = validate(given, name)
    inputs = validated.inputs
    warnings = validated.warnings + (disagreements(inputs, config) if config else [])
    rendered = render(inputs, snippet, proxy=name)
    label = str(output) if output else ("conf.d/cic-sts.conf" if snippet else rendered.kind)
    checked = proxy_check(inputs, name, snippet, name=label, executable=program) \
        if check else None
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
        notes.append(f"{COMMANDS[name]}: the configuration is valid" + "".join(
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


@proxy.command("wait-ready")
@click.option("--server", "servers", multiple=True, metavar="HOST[:PORT]",
              help="An STS server to wait for (repeat; default: proxy.servers).")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="Seconds to wait for every server to be ready.")
@click.option("--upstream-ca", "ca_file", type=click.Path(path_type=Path, dir_okay=False),
              help="CA (PEM) of the servers' port-8043 certificates (default: "
                   "proxy.upstream_ca).")
@click.option("--upstream-name", metavar="NAME",
              help="Host name their certificates carry (default: proxy.upstream_name).")
@click.option("--insecure", is_flag=True, help="Do not verify the servers' certificates.")
@click.pass_context
@pass_cli
def wait_ready_command(cli: CliContext, ctx: click.Context, servers: tuple[str, ...],
                       timeout: float, ca_file: Path | None, upstream_name: str | None,
                       insecure: bool) -> None:
    """Wait until every STS server of the pair answers /readyz with 200: between the two
    restarts of a rolling restart (docs/operating.md). Exit 1 if one is not ready in time."""
    config = _optional_config(cli)
    settings = config.proxy if config is not None else None
    source = "--server"
    if not servers and settings is not None and settings.servers:
        servers, source = tuple(settings.servers), "proxy.servers"
    if not servers:
        raise ProxyConfigError("--server: name the STS servers to wait for (or set "
                               "proxy.servers)")
    pair: list[Upstream] = [upstream(text, source) for text in servers]
    if ca_file is None and settings is not None and settings.upstream_ca and config:
        ca_file = config.path.parent / settings.upstream_ca
    if upstream_name is None and settings is not None and settings.upstream_name:
        upstream_name = settings.upstream_name
    if ca_file is None and not insecure:
        raise ProxyConfigError("--upstream-ca: the CA of the servers' certificates is needed to "
                               "verify them (or set proxy.upstream_ca; --insecure skips it)")
    states = wait_ready(pair, timeout=timeout, context=tls_context(ca_file, insecure),
                        name=None if insecure else upstream_name)
    for state in states:
        click.echo(str(state))
    if not all(state.ready for state in states):
        click.echo(f"not every server was ready within {timeout:g} s", err=True)
        ctx.exit(1)


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
