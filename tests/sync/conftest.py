"""Fixtures of the sync tests: scim2-server (one per session, a tenant per test), the Genesys
layer in front of it, a configuration, a local directory of CIC users."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result

from idp.auth.local import LocalDirectory
from idp.cli import cli
from idp.config import Config, load_config
from idp.sync.engine import PassReport, SyncService, client_for
from idp.users import CicUser
from tests.sync.fake_genesys import FakeGenesys, ScimBackend

CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def scim_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScimBackend]:
    backend = ScimBackend(tmp_path_factory.mktemp("scim2-server") / "server.log")
    yield backend
    backend.stop()


@pytest.fixture
def genesys(scim_backend: ScimBackend) -> Iterator[FakeGenesys]:
    fake = FakeGenesys(scim_backend.tenant())
    yield fake
    fake.stop()


@dataclass
class SyncSetup:
    folder: Path
    genesys: FakeGenesys
    directory: LocalDirectory

    @property
    def config_path(self) -> Path:
        return self.folder / "cic-sts.toml"

    def configure(self, sync: str = "", genesys: str = "") -> None:
        (self.folder / "client.secret").write_text(self.genesys.client_secret + "\n")
        self.config_path.write_text(f"""
[server]
machine_names = ["localhost"]

[directory]
database = "users.db"

[genesys]
region = "eu-west-1"
relying_party_identifier = "urn:genesys:test-org"
organization = "acme"
login_base_url = "{self.genesys.url}"
api_base_url = "{self.genesys.url}"
client_id = "{self.genesys.client_id}"
client_secret = {{ file = "client.secret" }}
{genesys}

[sync]
state_database = "sync.db"
rate_per_minute = 600000
{sync}
""")

    def config(self) -> Config:
        return load_config(self.config_path)

    def service(self, **tuning: Any) -> SyncService:
        config = self.config()
        tuning.setdefault("backoff_base", 0.01)
        return SyncService(config, client_factory=lambda event: client_for(config, event,
                                                                          **tuning))

    def apply(self, **kwargs: Any) -> PassReport:
        service = self.service()
        try:
            return service.apply(**kwargs)
        finally:
            service.close()

    def add(self, user_id: str, email: str = "", display_name: str = "",
            **phones: str) -> CicUser:
        user = CicUser(user_id, display_name, email, phones)
        self.directory.upsert(user)
        return user

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`cic-sts --config ... ARGS` in a child process, as an administrator runs it."""
        return subprocess.run(
            [sys.executable, "-m", "idp", "--config", str(self.config_path), *args],
            capture_output=True, text=True, timeout=timeout, cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def run(self, *args: str) -> Result:
        """`cic-sts --config ... ARGS` in this process (quicker than `cli`)."""
        return CliRunner().invoke(cli, ["--config", str(self.config_path), *args])

    def linked(self) -> dict[str, list[dict[str, Any]]]:
        """CIC user ID -> the Genesys Cloud users carrying our link for it (should be one)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for user in self.genesys.users():
            for entry in user.get(GENESYS, {}).get("externalIds", []):
                if entry.get("authority") == "cic-sts":
                    found.setdefault(entry["value"], []).append(user)
        return found


GENESYS = "urn:ietf:params:scim:schemas:extension:genesys:purecloud:2.0:User"


@pytest.fixture
def setup(tmp_path: Path, genesys: FakeGenesys) -> SyncSetup:
    setup = SyncSetup(tmp_path, genesys, LocalDirectory(tmp_path / "users.db",
                                                        hasher=CHEAP_HASHER))
    setup.configure()
    return setup
