"""Mapping one CIC user to a Genesys Cloud user, and the planner's rules, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from idp.sync.mapping import (
    EXTERNAL_IDS,
    apply_operations,
    create_body,
    current_fields,
    diff,
    map_user,
    normalise_phone,
    patch_operations,
)
from idp.sync.plan import Kind, Options, make_plan
from idp.sync.sources import Snapshot
from idp.sync.state import CREATING, ERROR, NOT_SYNCED, SYNCED, UserState
from idp.sync.view import GenesysView, Lookup, Remote
from idp.users import CicUser

G = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"


@pytest.mark.parametrize(("raw", "country", "expected"), [
    ("+1 317 872 3000", "", "+13178723000"),
    ("(317) 872-3000", "US", "+13178723000"),
    ("317.872.3000 ext. 105", "US", "tel:+13178723000;ext=105"),
    ("+1 317 872 3000 x105", "", "tel:+13178723000;ext=105"),
    ("tel:+1-317-872-3000;ext=105", "", "tel:+13178723000;ext=105"),
    ("0049 30 12345678", "", "+493012345678"),
    ("030 12345678", "DE", "+493012345678"),
])
def test_phone_numbers_become_e164_or_tel_uris(raw: str, country: str, expected: str) -> None:
    assert normalise_phone(raw, country) == (expected, "")


@pytest.mark.parametrize(("raw", "country", "problem"), [
    ("(317) 872-3000", "", "no country code"),
    ("12", "US", "not a valid phone number"),
    ("call me", "US", "not a phone number"),
    ("+1 555", "", "not a"),
])
def test_impossible_phone_numbers_say_why(raw: str, country: str, problem: str) -> None:
    value, why = normalise_phone(raw, country)
    assert value is None and problem in why


def test_mapping_follows_the_spec_table() -> None:
    mapped = map_user(CicUser("jdoe", "", "John.Doe@Example.com", {
        "business": "+13178723000", "business2": "+13178723001", "mobile": "+13175550123",
        "home": "+13175550124", "fax": "+13175550125"}))
    desired = mapped.desired
    assert desired is not None and not mapped.warnings
    assert desired.display_name == "jdoe"  # the display name defaults to the user ID
    body = create_body(desired, "cic-sts")
    assert body["userName"] == "John.Doe@Example.com"
    assert body["emails"] == [{"type": "work", "value": "John.Doe@Example.com", "primary": True}]
    assert {p["type"]: p["value"] for p in body["phoneNumbers"]} == {
        "work": "+13178723000", "work2": "+13178723001", "mobile": "+13175550123",
        "home": "+13175550124", "other": "+13175550125"}
    assert body["externalId"] == "jdoe"
    assert body[G] == {"externalIds": [{"authority": "cic-sts", "value": "jdoe"}]}


def test_a_bad_number_is_left_out_and_the_rest_synced() -> None:
    mapped = map_user(CicUser("a", "A", "a@example.com",
                              {"business": "12", "mobile": "+4915112345678"}))
    assert mapped.desired is not None
    assert mapped.desired.phones == {"mobile": "+4915112345678"}
    assert mapped.warnings == ("business phone '12' left out: no country code (write it as "
                               "+<country code> ..., or set sync.default_country)",)


def test_users_without_a_usable_email_are_not_synced() -> None:
    assert map_user(CicUser("a")).reason == "no business e-mail"
    assert "not an e-mail address" in map_user(CicUser("a", email="a at example")).reason


def test_patch_keeps_what_the_sync_does_not_own() -> None:
    record = {"id": "1", "userName": "a@example.com", "displayName": "A", "active": True,
              "emails": [{"type": "work", "value": "a@example.com"},
                         {"type": "other", "value": "a@example.com"}],
              "phoneNumbers": [{"type": "work", "value": "+13178723000"},
                               {"type": "work3", "value": "+13178723009"}],
              G: {"externalIds": [{"authority": "hr", "value": "77"}]}}
    desired = map_user(CicUser("a", "A", "a@example.com", {"mobile": "+13175550123"})).desired
    assert desired is not None
    changes = diff(current_fields(record, "cic-sts"), desired.fields("cic-sts"))
    assert [c.field for c in changes] == ["phoneNumbers[work]", "phoneNumbers[mobile]",
                                          "externalIds[cic-sts]"]
    ops = patch_operations(record, desired, "cic-sts", {c.field for c in changes})
    after = apply_operations(record, ops)
    assert after["phoneNumbers"] == [{"type": "work3", "value": "+13178723009"},
                                     {"type": "mobile", "value": "+13175550123"}]
    assert after[G]["externalIds"] == [{"authority": "hr", "value": "77"},
                                       {"authority": "cic-sts", "value": "a"}]
    assert {op["path"] for op in ops} == {"phoneNumbers", EXTERNAL_IDS}
    assert diff(current_fields(after, "cic-sts"), desired.fields("cic-sts")) == []


def test_phone_formatting_is_no_change_but_email_letter_case_is() -> None:
    desired = map_user(CicUser("a", "A", "A@Example.com", {"business": "+13178723000"})).desired
    assert desired is not None
    record = {"userName": "A@Example.com", "displayName": "A", "active": True,
              "emails": [{"type": "work", "value": "A@Example.com"}],
              "phoneNumbers": [{"type": "work", "value": "tel:+1-317-872-3000"}],
              G: {"externalIds": [{"authority": "cic-sts", "value": "a"}]}}
    assert diff(current_fields(record, "cic-sts"), desired.fields("cic-sts")) == []
    # Genesys Cloud keeps an e-mail as written: it should show CIC's spelling.
    lower = {**record, "userName": "a@example.com",
             "emails": [{"type": "work", "value": "a@example.com"}]}
    assert [(c.field, c.old, c.new) for c in diff(current_fields(lower, "cic-sts"),
                                                   desired.fields("cic-sts"))] == [
        ("userName", "a@example.com", "A@Example.com"),
        ("emails[work]", "a@example.com", "A@Example.com")]


def test_fingerprint_follows_every_owned_field() -> None:
    base = map_user(CicUser("a", "A", "a@example.com")).desired
    again = map_user(CicUser("a", "A", "a@example.com")).desired
    renamed = map_user(CicUser("a", "B", "a@example.com")).desired
    assert base is not None and again is not None and renamed is not None
    assert base.fingerprint("cic-sts") == again.fingerprint("cic-sts")
    assert base.fingerprint("cic-sts") != renamed.fingerprint("cic-sts")
    assert base.fingerprint("cic-sts") != base.fingerprint("other-authority")


class DictView(GenesysView):
    """Genesys Cloud as a dict, for planner tests."""

    exact = True

    def __init__(self, *records: dict[str, Any]) -> None:
        self.remotes = [Remote(r["id"], "v1", r) for r in records]
        self.opened = False

    def linked(self, state: UserState) -> Remote | None:
        return next((r for r in self.remotes if r.id == state.genesys_id), None)

    def lookup(self, user_id: str, email: str, *, before: UserState | None = None) -> Lookup:
        by_link = next((r for r in self.remotes if r.record.get(G, {}).get("externalIds", [{}])[0]
                        .get("value") == user_id), None)
        by_name = next((r for r in self.remotes if r.record["userName"] == email), None)
        return Lookup(by_link, by_name)


def state(user_id: str, genesys_id: str, fingerprint: str = "x") -> UserState:
    return UserState(user_id, SYNCED, "", f"{user_id}@example.com", genesys_id, "v1",
                     {"id": genesys_id, "active": True}, fingerprint, "t", "t")


def plan(users: list[CicUser], states: dict[str, UserState], view: DictView,
         problems: list[str] | None = None, **options: Any) -> Any:
    def open_view(listed: bool) -> GenesysView:
        view.opened = True
        return view
    return make_plan(Snapshot(users, problems or []), states, open_view, Options(**options))


def test_two_users_with_one_email_sync_neither() -> None:
    result = plan([CicUser("a", email="x@example.com"), CicUser("b", email="X@example.com"),
                   CicUser("c", email="c@example.com")], {}, DictView())
    skips = {a.user_id: a.reason for a in result.actions if a.kind == Kind.SKIP}
    assert skips == {"a": "e-mail x@example.com is used by 2 CIC users (a, b)",
                     "b": "e-mail x@example.com is used by 2 CIC users (a, b)"}
    assert [a.user_id for a in result.actions if a.kind == Kind.CREATE] == ["c"]


def test_an_incomplete_source_deactivates_nobody() -> None:
    states = {"gone": state("gone", "g1")}
    view = DictView({"id": "g1", "userName": "gone@example.com", "active": True})
    result = plan([CicUser("a", email="a@example.com")], states, view,
                  problems=["users.csv: line 3: bad"])
    assert not [a for a in result.actions if a.kind == Kind.DEACTIVATE]
    assert "left as they are" in result.notes[0]
    result = plan([CicUser("a", email="a@example.com")], states, view)
    assert [(a.kind, a.user_id) for a in result.actions if a.kind == Kind.DEACTIVATE] == [
        (Kind.DEACTIVATE, "gone")]


def test_an_empty_source_deactivates_nobody() -> None:
    result = plan([], {"gone": state("gone", "g1")}, DictView())
    assert result.actions == [] and "no users at all" in result.notes[0]


def test_unchanged_users_need_no_look_at_genesys() -> None:
    user = CicUser("a", "A", "a@example.com")
    desired = map_user(user).desired
    assert desired is not None
    view = DictView()
    result = plan([user], {"a": state("a", "g1", desired.fingerprint("cic-sts"))}, view)
    assert result.actions == [] and result.unchanged == 1 and not view.opened


def test_users_gone_from_cic_without_a_genesys_id_are_looked_up_or_forgotten() -> None:
    def row(user_id: str, status: str, message: str = "") -> UserState:
        return UserState(user_id, status, message, f"{user_id}@example.com", None, None, None,
                         None, None, "t")

    states = {"half": row("half", CREATING), "failed": row("failed", ERROR, "no answer"),
              "nomail": row("nomail", NOT_SYNCED, "no business e-mail")}
    view = DictView({"id": "g-half", "userName": "half@example.com", "active": True,
                     G: {"externalIds": [{"authority": "cic-sts", "value": "half"}]}})
    result = plan([CicUser("a", email="a@example.com")], states, view)
    kinds = {a.user_id: a.kind for a in result.actions}
    assert kinds == {"half": Kind.DEACTIVATE, "failed": Kind.FORGET, "nomail": Kind.FORGET,
                     "a": Kind.CREATE}
    half = next(a for a in result.actions if a.user_id == "half")
    assert half.remote is not None and half.remote.id == "g-half" and not half.in_cic
    # Left active when so configured: only the state rows go.
    result = plan([CicUser("a", email="a@example.com")], states, view, deactivate_missing=False)
    assert {a.user_id: a.kind for a in result.actions if a.user_id != "a"} == {
        "half": Kind.FORGET, "failed": Kind.FORGET, "nomail": Kind.FORGET}
