"""What Genesys Cloud has, as the planner sees it: two ways of looking, one interface.

`ListedView` lists every Genesys Cloud user once (active ones, then ``active eq false``, since a
plain listing shows only active users): about one request per `page_size` users, and the records
are exact. Used for Force Complete Sync, for `--full`, and whenever many CIC users are not yet
linked (a first sync), where it is far cheaper than looking each one up.

`TargetedView` asks only about the users a pass touches: a linked user is taken as our state
last saw it (no request at all; the If-Match version on the write catches any change made since,
and the write then re-reads), an unlinked one is looked up by e-mail and by our externalIds link.
That is what keeps an incremental pass cheap: unchanged users cost nothing, a changed one one
PATCH.

What a filter answers is never taken on trust: a user counts as linked to a CIC user only if
our externalIds entry on it names that user ID (compared without letter case, as CIC compares
user IDs). Servers differ in how they filter: scim2-server compares externalIds values and
externalId with letter case; a server may also match an entry of another authority. So the
link is searched with the externalIds filter, then with ``externalId eq``, for the spelling of
the ID now and for the one an interrupted create sent (kept in the state), and by the e-mail
that create sent.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from typing import Any

from idp.genesys.scim import GENESYS_SCHEMA, ScimClient
from idp.sync.mapping import link_of, other_installations
from idp.sync.state import UserState

#: The attributes the sync reads; asking only for them keeps list pages small (Genesys Cloud
#: may answer 429 to pages of more than 25 full users).
ATTRIBUTES = ",".join(["id", "userName", "displayName", "active", "emails", "phoneNumbers",
                       "externalId", "meta", f"{GENESYS_SCHEMA}:externalIds"])


@dataclass(frozen=True)
class Remote:
    """A Genesys Cloud user: its id, its version, its fields; `exact` if read just now."""

    id: str
    version: str | None
    record: dict[str, Any]
    exact: bool = True

    @classmethod
    def of(cls, record: dict[str, Any]) -> Remote:
        meta = record.get("meta")
        version = meta.get("version") if isinstance(meta, dict) else None
        return cls(str(record["id"]), version if isinstance(version, str) else None,
                   keep_fields(record))


_KEPT = ("id", "userName", "displayName", "active", "emails", "phoneNumbers", "externalId")


def keep_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The part of a Genesys Cloud user the sync reads and stores."""
    kept: dict[str, Any] = {k: record[k] for k in _KEPT if k in record}
    ext = record.get(GENESYS_SCHEMA)
    if isinstance(ext, dict) and "externalIds" in ext:
        kept[GENESYS_SCHEMA] = {"externalIds": ext["externalIds"]}
    return kept


@dataclass(frozen=True)
class Lookup:
    by_link: Remote | None  # the user carrying our link for this CIC user ID
    by_name: Remote | None  # the user whose userName is this e-mail


class GenesysView(ABC):
    exact: bool

    @abstractmethod
    def linked(self, state: UserState) -> Remote | None:
        """The Genesys Cloud user `state` links to; None when it no longer exists."""

    @abstractmethod
    def lookup(self, user_id: str, email: str, *, before: UserState | None = None) -> Lookup:
        """The user linked to `user_id`, and the one whose userName is `email`. `before`: the
        user's state row, whose ID spelling and e-mail may be what an interrupted create sent."""

    def by_name(self, email: str) -> Remote | None:
        """Who holds `email`, when this view knows without asking (else None)."""
        return None

    def orphans(self, known: set[str]) -> list[Remote]:
        """Users carrying our link for a CIC user ID not in `known` (casefolded), when this
        view knows them all."""
        return []

    def notes(self) -> list[str]:
        """Oddities found in Genesys Cloud that an administrator should hear about."""
        return []


class ListedView(GenesysView):
    exact = True

    def __init__(self, client: ScimClient, authority: str, page_size: int) -> None:
        self._client = client
        self._authority = authority
        self._by_id: dict[str, Remote] = {}
        self._by_link: dict[str, Remote] = {}
        self._by_name: dict[str, Remote] = {}
        self._notes: list[str] = []
        others: Counter[str] = Counter()  # authority of another installation -> its users
        for scim_filter in (None, "active eq false"):
            for record in client.list_users(scim_filter, ATTRIBUTES, page_size):
                if "id" not in record:
                    continue
                remote = Remote.of(record)
                self._by_id[remote.id] = remote
                link = link_of(record, authority)
                if link:
                    first = self._by_link.setdefault(link.casefold(), remote)
                    if first is not remote:
                        self._notes.append(
                            f"Genesys Cloud users {first.id} and {remote.id} both carry the "
                            f"link to CIC user {link}; the sync keeps {first.id} and leaves "
                            f"{remote.id} alone (remove its {authority} externalIds entry)")
                name = record.get("userName")
                if isinstance(name, str) and name:
                    self._by_name[name.casefold()] = remote
                others.update(other_installations(record, authority))
        if others:
            counts = ", ".join(f"{a}: {n}" for a, n in sorted(others.items()))
            self._notes.append(f"{sum(others.values())} Genesys Cloud users are linked by other "
                               f"cic-sts installations ({counts}); this one leaves them alone")

    def __len__(self) -> int:
        return len(self._by_id)

    def linked(self, state: UserState) -> Remote | None:
        if state.genesys_id is None:
            return None
        found = self._by_id.get(state.genesys_id)
        if found is None:
            # Not in the listing: deleted, or skipped by it (users created or deactivated while
            # it was paged shift the offsets). Only a read tells; taking it for deleted would
            # create the user a second time.
            record = self._client.get_user(state.genesys_id)
            if record is not None and "id" in record:
                found = self._by_id[state.genesys_id] = Remote.of(record)
        return found

    def lookup(self, user_id: str, email: str, *, before: UserState | None = None) -> Lookup:
        by_name = self._by_name.get(email.casefold())
        by_link = self._by_link.get(user_id.casefold())
        if by_link is None and before is not None and before.email:
            earlier = self._by_name.get(before.email.casefold())
            if earlier is not None and _names(earlier, user_id, self._authority):
                by_link = earlier
        return Lookup(by_link, by_name)

    def by_name(self, email: str) -> Remote | None:
        return self._by_name.get(email.casefold())

    def orphans(self, known: set[str]) -> list[Remote]:
        return [remote for link, remote in self._by_link.items() if link not in known]

    def notes(self) -> list[str]:
        return self._notes


class TargetedView(GenesysView):
    exact = False

    def __init__(self, client: ScimClient, authority: str) -> None:
        self._client = client
        self._authority = authority

    def linked(self, state: UserState) -> Remote | None:
        if state.genesys_id is None:
            return None
        if state.record is not None and state.version:
            return Remote(state.genesys_id, state.version, state.record, exact=False)
        record = self._client.get_user(state.genesys_id)
        return None if record is None else Remote.of(record)

    def lookup(self, user_id: str, email: str, *, before: UserState | None = None) -> Lookup:
        """Up to three requests for a user not in Genesys Cloud; more only for the row of an
        interrupted create whose ID spelling or e-mail has changed since."""
        by_name = self.holder(email)
        if by_name is not None and _names(by_name, user_id, self._authority):
            return Lookup(by_name, by_name)
        spellings = [user_id]
        if before is not None and before.user_id and before.user_id != user_id:
            spellings.append(before.user_id)
        for spelling in spellings:
            for scim_filter in (
                    f"{GENESYS_SCHEMA}:externalIds[authority eq {_quoted(self._authority)} "
                    f"and value eq {_quoted(spelling)}]",
                    f"externalId eq {_quoted(spelling)}"):
                for record in self._client.search_users(scim_filter, ATTRIBUTES):
                    if "id" in record and _names(record, user_id, self._authority):
                        return Lookup(Remote.of(record), by_name)
        if before is not None and before.email and before.email.casefold() != email.casefold():
            earlier = self.holder(before.email)
            if earlier is not None and _names(earlier, user_id, self._authority):
                return Lookup(earlier, by_name)
        return Lookup(None, by_name)

    def holder(self, email: str) -> Remote | None:
        """The user whose userName is `email` (unique in Genesys Cloud, without letter case)."""
        for record in self._client.search_users(f"userName eq {_quoted(email)}", ATTRIBUTES):
            name = record.get("userName")
            if "id" in record and isinstance(name, str) and name.casefold() == email.casefold():
                return Remote.of(record)
        return None


def _names(record: Remote | dict[str, Any], user_id: str, authority: str) -> bool:
    """Whether our link on `record` names the CIC user `user_id` (without letter case)."""
    fields = record.record if isinstance(record, Remote) else record
    link = link_of(fields, authority)
    return link is not None and link.casefold() == user_id.casefold()


def _quoted(value: str) -> str:
    """A SCIM filter string literal (JSON string rules)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
