"""What `[branding]` adds to every page: the configured logo (served at `LOGO_PATH`) and a help
link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.config.logo import read_logo
from idp.config.sections import BrandingSettings

LOGO_PATH = "/ICNotifierIDP/logo"
#: The logo opened at its own URL is a document of the STS's origin: no script, no form, nothing
#: from elsewhere may run or load in it.
LOGO_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


@dataclass(frozen=True)
class Branding:
    logo: bytes = b""  # b"": no logo
    logo_type: str = ""  # image/png or image/svg+xml
    help_url: str = ""

    @classmethod
    def from_settings(cls, settings: BrandingSettings) -> Branding:
        data, media_type = read_logo(settings.logo) if settings.logo else (b"", "")
        return cls(data, media_type, settings.help_url)

    def template_values(self) -> dict[str, Any]:
        """What the page templates need (base.html): whether there is a logo, the help link."""
        return {"has_logo": bool(self.logo), "help_url": self.help_url}
