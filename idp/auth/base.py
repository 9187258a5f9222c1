"""The small interface every authentication backend implements.

The SAML code only ever sees `AuthBackend` and `CicUser`; the local directory and the ICWS client
plug in behind it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from idp.errors import AuthenticationFailed


@dataclass(frozen=True)
class CicUser:
    """The CIC user fields cic-sts cares about (Interaction Administrator names in comments)."""

    user_id: str  # the CIC user ID (logon name)
    display_name: str = ""  # Personal Info > General > Display Name
    email: str = ""  # Personal Info > Internet > Business Email: the SSO identity
    phones: dict[str, str] = field(default_factory=dict)  # PHONE_FIELDS keys
    #: CIC workgroups the user belongs to, when the source says (the sync's scoping uses them)
    workgroups: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """What to call the user: the display name, which defaults to the user ID in CIC."""
        return self.display_name or self.user_id


#: CIC phone fields, in the order the CSV columns and the sync mapping use.
PHONE_FIELDS = ("business", "business2", "mobile", "home", "fax")

#: The one message for every failed logon, whichever backend: it must not tell who exists or
#: who has a password.
AUTH_FAILED_MESSAGE = "unknown user ID or wrong password"


class AuthBackend(ABC):
    """Checks CIC credentials and looks CIC users up."""

    @abstractmethod
    def authenticate(self, user_id: str, password: str) -> CicUser:
        """Return the user when the password is right.

        Raises `AuthenticationFailed` for an unknown user and a wrong password alike (the caller
        must not be able to tell them apart), `BackendUnavailable` when CIC cannot be asked.
        """

    @abstractmethod
    def lookup(self, user_id: str) -> CicUser | None:
        """The user's current record, or None if the user no longer exists."""

    def authenticate_token(self, token: str) -> CicUser:
        """The user a single-use CIC auth token (handed over by a CIC client) belongs to.

        Raises `AuthenticationFailed` when the token is unknown, expired or used, and for
        backends that cannot check CIC tokens (the local directory).
        """
        raise AuthenticationFailed("this authentication backend does not accept CIC tokens")

    def ready(self) -> bool:
        """Whether the backend can answer now (for /readyz)."""
        return True
