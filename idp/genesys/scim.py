"""A small client for Genesys Cloud's SCIM v2 API (``https://api.<domain>/api/v2/scim/v2``).

Why not the official Python SDK (PureCloudPlatformClientV2, which has a SCIMApi)? It has no
tunable retry and no token renewal for client credentials, and pacing would have to be bolted on
around it. The sync needs all three, and needs them tested: the few SCIM calls it makes are plain
JSON, so this module makes them directly on httpx, through the one request layer cic-sts has
for Genesys Cloud (`idp.genesys.http`: pacing, retries, token renewal, counters, connection
events), which the Platform API client shares.

A create (POST) is never repeated blindly: when its answer is lost it raises `OutcomeUnknown`,
and the caller looks the user up before it tries again. Everything else the sync sends is
idempotent (GET, PATCH with If-Match, DELETE with If-Match). A version or uniqueness conflict
is the caller's to count (`count_conflict`): the sync answers most of them by re-reading and
sending again (an e-mail swap), which is a retry, not a failure.

The SCIM facts this relies on: docs/facts.md#genesys-cloud-scim-v2.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from idp.errors import (
    GenesysAuthError,
    GenesysError,
    ScimError,
    UniquenessConflict,
    VersionConflict,
)
from idp.genesys.http import TOKEN_REFUSED, Event, GenesysApi, RequestStats, error_detail, refusal
from idp.genesys.oauth import ClientCredentials

log = logging.getLogger(__name__)

SCIM_PATH = "/api/v2/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GENESYS_SCHEMA = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_JSON = "application/scim+json"

__all__ = ["Event", "RequestStats", "ScimClient", "Written"]


@dataclass(frozen=True)
class Written:
    """What a write left in Genesys Cloud: the user as answered (None for 204) and its version."""

    user: dict[str, Any] | None
    version: str | None


class ScimClient:
    """The SCIM user calls, on a `GenesysApi` (its own, or one shared with the Platform API
    client: `api`). Safe to share between threads."""

    def __init__(self, api_base: str, credentials: ClientCredentials, *,
                 rate_per_minute: float = 300, max_retries: int = 5, timeout: float = 30.0,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0,
                 http: httpx.Client | None = None, on_event: Event | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None, api: GenesysApi | None = None) -> None:
        self.api = api or GenesysApi(
            api_base, credentials, rate_per_minute=rate_per_minute, max_retries=max_retries,
            timeout=timeout, backoff_base=backoff_base, backoff_cap=backoff_cap, http=http,
            on_event=on_event, clock=clock, sleep=sleep, rng=rng)
        self.base = self.api.base + SCIM_PATH
        self.credentials = self.api.credentials
        self.max_retries = self.api.max_retries

    # What the sync reads and sets about the requests, kept on the shared layer.

    @property
    def stats(self) -> RequestStats:
        return self.api.stats

    @property
    def health(self) -> tuple[str, str, str] | None:
        return self.api.health

    @property
    def pending(self) -> Callable[[], int] | None:
        return self.api.pending

    @pending.setter
    def pending(self, value: Callable[[], int] | None) -> None:
        self.api.pending = value

    @property
    def waits(self) -> int:
        return self.api.waits

    @property
    def connection_lost(self) -> bool:
        return self.api.connection_lost

    def close(self) -> None:
        self.api.close()

    def assume_lost(self) -> None:
        self.api.assume_lost()

    def count_conflict(self, *, retried: bool) -> None:
        self.api.count_conflict(retried=retried)

    # -- users -------------------------------------------------------------------------------

    def get_user(self, user_id: str) -> dict[str, Any] | None:
        """The user, or None if there is no such user (deleted)."""
        answer = self._send("GET", f"/users/{quote(user_id, safe='')}", missing_ok=True)
        return None if answer.status_code == 404 else _json(answer)

    def search_users(self, scim_filter: str, attributes: str | None = None,
                     count: int = 25) -> list[dict[str, Any]]:
        """The first page of users matching `scim_filter` (lookups expect zero or one)."""
        params: dict[str, Any] = {"filter": scim_filter, "count": count, "startIndex": 1}
        if attributes:
            params["attributes"] = attributes
        return _resources(_json(self._send("GET", "/users", params=params)))

    def list_users(self, scim_filter: str | None = None, attributes: str | None = None,
                   page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every user, page by page. Without a filter Genesys Cloud lists only active users;
        ``active eq false`` lists the others."""
        start = 1
        while True:
            params: dict[str, Any] = {"startIndex": start, "count": page_size}
            if scim_filter:
                params["filter"] = scim_filter
            if attributes:
                params["attributes"] = attributes
            page = _json(self._send("GET", "/users", params=params))
            resources = _resources(page)
            yield from resources
            start += len(resources)
            total = page.get("totalResults")
            if not resources or (isinstance(total, int) and start > total):
                return

    def create_user(self, body: dict[str, Any]) -> Written:
        """POST a new user. `OutcomeUnknown` when the answer was lost: look before retrying."""
        answer = self._send("POST", "/users", body=body, repeatable=False)
        user = _json(answer)
        return Written(user, _version(answer, user))

    def patch_user(self, user_id: str, operations: list[dict[str, Any]],
                   version: str | None) -> Written:
        """PATCH with If-Match `version` (when known); `VersionConflict` if it changed."""
        body = {"schemas": [PATCH_SCHEMA], "Operations": operations}
        answer = self._send("PATCH", f"/users/{quote(user_id, safe='')}", body=body,
                            version=version)
        user = _json(answer) if answer.content else None
        return Written(user, _version(answer, user))

    def delete_user(self, user_id: str, version: str | None) -> None:
        self._send("DELETE", f"/users/{quote(user_id, safe='')}", version=version,
                   missing_ok=True)

    def _send(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None, version: str | None = None,
              repeatable: bool = True, missing_ok: bool = False) -> httpx.Response:
        return self.api.send(method, SCIM_PATH + path, refuse=_error, detail=error_detail,
                             log=log, params=params, body=body, version=version,
                             repeatable=repeatable, missing_ok=missing_ok, media_type=SCIM_JSON,
                             counted=_counted)


def _counted(error: GenesysError) -> bool:
    """Conflicts are counted by the caller, who may answer them by sending again."""
    return not isinstance(error, VersionConflict | UniquenessConflict)


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError:
        raise ScimError(f"Genesys Cloud answered {answer.request.method} "
                        f"{answer.request.url.path} with something that is not JSON",
                        answer.status_code) from None
    if not isinstance(data, dict):
        raise ScimError("Genesys Cloud answered with unexpected JSON", answer.status_code)
    return data


def _resources(page: dict[str, Any]) -> list[dict[str, Any]]:
    resources = page.get("Resources") or []
    return [r for r in resources if isinstance(r, dict)]


def _version(answer: httpx.Response, user: dict[str, Any] | None) -> str | None:
    etag: str | None = answer.headers.get("ETag")
    if etag:
        return etag
    meta = (user or {}).get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    return version if isinstance(version, str) and version else None


def _error(what: str, answer: httpx.Response) -> GenesysError:
    status = answer.status_code
    message, scim_type = refusal(what, answer, "scimType")
    if status == 412 or scim_type == "invalidVers":
        return VersionConflict(message, status, scim_type)
    if status == 409 or scim_type == "uniqueness":
        return UniquenessConflict(message, status, scim_type)
    if status == 401:
        return GenesysAuthError(f"{message}. {TOKEN_REFUSED}")
    if status == 403:
        return ScimError(f"{message}. The OAuth client's role needs directory:user:add, "
                         "directory:user:edit (and directory:user:delete to delete)", status)
    return ScimError(message, status, scim_type)
