"""User statuses, status messages and the message queue of the ICWS test server.

As docs/facts.md#icws-statuses-and-status-messages and docs/facts.md#icws-messaging say:
``GET /icws/{id}/status/status-messages`` (``statusMessageList``), ``GET
.../status/user-statuses/{userId}``; ``PUT`` / ``DELETE
.../messaging/subscriptions/status/user-statuses`` (``{userIds, userStatusProperties}``) and
``.../status/status-messages``; ``GET .../messaging/messages`` answers what is queued for the
session at once, an empty array when nothing is (a short poll). A subscription first queues the
whole picture (``isDelta: false``: every subscribed user's status, or every status message),
then one message per change (``isDelta: true``). Subscriptions and queues belong to a session
on one server: a new session (after a switchover, or a lost session) starts with none.

`StatusBoard` is what the pair shares (the statuses and status messages of one CIC);
`set_status` changes a user's status and tells every subscribed session; `deliver` queues a
status message without changing the status (a late or repeated event, for the tests of order).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request

from tests.icws_common import error, unauthorized

USER_STATUS_MESSAGE = "urn:inin.com:status:userStatusMessage"
STATUS_MESSAGES_MESSAGE = "urn:inin.com:status:statusMessagesMessage"
STATUS_PROPERTIES = {"statusId", "statusChanged", "loggedIn", "onPhone", "stations", "notes"}


def icws_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def status_message(status_id: str, text: str | None = None, group: str = "", *,
                   acd: bool = False, acw: bool = False, dnd: bool = False) -> dict[str, Any]:
    return {"statusId": status_id, "messageText": text or status_id, "groupTag": group,
            "iconUri": f"/icons/{status_id}.png", "canHaveDate": False, "canHaveTime": False,
            "isDoNotDisturbStatus": dnd, "isSelectableStatus": True,
            "isPersistentStatus": False, "isForwardStatus": False,
            "isAfterCallWorkStatus": acw, "isAcdStatus": acd, "isAllowFollowUpStatus": False,
            "systemId": status_id}


@dataclass
class Subscriber:
    """One session's subscriptions and message queue."""

    users: set[str] | None = None  # casefolded user ids, None: not subscribed
    properties: set[str] = field(default_factory=set)
    status_messages: bool = False
    queue: list[dict[str, Any]] = field(default_factory=list)


class StatusBoard:
    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.now = now
        self.messages: dict[str, dict[str, Any]] = {}  # casefolded status id -> message
        self.statuses: dict[str, dict[str, Any]] = {}  # casefolded user id -> userStatus
        self.subscribers: dict[tuple[int, str], Subscriber] = {}  # (server, session) -> ...
        self.lock = threading.Lock()

    def define(self, *messages: dict[str, Any]) -> None:
        """Add or change status messages; subscribed sessions hear of it."""
        with self.lock:
            added = [m for m in messages if m["statusId"].casefold() not in self.messages]
            changed = [m for m in messages if m not in added]
            for message in messages:
                self.messages[message["statusId"].casefold()] = message
            self._tell_status_messages({"statusMessagesAdded": added,
                                        "statusMessagesChanged": changed})

    def remove(self, status_id: str) -> None:
        with self.lock:
            gone = self.messages.pop(status_id.casefold())
            self._tell_status_messages({"statusMessagesRemoved": [gone["statusId"]]})

    def set_status(self, user_id: str, status_id: str, at: datetime | None = None,
                   logged_in: bool = True) -> None:
        """`user_id` now has `status_id` (since `at`, default now)."""
        entry = {"userId": user_id, "statusId": status_id,
                 "statusChanged": icws_time(at or self.now()), "loggedIn": logged_in}
        with self.lock:
            self.statuses[user_id.casefold()] = entry
            self._tell_user(entry)

    def deliver(self, user_id: str, status_id: str, at: datetime) -> None:
        """Queue a status event without making it the current status."""
        with self.lock:
            self._tell_user({"userId": user_id, "statusId": status_id,
                             "statusChanged": icws_time(at), "loggedIn": True})

    def _tell_user(self, entry: dict[str, Any]) -> None:
        for sub in self.subscribers.values():
            if sub.users is not None and entry["userId"].casefold() in sub.users:
                sub.queue.append({"__type": USER_STATUS_MESSAGE, "isDelta": True,
                                  "userStatusList": [_projected(entry, sub.properties)]})

    def _tell_status_messages(self, change: dict[str, Any]) -> None:
        for sub in self.subscribers.values():
            if sub.status_messages:
                sub.queue.append({"__type": STATUS_MESSAGES_MESSAGE, "isDelta": True, **change})

    def forget(self, server: int, session_id: str | None = None) -> None:
        """Drop a session's subscriptions (all of a server's, without `session_id`)."""
        with self.lock:
            for subscriber in list(self.subscribers):
                if subscriber[0] == server and session_id in (None, subscriber[1]):
                    del self.subscribers[subscriber]


def _projected(entry: dict[str, Any], properties: set[str]) -> dict[str, Any]:
    wanted = properties or STATUS_PROPERTIES
    return {k: v for k, v in entry.items() if k in ("userId", "statusId") or k in wanted}


SessionCheck = Callable[[str], Any]  # session id -> the session, or None if not valid


def register(app: Flask, board: StatusBoard, server: int, session_of: SessionCheck) -> None:
    """The status and messaging endpoints of one server."""

    def subscriber(session_id: str) -> Subscriber:
        return board.subscribers.setdefault((server, session_id), Subscriber())

    def statuses_route(session_id: str) -> Response | tuple[Response, int]:
        if session_of(session_id) is None:
            return unauthorized()
        with board.lock:
            listed = list(board.messages.values())
        return jsonify({"statusMessageList": listed}), 200

    def user_status_route(session_id: str, user_id: str) -> Response | tuple[Response, int]:
        if session_of(session_id) is None:
            return unauthorized()
        with board.lock:
            entry = board.statuses.get(user_id.casefold())
        if entry is None:
            return error(404, "error.request.notFound", f"No status for user {user_id}.")
        return jsonify(entry), 200

    def user_statuses_route(session_id: str) -> Response | tuple[Response, int]:
        if session_of(session_id) is None:
            return unauthorized()
        with board.lock:
            sub = subscriber(session_id)
            if request.method == "DELETE":
                sub.users = None
                return Response(status=204)
            body = request.get_json(silent=True)
            ids = body.get("userIds") if isinstance(body, dict) else None
            props = body.get("userStatusProperties", []) if isinstance(body, dict) else None
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) \
                    or not isinstance(props, list) or not set(props) <= STATUS_PROPERTIES:
                return error(400, "error.request.invalidRepresentation",
                             "The subscription is not a user status subscription.")
            sub.users, sub.properties = {i.casefold() for i in ids}, set(props)
            current = [_projected(board.statuses[i], sub.properties) for i in sorted(sub.users)
                       if i in board.statuses]
            sub.queue.append({"__type": USER_STATUS_MESSAGE, "isDelta": False,
                              "userStatusList": current})
        return Response(status=204)

    def status_messages_route(session_id: str) -> Response | tuple[Response, int]:
        if session_of(session_id) is None:
            return unauthorized()
        with board.lock:
            sub = subscriber(session_id)
            sub.status_messages = request.method == "PUT"
            if sub.status_messages:
                sub.queue.append({"__type": STATUS_MESSAGES_MESSAGE, "isDelta": False,
                                  "statusMessagesAdded": list(board.messages.values())})
        return Response(status=204)

    def messages_route(session_id: str) -> Response | tuple[Response, int]:
        if session_of(session_id) is None:
            return unauthorized()
        with board.lock:
            sub = subscriber(session_id)
            queued, sub.queue = sub.queue, []
        return jsonify(queued), 200

    base = "/icws/<session_id>"
    app.add_url_rule(f"{base}/status/status-messages", view_func=statuses_route)
    app.add_url_rule(f"{base}/status/user-statuses/<path:user_id>",
                     view_func=user_status_route)
    app.add_url_rule(f"{base}/messaging/subscriptions/status/user-statuses",
                     view_func=user_statuses_route, methods=["PUT", "DELETE"])
    app.add_url_rule(f"{base}/messaging/subscriptions/status/status-messages",
                     view_func=status_messages_route, methods=["PUT", "DELETE"])
    app.add_url_rule(f"{base}/messaging/messages", view_func=messages_route)
