"""What the sync benchmarks share: the ``[genesys]`` section pointing at the stand-in."""

from __future__ import annotations

from pathlib import Path

from tests.sync.fake_genesys import FakeGenesys


def genesys_section(folder: Path, genesys: FakeGenesys) -> str:
    """The configuration's ``[genesys]`` table for `genesys`, its secret written beside it."""
    (folder / "client.secret").write_text(genesys.client_secret)
    return f"""
[genesys]
region = "us-east-1"
relying_party_identifier = "urn:bench"
organization = "bench"
login_base_url = "{genesys.url}"
api_base_url = "{genesys.url}"
client_id = "{genesys.client_id}"
client_secret = {{ file = "client.secret" }}
"""
