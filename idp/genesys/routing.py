"""Genesys Cloud's routing objects over the Platform API: queues and their members and wrap-up
codes, skills, languages, wrap-up codes, and the skills and languages of users.

What the calls are, as the API documents them (docs/facts.md#genesys-cloud-platform-api):

- queues: ``GET /routing/queues`` (``peerId``, ``hasPeer``, ``name`` filters), ``POST`` with
  ``name``, ``peerId`` ("the ID of an associated external queue") and ``description``; ``PUT``
  replaces the whole queue, so a rename sends back the queue as read with the new name;
  ``DELETE``. Members: ``GET .../members`` (at most 100 a page), ``POST .../members`` with up
  to 100 ``{id}`` (``?delete=true`` removes). Wrap-up codes: ``GET`` / ``POST`` (up to 100
  ``{id}``) ``.../wrapupcodes``, ``DELETE .../wrapupcodes/{codeId}``;
- skills and languages: ``POST {name}``, no rename, ``DELETE`` is soft (the entity stays listed
  with ``state: deleted``);
- wrap-up codes: ``POST {name, description}`` (names are unique), ``PUT`` renames, ``DELETE``;
- a user's skills: ``PATCH /users/{id}/routingskills/bulk`` adds or changes, at most 50 per
  call, proficiency 0.0-5.0; ``DELETE .../routingskills/{skillId}`` takes one away. (``PUT``
  replaces them all, which would remove skills others assigned: not used.)
  Languages: ``PATCH /users/{id}/routinglanguages/bulk`` (there is no PUT: replacing is PATCH
  plus DELETEs), proficiency a whole number.

Creates are POSTs that are never repeated blindly (`OutcomeUnknown`: look before creating
again); adding members or wrap-up codes to a queue is a POST that may be repeated (adding what is
there changes nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from idp.genesys.platform import PlatformClient

#: Most items one call takes: queue members and wrap-up codes, user skills and languages.
MAX_QUEUE_ITEMS = 100
MAX_USER_ITEMS = 50


def _id(value: str) -> str:
    return quote(value, safe="")


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class RoutingClient(PlatformClient):
    # -- queues --------------------------------------------------------------------------------

    def queues(self, *, has_peer: bool | None = None,
               peer_id: str | None = None) -> Iterator[dict[str, Any]]:
        params: dict[str, Any] = {}
        if has_peer is not None:
            params["hasPeer"] = "true" if has_peer else "false"
        if peer_id is not None:
            params["peerId"] = peer_id
        return self.entities("/routing/queues", params)

    def queue(self, queue_id: str) -> dict[str, Any] | None:
        found = self.get(f"/routing/queues/{_id(queue_id)}", missing_ok=True)
        return found if isinstance(found, dict) else None

    def create_queue(self, name: str, peer_id: str, description: str) -> dict[str, Any]:
        return dict(self.post("/routing/queues", {"name": name, "peerId": peer_id,
                                                  "description": description}) or {})

    def update_queue(self, queue_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.put(f"/routing/queues/{_id(queue_id)}", body) or {})

    def delete_queue(self, queue_id: str) -> bool:
        return self.delete(f"/routing/queues/{_id(queue_id)}")

    def queue_members(self, queue_id: str) -> set[str]:
        """The user ids of the queue's members."""
        return {str(m["id"]) for m in self.entities(f"/routing/queues/{_id(queue_id)}/members",
                                                    {"memberBy": "user"})
                if isinstance(m.get("id"), str)}

    def change_queue_members(self, queue_id: str, user_ids: Iterable[str], *,
                             remove: bool = False) -> int:
        """Add (or remove) members, 100 a request; how many requests it took."""
        ids = sorted(user_ids)
        params = {"delete": "true"} if remove else None
        sent = 0
        for chunk in _chunks(ids, MAX_QUEUE_ITEMS):
            self.post(f"/routing/queues/{_id(queue_id)}/members", [{"id": i} for i in chunk],
                      params, repeatable=True)
            sent += 1
        return sent

    def queue_wrapup_codes(self, queue_id: str) -> set[str]:
        return {str(c["id"]) for c in
                self.entities(f"/routing/queues/{_id(queue_id)}/wrapupcodes")
                if isinstance(c.get("id"), str)}

    def add_queue_wrapup_codes(self, queue_id: str, code_ids: Iterable[str]) -> int:
        sent = 0
        for chunk in _chunks(sorted(code_ids), MAX_QUEUE_ITEMS):
            self.post(f"/routing/queues/{_id(queue_id)}/wrapupcodes",
                      [{"id": i} for i in chunk], repeatable=True)
            sent += 1
        return sent

    def remove_queue_wrapup_code(self, queue_id: str, code_id: str) -> None:
        self.delete(f"/routing/queues/{_id(queue_id)}/wrapupcodes/{_id(code_id)}")

    # -- skills, languages, wrap-up codes ------------------------------------------------------

    def skills(self) -> Iterator[dict[str, Any]]:
        """Every routing skill, the deleted ones (``state: deleted``) included."""
        return self.entities("/routing/skills")

    def create_skill(self, name: str) -> dict[str, Any]:
        return dict(self.post("/routing/skills", {"name": name}) or {})

    def delete_skill(self, skill_id: str) -> bool:
        return self.delete(f"/routing/skills/{_id(skill_id)}")

    def languages(self) -> Iterator[dict[str, Any]]:
        return self.entities("/routing/languages")

    def create_language(self, name: str) -> dict[str, Any]:
        return dict(self.post("/routing/languages", {"name": name}) or {})

    def delete_language(self, language_id: str) -> bool:
        return self.delete(f"/routing/languages/{_id(language_id)}")

    def wrapup_codes(self) -> Iterator[dict[str, Any]]:
        return self.entities("/routing/wrapupcodes")

    def create_wrapup_code(self, name: str, description: str) -> dict[str, Any]:
        return dict(self.post("/routing/wrapupcodes",
                              {"name": name, "description": description}) or {})

    def update_wrapup_code(self, code_id: str, name: str,
                           description: str) -> dict[str, Any]:
        return dict(self.put(f"/routing/wrapupcodes/{_id(code_id)}",
                             {"name": name, "description": description}) or {})

    def delete_wrapup_code(self, code_id: str) -> bool:
        return self.delete(f"/routing/wrapupcodes/{_id(code_id)}")

    # -- a user's skills and languages ---------------------------------------------------------

    def user_skills(self, user_id: str) -> dict[str, float]:
        """skill id -> proficiency."""
        return _levels(self.entities(f"/users/{_id(user_id)}/routingskills"))

    def add_user_skills(self, user_id: str, skills: dict[str, float]) -> int:
        return self._patch_levels(f"/users/{_id(user_id)}/routingskills/bulk", skills)

    def remove_user_skill(self, user_id: str, skill_id: str) -> None:
        self.delete(f"/users/{_id(user_id)}/routingskills/{_id(skill_id)}")

    def user_languages(self, user_id: str) -> dict[str, float]:
        return _levels(self.entities(f"/users/{_id(user_id)}/routinglanguages"))

    def add_user_languages(self, user_id: str, languages: dict[str, float]) -> int:
        return self._patch_levels(f"/users/{_id(user_id)}/routinglanguages/bulk", languages)

    def remove_user_language(self, user_id: str, language_id: str) -> None:
        self.delete(f"/users/{_id(user_id)}/routinglanguages/{_id(language_id)}")

    def _patch_levels(self, path: str, levels: dict[str, float]) -> int:
        items = [{"id": k, "proficiency": v} for k, v in sorted(levels.items())]
        sent = 0
        for chunk in _chunks(items, MAX_USER_ITEMS):
            self.patch(path, chunk)
            sent += 1
        return sent


def _levels(entities: Iterable[dict[str, Any]]) -> dict[str, float]:
    found = {}
    for entity in entities:
        level = entity.get("proficiency")
        if isinstance(entity.get("id"), str) and isinstance(level, int | float):
            found[str(entity["id"])] = float(level)
    return found
