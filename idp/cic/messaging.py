"""ICWS messaging: subscriptions to user statuses and status messages, and reading the messages.

- ``PUT /icws/{session}/messaging/subscriptions/status/user-statuses`` with ``{userIds,
  userStatusProperties}`` subscribes to those users' statuses (a new PUT replaces the list);
  CIC then queues a ``urn:inin.com:status:userStatusMessage`` whose ``isDelta`` is false, with
  every subscribed user's current status (it replaces what the client knew), and one with
  ``isDelta`` true for each later change;
- ``PUT .../messaging/subscriptions/status/status-messages`` subscribes to the status message
  list: ``urn:inin.com:status:statusMessagesMessage`` (``statusMessagesAdded``,
  ``statusMessagesChanged``, ``statusMessagesRemoved``, ``isDelta``);
- ``GET /icws/{session}/messaging/messages`` answers the queued messages at once, an empty
  array when there are none (a short poll; the caller polls every so often).

A subscription lives as long as its session: after a switchover or a lost session (`SessionLost`)
the caller subscribes again on the new one, and CIC's first message is again the whole list.
A subscription CIC refuses (400: the body, say a property name it does not know; 403: the
account may not subscribe) is `SubscriptionRefused`: asking again will not help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idp.cic.errors import IcwsError, IcwsUnavailable, json_body
from idp.cic.lists import Session
from idp.cic.status import (
    STATUS_MESSAGES_MESSAGE,
    USER_STATUS_MESSAGE,
    StatusMessage,
    UserStatus,
)

USER_STATUSES = "/messaging/subscriptions/status/user-statuses"
STATUS_MESSAGES = "/messaging/subscriptions/status/status-messages"
MESSAGES = "/messaging/messages"

#: The user status properties asked for by default (icws.user_status_properties; userId and
#: statusId always come). The names are the ICWS reference's; that CIC takes them so is
#: unconfirmed (docs/facts.md#icws-messaging).
USER_STATUS_PROPERTIES = ["statusId", "statusChanged", "loggedIn"]


class SubscriptionRefused(IcwsUnavailable):
    """CIC refused a subscription as asked (`status`): not an outage."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class UserStatuses:
    """A userStatusMessage: every subscribed user's status (`full`), or changes."""

    full: bool
    statuses: tuple[UserStatus, ...]


@dataclass(frozen=True)
class StatusMessages:
    """A statusMessagesMessage: the whole list (`full`), or what was added, changed, removed."""

    full: bool
    changed: tuple[StatusMessage, ...]  # added or changed
    removed: tuple[str, ...]  # status ids


Message = UserStatuses | StatusMessages


def subscribe_user_statuses(session: Session, user_ids: list[str],
                            properties: list[str] | None = None) -> None:
    _put(session, USER_STATUSES, {
        "userIds": user_ids,
        "userStatusProperties": USER_STATUS_PROPERTIES if properties is None else properties})


def subscribe_status_messages(session: Session) -> None:
    _put(session, STATUS_MESSAGES, {})


def status_messages(session: Session) -> list[StatusMessage]:
    """Every status message (``GET /status/status-messages``)."""
    response = session.request("GET", "/status/status-messages")
    if response.status_code != 200:
        raise IcwsUnavailable(f"CIC ({session.server}) refused to list the status messages: "
                              f"{IcwsError.of(response)}")
    body = json_body(response)
    items = body.get("statusMessageList") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise IcwsUnavailable(f"CIC ({session.server}) answered the status messages without "
                              "a statusMessageList")
    return [m for m in map(StatusMessage.of, items) if m is not None]


def poll(session: Session) -> list[Message]:
    """The messages queued for the session (none: an empty list). Messages of other types,
    and entries that cannot be read, are left out."""
    response = session.request("GET", MESSAGES)
    if response.status_code != 200:
        raise IcwsUnavailable(f"CIC ({session.server}) refused to hand out messages: "
                              f"{IcwsError.of(response)}")
    body = json_body(response)
    if not isinstance(body, list):
        raise IcwsUnavailable(f"CIC ({session.server}) answered the message queue with "
                              "something that is not a JSON array")
    return [m for m in map(_message, body) if m is not None]


def _message(item: Any) -> Message | None:
    if not isinstance(item, dict):
        return None
    full = item.get("isDelta") is False
    if item.get("__type") == USER_STATUS_MESSAGE:
        statuses = item.get("userStatusList")
        return UserStatuses(full, tuple(s for s in map(UserStatus.of, statuses or [])
                                        if s is not None))
    if item.get("__type") == STATUS_MESSAGES_MESSAGE:
        changed = [*(item.get("statusMessagesAdded") or []),
                   *(item.get("statusMessagesChanged") or [])]
        removed = item.get("statusMessagesRemoved") or []
        return StatusMessages(full, tuple(m for m in map(StatusMessage.of, changed)
                                          if m is not None),
                              tuple(r for r in removed if isinstance(r, str)))
    return None


def _put(session: Session, path: str, body: dict[str, Any]) -> None:
    response = session.request("PUT", path, json=body)
    if response.status_code in (400, 403):
        raise SubscriptionRefused(f"CIC ({session.server}) refused the subscription {path}: "
                                  f"{IcwsError.of(response)}", response.status_code)
    if response.status_code >= 300:
        raise IcwsUnavailable(f"CIC ({session.server}) refused the subscription {path}: "
                              f"{IcwsError.of(response)}")
