"""Users' skills and languages: the ones CIC gives them, directly or through their workgroups.

Only skills and languages the object sync links are ever changed on a user: an administrator's
own assignments in Genesys Cloud stay. That is why this uses ``PATCH .../routingskills/bulk``
(adds and changes, 50 a call) and one ``DELETE`` per skill taken away, rather than the ``PUT``
that replaces every skill of the user; languages have only the PATCH and DELETE anyway. An
incremental pass compares with what it last assigned (no request for an unchanged user);
``--full`` reads each user's skills and languages first.
"""

from __future__ import annotations

from functools import partial

from idp.genesys.routing import RoutingClient
from idp.sync.objects.actions import Recorder
from idp.sync.objects.desired import LANGUAGE, SKILL, Desired
from idp.sync.objects.store import ObjectStore

Levels = dict[str, int]  # Genesys Cloud skill (or language) id -> stars


class AssignSync:
    def __init__(self, client: RoutingClient, store: ObjectStore, recorder: Recorder, *,
                 full: bool, removals: bool) -> None:
        self._client = client
        self._store = store
        self._rec = recorder
        self._full = full
        self._removals = removals

    def run(self, want: Desired, ids: dict[tuple[str, str], str], names: dict[str, str],
            managed: dict[str, set[str]]) -> None:
        """`ids`: (kind, CIC skill key) -> Genesys id; `names`: Genesys user id -> CIC user ID
        of every linked user; `managed`: kind -> the Genesys ids of every skill (language) the
        sync links or linked, retired ones included."""
        stored = self._store.assignments()
        for user in sorted(set(want.levels) | set(stored)):
            if user not in names:
                continue  # no longer linked by the user sync: left as it is
            wanted: dict[str, Levels] = {SKILL: {}, LANGUAGE: {}}
            for (kind, skill), level in want.levels.get(user, {}).items():
                if (kind, skill) in ids:
                    wanted[kind][ids[(kind, skill)]] = level
            had = stored.get(user, ({}, {}))
            current = {SKILL: dict(had[0]), LANGUAGE: dict(had[1])}
            if self._full:
                current[SKILL] = self._read(user, SKILL, managed[SKILL])
                current[LANGUAGE] = self._read(user, LANGUAGE, managed[LANGUAGE])
            ok = True
            for kind in (SKILL, LANGUAGE):
                ok = self._change(user, names[user], kind, current[kind], wanted[kind]) and ok
            if ok and not self._rec.dry:
                self._store.assigned(user, current[SKILL], current[LANGUAGE])

    def _read(self, user: str, kind: str, managed: set[str]) -> Levels:
        read = self._client.user_skills if kind == SKILL else self._client.user_languages
        levels = self._rec.read(lambda: read(user))
        return {k: round(v) for k, v in levels.items() if k in managed}

    def _change(self, user: str, cic_user: str, kind: str, current: Levels,
                wanted: Levels) -> bool:
        """Bring `current` (changed in place as it succeeds) to `wanted`."""
        add = {k: v for k, v in wanted.items() if current.get(k) != v}
        remove = sorted(set(current) - set(wanted)) if self._removals else []
        noun = "skill" if kind == SKILL else "language"
        ok = True
        if add:
            patch = self._client.add_user_skills if kind == SKILL else \
                self._client.add_user_languages
            counted = f"{len(add)} {noun}" + ("s" if len(add) != 1 else "")
            done, _ = self._rec.write("user", "set", cic_user, counted,
                                      lambda: patch(user, {k: float(v) for k, v in add.items()}))
            if done:
                current.update(add)
            ok = done or self._rec.dry
        delete = self._client.remove_user_skill if kind == SKILL else \
            self._client.remove_user_language
        for gone in remove:
            done, _ = self._rec.write("user", "remove", cic_user, f"{noun} {gone}",
                                      partial(delete, user, gone))
            if done:
                current.pop(gone, None)
            ok = ok and (done or self._rec.dry)
        return ok
