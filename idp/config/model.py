"""The validated configuration: one `Config`, the sections of the registry (`sections`) plus
what follows from them (the public base URL, the entity ID, the Genesys Cloud hosts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from idp.config.sections import (
    BrandingSettings,
    DirectorySettings,
    GenesysSettings,
    IcwsSettings,
    IdpSettings,
    LaunchSettings,
    MonitoringSettings,
    ProxySettings,
    ServerSettings,
    ServiceProviderSettings,
    StateSettings,
    SyncSettings,
)
from idp.regions import region_domain


@dataclass(frozen=True)
class Config:
    path: Path
    server: ServerSettings
    idp: IdpSettings
    directory: DirectorySettings
    state: StateSettings
    launch: LaunchSettings
    genesys: GenesysSettings | None
    service_providers: list[ServiceProviderSettings]
    proxy: ProxySettings = field(default_factory=ProxySettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    icws: IcwsSettings = field(default_factory=IcwsSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    branding: BrandingSettings = field(default_factory=BrandingSettings)

    @property
    def public_host(self) -> str:
        return self.server.machine_names[0]

    @property
    def public_base_url(self) -> str:
        if self.server.public_base_url:
            return self.server.public_base_url.rstrip("/")
        host = self.public_host
        if ":" in host:  # an IPv6 literal
            host = f"[{host}]"
        return f"https://{host}:{self.server.port}"

    @property
    def next_signing_certificate(self) -> Path | None:
        name = self.idp.next_signing_certificate
        return (self.path.parent / name).resolve() if name else None

    @property
    def entity_id(self) -> str:
        return self.idp.entity_id or f"https://{self.public_host}"

    @property
    def genesys_login_base(self) -> str:
        assert self.genesys is not None
        if self.genesys.login_base_url:
            return self.genesys.login_base_url.rstrip("/")
        return f"https://login.{region_domain(self.genesys.region)}"

    @property
    def genesys_api_base(self) -> str:
        assert self.genesys is not None
        if self.genesys.api_base_url:
            return self.genesys.api_base_url.rstrip("/")
        return f"https://api.{region_domain(self.genesys.region)}"
