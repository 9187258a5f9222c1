"""Reading the configuration file: TOML in, a validated `Config` out, or one `ConfigError`
naming ``section.key``."""

from __future__ import annotations

import os
import socket
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from idp.config.checks import check
from idp.config.model import Config
from idp.config.sections import (
    SECTIONS,
    BrandingSettings,
    DirectorySettings,
    GenesysSettings,
    IcwsSettings,
    IdpSettings,
    LaunchSettings,
    MonitoringSettings,
    ProxySettings,
    Secret,
    ServerSettings,
    ServiceProviderSettings,
    StateSettings,
    SyncSettings,
)
from idp.errors import ConfigError

DEFAULT_CONFIG = "cic-sts.toml"
CONFIG_ENV = "CIC_STS_CONFIG"
#: Where `cic-sts install-service` puts the configuration; used when nothing else is named and
#: the working directory has none, so that administrators need not name it on every command.
SYSTEM_CONFIG = Path("/etc/cic-sts/cic-sts.toml")


def documented_settings() -> list[tuple[str, str, str]]:
    """(``section.key``, default, help) for every setting, for docs/settings.md and its test."""
    rows = []
    for section, cls in SECTIONS.items():
        for f in fields(cls):
            factory = f.default_factory
            default = factory() if callable(factory) else f.default
            rows.append((f"{section}.{f.name}", repr(default), f.metadata["help"]))
    return rows


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    named = explicit or os.environ.get(CONFIG_ENV)
    if named:
        return Path(named)
    local = Path(DEFAULT_CONFIG)
    return SYSTEM_CONFIG if not local.exists() and SYSTEM_CONFIG.exists() else local


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the configuration file; raise `ConfigError` naming the first bad key."""
    file = config_path(path).resolve()
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no configuration file (create one with `cic-sts init`)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return parse_config(raw, file)


def parse_config(raw: dict[str, Any], file: Path) -> Config:
    base = file.parent
    for name in raw:
        if name not in SECTIONS:
            raise ConfigError(f"{name}: unknown section (known: {', '.join(SECTIONS)})")
    sps = raw.get("service_providers", [])
    if not isinstance(sps, list):
        raise ConfigError("service_providers: must be an array of tables ([[service_providers]])")
    config = Config(
        path=file,
        server=_section(ServerSettings, "server", raw.get("server", {}), base),
        idp=_section(IdpSettings, "idp", raw.get("idp", {}), base),
        directory=_section(DirectorySettings, "directory", raw.get("directory", {}), base),
        state=_section(StateSettings, "state", raw.get("state", {}), base),
        launch=_section(LaunchSettings, "launch", raw.get("launch", {}), base),
        genesys=(_section(GenesysSettings, "genesys", raw["genesys"], base)
                 if "genesys" in raw else None),
        service_providers=[
            _section(ServiceProviderSettings, f"service_providers[{i}]", sp, base)
            for i, sp in enumerate(sps)
        ],
        proxy=_section(ProxySettings, "proxy", raw.get("proxy", {}), base),
        sync=_section(SyncSettings, "sync", raw.get("sync", {}), base),
        icws=_section(IcwsSettings, "icws", raw.get("icws", {}), base),
        monitoring=_section(MonitoringSettings, "monitoring", raw.get("monitoring", {}), base),
        branding=_section(BrandingSettings, "branding", raw.get("branding", {}), base),
    )
    if not config.server.machine_names:
        config = _replace(config, server=_with(config.server, machine_names=[socket.getfqdn()]))
    check(config)
    return config


def _replace(config: Config, **changes: Any) -> Config:
    return Config(**{**{f.name: getattr(config, f.name) for f in fields(Config)}, **changes})


def _with(section: Any, **changes: Any) -> Any:
    current = {f.name: getattr(section, f.name) for f in fields(section)}
    return type(section)(**{**current, **changes})


def _section(cls: type, name: str, table: Any, base: Path) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"{name}: must be a table ([{name}])")
    known = get_type_hints(cls)
    allowed = {f.name: f.metadata for f in fields(cls)}
    values = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{name}.{key}: unknown setting (known: {', '.join(known)})")
        values[key] = _coerce(f"{name}.{key}", known[key], value, base)
        _check_allowed(f"{name}.{key}", values[key], allowed[key])
    for f in fields(cls):  # relative default paths are relative to the file, like set ones
        if f.name not in values and isinstance(f.default, Path) and str(f.default) != ".":
            values[f.name] = (base / f.default).resolve()
        elif f.name not in values and isinstance(f.default, Secret) and f.default.file:
            values[f.name] = Secret(file=(base / f.default.file).resolve())
    return cls(**values)


def _coerce(key: str, annotation: Any, value: Any, base: Path) -> Any:
    kind = annotation
    if get_origin(kind) is not None and type(None) in get_args(kind):  # Optional[X]
        kind = next(a for a in get_args(kind) if a is not type(None))
    if kind is Secret:
        return _secret(key, value, base)
    if kind is bool:
        if not isinstance(value, bool):
            hint = " (remove the quotes)" if value in ("true", "false") else ""
            raise ConfigError(f"{key}: expected true or false, got {value!r}{hint}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            hint = " (remove the quotes)" if isinstance(value, str) and value.isdigit() else ""
            raise ConfigError(f"{key}: expected a whole number, got {value!r}{hint}")
        if value < 0:
            raise ConfigError(f"{key}: must not be negative, got {value}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if kind is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key}: expected a file path string, got {value!r}")
        return (base / value).resolve()
    if get_origin(kind) is list and get_args(kind) == (int,):
        if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ConfigError(f"{key}: expected a list of whole numbers, got {value!r}")
        return list(value)
    if get_origin(kind) is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
        return list(value)
    raise AssertionError(f"no coercion for {kind}")  # a programming error, not a user's


def _check_allowed(key: str, value: Any, metadata: Any) -> None:
    """The choices and the range the registry states for a setting (`setting`)."""
    choices = metadata.get("choices") or ()
    if choices and value not in choices:
        raise ConfigError(f"{key}: {value!r} is not a choice (known: {', '.join(choices)})")
    low, high = metadata.get("min"), metadata.get("max")
    if isinstance(value, int) and not isinstance(value, bool):
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (f"{low}-{high}" if low is not None and high is not None
                      else f"at least {low}" if low is not None else f"at most {high}")
            raise ConfigError(f"{key}: must be {bounds}, got {value}")


def _secret(key: str, value: Any, base: Path) -> Secret:
    if isinstance(value, dict) and len(value) == 1:
        if isinstance(value.get("env"), str):
            return Secret(env=value["env"])
        if isinstance(value.get("file"), str):
            return Secret(file=(base / value["file"]).resolve())
    raise ConfigError(
        f"{key}: a secret is read from the environment or a file, never written in the "
        f"configuration: use {{ env = \"VARIABLE\" }} or {{ file = \"path\" }}")
