"""Audit events the browser test does not reach: launches (STS session and CIC token), the
throttle, and the withholding of user IDs that look like passwords."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask

from idp.config import load_config
from idp.observe.audit import looks_like_password, typed_user_id
from idp.web import create_app
from tests.conftest import CHEAP_HASHER, SP_BASE, seed_users, write_config
from tests.test_launch_logout import LAUNCH, TokenDirectory, log_on
from tests.test_sso_flow import HTTPS


@pytest.fixture
def audited(tmp_path: Path, key_dir: Path) -> tuple[Flask, TokenDirectory, Path]:
    extra = (f'\n[launch]\nservice_provider = "{SP_BASE}/metadata"\n'
             '\n[state]\nmax_failed_logons = 2\n'
             '\n[monitoring]\naudit_log = "audit.log"\n')
    config = load_config(write_config(tmp_path, key_dir, extra=extra))
    seed_users(config.directory.database)
    backend = TokenDirectory(config.directory.database, hasher=CHEAP_HASHER)
    backend.tokens = {}
    return create_app(config, backend=backend), backend, tmp_path / "audit.log"


def events(log: Path, name: str) -> list[dict[str, object]]:
    return [e for e in map(json.loads, log.read_text().splitlines()) if e["event"] == name]


def test_launches_and_the_throttle_are_audited(audited: tuple[Flask, TokenDirectory, Path]
                                               ) -> None:
    app, backend, log = audited
    backend.tokens["tok-1"] = "alice"
    assert app.test_client().post(LAUNCH, data={"target": "inbox", "token": "tok-1"},
                                  **HTTPS).status_code == 200
    client = app.test_client()
    page = client.get(LAUNCH, query_string={"target": "collaborate"}, **HTTPS)
    log_on(client, page.text)
    assert client.get(LAUNCH, query_string={"target": "admin"}, **HTTPS).status_code == 200
    launches = events(log, "launch")
    assert [(e["target"], e["user_id"], e["proof"]) for e in launches] == [
        ("inbox", "alice", "cic_token"), ("admin", "alice", "sts_session")]
    stranger = app.test_client()
    page = stranger.get(LAUNCH, query_string={"target": "collaborate"}, **HTTPS)
    for _ in range(3):
        log_on(stranger, page.text, password="wrong")
    [throttled] = events(log, "logon_throttled")
    assert throttled["reason"] == "throttled" and throttled["user_id"] == "alice"
    issued = events(log, "assertion_issued")
    assert [e["binding"] for e in issued] == ["", "", ""]  # IdP-initiated: no AuthnRequest
    assert all(e["in_response_to"] is None for e in issued)
    assert "tok-1" not in log.read_text()


@pytest.mark.parametrize(("typed", "withheld"), [
    ("alice", False), ("j.smith@example.com", False), ("AgentSmith", False),
    ("agent_007", False), ("Summer2026!", True), ("correct horse", True), ("Pa55word", True),
    ("x" * 200, True),
])
def test_user_ids_that_look_like_passwords_are_withheld(typed: str, withheld: bool) -> None:
    assert looks_like_password(typed) is withheld
    fields = typed_user_id(typed)
    assert (fields["user_id"] is None) is withheld
    if not withheld:
        assert fields["user_id"] == typed[:64]
