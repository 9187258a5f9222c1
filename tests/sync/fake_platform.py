"""Genesys Cloud's Platform API for the sync's tests: routing objects and presence, in memory.

scim2-server covers SCIM only, so this thin layer plays the rest, behind the same token and the
same per-token rate limit as the SCIM layer (`FakeGenesys`), as
docs/facts.md#genesys-cloud-platform-api describes it:

- listings take ``pageSize`` (default 25, at most `page_cap`, whatever is asked: "do not assume
  a maximum page size") and ``pageNumber``, and answer ``entities``, ``pageSize``,
  ``pageNumber``, ``total``, ``pageCount`` and ``nextUri`` (queue members: ``nextUri`` only, as
  their listing has no total);
- queues: ``name``, ``peerId`` and ``hasPeer`` filters; unique names (409); ``PUT`` replaces;
  members ``POST`` (up to 100, ``?delete=true``), wrap-up codes ``POST`` (up to 100, the codes
  must exist) and ``DELETE .../wrapupcodes/{id}``;
- skills and languages: unique live names (409), ``DELETE`` soft (``state: deleted``, still
  listed; the name may be used again); wrap-up codes: unique names, ``PUT`` renames;
- users' skills ``PATCH`` / ``PUT .../routingskills/bulk`` (at most 50, live skills only) and
  ``DELETE``, languages ``PATCH .../routinglanguages/bulk`` and ``DELETE``;
- presence definitions (one System definition per system presence), registered sources
  (``POST`` with a unique name), ``PUT /users/presences/bulk`` (at most `bulk_limit`, each user
  must exist, each source registered), ``PATCH .../presences/purecloud``, ``PUT
  .../outofoffice``.

Unconfirmed details are the layer's choices: the status of a duplicate name (409), the bulk
presence limit (`bulk_limit`), whether a presence write for an unknown user fails the whole
request (it does here: 400). Where the facts say nothing the layer is lenient, and says so
rather than invent a rule: a queue ``PUT`` takes any body (which fields Genesys Cloud refuses
as read-only is not known), and a member ``POST`` takes user ids it does not know (what
Genesys Cloud answers then is not either).

`presence_log` records every presence written: (monotonic time, user id, definition id,
source). `posted` records every create (``POST`` of a queue, skill, language or wrap-up code)
that reached the layer, carried out or refused: the layer refuses a second live object of a
name, which would hide a create sent twice; this log does not.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

SYSTEM_PRESENCES = ("Available", "Away", "Busy", "Offline", "Idle", "OnQueue", "Meal",
                    "Training", "Meeting", "Break")

Answer = tuple[int, Any]

#: Listings whose POST creates: path -> the kind `posted` names.
CREATES = {"queues": "queue", "skills": "skill", "languages": "language",
           "wrapupcodes": "wrapup"}


def _error(status: int, message: str, code: str = "bad.request") -> Answer:
    return status, {"message": message, "code": code, "status": status}


class FakePlatform:
    def __init__(self, user_exists: Callable[[str], bool]) -> None:
        self.user_exists = user_exists
        self.page_cap = 100
        self.bulk_limit = 100
        self.lock = threading.Lock()
        self.queues: dict[str, dict[str, Any]] = {}
        self.members: dict[str, set[str]] = {}
        self.queue_codes: dict[str, set[str]] = {}
        self.skills: dict[str, dict[str, Any]] = {}
        self.languages: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.user_skills: dict[str, dict[str, float]] = {}
        self.user_languages: dict[str, dict[str, float]] = {}
        self.definitions = [{"id": f"def-{name.lower()}", "type": "System",
                             "systemPresence": name, "deactivated": False,
                             "languageLabels": {"en_US": name}} for name in SYSTEM_PRESENCES]
        self.sources: dict[str, dict[str, Any]] = {}
        self.presences: dict[tuple[str, str], dict[str, Any]] = {}  # (user, source) -> ...
        self.out_of_office: dict[str, bool] = {}
        self.presence_log: list[tuple[float, str, str, str]] = []
        #: (kind, name) of every create that reached the layer, whatever its answer
        self.posted: list[tuple[str, str]] = []
        self._known: set[str] = set()

    # -- what tests look at ------------------------------------------------------------------------

    def live(self, table: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """name -> entity, of the entities not deleted."""
        return {e["name"]: e for e in table.values() if e.get("state") != "deleted"}

    def presence_of(self, user_id: str, source_id: str) -> str | None:
        """The system presence a user has under a source."""
        entry = self.presences.get((user_id, source_id))
        if entry is None:
            return None
        return next(str(d["systemPresence"]) for d in self.definitions
                    if d["id"] == entry["presenceDefinition"]["id"])

    # -- serving -------------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: str, body: bytes) -> Answer:
        params = urllib.parse.parse_qs(query)
        try:
            data = json.loads(body) if body else None
        except ValueError:
            return _error(400, "The request body is not JSON")
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        with self.lock:
            if method == "POST" and len(parts) == 2 and parts[0] == "routing" \
                    and parts[1] in CREATES and isinstance(data, dict):
                self.posted.append((CREATES[parts[1]], str(data.get("name", "")).strip()))
            try:
                return self._route(method, parts, params, data)
            except (KeyError, TypeError, ValueError) as exc:
                return _error(400, f"bad request: {exc}")

    def _route(self, method: str, parts: list[str], params: dict[str, list[str]],
               data: Any) -> Answer:
        if parts[:2] == ["routing", "queues"]:
            return self._queues(method, parts[2:], params, data)
        if parts[:1] == ["routing"] and len(parts) >= 2 and parts[1] in (
                "skills", "languages", "wrapupcodes"):
            table = {"skills": self.skills, "languages": self.languages,
                     "wrapupcodes": self.codes}[parts[1]]
            return self._named(method, parts[1], table, parts[2:], params, data)
        if parts[:1] == ["users"] and len(parts) >= 3 and parts[2] in (
                "routingskills", "routinglanguages"):
            table = self.user_skills if parts[2] == "routingskills" else self.user_languages
            live = self.skills if parts[2] == "routingskills" else self.languages
            return self._levels(method, table.setdefault(parts[1], {}), live, parts,
                                params, data)
        if parts[:2] == ["presence", "definitions"] and method == "GET":
            return self._page(self.definitions, params, parts)
        if parts[:2] == ["presence", "sources"]:
            return self._sources(method, params, data, parts)
        if parts == ["users", "presences", "bulk"] and method == "PUT":
            return self._bulk_presences(data)
        if len(parts) == 4 and parts[0] == "users" and parts[2] == "presences" \
                and parts[3] == "purecloud" and method == "PATCH":
            return self._write_presences([{**data, "id": parts[1], "sourceId": "purecloud"}])
        if len(parts) == 3 and parts[0] == "users" and parts[2] == "outofoffice" \
                and method == "PUT":
            if not self._exists(parts[1]):
                return _error(404, "no such user", "not.found")
            self.out_of_office[parts[1]] = bool(data.get("active"))
            return 200, {"user": {"id": parts[1]}, "active": self.out_of_office[parts[1]]}
        return _error(404, f"no such resource {'/'.join(parts)}", "not.found")

    # -- listings --------------------------------------------------------------------------------

    def _page(self, items: list[dict[str, Any]], params: dict[str, list[str]],
              parts: list[str], totals: bool = True) -> Answer:
        size = min(int(params.get("pageSize", ["25"])[0]), self.page_cap)
        number = int(params.get("pageNumber", ["1"])[0])
        if size < 1 or number < 1:
            return _error(400, "pageSize and pageNumber start at 1")
        chosen = items[(number - 1) * size:number * size]
        count = max(1, -(-len(items) // size))
        page: dict[str, Any] = {"entities": chosen, "pageSize": size, "pageNumber": number}
        if totals:
            page.update(total=len(items), pageCount=count)
        if number < count:
            rest = {k: v for k, v in params.items() if k not in ("pageSize", "pageNumber")}
            query = urllib.parse.urlencode({**rest, "pageSize": [str(size)],
                                            "pageNumber": [str(number + 1)]}, doseq=True)
            page["nextUri"] = f"/api/v2/{'/'.join(parts)}?{query}"
        return 200, page

    # -- queues ----------------------------------------------------------------------------------

    def _queues(self, method: str, rest: list[str], params: dict[str, list[str]],
                data: Any) -> Answer:
        if not rest:
            if method == "GET":
                found = sorted(self.queues.values(), key=lambda q: q["name"].casefold())
                if "name" in params:
                    found = [q for q in found
                             if q["name"].casefold() == params["name"][0].casefold()]
                if "peerId" in params:
                    found = [q for q in found if q.get("peerId") in params["peerId"]]
                if params.get("hasPeer") == ["true"]:
                    found = [q for q in found if q.get("peerId")]
                return self._page(found, params, ["routing", "queues"])
            if method == "POST":
                return self._new_queue(data)
        queue = self.queues.get(rest[0])
        if queue is None:
            return _error(404, "no such queue", "not.found")
        if len(rest) == 1:
            if method == "GET":
                return 200, queue
            if method == "PUT":
                if self._name_taken(self.queues, data["name"], queue["id"]):
                    return _error(409, "a queue with this name exists", "general.conflict")
                self.queues[queue["id"]] = {**data, "id": queue["id"]}
                return 200, self.queues[queue["id"]]
            if method == "DELETE":
                del self.queues[queue["id"]]
                self.members.pop(queue["id"], None)
                self.queue_codes.pop(queue["id"], None)
                return 204, None
        if rest[1:] == ["members"]:
            members = self.members.setdefault(queue["id"], set())
            if method == "GET":
                listed = [{"id": m, "name": m, "memberBy": "user"} for m in sorted(members)]
                return self._page(listed, params, ["routing", "queues", queue["id"], "members"],
                                  totals=False)
            if method == "POST":
                ids = [entry["id"] for entry in data]
                if len(ids) > 100:
                    return _error(400, "at most 100 members per request")
                if params.get("delete") == ["true"]:
                    members.difference_update(ids)
                else:
                    members.update(ids)
                return 204, None
        if rest[1:2] == ["wrapupcodes"]:
            codes = self.queue_codes.setdefault(queue["id"], set())
            if method == "GET" and len(rest) == 2:
                return self._page([self.codes[c] for c in sorted(codes)], params,
                                  ["routing", "queues", queue["id"], "wrapupcodes"])
            if method == "POST" and len(rest) == 2:
                ids = [entry["id"] for entry in data]
                if len(ids) > 100 or any(i not in self.codes for i in ids):
                    return _error(400, "at most 100 existing wrap-up codes per request")
                codes.update(ids)
                return 200, [self.codes[i] for i in ids]
            if method == "DELETE" and len(rest) == 3:
                codes.discard(rest[2])
                return 204, None
        return _error(404, "no such resource", "not.found")

    def _new_queue(self, data: Any) -> Answer:
        name = str(data.get("name") or "").strip()
        if not name:
            return _error(400, "a queue needs a name")
        if self._name_taken(self.queues, name):
            return _error(409, "a queue with this name exists", "general.conflict")
        queue = {**data, "id": str(uuid.uuid4()), "name": name, "memberCount": 0}
        self.queues[queue["id"]] = queue
        return 200, queue

    # -- skills, languages, wrap-up codes -------------------------------------------------------

    def _named(self, method: str, kind: str, table: dict[str, dict[str, Any]],
               rest: list[str], params: dict[str, list[str]], data: Any) -> Answer:
        soft = kind != "wrapupcodes"
        if not rest and method == "GET":
            found = sorted(table.values(), key=lambda e: e["name"].casefold())
            if "name" in params:
                prefix = params["name"][0].casefold()
                found = [e for e in found if e["name"].casefold().startswith(prefix)]
            return self._page(found, params, ["routing", kind])
        if not rest and method == "POST":
            name = str(data.get("name") or "").strip()
            if not name:
                return _error(400, "a name is required")
            if self._name_taken(table, name):
                return _error(409, f"{name} exists", "general.conflict")
            entity = {"id": str(uuid.uuid4()), "name": name, "version": 1,
                      **({"state": "active"} if soft else
                         {"description": data.get("description", "")})}
            table[entity["id"]] = entity
            return 200, entity
        existing = table.get(rest[0]) if rest else None
        if existing is None:
            return _error(404, "not found", "not.found")
        entity = existing
        if method == "GET":
            return 200, entity
        if method == "PUT" and not soft:
            if self._name_taken(table, data["name"], entity["id"]):
                return _error(409, "a wrap-up code with this name exists", "general.conflict")
            entity.update(name=data["name"], description=data.get("description", ""))
            return 200, entity
        if method == "DELETE":
            if soft:
                entity["state"] = "deleted"
            else:
                del table[entity["id"]]
                for codes in self.queue_codes.values():
                    codes.discard(entity["id"])
            return 204, None
        return _error(405, "method not allowed")

    @staticmethod
    def _name_taken(table: dict[str, dict[str, Any]], name: str, other_than: str = "") -> bool:
        return any(e["name"].casefold() == name.casefold() and e["id"] != other_than
                   and e.get("state") != "deleted" for e in table.values())

    def _levels(self, method: str, levels: dict[str, float], live: dict[str, dict[str, Any]],
                parts: list[str], params: dict[str, list[str]], data: Any) -> Answer:
        rest = parts[3:]
        if not rest and method == "GET":
            listed = [{"id": k, "name": live[k]["name"], "proficiency": v, "state": "active"}
                      for k, v in sorted(levels.items())]
            return self._page(listed, params, parts)
        if rest == ["bulk"] and method in ("PATCH", "PUT"):
            if len(data) > 50:
                return _error(400, "at most 50 per request")
            for entry in data:
                skill = live.get(entry["id"])
                level = float(entry["proficiency"])
                if skill is None or skill.get("state") == "deleted" or not 0 <= level <= 5:
                    return _error(400, f"no live skill {entry['id']} or a bad proficiency")
            if method == "PUT":
                levels.clear()
            levels.update({e["id"]: float(e["proficiency"]) for e in data})
            return 200, {"entities": [{"id": k, "proficiency": v} for k, v in levels.items()]}
        if len(rest) == 1 and method == "DELETE":
            levels.pop(rest[0], None)
            return 204, None
        return _error(404, "no such resource", "not.found")

    # -- presence --------------------------------------------------------------------------------

    def _sources(self, method: str, params: dict[str, list[str]], data: Any,
                 parts: list[str]) -> Answer:
        if method == "GET":
            return self._page(list(self.sources.values()), params, parts)
        if method == "POST":
            name = str(data.get("name") or "")
            if not name or any(s["name"] == name for s in self.sources.values()):
                return _error(409 if name else 400, "a source needs a unique name")
            source = {"id": str(uuid.uuid4()), "name": name,
                      "description": data.get("description", ""), "deactivated": False}
            self.sources[source["id"]] = source
            return 200, source
        return _error(405, "method not allowed")

    def _bulk_presences(self, data: Any) -> Answer:
        if not isinstance(data, list) or not 1 <= len(data) <= self.bulk_limit:
            return _error(400, f"1 to {self.bulk_limit} presences per request")
        for entry in data:
            if entry.get("sourceId") not in self.sources:
                return _error(400, f"source {entry.get('sourceId')} is not registered")
        return self._write_presences(data)

    def _write_presences(self, entries: list[dict[str, Any]]) -> Answer:
        known = {d["id"] for d in self.definitions}
        for entry in entries:
            if entry["presenceDefinition"]["id"] not in known:
                return _error(400, "unknown presence definition")
            if not self._exists(entry["id"]):
                return _error(400, f"no user {entry['id']}")
        now = time.monotonic()
        written = []
        for entry in entries:
            key = (entry["id"], entry["sourceId"])
            self.presences[key] = {"presenceDefinition": entry["presenceDefinition"],
                                   "primary": bool(entry.get("primary")),
                                   "sourceId": entry["sourceId"]}
            self.presence_log.append((now, entry["id"], entry["presenceDefinition"]["id"],
                                      entry["sourceId"]))
            written.append({"id": entry["id"], **self.presences[key]})
        return 200, written

    def _exists(self, user_id: str) -> bool:
        if user_id in self._known:
            return True
        if self.user_exists(user_id):
            self._known.add(user_id)
            return True
        return False
