"""The small interface every authentication backend implements.

The SAML code only ever sees `AuthBackend` and `CicUser` (`idp.users`); the local directory and
the ICWS backend plug in behind it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from idp.errors import AUTH_FAILED_MESSAGE, AuthenticationFailed
from idp.users import PHONE_FIELDS, CicUser

__all__ = ["AUTH_FAILED_MESSAGE", "PHONE_FIELDS", "AuthBackend", "CicUser"]


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
