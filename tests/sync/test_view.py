"""How the sync looks a user up in Genesys Cloud, against servers whose filters are looser or
stricter than ours: what a filter returns is checked, never taken on trust."""

from __future__ import annotations

import json
import re
from typing import Any, cast

from idp.genesys.scim import ScimClient
from idp.sync.state import CREATING, UserState
from idp.sync.view import TargetedView

G = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"


def record(id_: str, user_name: str, links: dict[str, str],
           external_id: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": id_, "userName": user_name, "active": True, "meta": {"version": "v1"},
        G: {"externalIds": [{"authority": a, "value": v} for a, v in links.items()]}}
    if external_id is not None:
        found["externalId"] = external_id
    return found


class Server:
    """Answers `search_users` from a list of records. `loose_links`: an externalIds filter
    matches any entry with that value, whatever its authority; `exact_external_id`: externalId
    compares with letter case (scim2-server), else without it."""

    def __init__(self, *records: dict[str, Any], loose_links: bool = False,
                 exact_external_id: bool = True) -> None:
        self.records = records
        self.loose_links = loose_links
        self.exact_external_id = exact_external_id
        self.filters: list[str] = []

    def search_users(self, scim_filter: str, attributes: str | None = None,
                     count: int = 25) -> list[dict[str, Any]]:
        self.filters.append(scim_filter)
        if m := re.fullmatch(r'userName eq (".*")', scim_filter):
            name = json.loads(m[1]).casefold()
            return [r for r in self.records if r["userName"].casefold() == name]
        if m := re.fullmatch(r'externalId eq (".*")', scim_filter):
            value = json.loads(m[1])
            if self.exact_external_id:
                return [r for r in self.records if r.get("externalId") == value]
            return [r for r in self.records
                    if (r.get("externalId") or "").casefold() == value.casefold()]
        m = re.fullmatch(rf'{G}:externalIds\[authority eq (".*") and value eq (".*")\]',
                         scim_filter)
        assert m, scim_filter
        authority, value = json.loads(m[1]), json.loads(m[2])
        return [r for r in self.records if any(
            e["value"] == value and (self.loose_links or e["authority"] == authority)
            for e in r[G]["externalIds"])]

    def view(self) -> TargetedView:
        return TargetedView(cast(ScimClient, self), "cic-sts")


def test_a_user_whose_link_names_someone_else_is_never_taken() -> None:
    bob = record("g-bob", "bob@example.com", {"cic-sts": "bob", "hr": "alice"}, "alice")
    server = Server(bob, loose_links=True, exact_external_id=False)
    found = server.view().lookup("alice", "alice@example.com")
    assert found.by_link is None and found.by_name is None


def test_the_link_is_found_whatever_the_case_of_the_user_id() -> None:
    carol = record("g-carol", "carol@example.com", {"cic-sts": "Carol"}, "Carol")
    server = Server(carol, exact_external_id=False)  # externalIds compare case-exactly
    found = server.view().lookup("carol", "carol.new@example.com")
    assert found.by_link is not None and found.by_link.id == "g-carol"
    assert found.by_name is None


def test_an_external_id_without_our_link_is_not_ours() -> None:
    other = record("g-x", "x@example.com", {"hr": "carol"}, "carol")
    server = Server(other, exact_external_id=False)
    assert server.view().lookup("carol", "carol@example.com").by_link is None


def test_an_interrupted_create_is_found_by_what_it_sent() -> None:
    """A create sent as "Carol" <carol@example.com>, killed before its answer: the CIC user is
    now "carol" <carol.new@example.com> and the server compares IDs case-exactly."""
    carol = record("g-carol", "carol@example.com", {"cic-sts": "Carol"}, "Carol")
    server = Server(carol)
    before = UserState("Carol", CREATING, "", "carol@example.com", None, None, None, None,
                       None, "t")
    found = server.view().lookup("carol", "carol.new@example.com", before=before)
    assert found.by_link is not None and found.by_link.id == "g-carol"
    assert server.view().lookup("carol", "carol.new@example.com").by_link is None
