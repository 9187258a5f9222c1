"""`cic-sts genesys-settings`: what Genesys Cloud's Generic SSO provider must say, as a form to
type in, JSON, Terraform, files, or applied through the Platform API."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from idp.commands.context import CliContext, echo_json, pass_cli
from idp.commands.sso_form import (
    SsoProvider,
    api_body,
    as_json,
    sso_form_values,
    sso_provider,
    terraform,
)
from idp.errors import StsError
from idp.observe.certificates import expiry_warnings


@click.command("genesys-settings")
@click.option("--json", "as_json_flag", is_flag=True, help="Same as --format json.")
@click.option("--format", "output", type=click.Choice(["text", "json", "terraform"]),
              default="text", show_default=True, help="What to print.")
@click.option("--certificate-out", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="Also write each certificate to this folder (PEM), to upload.")
@click.option("--logo-out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the Provider Logo (SVG) to this file.")
@click.option("--apply", "apply_", is_flag=True,
              help="Create or update the provider in Genesys Cloud (Platform API), after "
                   "showing the difference and asking.")
@click.option("--yes", is_flag=True, help="With --apply: do not ask.")
@pass_cli
def genesys_settings(cli: CliContext, as_json_flag: bool, output: str,
                     certificate_out: Path | None, logo_out: Path | None, apply_: bool,
                     yes: bool) -> None:
    """Every value of the Genesys Cloud Generic SSO provider form. Exits 1 while a value is not
    ready (a placeholder, a Target URL on this machine), naming the setting."""
    config = cli.config()
    provider = sso_provider(config)
    if as_json_flag:
        output = "json"
    if certificate_out is not None:
        certificate_out.mkdir(parents=True, exist_ok=True)
        for signed in provider.certificates:
            target = certificate_out / f"{signed.info.name.replace('_', '-')}.pem"
            target.write_text(signed.pem + "\n", encoding="utf-8")
            click.echo(f"wrote {target}", err=True)
    if logo_out is not None:
        shutil.copyfile(provider.logo, logo_out)
        click.echo(f"wrote {logo_out}", err=True)
    if output == "json":
        echo_json(as_json(provider))
    elif output == "terraform":
        click.echo(terraform(provider), nl=False)
    elif not apply_:
        _print_form(cli, provider)
    for warning in expiry_warnings(config, [c.info for c in provider.certificates]):
        click.echo(f"warning: {warning}", err=True)
    for problem in provider.problems:
        click.echo(f"not ready: {problem}", err=True)
    if apply_:
        if provider.problems:
            raise StsError("not applied: fix what is not ready first")
        _apply(cli, provider, yes)
    elif provider.problems:
        click.get_current_context().exit(1)


def _print_form(cli: CliContext, provider: SsoProvider) -> None:
    click.echo("Genesys Cloud > Admin > Single Sign-on > Generic SSO Provider")
    for label, value in sso_form_values(cli.config()).items():
        if "\n" in value:
            click.echo(f"{label}:")
            click.echo(value)
        else:
            click.echo(f"{label}: {value}")
    click.echo("\nCertificates (Genesys Cloud keeps up to five):")
    for signed in provider.certificates:
        info = signed.info
        click.echo(f"  {info.label}: expires {info.not_after:%Y-%m-%d} UTC, SHA-256 {info.sha256}")
    click.echo("\nWhat the STS sends to Genesys Cloud:")
    click.echo(f"  ACS (HTTP-POST): {provider.acs or '(set [genesys])'}")
    click.echo("  NameID and attribute email: the user's business e-mail")
    click.echo(f"  OrganizationName: {provider.organization_name or '(set genesys.organization)'}")
    click.echo(f"  ServiceName: {provider.service_name or '(none; launches send their own)'}")
    for line in _settings_explained(provider):
        click.echo(line)


def _settings_explained(provider: SsoProvider) -> list[str]:
    """What the two switches of the form mean for cic-sts, and what this configuration says."""
    signed = provider.sign_authn_requests
    return [
        "",
        "Endpoint Compression (what Genesys Cloud does on the wire is not documented; cic-sts "
        "accepts both):",
        "  Off: the AuthnRequest may arrive base64 without DEFLATE on the HTTP-Redirect "
        "binding, or by HTTP-POST;",
        "       cic-sts accepts a plain base64 SAMLRequest on the Redirect binding, with the "
        "same size limit (idp.max_message_bytes).",
        "  On:  the AuthnRequest arrives DEFLATE-compressed on the HTTP-Redirect binding, as "
        "the SAML bindings specify.",
        "",
        "Sign Authentication Requests:",
        "  On here: cic-sts requires signed AuthnRequests from Genesys Cloud, checked with "
        "genesys.sp_certificate / genesys.sp_metadata."
        if signed else
        "  Off here: cic-sts accepts unsigned AuthnRequests from Genesys Cloud. To require "
        "signed ones, turn it on and set genesys.sp_certificate (or genesys.sp_metadata) to "
        "Genesys Cloud's SP certificate.",
    ]


def _apply(cli: CliContext, provider: SsoProvider, yes: bool) -> None:
    from idp.genesys.providers import GenericProviderClient, differences

    client = GenericProviderClient(cli.config())
    try:
        current = client.get()
        wanted = api_body(provider)
        changes = differences(current, wanted)
        if not changes:
            click.echo("Genesys Cloud's Generic SSO provider already says this: nothing to do")
            return
        verb = "create" if current is None else "update"
        click.echo(f"This will {verb} Genesys Cloud's Generic SSO provider:")
        for line in changes:
            click.echo(f"  {line}")
        if not yes:
            if not sys.stdin.isatty():
                raise StsError("not applied: confirm on a terminal, or pass --yes")
            click.confirm("Apply?", abort=True)
        client.put(wanted)
        click.echo(f"{verb}d Genesys Cloud's Generic SSO provider")
    finally:
        client.close()
