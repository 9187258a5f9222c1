"""What goes wrong when talking to CIC over ICWS: all `BackendUnavailable`, so the STS answers
"CIC cannot check your credentials right now" and the sync stops before it trusts a partial
answer; except a logon CIC refuses for the account's sake (`AccountRefusals`: an expired
password, a locked account), which the logon page explains."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from idp.cic.hosts import Server
from idp.config import IcwsSettings
from idp.errors import AccountLocked, BackendUnavailable, ClientError, PasswordExpired

AUTH_FAILURE_ID = "error.request.connection.authenticationFailure"
AUTH_FAILURE_CODE = -2147221503  # what CIC before 4.0.6 sends, without an errorId
#: The errorIds CIC answers a logon with when the password has expired, or the account is
#: locked: not published by Genesys, so the defaults of icws.password_expired_error_ids and
#: icws.account_locked_error_ids are guesses in ICWS's own naming (the errorId of every refused
#: logon is logged, so the real ones are easy to find and set).
PASSWORD_EXPIRED_IDS = tuple(IcwsSettings().password_expired_error_ids)
ACCOUNT_LOCKED_IDS = tuple(IcwsSettings().account_locked_error_ids)


class IcwsUnavailable(BackendUnavailable):
    """CIC could not be asked, or answered something other than yes or no.

    `tried` lists the servers a logon tried, in order (empty for requests within a session)."""

    def __init__(self, message: str, tried: Sequence[Server] = ()) -> None:
        super().__init__(message)
        self.tried = list(tried)


class SessionLost(IcwsUnavailable):
    """The session's server forgot the session (401) or stopped answering: connect again."""


class IncompleteList(IcwsUnavailable):
    """A list could not be read completely; whatever was read is not the list."""


class ListChanged(IncompleteList):
    """Items were added or removed while a list was read page by page: read it again."""


@dataclass(frozen=True)
class IcwsError:
    """ICWS's error body: ``{"errorId"?, "errorCode"?, "message", "alternateHostList"?}``."""

    status: int
    error_id: str = ""
    code: int | None = None
    message: str = ""
    alternates: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, response: httpx.Response) -> IcwsError:
        body = json_body(response)
        if not isinstance(body, dict):
            return cls(response.status_code, message=snippet(response.text))
        alternates = body.get("alternateHostList")
        code = body.get("errorCode")
        return cls(
            status=response.status_code,
            error_id=text_of(body.get("errorId")),
            code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            message=snippet(str(body.get("message") or "")),
            alternates=[h for h in alternates if isinstance(h, str) and h.strip()]
            if isinstance(alternates, list) else [])

    @property
    def is_authentication_failure(self) -> bool:
        if self.error_id:
            return self.error_id == AUTH_FAILURE_ID
        return self.code == AUTH_FAILURE_CODE

    def __str__(self) -> str:
        detail = ", ".join(x for x in (self.error_id, self.message) if x)
        return f"HTTP {self.status}" + (f" ({detail})" if detail else "")


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def snippet(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


@dataclass(frozen=True)
class AccountRefusals:
    """Which errorIds of a refused logon mean an expired password, and a locked account."""

    password_expired: tuple[str, ...] = PASSWORD_EXPIRED_IDS
    account_locked: tuple[str, ...] = ACCOUNT_LOCKED_IDS

    def of(self, error: IcwsError, server: Server) -> ClientError | None:
        """The refusal a 4xx answer to a logon means, or None when it is no such refusal."""
        if not 400 <= error.status < 500 or not error.error_id:
            return None
        if error.error_id in self.password_expired:
            return PasswordExpired(f"CIC ({server}) refused the logon: the password has "
                                   f"expired ({error})")
        if error.error_id in self.account_locked:
            return AccountLocked(f"CIC ({server}) refused the logon: the account is locked "
                                 f"({error})")
        return None
