"""Benchmark: process CPU per answer on the hot path, in process (Flask's test client): an
HTTP-Redirect AuthnRequest for an already logged-on session, answered with a signed Response.

It measures the code of a checkout given as the argument (default: this one), so that two trees
can be compared side by side in one run, for example the STS before and after a change:

    git archive <commit> | tar -x -C /tmp/before
    for tree in /tmp/before .; do .venv/bin/python bench/sso_hot_path.py $tree; done

Each run prints the best of `--rounds` rounds of `--requests` answers (the best, because other
work on the machine only ever adds time). Nothing leaves the process.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import logging
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", nargs="?", default=".", type=Path)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    from idp.auth.local import LocalDirectory
    from idp.config import load_config
    from idp.keys import generate_secret, generate_signing_pair, generate_tls_pair
    from idp.web import create_app
    from tests.conftest import CHEAP_HASHER, PASSWORD, SP_BASE, hidden, seed_users, write_config

    folder = Path(tempfile.mkdtemp(prefix="sso-hot-path-"))
    keys = folder / "keys"
    keys.mkdir()
    generate_signing_pair(keys / "saml-signing.key", keys / "saml-signing.crt",
                          "https://localhost", force=False)
    generate_tls_pair(keys / "tls.key", keys / "tls.crt", ["localhost"], force=False)
    generate_secret(keys / "session.secret", force=False)
    config = load_config(write_config(folder, keys))
    seed_users(config.directory.database)
    logging.disable(logging.CRITICAL)
    app = create_app(config, backend=LocalDirectory(config.directory.database,
                                                    hasher=CHEAP_HASHER))
    client = app.test_client()
    https: dict[str, Any] = {"base_url": "https://localhost:8043"}

    def query(number: int) -> dict[str, str]:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        xml = ('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
               'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
               f'ID="_b{number}" Version="2.0" IssueInstant="{now}" '
               'Destination="https://localhost:8043/ICNotifierIDP/login?loginType=saml" '
               f'AssertionConsumerServiceURL="{SP_BASE}/acs"><saml:Issuer>{SP_BASE}/metadata'
               "</saml:Issuer></samlp:AuthnRequest>")
        return {"loginType": "saml",
                "SAMLRequest": base64.b64encode(zlib.compress(xml.encode())[2:-4]).decode()}

    page = client.get("/ICNotifierIDP/login", query_string=query(0), **https)
    client.post("/ICNotifierIDP/login?loginType=saml", data={
        "ctx": hidden(page.text, "ctx"), "csrf": hidden(page.text, "csrf"),
        "user_id": "alice", "password": PASSWORD}, **https)
    best = float("inf")
    for round_number in range(args.rounds):
        queries = [query((round_number + 1) * 100_000 + n) for n in range(args.requests)]
        assert "SAMLResponse" in client.get("/ICNotifierIDP/login", query_string=queries[0],
                                            **https).text
        started = time.process_time()
        for each in queries[1:]:
            client.get("/ICNotifierIDP/login", query_string=each, **https)
        best = min(best, (time.process_time() - started) / (len(queries) - 1))
    print(f"{args.tree}: {best * 1000:.3f} ms of process CPU per logged-on SSO answer "
          f"(best of {args.rounds} rounds of {args.requests})")


if __name__ == "__main__":
    main()
