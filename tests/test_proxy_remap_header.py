"""What the generated nginx tells the STS about the public base, seen from the STS's side: a real
nginx runs the rendered snippet in front of an HTTPS upstream that answers with the headers it
received (issue 12, item 11). A client's own ININ-REMAP-BASE-URL or Host never reaches the STS;
an outer proxy's ININ-REMAP-BASE-URL does, from its configured address only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from flask import Flask, Response, jsonify, request

from idp.proxy import check
from idp.proxy.model import Upstream
from idp.proxy.render import render
from tests.servers import flask_server, free_port, nginx_running
from tests.test_proxy_render import load_case, needs_nginx

pytestmark = needs_nginx


def echo_app() -> Flask:
    app = Flask(__name__)

    @app.route("/<path:anything>")
    def echo(anything: str) -> Response:
        return jsonify(remap=request.headers.get("ININ-REMAP-BASE-URL"),
                       host=request.headers.get("Host"), path=request.path)

    return app


@contextmanager
def proxy(tmp_path: Path, key_dir: Path, outer_proxies: tuple[str, ...]) -> Iterator[str]:
    """nginx on 127.0.0.1 running the snippet in front of the echo upstream; yields its URL."""
    upstream_port, port = free_port(), free_port()
    certificate, key = str(key_dir / "tls.crt"), str(key_dir / "tls.key")
    inputs = replace(load_case("seed_example_snippet").inputs, public_host="127.0.0.1",
                     public_port=port, listen_address="127.0.0.1",
                     servers=(Upstream("127.0.0.1", upstream_port),), redirect_http=False,
                     tls_certificate=certificate, tls_key=key, log_dir=str(tmp_path),
                     upstream_ca=None, upstream_name=None, outer_proxies=outer_proxies)
    (tmp_path / "cic-sts.conf").write_text(render(inputs, snippet=True).text)
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"events {{}}\nhttp {{{check._temp_paths(tmp_path)} access_log off;\n"
                    f"    include {tmp_path}/cic-sts.conf;\n}}\n")
    base = f"https://127.0.0.1:{port}"
    with flask_server(echo_app(), "127.0.0.1", upstream_port, key_dir / "tls.crt",
                      key_dir / "tls.key"), \
            nginx_running(conf, tmp_path, f"{base}/PureConnect/healthz"):
        yield base


def seen(base: str, **headers: str) -> dict[str, str]:
    answer = httpx.get(f"{base}/PureConnect/ICNotifierIDP/metadata", headers=headers,
                       verify=False, timeout=5)
    assert answer.status_code == 200, answer.text
    found: dict[str, str] = answer.json()
    return found


@pytest.mark.parametrize("headers", [
    {},
    {"ININ-REMAP-BASE-URL": "https://phishing.example/PureConnect"},
    {"Host": "phishing.example"},
    {"Host": "phishing.example", "ININ-REMAP-BASE-URL": "https://phishing.example/x"},
])
def test_the_client_cannot_choose_the_base_the_sts_is_told(tmp_path: Path, key_dir: Path,
                                                           headers: dict[str, str]) -> None:
    with proxy(tmp_path, key_dir, ()) as base:
        received = seen(base, **headers)
    assert received["remap"] == f"{base}/PureConnect"
    assert received["host"] == base.removeprefix("https://")
    assert received["path"] == "/ICNotifierIDP/metadata"


def test_an_outer_proxys_header_is_passed_on_from_its_address_only(tmp_path: Path,
                                                                   key_dir: Path) -> None:
    outer = "https://outer.example.com/PureConnect"
    with proxy(tmp_path, key_dir, ("127.0.0.1",)) as base:  # the test client is the outer one
        assert seen(base, **{"ININ-REMAP-BASE-URL": outer})["remap"] == outer
        assert seen(base)["remap"] == f"{base}/PureConnect"  # none sent: the public base
    with proxy(tmp_path, key_dir, ("192.0.2.7",)) as base:  # the outer proxy is elsewhere
        assert seen(base, **{"ININ-REMAP-BASE-URL": outer})["remap"] == f"{base}/PureConnect"
