"""The one TOML configuration file, validated before anything starts.

`sections` is the registry of settings (with their choices and ranges), `model` the validated
`Config`, `loading` reads and validates a file into one, `checks` holds the rules that need more
than the registry states, `reference` writes docs/settings.md from the registry.
"""

from idp.config.checks import SCOPE_WORKGROUP, base_url_problem
from idp.config.loading import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    config_path,
    documented_settings,
    load_config,
    parse_config,
)
from idp.config.model import Config
from idp.config.sections import (
    SECTIONS,
    DirectorySettings,
    GenesysSettings,
    IcwsSettings,
    IdpSettings,
    LaunchSettings,
    ProxySettings,
    Secret,
    ServerSettings,
    ServiceProviderSettings,
    StateSettings,
    SyncSettings,
    setting,
)

__all__ = [
    "CONFIG_ENV", "DEFAULT_CONFIG", "SCOPE_WORKGROUP", "SECTIONS", "Config",
    "DirectorySettings", "GenesysSettings", "IcwsSettings", "IdpSettings", "LaunchSettings",
    "ProxySettings", "Secret",
    "ServerSettings", "ServiceProviderSettings", "StateSettings", "SyncSettings",
    "base_url_problem", "config_path", "documented_settings", "load_config", "parse_config",
    "setting",
]
