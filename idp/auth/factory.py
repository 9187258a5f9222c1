"""Which authentication backend the configuration asks for (``directory.backend``)."""

from __future__ import annotations

from idp.auth.base import AuthBackend
from idp.config import Config


def build_backend(config: Config) -> AuthBackend:
    if config.directory.backend == "icws":
        from idp.auth.icws import IcwsBackend  # httpx and the ICWS client only when used

        return IcwsBackend.from_settings(config.icws)
    from idp.auth.hashing import hasher_for, limit_for
    from idp.auth.local import LocalDirectory

    return LocalDirectory(config.directory.database, hasher_for(config.directory),
                          limit_for(config.directory))
