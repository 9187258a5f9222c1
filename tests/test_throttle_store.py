"""Logon throttling under a flood (issue 12, item 14): filling the in-memory store cannot release
a lock, a store full of locks refuses rather than forgets, and an address that is throttled
counts nothing against the user IDs it names."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp.config import Config
from idp.web.store import MemoryStore, throttle_key
from tests.conftest import PASSWORD, Sp, hidden, redirect_query

HTTPS = {"base_url": "https://localhost:8043"}
LOGIN = "/ICNotifierIDP/login"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_new_keys_cannot_release_a_lock() -> None:
    store = MemoryStore(max_keys=50, protect_from=10, clock=Clock())
    for _ in range(10):
        store.hit(throttle_key("alice"), 900)
    assert store.add_once("launch-token:seen", 300)
    for n in range(10_000):  # distinct user IDs, one failure each
        store.hit(throttle_key(f"flood-{n}"), 900)
    assert len(store) == 50
    assert store.count(throttle_key("alice")) == 10  # still locked
    assert not store.add_once("launch-token:seen", 300)  # still remembered


def test_a_store_full_of_locks_refuses_until_they_expire() -> None:
    clock = Clock()
    store = MemoryStore(max_keys=5, protect_from=2, clock=clock)
    for n in range(5):
        store.hit(f"lock-{n}", 60)
        store.hit(f"lock-{n}", 60)
    assert store.hit("newcomer", 60) == MemoryStore.FULL  # answered as over every limit
    assert not store.add_once("replay-record", 60)
    assert [store.count(f"lock-{n}") for n in range(5)] == [2] * 5
    clock.now += 61
    assert store.hit("newcomer", 60) == 1 and store.add_once("replay-record", 60)


def test_counting_down_makes_an_entry_evictable_again() -> None:
    store = MemoryStore(max_keys=2, protect_from=2, clock=Clock())
    store.hit("a", 60)
    store.hit("a", 60)  # protected now
    store.unhit("a")  # one of them did not count: 1, below the lock
    store.hit("b", 60)
    store.hit("c", 60)  # room is made by dropping "a", the oldest that holds nothing
    assert store.count("a") == 0 and store.count("c") == 1


def page(client: FlaskClient, sp: Sp, address: str) -> str:
    answer = client.get(LOGIN, query_string=redirect_query(sp.authn_request()[1]),
                        headers={"X-Forwarded-For": address}, **HTTPS)
    return answer.text


def attempt(client: FlaskClient, logon: str, user_id: str, password: str,
            address: str) -> int:
    answer = client.post(f"{LOGIN}?loginType=saml", data={
        "ctx": hidden(logon, "ctx"), "csrf": hidden(logon, "csrf"), "user_id": user_id,
        "password": password}, headers={"X-Forwarded-For": address}, **HTTPS)
    return answer.status_code


@pytest.fixture
def small(app: Flask) -> Flask:
    """The app with an in-memory store of 30 keys, so that a flood fills it."""
    from idp.web.context import Sts

    context: Sts = app.extensions["cic_sts"]
    context.store = MemoryStore(max_keys=30, protect_from=context.config.state.max_failed_logons)
    return app


def test_a_locked_user_stays_locked_when_others_flood_the_store(small: Flask, sp: Sp,
                                                               config: Config) -> None:
    client = small.test_client()
    logon = page(client, sp, "198.51.100.1")
    for _ in range(config.state.max_failed_logons):
        assert attempt(client, logon, "alice", "wrong", "198.51.100.1") == 401
    for n in range(60):  # distinct users from distinct addresses: no address is throttled
        assert attempt(client, logon, f"mallory{n}", "x", f"203.0.113.{n + 1}") == 401
    assert attempt(client, logon, "alice", PASSWORD, "198.51.100.2") == 429


def test_a_throttled_address_counts_nothing_against_a_user(app: Flask, sp: Sp,
                                                           config: Config) -> None:
    client = app.test_client()
    attacker = "203.0.113.66"
    logon = page(client, sp, attacker)
    limit = config.state.max_failed_logons
    for n in range(limit * 5):  # enough failures to throttle the address
        attempt(client, logon, f"guess{n}", "x", attacker)
    for _ in range(limit * 2):
        assert attempt(client, logon, "alice", "wrong", attacker) == 429
    store = app.extensions["cic_sts"].store
    assert store.count(throttle_key("alice")) == 0
    assert attempt(client, page(client, sp, "198.51.100.9"), "alice", PASSWORD,
                   "198.51.100.9") == 200


def test_an_ipv6_client_is_counted_by_its_64(app: Flask, sp: Sp, config: Config) -> None:
    client = app.test_client()
    logon = page(client, sp, "2001:db8:1:2::1")
    for n in range(config.state.max_failed_logons * 5):  # a new address of the /64 each time
        attempt(client, logon, f"guess{n}", "x", f"2001:db8:1:2::{n + 1:x}")
    assert attempt(client, logon, "alice", PASSWORD, "2001:db8:1:2:ffff::1") == 429
    assert attempt(client, page(client, sp, "2001:db8:1:3::1"), "alice", PASSWORD,
                   "2001:db8:1:3::1") == 200
