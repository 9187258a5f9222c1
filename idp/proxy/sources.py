"""Where the proxy generator's inputs come from: `server.public_base_url` (the public base the STS
already knows), the `[proxy]` section of the configuration file and command-line options, each
overriding the one before. Every value keeps the name it was given under (`Given.source`), so
an error names the option or key to fix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from idp.config import Config, ProxySettings
from idp.errors import ProxyConfigError
from idp.proxy.model import OPTIONS, Given


def from_options(values: Mapping[str, Any], cwd: Path) -> dict[str, Given]:
    """Command-line values; None (or an empty tuple) means the option was not given."""
    given = {}
    for key, value in values.items():
        if key not in OPTIONS:
            raise AssertionError(f"no option for {key}")  # a programming error
        if value is not None and value != ():
            given[key] = Given(value, OPTIONS[key], cwd)
    return given


def from_settings(values: Mapping[str, Any], base: Path,
                  section: str = "proxy") -> dict[str, Given]:
    """A `[proxy]` table, raw from TOML (test corpus) or as `ProxySettings`' fields; values
    equal to the setting's default count as not given."""
    defaults = ProxySettings()
    known = {f.name for f in fields(ProxySettings)}
    given = {}
    for key, value in values.items():
        if key not in known:
            raise ProxyConfigError(f"{section}.{key}: unknown setting "
                                   f"(known: {', '.join(sorted(known))})")
        if value != getattr(defaults, key):
            given[key] = Given(value, f"{section}.{key}", base)
    return given


def from_config(config: Config) -> dict[str, Given]:
    """What a configuration file contributes: its public base, then its `[proxy]` section."""
    settings = {f.name: getattr(config.proxy, f.name) for f in fields(ProxySettings)}
    return {**from_public_base(config.server.public_base_url, config.path.parent),
            **from_settings(settings, config.path.parent)}


def from_public_base(url: str, base: Path) -> dict[str, Given]:
    """Public host, port and friendly path from `server.public_base_url`, when it is set."""
    if not url:
        return {}
    parts = urlsplit(url.rstrip("/"))
    source = "server.public_base_url"
    given = {"public_host": Given(parts.hostname or "", source, base),
             "friendly_path": Given(parts.path.strip("/"), source, base)}
    if parts.scheme == "https":
        given["public_port"] = Given(parts.port or 443, source, base)
    return given
