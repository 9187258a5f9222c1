"""Users' skills and languages: the ones CIC gives them, directly or through their workgroups.

Only skills and languages the object sync links are ever changed on a user: an administrator's
own assignments in Genesys Cloud stay. That is why this uses ``PATCH .../routingskills/bulk``
(adds and changes, 50 a call) and one ``DELETE`` per skill taken away, rather than the ``PUT``
that replaces every skill of the user; languages have only the PATCH and DELETE anyway. An
incremental pass compares with what it last assigned (no request for an unchanged user);
``--full`` reads each user's skills and languages first.

Additions and changes go user by user; what is to be taken away is counted over the whole pass
first and taken away only within `limit` (``sync.max_removals``, or ``--allow-deletions
user_skills=N``), else not at all: a source that lost the skills of everyone would otherwise
take every agent's skills in one pass. What a user keeps that way is `kept`, so that the skill
is not deleted under it either.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from idp.genesys.routing import RoutingClient
from idp.sync.guard import Held, Limit
from idp.sync.objects.actions import Recorder
from idp.sync.objects.desired import LANGUAGE, SKILL, Desired
from idp.sync.objects.named import Links
from idp.sync.objects.store import ObjectStore

Levels = dict[str, int]  # Genesys Cloud skill (or language) id -> stars


@dataclass
class _User:
    genesys_id: str
    cic_user: str
    current: dict[str, Levels]  # kind -> what the user has, as far as the sync knows
    gone: dict[str, list[str]]  # kind -> ids to take away
    ok: bool  # every change so far went through


class AssignSync:
    def __init__(self, client: RoutingClient, store: ObjectStore, recorder: Recorder, *,
                 full: bool, removals: bool, changes: bool = True) -> None:
        self._client = client
        self._store = store
        self._rec = recorder
        self._full = full
        self._removals = removals
        #: whether a proficiency may change (not when a list deciding it was not read: a
        #: skill assigned directly and inherited too would fall back to the inherited level)
        self._changes = changes
        self.kept: set[str] = set()  # ids a user still has though CIC took them away

    def run(self, want: Desired, links: Links, names: dict[str, str],
            managed: dict[str, set[str]], limit: Limit) -> Held | None:
        """`links`: (kind, CIC skill key) -> (kind, Genesys id) of what users get for it;
        `names`: Genesys user id -> CIC user ID of every linked user; `managed`: kind -> the
        Genesys ids of every skill (language) the sync links or linked, retired ones
        included. The hold, if the removals were held."""
        stored = self._store.assignments()
        users = []
        for user in sorted(set(want.levels) | set(stored)):
            if user not in names:
                continue  # no longer linked by the user sync: left as it is
            wanted: dict[str, Levels] = {SKILL: {}, LANGUAGE: {}}
            for wanted_key, level in want.levels.get(user, {}).items():
                if wanted_key in links:
                    kind, genesys_id = links[wanted_key]
                    wanted[kind][genesys_id] = level
            had = stored.get(user, ({}, {}))
            current = {SKILL: dict(had[0]), LANGUAGE: dict(had[1])}
            if self._full:
                current[SKILL] = self._read(user, SKILL, managed[SKILL])
                current[LANGUAGE] = self._read(user, LANGUAGE, managed[LANGUAGE])
            state = _User(user, names[user], current, {}, True)
            for kind in (SKILL, LANGUAGE):
                state.ok = self._add(state, kind, wanted[kind]) and state.ok
                gone = sorted(set(current[kind]) - set(wanted[kind]))
                state.gone[kind] = gone if self._removals else []
                if not self._removals:
                    self.kept.update(gone)  # not this pass's to take away
            self._save(state)
            users.append(state)
        return self._take_away(users, limit)

    def _read(self, user: str, kind: str, managed: set[str]) -> Levels:
        read = self._client.user_skills if kind == SKILL else self._client.user_languages
        levels = self._rec.read(lambda: read(user))
        return {k: round(v) for k, v in levels.items() if k in managed}

    def _add(self, user: _User, kind: str, wanted: Levels) -> bool:
        """Add and change what `wanted` has that the user lacks (`current` follows)."""
        current = user.current[kind]
        add = {k: v for k, v in wanted.items()
               if k not in current or (self._changes and current[k] != v)}
        if not add:
            return True
        patch = self._client.add_user_skills if kind == SKILL else \
            self._client.add_user_languages
        noun = "skill" if kind == SKILL else "language"
        counted = f"{len(add)} {noun}" + ("s" if len(add) != 1 else "")
        done, _ = self._rec.write("user", "set", user.cic_user, counted,
                                  lambda: patch(user.genesys_id,
                                                {k: float(v) for k, v in add.items()}))
        if done:
            current.update(add)
        return done or self._rec.dry

    def _take_away(self, users: list[_User], limit: Limit) -> Held | None:
        later = [u for u in users if any(u.gone.values())]
        total = sum(len(ids) for u in later for ids in u.gone.values())
        if not total:
            return None
        among = sum(len(levels) for u in users for levels in u.current.values())
        held = limit.check(total, among, "taken away", noun="skill and language assignments")
        if held is not None:
            for user in later:
                count = sum(len(ids) for ids in user.gone.values())
                self.kept.update(i for ids in user.gone.values() for i in ids)
                self._rec.note("user", "hold", user.cic_user, f"{count} skills or languages "
                               "not taken away: the pass was held", result="held")
            return held
        for user in later:
            for kind, gone in user.gone.items():
                delete = self._client.remove_user_skill if kind == SKILL else \
                    self._client.remove_user_language
                noun = "skill" if kind == SKILL else "language"
                for genesys_id in gone:
                    done, _ = self._rec.write("user", "remove", user.cic_user,
                                              f"{noun} {genesys_id}",
                                              partial(delete, user.genesys_id, genesys_id))
                    if done:
                        user.current[kind].pop(genesys_id, None)
                    elif not self._rec.dry:
                        user.ok = False
                        self.kept.add(genesys_id)
            self._save(user)
        return None

    def _save(self, user: _User) -> None:
        if user.ok and not self._rec.dry:
            self._store.assigned(user.genesys_id, user.current[SKILL], user.current[LANGUAGE])
