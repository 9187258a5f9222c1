"""CIC user statuses and status messages as ICWS sends them (the ``status`` domain).

- a status message (``GET /icws/{session}/status/status-messages``: ``statusMessageList``; the
  ``urn:inin.com:status:statusMessagesMessage`` message): ``statusId``, ``messageText``,
  ``groupTag`` (the Status Group), ``isAcdStatus`` (Status allows ACD calls),
  ``isAfterCallWorkStatus``, ``isDoNotDisturbStatus``, ...;
- a user's status (``urn:inin.com:status:userStatusMessage``, ``userStatusList``): ``userId``,
  ``statusId``, ``statusChanged`` (``20210706T193229Z``, or the extended ISO 8601 form),
  ``loggedIn``. Status ids compare without letter case.

Facts: docs/facts.md#icws-statuses-and-status-messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

USER_STATUS_MESSAGE = "urn:inin.com:status:userStatusMessage"
STATUS_MESSAGES_MESSAGE = "urn:inin.com:status:statusMessagesMessage"


def status_key(status_id: str) -> str:
    return status_id.casefold()


@dataclass(frozen=True)
class StatusMessage:
    status_id: str
    text: str = ""  # messageText, in the session's language
    group: str = ""  # groupTag: the Status Group (AVAILABLE, BREAK, TRAINING, ...)
    acd: bool = False  # isAcdStatus: "Status allows ACD calls"
    acw: bool = False  # isAfterCallWorkStatus
    dnd: bool = False  # isDoNotDisturbStatus

    @classmethod
    def of(cls, item: Any) -> StatusMessage | None:
        if not isinstance(item, Mapping) or not isinstance(item.get("statusId"), str) \
                or not item["statusId"]:
            return None
        return cls(item["statusId"], _text(item.get("messageText")),
                   _text(item.get("groupTag")), item.get("isAcdStatus") is True,
                   item.get("isAfterCallWorkStatus") is True,
                   item.get("isDoNotDisturbStatus") is True)


@dataclass(frozen=True)
class UserStatus:
    user_id: str
    status_id: str
    changed: datetime | None = None  # statusChanged
    logged_in: bool | None = None

    @classmethod
    def of(cls, item: Any) -> UserStatus | None:
        if not isinstance(item, Mapping):
            return None
        user_id, status_id = item.get("userId"), item.get("statusId")
        if not isinstance(user_id, str) or not user_id or not isinstance(status_id, str) \
                or not status_id:
            return None
        logged_in = item.get("loggedIn")
        return cls(user_id, status_id, parse_time(item.get("statusChanged")),
                   logged_in if isinstance(logged_in, bool) else None)


def parse_time(value: Any) -> datetime | None:
    """ICWS's ``20210706T193229Z`` (or ``2021-07-06T19:32:29.123Z``) as an aware datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    for form in ("%Y%m%dT%H%M%SZ", "%Y%m%dT%H%M%S.%fZ"):
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
