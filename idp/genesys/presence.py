"""Genesys Cloud presence over the Platform API: definitions, sources, writing presences.

- ``GET /presence/definitions``: the organization's presence definitions, each with its
  ``systemPresence`` (Available, Away, Busy, Offline, Idle, OnQueue, Meal, Training, Meeting,
  Break), ``type`` (System for the one primary definition of a system presence, User for those
  an administrator added) and ``deactivated``;
- ``GET`` / ``POST /presence/sources``: registered presence sources (``{name, description}``);
- ``PUT /users/presences/bulk``: many users' presences in one request, a list of
  ``{id: <user id>, sourceId, primary, presenceDefinition: {id}, message}`` (needs
  ``presence:userPresence:edit``; the largest list accepted is not public);
- ``PATCH /users/{userId}/presences/purecloud``: one user's presence under Genesys Cloud's own
  source (the PATCH for other sources does not take registered ones);
- ``PUT /users/{userId}/outofoffice``: the out-of-office flag (``{active, indefinite}``), which
  Genesys Cloud shows as "Out of Office" whatever the presence.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from idp.genesys.platform import PlatformClient

#: Genesys Cloud's system presences (docs/facts.md#presence-definitions-and-sources).
SYSTEM_PRESENCES = ("Available", "Away", "Busy", "Offline", "Idle", "OnQueue", "Meal",
                    "Training", "Meeting", "Break")

#: The presence source every Genesys Cloud user has.
PURECLOUD = "purecloud"


class PresenceClient(PlatformClient):
    def definitions(self) -> list[dict[str, Any]]:
        return list(self.entities("/presence/definitions"))

    def sources(self) -> list[dict[str, Any]]:
        return list(self.entities("/presence/sources"))

    def create_source(self, name: str, description: str) -> dict[str, Any]:
        return dict(self.post("/presence/sources", {"name": name,
                                                    "description": description}) or {})

    def put_presences(self, presences: list[dict[str, Any]]) -> None:
        """Many users' presences at once (each ``{id, sourceId, primary,
        presenceDefinition}``). Idempotent: setting a presence twice changes nothing."""
        self.put("/users/presences/bulk", presences, urgent=True)

    def patch_purecloud(self, user_id: str, definition_id: str) -> None:
        self.patch(f"/users/{quote(user_id, safe='')}/presences/{PURECLOUD}",
                   {"presenceDefinition": {"id": definition_id}}, urgent=True)

    def set_out_of_office(self, user_id: str, active: bool) -> None:
        self.put(f"/users/{quote(user_id, safe='')}/outofoffice",
                 {"user": {"id": user_id}, "active": active, "indefinite": active})
