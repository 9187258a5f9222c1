"""The per-worker state the request handlers share, kept in `app.extensions`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from idp.auth.base import AuthBackend
from idp.config import Config
from idp.observe.certificates import CertificateInfo
from idp.saml.metadata import Description
from idp.saml.registry import Registry
from idp.saml.signing import Signer
from idp.web.branding import Branding
from idp.web.nameids import IssuedNameIds
from idp.web.remap import RemapPolicy
from idp.web.state import PendingCodec
from idp.web.store import Store


@dataclass
class Sts:
    """Everything the request handlers need, built once per worker."""

    config: Config
    signer: Signer
    certificate_bodies: list[str]
    registry: Registry
    backend: AuthBackend
    pending: PendingCodec
    remap: RemapPolicy
    store: Store
    issued_name_ids: IssuedNameIds
    persistent_key: bytes | None = None  # None: persistent NameIDs are not offered
    description: Description = field(default_factory=Description)
    certificates: list[CertificateInfo] = field(default_factory=list)
    branding: Branding = field(default_factory=Branding)
    #: The time SAML messages are judged and stamped by (tests fix it).
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))


def sts() -> Sts:
    return current_app.extensions["cic_sts"]  # type: ignore[no-any-return]
